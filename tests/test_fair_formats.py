"""PySlowFast / pytorchvideo file formats: ``.pyth`` (torch-saved checkpoint dict) and Caffe2 ``.pkl``.

The ``.pkl`` reader builds NumPy arrays only: files shaped as Caffe2 (Python 2, protocol 2, byte
strings as ``BINSTRING``) and as Python 3 writes them are read; pickles that name anything else are
refused before anything they name is called.
"""
from __future__ import annotations

import io
import os
import pickle
import struct

import numpy as np
import pytest
import torch

from pytorchvideo_ref.harness import require_ptv_python
from zoo.convert.caffe2_pkl import Caffe2PickleError, load_caffe2_pkl
from zoo.errors import WeightsError
from zoo.state import format_of, read_weights


@pytest.fixture
def ptv_python() -> str:
    return str(require_ptv_python())


def _blobs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "conv1_w": rng.standard_normal((8, 3, 1, 7, 7)).astype(np.float32),
        "res_conv1_bn_s": rng.standard_normal(8).astype(np.float32),
        "res_conv1_bn_rm": rng.standard_normal(8).astype(np.float64),
        "pred_b": np.arange(5, dtype=np.float32),
        "conv1_w_momentum": np.zeros((8, 3, 1, 7, 7), np.float32),
    }


class _Python2Pickler(pickle._Pickler):
    """Writes ``bytes`` as Python 2 wrote ``str`` (``SHORT_BINSTRING``/``BINSTRING``), and NumPy's
    module as ``numpy.core.multiarray``: the shape of Detectron's Caffe2 checkpoints."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_global(self, obj, name=None):
        module = getattr(obj, "__module__", "")
        if module == "numpy._core.multiarray" or module == "numpy.core.multiarray":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n" + obj.__name__.encode() + b"\n")
            self.memoize(obj)
            return
        super().save_global(obj, name)

    def _save_py2_str(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str


def _python2_pickle(obj) -> bytes:
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(obj)
    return out.getvalue()


@pytest.mark.parametrize("writer", ["python2", "protocol2", "protocol4", "protocol5"])
def test_caffe2_pkl_reads_arrays(tmp_path, writer):
    blobs = _blobs()
    obj = {"blobs": blobs, "model_iter": 180000, "lr": 0.1}
    path = tmp_path / "I3D_8x8_R50.pkl"
    if writer == "python2":
        data = _python2_pickle(obj)
        assert b"_codecs" not in data and b"numpy.core.multiarray" in data
    else:
        data = pickle.dumps(obj, protocol=int(writer[-1]))
    path.write_bytes(data)
    got = load_caffe2_pkl(path)
    assert set(got) == set(blobs)
    for key, value in blobs.items():
        assert got[key].dtype == value.dtype and np.array_equal(got[key], value)
    state = read_weights(path)
    assert format_of(path) == "pkl"
    assert torch.equal(state["conv1_w"], torch.from_numpy(blobs["conv1_w"]))


def test_caffe2_pkl_written_by_the_reference_numpy(tmp_path, ptv_python):
    """A checkpoint pickled by the pytorchvideo reference environment's own NumPy and pickle."""
    import subprocess

    path = tmp_path / "ref.pkl"
    script = ("import pickle, numpy as np, sys; rng = np.random.default_rng(1); "
              "blobs = {'res2_0_branch2a_w': rng.standard_normal((4, 8, 1, 1, 1)).astype(np.float32), "
              "'pred_w': rng.standard_normal((3, 4)).astype(np.float32)}; "
              "pickle.dump({'blobs': blobs}, open(sys.argv[1], 'wb'), protocol=2); "
              "np.save(sys.argv[1] + '.npy', blobs['pred_w'])")
    subprocess.run([ptv_python, "-c", script, str(path)], check=True, timeout=120)
    got = load_caffe2_pkl(path)
    assert got["res2_0_branch2a_w"].shape == (4, 8, 1, 1, 1)
    assert np.array_equal(got["pred_w"], np.load(str(path) + ".npy"))


class _RunsACommand:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Evaluates:
    def __reduce__(self):
        return (eval, ("__import__('os').getcwd()",))


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_hostile_pkl_is_refused_without_running_anything(tmp_path, protocol):
    marker = tmp_path / "ran"
    path = tmp_path / "hostile.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"w": np.zeros(2, np.float32), "x": _RunsACommand(str(marker))}},
                                  protocol=protocol))
    with pytest.raises(Caffe2PickleError, match=r"refused: the pickle wants to build (posix|os)\.system"):
        load_caffe2_pkl(path)
    assert not marker.exists()
    with pytest.raises(WeightsError, match="refused") as err:
        read_weights(path)
    assert len(str(err.value).splitlines()) == 1
    assert not marker.exists()


def test_pkl_refuses_eval_and_foreign_classes(tmp_path):
    path = tmp_path / "eval.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"x": _Evaluates()}}, protocol=2))
    with pytest.raises(Caffe2PickleError, match=r"(__builtin__|builtins)\.eval"):
        load_caffe2_pkl(path)
    path.write_bytes(pickle.dumps({"blobs": {"x": torch.zeros(2)}}, protocol=2))
    with pytest.raises(Caffe2PickleError, match=r"torch\."):
        load_caffe2_pkl(path)


def test_pkl_without_arrays_or_damaged(tmp_path):
    path = tmp_path / "empty.pkl"
    path.write_bytes(pickle.dumps({"blobs": {"lr": 0.1}}, protocol=2))
    with pytest.raises(Caffe2PickleError, match="no NumPy arrays"):
        load_caffe2_pkl(path)
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(Caffe2PickleError, match="expected a dict"):
        load_caffe2_pkl(path)
    path.write_bytes(pickle.dumps({"blobs": _blobs()}, protocol=2)[:200])
    with pytest.raises(WeightsError, match="not a readable Caffe2"):
        read_weights(path)


def test_pyth_checkpoint_dict(tmp_path):
    """PySlowFast's checkpoint layout: epoch, model_state, optimizer_state, cfg (a YAML string)."""
    state = {"s1.pathway0_stem.conv.weight": torch.randn(4, 3, 1, 7, 7), "head.projection.bias": torch.randn(7)}
    path = tmp_path / "x3d_xs.pyth"
    torch.save({"epoch": 300, "model_state": state, "optimizer_state": {"state": {}, "param_groups": [{"lr": 0.1}]},
                "cfg": "MODEL:\n  ARCH: x3d\n"}, path)
    assert format_of(path) == "pth"
    got = read_weights(path)
    assert set(got) == set(state) and all(torch.equal(got[k], state[k]) for k in state)


def test_pyth_refuses_objects(tmp_path):
    path = tmp_path / "bad.pyth"
    torch.save({"model_state": {"w": torch.zeros(1)}, "cfg": _Evaluates()}, path)
    with pytest.raises(WeightsError, match="refused or unreadable"):
        read_weights(path)


def test_unknown_suffix_names_the_formats(tmp_path):
    path = tmp_path / "weights.h5"
    path.write_bytes(b"x")
    with pytest.raises(WeightsError, match=r"\.pyth.*Caffe2 \.pkl"):
        read_weights(path)


@pytest.mark.parametrize("zipped", [True, False])
def test_pkl_saved_by_torch_is_read_as_a_checkpoint(tmp_path, zipped):
    """PySlowFast's multigrid release saved PyTorch checkpoints under .pkl names: read with weights_only."""
    state = {"s1.pathway0_stem.conv.weight": torch.randn(8, 3, 1, 7, 7)}
    path = tmp_path / "SLOWFAST_8x8_R50_stepwise.pkl"
    torch.save({"model_state": state, "epoch": 196}, path, _use_new_zipfile_serialization=zipped)
    got = read_weights(path)
    assert torch.equal(got["s1.pathway0_stem.conv.weight"], state["s1.pathway0_stem.conv.weight"])
    torch.save({"model_state": state, "cfg": _Evaluates()}, path, _use_new_zipfile_serialization=zipped)
    with pytest.raises(WeightsError, match="refused or unreadable"):
        read_weights(path)
