"""Build mmaction2 recognizers from their configs and write reference checkpoints and logits.

Run with the mmaction2 reference venv's interpreter (``make mmaction-venv``), never with zoo's:

    .venv-mmaction/bin/python tests/mmaction_ref/run_mmaction.py --cases cases.json --out .cache/mmaction_ref

``cases.json`` is a list of cases, each ``{"id", "config", "model", "input", "layout", "seed"}``:
``config`` is a path under mmaction2's shipped configs (``recognition/tsn/<name>.py``), ``model`` a
dict merged into the config's ``model`` (a reduced size, e.g. ``{"backbone": {"depth": 18}}``),
``input`` the clip shape in zoo's layout ``(N, C, T, H, W)``, ``layout`` ``"2d"`` (mmaction2's
``Recognizer2D`` takes ``(N, T, C, H, W)``), ``"3d"`` (``Recognizer3D`` takes ``(N, 1, C, T, H, W)``) or
``"omni"`` (``RecognizerOmni``: its ``mode="tensor"`` path unpacks the head's output as a pair, so the
backbone and the head are called directly on ``(N, C, T, H, W)``); ``double`` (optional) runs the saved
float32 weights in float64.

Per case it gives the network seeded random weights (BatchNorm statistics included, so that they
matter), saves them as mmaction2 saves a checkpoint (``{"state_dict": ..., "meta": ...}``) and runs
the same seeded input, already normalised, through the recognizer's network (``mode="tensor"``,
``stage="head"``: backbone, neck and head, no test-time averaging):

    <out>/<id>.pth   the checkpoint
    <out>/<id>.npz   ``input`` (zoo's layout) and ``logits`` ``(N, num_classes)``; for TRN also
                     ``relation_draws``: the frame tuples its head drew at random (:func:`recorded_draws`)
    <out>/<id>.error the traceback, where mmaction2 itself failed

mmcv-lite has no compiled ops; TIN's ``mmcv.ops.tin_shift`` gets a stand-in written from the op's CUDA
kernel (:func:`tin_shift_by_definition`).  Three things stop a plain ``import mmaction.models`` in a
fresh venv; they are handled here, never in zoo:
the PyPI wheel lacks ``mmaction/models/localizers/drn`` (a stand-in package is registered before the
import), ``mmaction.utils.dependency.WITH_MULTIMODAL`` turns on whenever ``transformers`` is present
and pulls in timm/torchvision (forced off), and ``register_all_modules`` needs scipy
(``init_default_scope("mmaction")`` is used instead).

TSN's other backbones come from torchvision, timm and mmpretrain (MobileOne, and ResNeXt, which the
configs name by mmpretrain's old name ``mmcls.``).  mmpretrain is a plain package of the venv;
torchvision and timm are their Python files only, unpacked into ``<venv>/extras`` by
``pure_python_extras.py`` (no compiled ops: classification never uses them) and put on ``sys.path``
here, with the two op schemas that torchvision's import registers fake kernels for.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import traceback
import types
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")

import torch  # noqa: E402

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def tin_shift_by_definition(data: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """``mmcv.ops.tin_shift`` as its CUDA kernel loops: ``output[n, i + s, j] = input[n, i, j]``, zeros elsewhere.

    ``data``: ``(N, T, C, HW)``; ``shift``: int ``(N, G)``, channel ``j`` in group ``j // (C / G)``.
    """
    n, t, c, _ = data.shape
    group_channel = c // shift.shape[1]
    output = torch.zeros_like(data)
    for b in range(n):
        for group in range(shift.shape[1]):
            s = int(shift[b, group])
            channels = slice(group * group_channel, (group + 1) * group_channel)
            for i in range(t):
                if 0 <= i + s < t:
                    output[b, i + s, channels] = data[b, i, channels]
    return output


#: The op schemas declared for a torchvision without its compiled extension (kept alive: deleting it undeclares them).
_TORCHVISION_SCHEMAS: list[torch.library.Library] = []


def add_backbone_libraries() -> bool:
    """Put the pure-Python torchvision and timm of ``<venv>/extras`` on ``sys.path``; False if absent.

    torchvision's import registers fake kernels for ``torchvision::nms`` and ``qnms``, which need the
    ops declared: their schemas are declared here (never called: classification does not use them).
    """
    extras = Path(os.environ.get("ZOO_MMACTION_EXTRAS", Path(sys.prefix) / "extras"))
    if not (extras / "torchvision").is_dir():
        return False
    if str(extras) not in sys.path:
        sys.path.insert(0, str(extras))
    if not _TORCHVISION_SCHEMAS:
        schemas = torch.library.Library("torchvision", "DEF")
        for op in ("nms", "qnms"):
            schemas.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        _TORCHVISION_SCHEMAS.append(schemas)
    return True


def import_mmaction() -> Path:
    """Import mmaction2's models with the three fixes; returns its shipped configs folder."""
    add_backbone_libraries()  # before mmaction.models, which registers MobileOneTSM only if mmpretrain imports
    # 1. the wheel lacks models/localizers/drn, which models/localizers/__init__.py imports
    for name in ("mmaction.models.localizers.drn", "mmaction.models.localizers.drn.drn"):
        stand_in = types.ModuleType(name)
        stand_in.__path__ = []  # a package, so that the submodule import resolves
        stand_in.DRN = type("DRN", (torch.nn.Module,), {"__doc__": "stand-in: the wheel ships no DRN"})
        sys.modules[name] = stand_in
    # mmaction2 imports the importlib_metadata backport, which its wheel does not require: the stdlib has it
    try:
        import importlib_metadata  # noqa: F401
    except ImportError:
        import importlib.metadata
        sys.modules["importlib_metadata"] = importlib.metadata
    # 2. no multimodal models: they would import transformers, timm and torchvision
    import mmaction.utils.dependency as dependency
    dependency.WITH_MULTIMODAL = False
    # mmcv-lite has no compiled ops: TIN's tin_shift gets a stand-in written from the CUDA kernel's loop
    try:
        import mmcv.ops  # noqa: F401
    except ImportError:
        ops = types.ModuleType("mmcv.ops")
        ops.tin_shift = tin_shift_by_definition
        sys.modules["mmcv.ops"] = ops
    # 3. the registry's default scope instead of register_all_modules (which imports scipy)
    from mmengine.registry import init_default_scope
    import mmaction
    import mmaction.models  # noqa: F401  registers the models
    init_default_scope("mmaction")
    return Path(mmaction.__file__).parent / ".mim" / "configs"


def merge(base: dict, update: dict) -> dict:
    """``base`` with ``update`` merged in, nested dicts key by key."""
    out = dict(base)
    for key, value in update.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def randomize(model: torch.nn.Module, seed: int) -> None:
    """Seeded random weights that keep activations of order 1 and make every BatchNorm matter.

    Weights of 2+ dims: N(0, 1/fan_in) (a tenth of it in non-local blocks); 1-D weights (norm scales): U(0.5, 1.5); biases and
    running means: N(0, 0.1); running variances: U(0.5, 1.5); other floating tensors (position
    embeddings, tokens, relative-position tables): N(0, 0.02).  Float buffers other than BatchNorm
    statistics (fixed tables such as sine-cosine positions) keep the values the network gave them.
    """
    gen = torch.Generator().manual_seed(seed)
    learned = {name for name, _ in model.named_parameters()}
    with torch.no_grad():
        for name, tensor in model.state_dict(keep_vars=True).items():
            if not tensor.is_floating_point():
                continue
            leaf = name.rsplit(".", 1)[-1]
            if name not in learned and leaf not in ("running_mean", "running_var"):
                continue  # a fixed table the network computes (VideoMAE's sine-cosine positions), not a weight
            shape = tensor.shape
            if leaf == "running_var" or (leaf == "weight" and tensor.ndim == 1):
                value = torch.rand(shape, generator=gen) + 0.5
            elif leaf in ("bias", "running_mean"):
                value = torch.randn(shape, generator=gen) * 0.1
            elif leaf == "weight" and tensor.ndim >= 2:
                fan_in = max(1, tensor[0].numel())
                value = torch.randn(shape, generator=gen) / math.sqrt(fan_in)
                if "non_local" in name:  # a dot-product affinity grows with |x|^3: keep it finite
                    value = value * 0.1
            else:
                value = torch.randn(shape, generator=gen) * 0.02
            tensor.copy_(value.to(tensor.dtype))


@contextlib.contextmanager
def recorded_draws(draws: list):
    """Append every ``numpy.random.choice`` result to ``draws`` while inside (TRN's ``RelationModuleMultiScale``
    draws its frame tuples with it at each forward); numpy is seeded first so the draw is repeatable."""
    import numpy as np

    choice = np.random.choice

    def recording_choice(*args, **kwargs):
        picked = choice(*args, **kwargs)
        draws.append([int(i) for i in picked])
        return picked

    np.random.seed(0)
    np.random.choice = recording_choice
    try:
        yield draws
    finally:
        np.random.choice = choice


def run_case(case: dict, configs: Path, out: Path) -> None:
    from mmengine.config import Config
    from mmaction.registry import MODELS

    cfg = Config.fromfile(str(configs / case["config"]))
    model_cfg = merge(cfg.model.to_dict() if hasattr(cfg.model, "to_dict") else dict(cfg.model), case.get("model", {}))
    backbone_type = model_cfg["backbone"].get("type", "")
    if isinstance(backbone_type, str) and backbone_type.startswith("mmcls."):  # mmpretrain is mmcls renamed
        model_cfg["backbone"]["type"] = "mmpretrain." + backbone_type[len("mmcls."):]
    if "pretrained" in model_cfg["backbone"]:
        model_cfg["backbone"]["pretrained"] = None  # random weights, nothing downloaded
    if isinstance(model_cfg["backbone"].get("init_cfg"), dict) and model_cfg["backbone"]["init_cfg"].get("type") == "Pretrained":
        model_cfg["backbone"].pop("init_cfg")
    torch.manual_seed(case["seed"])
    model = MODELS.build(model_cfg).eval()
    randomize(model, case["seed"])
    gen = torch.Generator().manual_seed(case["seed"] + 1)
    clip = torch.randn(case["input"], generator=gen)  # zoo's (N, C, T, H, W)
    inputs = clip.transpose(1, 2).contiguous() if case["layout"] == "2d" else clip.unsqueeze(1)
    checkpoint = {"state_dict": model.state_dict(),
                  "meta": {"config": case["config"], "seed": case["seed"], "mmaction2": "reference run"}}
    torch.save(checkpoint, out / f"{case['id']}.pth")  # float32, as mmaction2 saves
    if case.get("double"):  # the saved float32 weights, computed in float64 (see MMCase.double)
        model, inputs, clip = model.double(), inputs.double(), clip.double()
    draws: list[list[int]] = []
    with torch.no_grad(), recorded_draws(draws):
        if case["layout"] == "omni":
            logits = model.cls_head(model.backbone(clip))
        else:
            logits = model(inputs, mode="tensor", stage="head")
    if isinstance(logits, tuple):
        logits = logits[0]
    import numpy as np
    extra = {"relation_draws": np.array(draws)} if draws else {}
    logits = logits if case.get("double") else logits.float()
    np.savez(out / f"{case['id']}.npz", input=clip.float().numpy(), logits=logits.numpy(), **extra)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", required=True, help="JSON file: a list of cases (see the module docstring)")
    parser.add_argument("--out", required=True, help="folder for <id>.pth / <id>.npz / <id>.error")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configs = import_mmaction()
    failed = 0
    for case in json.loads(Path(args.cases).read_text()):
        error = out / f"{case['id']}.error"
        error.unlink(missing_ok=True)
        try:
            run_case(case, configs, out)
        except Exception:  # the test reports mmaction2's own failure with its traceback
            failed += 1
            error.write_text(traceback.format_exc())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
