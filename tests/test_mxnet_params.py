"""zoo.convert.mxnet_params: reading MXNet NDArray-list files without MXNet."""
from __future__ import annotations

import os
import struct
import subprocess
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from zoo.convert.mxnet_params import V2_MAGIC, MXNetParamsError, load_params, save_params
from zoo.weights import read_weights

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PYTHONS = (ROOT / ".venv-ref" / "bin" / "python", Path("/tmp/gcvref/bin/python"))


def _reference_python() -> Path:
    env = os.environ.get("ZOO_GLUONCV_PYTHON")
    for path in [Path(env)] if env else DEFAULT_PYTHONS:
        if path.is_file():
            return path
    reason = "no MXNet reference venv (set ZOO_GLUONCV_PYTHON or run `make ref-venv`)"
    if os.environ.get("ZOO_REQUIRE_REFERENCE") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


_WRITE_WITH_MXNET = textwrap.dedent('''
    import sys
    import numpy as np
    import mxnet as mx
    from mxnet.gluon import nn

    out = sys.argv[1]
    rng = np.random.default_rng(7)
    arrays = {
        "features.0.weight": rng.standard_normal((8, 3, 3, 3, 3)).astype("float32"),
        "bn.running_var": rng.uniform(0.5, 1.5, (8,)).astype("float32"),
        "half": rng.standard_normal((4, 5)).astype("float16"),
        "double": rng.standard_normal((3,)).astype("float64"),
        "ints": rng.integers(-2**31, 2**31 - 1, (2, 3, 4)).astype("int32"),
        "longs": rng.integers(-2**62, 2**62, (5,)).astype("int64"),
        "bytes": rng.integers(0, 256, (7,)).astype("uint8"),
        "signed_bytes": rng.integers(-128, 128, (7,)).astype("int8"),
        "arg:fc.weight": rng.standard_normal((10, 6)).astype("float32"),
        "aux:bn.running_mean": rng.standard_normal((6,)).astype("float32"),
    }
    mx.nd.save(out + "/nd.params", {k: mx.nd.array(v, dtype=v.dtype) for k, v in arrays.items()})
    np.savez(out + "/nd_expected.npz", **{k.replace(":", "__"): v for k, v in arrays.items()})

    net = nn.HybridSequential()
    net.add(nn.Conv3D(4, kernel_size=3, in_channels=3), nn.BatchNorm(in_channels=4), nn.Dense(5, in_units=4))
    net.initialize(mx.init.Normal(1.0))
    net[1].running_mean.set_data(mx.nd.array(rng.standard_normal(4)))
    net[1].running_var.set_data(mx.nd.array(rng.uniform(0.5, 1.5, 4)))
    net.save_parameters(out + "/block.params")
    np.savez(out + "/block_expected.npz", **{k: v.data().asnumpy() for k, v in net._collect_params_with_prefix().items()})

    sparse = mx.nd.array(np.eye(4, dtype="float32")).tostype("row_sparse")
    mx.nd.save(out + "/sparse.params", {"embedding.weight": sparse})
''')


@pytest.fixture(scope="module")
def mxnet_files(tmp_path_factory) -> Path:
    """Files written by real MXNet 1.9.1 in the reference venv, with the values they hold."""
    python = _reference_python()
    out = tmp_path_factory.mktemp("mxnet_files")
    script = out / "write.py"
    script.write_text(_WRITE_WITH_MXNET)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    proc = subprocess.run([str(python), "-W", "ignore", str(script), str(out)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_reads_mx_nd_save_exactly(mxnet_files):
    got = load_params(mxnet_files / "nd.params")
    with np.load(mxnet_files / "nd_expected.npz") as npz:
        expected = {k.replace("__", ":"): npz[k] for k in npz.files}
    stripped = {k.split(":", 1)[-1]: v for k, v in expected.items()}
    assert list(got) == list(stripped)  # file order kept, arg:/aux: stripped
    for name, want in stripped.items():
        assert got[name].dtype == want.dtype, name
        assert got[name].shape == want.shape, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


def test_reads_gluon_save_parameters_exactly(mxnet_files):
    got = load_params(mxnet_files / "block.params")
    with np.load(mxnet_files / "block_expected.npz") as npz:
        expected = {k: npz[k] for k in npz.files}
    assert set(got) == set(expected) == {
        "0.weight", "0.bias", "1.gamma", "1.beta", "1.running_mean", "1.running_var", "2.weight", "2.bias"}
    for name, want in expected.items():
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert got["0.weight"].shape == (4, 3, 3, 3, 3)


def test_read_weights_gives_torch_tensors(mxnet_files):
    state = read_weights(mxnet_files / "block.params")
    assert state["1.running_var"].dtype == torch.float32
    np.testing.assert_array_equal(state["2.weight"].numpy(), load_params(mxnet_files / "block.params")["2.weight"])


def test_sparse_written_by_mxnet_is_refused(mxnet_files):
    with pytest.raises(MXNetParamsError, match=r"sparse storage \(row_sparse\).*not supported"):
        load_params(mxnet_files / "sparse.params")


@pytest.mark.parametrize("version", [2, 1, 0])
def test_round_trip_all_record_versions(tmp_path, version):
    rng = np.random.default_rng(version)
    arrays = {
        "conv.weight": rng.standard_normal((4, 3, 1, 3, 3)).astype(np.float32),
        "fc.bias": rng.standard_normal(7).astype(np.float64),
        "counts": rng.integers(0, 100, (2, 2)).astype(np.int64),
        "mask": rng.integers(0, 2, 5).astype(bool),
        "h": rng.standard_normal((3, 3)).astype(np.float16),
    }
    save_params(tmp_path / "x.params", arrays, version=version)
    got = load_params(tmp_path / "x.params")
    assert list(got) == list(arrays)
    for k, v in arrays.items():
        assert got[k].dtype == v.dtype
        np.testing.assert_array_equal(got[k], v)
    got["conv.weight"][0] = 1.0  # arrays are writable


def test_truncated_file_says_expected_and_present_bytes(tmp_path):
    path = tmp_path / "t.params"
    save_params(path, {"w": np.ones((64, 64), np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[:1000])
    with pytest.raises(MXNetParamsError, match=r"truncated") as err:
        load_params(path)
    msg = str(err.value)
    assert "16384 bytes" in msg  # what the array needs
    assert "only 1000 are present" in msg


def test_truncated_names_are_detected(tmp_path):
    path = tmp_path / "t.params"
    save_params(path, {"a_long_parameter_name": np.ones(3, np.float32)})
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(MXNetParamsError, match="truncated.*name #0"):
        load_params(path)


@pytest.mark.parametrize("content", [
    b"",
    b"PK\x03\x04" + b"\0" * 60,  # a zip (e.g. the published archive passed unextracted)
    b"\x80\x02}q\x00" + b"\0" * 60,  # a pickle (.pth)
    struct.pack("<QQQ", 0x113, 0, 0),
])
def test_foreign_file_is_not_mxnet(tmp_path, content):
    path = tmp_path / "f.params"
    path.write_bytes(content)
    with pytest.raises(MXNetParamsError, match="not an MXNet .params file"):
        load_params(path)


def test_zip_archive_is_not_mxnet(tmp_path):
    inner = tmp_path / "m.params"
    save_params(inner, {"w": np.zeros(2, np.float32)})
    with zipfile.ZipFile(tmp_path / "m.zip", "w") as z:
        z.write(inner, "m.params")
    with pytest.raises(MXNetParamsError, match="not an MXNet .params file"):
        load_params(tmp_path / "m.zip")


def test_bad_array_magic_is_not_mxnet(tmp_path):
    path = tmp_path / "b.params"
    path.write_bytes(struct.pack("<QQQI", 0x112, 0, 1, 0xDEADBEEF) + b"\0" * 64)
    with pytest.raises(MXNetParamsError, match="not an MXNet .params file.*0xdeadbeef"):
        load_params(path)


def _record_v2(stype: int, shape: tuple[int, ...], flag: int, payload: bytes) -> bytes:
    rec = struct.pack("<Iii", V2_MAGIC, stype, len(shape)) + struct.pack(f"<{len(shape)}q", *shape)
    return rec + struct.pack("<iii", 1, 0, flag) + payload


def _names(*names: str) -> bytes:
    out = struct.pack("<Q", len(names))
    for n in names:
        out += struct.pack("<Q", len(n)) + n.encode()
    return out


def test_fabricated_sparse_record_is_refused(tmp_path):
    rec = struct.pack("<Iii", V2_MAGIC, 2, 1) + struct.pack("<q", 3)  # csr storage
    (tmp_path / "s.params").write_bytes(struct.pack("<QQQ", 0x112, 0, 1) + rec + b"\0" * 64)
    with pytest.raises(MXNetParamsError, match=r"sparse storage \(csr\)"):
        load_params(tmp_path / "s.params")


def test_bfloat16_is_widened_to_float32(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 0.0], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    body = struct.pack("<QQQ", 0x112, 0, 1) + _record_v2(0, (4,), 12, bf16) + _names("x")
    (tmp_path / "b.params").write_bytes(body)
    got = load_params(tmp_path / "b.params")["x"]
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, values)


def test_names_count_must_match(tmp_path):
    body = struct.pack("<QQQ", 0x112, 0, 1) + _record_v2(0, (1,), 0, b"\0\0\0\0") + _names("a", "b")
    (tmp_path / "n.params").write_bytes(body)
    with pytest.raises(MXNetParamsError, match="1 arrays but 2 names"):
        load_params(tmp_path / "n.params")


def test_unnamed_list_gets_index_keys(tmp_path):
    body = struct.pack("<QQQ", 0x112, 0, 2) + _record_v2(0, (1,), 0, struct.pack("<f", 1.5)) \
        + _record_v2(0, (2,), 4, struct.pack("<2i", 3, 4)) + struct.pack("<Q", 0)
    (tmp_path / "l.params").write_bytes(body)
    got = load_params(tmp_path / "l.params")
    assert list(got) == ["0", "1"]
    assert got["0"].tolist() == [1.5] and got["1"].tolist() == [3, 4]


@pytest.mark.parametrize("shape", [(2**62, 4), (2**40, 2**40, 2**40), (3_000_000_000, 3_000_000_000)])
def test_an_absurd_shape_is_a_clear_error_naming_the_file(tmp_path, shape):
    """Dimensions whose product overflows int64 (or dwarfs the file) are refused before any numpy call."""
    path = tmp_path / "overflow.params"
    header = struct.pack("<QQQ", 0x112, 0, 1) + struct.pack("<Iii", V2_MAGIC, 0, len(shape))
    body = struct.pack(f"<{len(shape)}q", *shape) + struct.pack("<iii", 1, 0, 0) + b"\0" * 64
    path.write_bytes(header + body + struct.pack("<Q", 0))
    with pytest.raises(MXNetParamsError, match=r"overflow.params: array #0 declares shape .* far more than"):
        load_params(path)
