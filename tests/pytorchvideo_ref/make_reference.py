"""Generate pytorchvideo / PySlowFast reference weights and logits for zoo's parity tests.

Run with the pytorchvideo reference venv's interpreter (pytorchvideo 0.1.5, fvcore, iopath, torch),
never with zoo's:

    .venv-ptv/bin/python tests/pytorchvideo_ref/make_reference.py --out .cache/pytorchvideo_ref \
        [--cases id,id] [--pyslowfast-src DIR]

For every case of ``cases.py`` it builds the network from the upstream code, draws seeded random
weights (BatchNorm statistics and affine parameters included, so that every BatchNorm matters; the
upstream init zeroes some of them), runs it in eval mode on a seeded clip and writes, keyed by
``case_key``:

    <out>/<id>-<key>.pyth    {"model_state": state_dict}, the layout both code bases publish
    <out>/<id>-<key>.pkl     (Caffe2 cases) the weights as Caffe2 blobs, checked with PySlowFast's loader
    <out>/<id>-<key>.npz     input0[, input1] (one per pathway), logits
    <out>/<id>-<key>.error   the traceback, when the upstream code itself failed

With ``--fixtures`` it writes the small ``FIXTURE_CASES`` as ``<out>/<id>.*`` instead (the files kept in
``tests/fixtures/pyslowfast``; the ``.npz`` also holds the case it was made from, as JSON).

Stand-ins, for imports that classification never uses (nothing else is changed):

* ``standins/torchvision``: pytorchvideo's ``models/head.py`` imports ``torchvision.ops.RoIAlign`` for
  its detection head; torchvision does not install beside torch 2.13 here.
* ``standins_pyslowfast/simplejson.py``: PySlowFast's logging imports it to format training stats.
* names PySlowFast imports from a newer pytorchvideo (multi-process gathers of its contrastive
  models, a training loss) are added to pytorchvideo 0.1.5's modules as functions that fail if called.

Logits, not probabilities: both code bases end their heads with a softmax in eval mode; pytorchvideo
cases are built with ``head_activation=None``, PySlowFast's ``head.act`` and the ``post_act`` of its
pytorchvideo wrappers (``PTVResNet``, ``PTVSlowFast``, ... of ``slowfast/models/ptv_model_builder.py``,
whose state dicts hold pytorchvideo's keys under ``model.``) are replaced by an identity.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import asdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE / "standins"), str(HERE / "standins_pyslowfast"), str(HERE)]
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from cases import CASES, CASES_BY_ID, FIXTURE_CASES, FairCase, case_key  # noqa: E402

#: module -> names that PySlowFast imports from a newer pytorchvideo than 0.1.5 (multi-process
#: gathers of its contrastive models, a training loss); classification never calls them.
_NEWER_PYTORCHVIDEO_NAMES = {
    "pytorchvideo.layers.distributed": ("cat_all_gather", "get_local_process_group", "get_local_rank",
                                        "get_local_size", "get_world_size", "init_distributed_training"),
    "pytorchvideo.losses": (),
    "pytorchvideo.losses.soft_target_cross_entropy": ("SoftTargetCrossEntropyLoss",),
}


def _never_called(name: str):
    def fail(*args, **kwargs):
        raise RuntimeError(f"{name} is a stand-in in the reference harness; classification never calls it")

    return fail


def build_pytorchvideo(case: FairCase) -> nn.Module:
    import importlib

    module_name, _, fn = case.builder.rpartition(".")
    module = importlib.import_module(f"pytorchvideo.models.{module_name}")
    # a value "nn.X" names the torch.nn class X (a pooling or activation argument)
    kwargs = {k: getattr(nn, v[3:]) if isinstance(v, str) and v.startswith("nn.") else v for k, v in case.kwargs.items()}
    return getattr(module, fn)(**kwargs)


def build_pyslowfast(case: FairCase, src: Path) -> nn.Module:
    import importlib
    import types

    for module_name, names in _NEWER_PYTORCHVIDEO_NAMES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            module = sys.modules[module_name] = types.ModuleType(module_name)
        for name in names:
            if not hasattr(module, name):
                setattr(module, name, _never_called(f"{module_name}.{name}"))
    if str(src) not in sys.path:
        sys.path.insert(0, str(src))
    # slowfast.models/__init__ also imports the contrastive and masked (MAE) models, whose helpers pull
    # in plotting, OpenCV and torchvision.io; the package is entered without it, the classification
    # builders imported directly.
    package = types.ModuleType("slowfast.models")
    package.__path__ = [str(src / "slowfast" / "models")]
    sys.modules["slowfast.models"] = package
    from slowfast.config.defaults import assert_and_infer_cfg, get_cfg
    from slowfast.models import video_model_builder  # noqa: F401  (registers the classification models)
    from slowfast.models.build import MODEL_REGISTRY

    cfg = get_cfg()
    cfg.set_new_allowed(True)  # some configs carry keys of other PySlowFast versions (DATA_LOADER.PREFETCH)
    cfg.merge_from_file(str(src / "configs" / case.builder))
    overrides = {"NUM_GPUS": 0, **case.kwargs}
    cfg.merge_from_list([str(x) for kv in overrides.items() for x in kv])
    cfg = assert_and_infer_cfg(cfg)
    if cfg.MODEL.MODEL_NAME.startswith("PTV"):  # the projects/pytorchvideo wrappers (pytorchvideo's network as .model)
        from slowfast.models import ptv_model_builder  # noqa: F401  (registers PTVResNet, PTVSlowFast, ...)
    model = MODEL_REGISTRY.get(cfg.MODEL.MODEL_NAME)(cfg)
    if hasattr(model, "head") and hasattr(model.head, "act"):
        model.head.act = nn.Identity()  # logits, not softmax probabilities
    if hasattr(model, "post_act"):
        model.post_act = nn.Identity()  # the PTV wrappers' softmax, applied in eval before their mean over positions
    return model


def randomize(model: nn.Module, seed: int) -> None:
    """Seeded random weights: the upstream init for convs and linears, every norm's four tensors drawn."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm)):
                if getattr(module, "weight", None) is not None:
                    module.weight.copy_(torch.rand(module.weight.shape, generator=gen) + 0.5)
                    module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.1)
                if getattr(module, "running_mean", None) is not None:
                    module.running_mean.copy_(torch.randn(module.running_mean.shape, generator=gen) * 0.1)
                    module.running_var.copy_(torch.rand(module.running_var.shape, generator=gen) + 0.5)
        for name, param in model.named_parameters():
            if param.dim() == 1 and "norm" not in name and "bn" not in name and torch.all(param == 0):
                param.copy_(torch.randn(param.shape, generator=gen) * 0.02)  # zero-initialised biases count too
            elif param.dim() > 1 and param.abs().max() == 0:
                param.copy_(torch.randn(param.shape, generator=gen) * 0.02)  # position embeddings start at zero


_CAFFE2_SUFFIX = {"weight": "s", "bias": "b", "running_mean": "rm", "running_var": "riv"}


def caffe2_blob_name(key: str, last_block: dict[int, int]) -> str | None:
    """PySlowFast's PyTorch name -> the Caffe2 blob name its ``c2_model_loading`` maps to it (None: no blob).

    The Fast pathway's blobs start with ``t_``; the lateral after stage ``i`` is named after the last
    block of the Fast stage ``i`` (``last_block[i]``), ``t_res{i}_{j}_branch2c_bn_subsample``.
    """
    import re

    module, _, tensor = key.rpartition(".")
    if tensor == "num_batches_tracked":
        return None
    conv = "w" if tensor == "weight" else "b"
    bn = _CAFFE2_SUFFIX.get(tensor)
    fixed = {"s1.pathway0_stem.conv": f"conv1_{conv}", "s1.pathway0_stem.bn": f"res_conv1_bn_{bn}",
             "s1.pathway1_stem.conv": f"t_conv1_{conv}", "s1.pathway1_stem.bn": f"t_res_conv1_bn_{bn}",
             "s1_fuse.conv_f2s": f"t_pool1_subsample_{conv}", "s1_fuse.bn": f"t_pool1_subsample_bn_{bn}",
             "head.projection": f"pred_{conv}"}
    if module in fixed:
        return fixed[module]
    m = re.fullmatch(r"s(\d)_fuse\.(conv_f2s|bn)", module)
    if m:
        lateral = f"t_res{m[1]}_{last_block[int(m[1])]}_branch2c_bn_subsample"
        return f"{lateral}_{conv}" if m[2] == "conv_f2s" else f"{lateral}_bn_{bn}"
    m = re.fullmatch(r"s(\d)\.pathway0_nonlocal(\d+)\.(conv_(theta|phi|g|out)|bn)", module)
    if m:  # the non-local blocks of the slow pathway (I3D-NLN)
        return f"nonlocal_conv{m[1]}_{m[2]}_{m[4]}_{conv}" if m[4] else f"nonlocal_conv{m[1]}_{m[2]}_bn_{bn}"
    m = re.fullmatch(r"s(\d)\.pathway([01])_res(\d+)\.branch(1|2\.([abc]))(_bn)?", module)
    if m is None:
        raise ValueError(f"no Caffe2 name known for {key}")
    prefix = "t_" if m[2] == "1" else ""
    branch = "branch1" if m[4] == "1" else f"branch2{m[5]}"
    name = f"{prefix}res{m[1]}_{m[3]}_{branch}"
    return f"{name}_bn_{bn}" if m[6] else f"{name}_{conv}"


def write_caffe2(model: nn.Module, path: Path, case: FairCase, inputs: list, logits: torch.Tensor, src: Path) -> None:
    """Write ``model``'s weights as a Caffe2 checkpoint (Python-2 era layout: ``{"blobs": {name: ndarray}}``,
    optimizer momenta beside the weights), then prove the file with PySlowFast's own Caffe2 loader: a fresh
    model loaded from it must give the same logits."""
    import pickle

    import re

    state = model.state_dict()
    last_block: dict[int, int] = {}
    for key in state:
        m = re.match(r"s(\d)\.pathway\d_res(\d+)\.", key)
        if m:
            last_block[int(m[1])] = max(last_block.get(int(m[1]), 0), int(m[2]))
    blobs = {}
    for key, value in state.items():
        name = caffe2_blob_name(key, last_block)
        if name is not None:
            blobs[name] = value.numpy().copy()
            if name.endswith(("_w", "_b")) and not case.id.startswith("fixture_"):  # fixtures: kept small
                blobs[name + "_momentum"] = np.zeros_like(blobs[name])
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs, "model_iter": np.array([1000])}, f, protocol=2)
    from slowfast.utils.checkpoint import load_checkpoint

    fresh = build_pyslowfast(case, src)
    load_checkpoint(str(path), fresh, data_parallel=False, convert_from_caffe2=True)
    fresh.eval()
    with torch.no_grad():
        again = fresh(list(inputs))
    if not torch.allclose(again, logits, atol=1e-6, rtol=0):
        raise RuntimeError(f"PySlowFast's Caffe2 loader reads {path} differently: {float((again - logits).abs().max())}")


def run_case(case: FairCase, out: Path, pyslowfast_src: Path | None, stem: str | None = None) -> None:
    """Write ``case``'s upstream weights and ``.npz`` under ``out/stem`` (default ``{id}-{case_key}``)."""
    torch.manual_seed(case.seed)
    if case.source == "pytorchvideo":
        model = build_pytorchvideo(case)
    elif pyslowfast_src is None:
        raise RuntimeError("PySlowFast case: pass --pyslowfast-src (a checkout of facebookresearch/SlowFast)")
    else:
        model = build_pyslowfast(case, pyslowfast_src)
    randomize(model, case.seed)
    model.eval()
    gen = torch.Generator().manual_seed(1000 + case.seed)
    inputs = [torch.randn(shape, generator=gen) for shape in case.input_shapes]
    inputs = [x.to(getattr(torch, case.input_dtype)).float() for x in inputs]  # values the stored dtype holds
    with torch.no_grad():  # the upstream models overwrite a list input in place: give them a copy
        logits = model(list(inputs) if case.source == "pyslowfast" or len(inputs) > 1 else inputs[0])
    stem = stem or f"{case.id}-{case_key(case)}"
    if case.kwargs.get("TEST.CHECKPOINT_TYPE") == "caffe2":
        write_caffe2(model, out / f"{stem}.pkl", case, inputs, logits, pyslowfast_src)
    else:
        torch.save({"model_state": model.state_dict()}, out / f"{stem}.pyth")
    arrays = {f"input{i}": x.numpy().astype(case.input_dtype) for i, x in enumerate(inputs)}
    np.savez_compressed(out / f"{stem}.npz", logits=logits.reshape(logits.shape[0], -1).numpy(),
             case=np.array(json.dumps(asdict(case), sort_keys=True)), **arrays)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    parser.add_argument("--pyslowfast-src", type=Path, default=os.environ.get("ZOO_PYSLOWFAST_SRC") or None,
                        help="a checkout of facebookresearch/SlowFast (its slowfast/ and configs/)")
    parser.add_argument("--force", action="store_true", help="generate even where files with the key exist")
    parser.add_argument("--fixtures", action="store_true",
                        help="write the FIXTURE_CASES as <out>/<id>.* (tests/fixtures/pyslowfast), regenerating them")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [CASES_BY_ID[c] for c in args.cases.split(",") if c]
    cases = chosen or list(FIXTURE_CASES if args.fixtures else CASES)
    failed = 0
    for case in cases:
        name = case.id if args.fixtures else f"{case.id}-{case_key(case)}"
        stem = args.out / name
        if not (args.force or args.fixtures) and stem.with_suffix(".npz").exists():
            continue
        stem.with_suffix(".error").unlink(missing_ok=True)
        try:
            run_case(case, args.out, args.pyslowfast_src, name)
            print(f"{case.id}: written", flush=True)
        except Exception:
            failed += 1
            stem.with_suffix(".error").write_text(traceback.format_exc())
            print(f"{case.id}: FAILED\n{traceback.format_exc()}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
