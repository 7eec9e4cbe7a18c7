"""Weights files and state dicts: read a file safely, fit a state dict to a registered model.

Formats: safetensors (ours), ``.pth``/``.pt``/``.pyth`` through ``torch.load(weights_only=True)`` (never a
full unpickle), MXNet ``.params`` through zoo's own NumPy reader, and Caffe2 ``.pkl`` checkpoints through
a restricted unpickler that builds NumPy arrays only.  This layer knows cards (to build the
model a state dict is for) but not the hub, the catalogue or converters: :mod:`zoo.weights` composes them.
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn

from .convert.keys import key_report
from .errors import WeightsError
from .registry import ModelCard

__all__ = ["format_of", "read_weights", "unwrap_checkpoint", "skip_init", "assign_state", "build_probe", "classifier_width",
           "fit_classifier", "load_into"]

logger = logging.getLogger(__name__)


def format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in (".pth", ".pt", ".bin", ".ckpt", ".tar", ".pyth"):  # IBM: .pth.tar; PySlowFast/pytorchvideo: .pyth
        return "pth"
    if suffix == ".params":
        return "params"
    if suffix == ".pkl":
        return "pkl"
    raise WeightsError(f"{path}: unknown weights format {suffix!r}; use .safetensors, .pth/.pt/.pyth, .params "
                       "or a Caffe2 .pkl")


def read_weights(path: str | os.PathLike, fmt: str | None = None) -> dict[str, torch.Tensor]:
    """Read a weights file into a flat ``{key: tensor}`` dict, safely.

    ``.pth``/``.pyth`` files are read with ``torch.load(weights_only=True)``: a pickle that would run
    code is refused.  Checkpoint dicts (``{"state_dict": ...}``, ``{"model": ...}``, PySlowFast's
    ``{"model_state": ...}``) are unwrapped and a DDP ``module.`` prefix removed.  Caffe2 ``.pkl``
    files give their ``blobs`` (NumPy arrays only; any other object in the pickle is refused).
    """
    path = Path(path)
    fmt = fmt or format_of(path)
    if fmt == "safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as err:
            raise WeightsError(f"{path}: not a readable safetensors file ({err})") from None
    if fmt == "pth":
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise WeightsError(
                f"{path}: refused or unreadable .pth ({type(err).__name__}: {str(err).splitlines()[0]}). "
                "zoo only loads plain tensors (torch.load weights_only=True); re-save the state dict, "
                "or convert it to safetensors"
            ) from None
        return unwrap_checkpoint(obj, path)
    if fmt == "params":
        from .convert.mxnet_params import load_params

        return {k: torch.from_numpy(v.copy()) for k, v in load_params(path).items()}
    if fmt == "pkl" and _is_torch_file(path):  # PySlowFast also saved PyTorch checkpoints as .pkl
        return read_weights(path, "pth")
    if fmt == "pkl":
        from .convert.caffe2_pkl import Caffe2PickleError, load_caffe2_pkl

        try:
            arrays = load_caffe2_pkl(path)
        except Caffe2PickleError as err:
            raise WeightsError(str(err)) from None
        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    raise WeightsError(f"{path}: unknown weights format {fmt!r}")


#: the start of a pre-1.6 ``torch.save`` file: protocol 2, then its magic number as a LONG1
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"


def _is_torch_file(path: Path) -> bool:
    """Whether ``path`` was written by ``torch.save`` (a zip archive, or the legacy pickle stream)."""
    import zipfile

    with open(path, "rb") as f:
        head = f.read(len(_LEGACY_TORCH_MAGIC))
    return head == _LEGACY_TORCH_MAGIC or zipfile.is_zipfile(path)


def unwrap_checkpoint(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    for key in ("state_dict", "model_state", "model", "module"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsError(f"{path}: expected a state dict of tensors")
    if obj and all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


_INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)


_init_lock = threading.Lock()
_init_users = 0  # skip_init blocks open in any thread; the no-op wrappers are installed while > 0
_init_originals: dict[str, Callable[..., torch.Tensor]] = {}
_skipping = threading.local()


def _skippable(name: str, original: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    def init(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        return tensor if getattr(_skipping, "depth", 0) else original(tensor, *args, **kwargs)

    init.__name__ = init.__qualname__ = name
    return init


@contextlib.contextmanager
def skip_init():
    """Make ``torch.nn.init`` a no-op in this thread: a module built to receive weights need not draw random ones.

    Other threads keep initialising as usual while a build runs here (the wrappers check the thread).
    """
    global _init_users
    with _init_lock:
        if _init_users == 0:
            _init_originals.update({name: getattr(nn.init, name) for name in _INIT_FUNCTIONS if hasattr(nn.init, name)})
            for name, fn in _init_originals.items():
                setattr(nn.init, name, _skippable(name, fn))
        _init_users += 1
    _skipping.depth = getattr(_skipping, "depth", 0) + 1
    try:
        yield
    finally:
        _skipping.depth -= 1
        with _init_lock:
            _init_users -= 1
            if _init_users == 0:
                for name, fn in _init_originals.items():
                    setattr(nn.init, name, fn)
                _init_originals.clear()


def assign_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Make ``state``'s tensors the model's own, as ``load_state_dict(assign=True)`` does.

    The caller has checked keys and shapes.  Torch's loader filters the whole state dict once per
    module; for a SlowFast (330 modules, 662 tensors) a cached ``get_model`` measured 1.35-1.45x
    the bare file read plus ``load_state_dict`` into a built model with it, 1.00-1.15x without.
    """
    modules = dict(model.named_modules(remove_duplicate=False))
    for key, tensor in state.items():
        prefix, _, attr = key.rpartition(".")
        module = modules[prefix]
        old = module._parameters.get(attr)
        if old is not None:
            module._parameters[attr] = nn.Parameter(tensor, requires_grad=old.requires_grad)
        else:
            module._buffers[attr] = tensor


def build_probe(card: ModelCard, build_kwargs: dict, num_classes: int | None = None) -> nn.Module:
    """``card``'s model on the meta device, without initialisation: the one build a load needs."""
    with torch.device("meta"), skip_init():
        return card.builder(num_classes=num_classes or card.num_classes, **build_kwargs)


def classifier_width(model: nn.Module) -> int:
    """Number of classes ``model`` predicts (rows of its classifier)."""
    return int(model.get_submodule(model.classifier_names[0]).weight.shape[0])


def fit_classifier(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Give ``model`` a classifier as wide as ``state``'s (``reset_classifier``), when that is all that differs."""
    key = f"{model.classifier_names[0]}.weight"
    if key in state and state[key].ndim == 2 and state[key].shape[0] != classifier_width(model):
        model.reset_classifier(int(state[key].shape[0]))


def load_into(probe: nn.Module, state: dict[str, torch.Tensor], source: str, build: Callable[[], nn.Module]) -> nn.Module:
    """``probe`` (built on meta) holding ``state``, its classifier fitted to the state's width.

    Keys and shapes must then match exactly; otherwise :class:`~zoo.errors.WeightsError` names the keys.
    ``build`` makes a real model, used only where the probe has buffers no file carries.
    """
    fit_classifier(probe, state)
    ours = probe.state_dict()
    state = dict(state)
    for k in ours:  # counters the source format does not carry
        if k.endswith("num_batches_tracked") and k not in state:
            state[k] = torch.zeros((), dtype=torch.long)
    missing = [k for k in ours if k not in state]
    unexpected = [k for k in state if k not in ours]
    bad = [f"{k} {tuple(state[k].shape)} vs {tuple(ours[k].shape)}" for k in ours
           if k in state and state[k].shape != ours[k].shape]
    if missing or unexpected or bad:
        raise WeightsError(f"{source}: " + key_report(missing, unexpected, bad)
                           + " (weights of another architecture or configuration?)")
    assign_state(probe, state)
    if any(t.is_meta for t in list(probe.parameters()) + list(probe.buffers())):
        # a non-persistent buffer has no value in any file: build for real instead
        model = build()
        fit_classifier(model, state)
        model.load_state_dict(state, strict=True)
        return model
    return probe
