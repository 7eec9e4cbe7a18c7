"""The fast path for serving: BatchNorm folded into convolutions, channels-last, inference mode.

``optimize_for_inference(model)`` returns a new module; the original is left untouched.  Each step is
checked against the eager model on a probe input: a step that would change the output beyond
``1e-4 * max(1, max|logits|)`` is not applied, and the reason is logged (and kept in
``served.zoo_skipped``).
"""
from __future__ import annotations

import copy
import logging
from typing import Sequence

import torch
import torch.nn as nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

__all__ = ["optimize_for_inference", "fold_batchnorm", "InferenceModel"]

logger = logging.getLogger(__name__)

_CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_BNS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class InferenceModel(nn.Module):
    """Wraps a prepared model: casts and lays out the input, runs in inference mode.

    ``forward(x)``: ``x`` is ``(N, C, T, H, W)`` (or ``(N, C, H, W)``) float32; returns float32 logits.
    """

    def __init__(self, model: nn.Module, dtype: torch.dtype, channels_last: bool) -> None:
        super().__init__()
        self.model = model
        self.dtype = dtype
        self.channels_last = channels_last
        self.zoo_skipped: list[str] = []
        self.zoo_folded = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            x = x.to(self.dtype)
            if self.channels_last and x.dim() == 5:
                x = x.contiguous(memory_format=torch.channels_last_3d)
            elif self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            out = self.model(x)
            return out.float() if isinstance(out, torch.Tensor) else out


def _conv_bn_pairs(model: nn.Module, probe: torch.Tensor) -> list[tuple[str, str]]:
    """(conv, bn) module names where the BatchNorm's input is exactly the convolution's output.

    Found by running ``probe`` once with hooks, so it works for any forward (no tracing).  A conv
    whose output also feeds another module is not paired.
    """
    names = {m: n for n, m in model.named_modules()}
    produced: dict[int, str] = {}
    consumers: dict[int, list[str]] = {}
    keep_alive: list[torch.Tensor] = []

    def after_conv(module, inputs, output):
        produced[id(output)] = names[module]
        keep_alive.append(output)

    def before_any(module, inputs):
        if inputs and isinstance(inputs[0], torch.Tensor):
            consumers.setdefault(id(inputs[0]), []).append(names[module])
            keep_alive.append(inputs[0])  # ids stay unique while everything seen is alive

    handles = []
    for module in model.modules():
        if isinstance(module, _CONVS):
            handles.append(module.register_forward_hook(after_conv))
        if not list(module.children()):
            handles.append(module.register_forward_pre_hook(before_any))
    try:
        with torch.no_grad():
            model(probe)
    finally:
        for h in handles:
            h.remove()
    modules = dict(model.named_modules())
    pairs = []
    for tid, conv in produced.items():
        users = consumers.get(tid, [])
        if len(users) == 1 and isinstance(modules[users[0]], _BNS) and modules[users[0]].track_running_stats:
            pairs.append((conv, users[0]))
    return pairs


def _set_module(model: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, new)


def fold_batchnorm(model: nn.Module, probe: torch.Tensor) -> int:
    """Fold every BatchNorm that directly follows a convolution into it, in place (eval mode).

    Returns the number of BatchNorm layers folded.
    """
    model.eval()
    modules = dict(model.named_modules())
    pairs = _conv_bn_pairs(model, probe)
    for conv_name, bn_name in pairs:
        conv, bn = modules[conv_name], modules[bn_name]
        weight, bias = fuse_conv_bn_weights(conv.weight, conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
        conv.weight, conv.bias = weight, bias
        _set_module(model, bn_name, nn.Identity())
    return len(pairs)


def _to_channels_last(model: nn.Module) -> None:
    """Lay out every convolution's weight channels-last (3D kernels as ``channels_last_3d``)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv3d, nn.Conv2d)):
            fmt = torch.channels_last_3d if isinstance(module, nn.Conv3d) else torch.channels_last
            module.weight.data = module.weight.data.contiguous(memory_format=fmt)


def _tolerance(reference: torch.Tensor) -> float:
    return 1e-4 * max(1.0, float(reference.abs().max()))


def optimize_for_inference(
    model: nn.Module,
    example: torch.Tensor | Sequence[int] | None = None,
    precision: str = "fp32",
    channels_last: bool = True,
    compile: bool = False,
) -> InferenceModel:
    """A copy of ``model`` prepared for serving.

    Args:
        model: any zoo model (left unchanged).
        example: a probe input ``(N, C, T, H, W)`` or its shape (default: the model's card input,
            else ``(1, 3, 16, 112, 112)``).
        precision: ``"fp32"`` or ``"bf16"`` (weights and activations in bfloat16).
        channels_last: use the channels-last (3D) memory layout.
        compile: wrap the result in ``torch.compile``.

    Returns:
        An :class:`InferenceModel`; ``zoo_folded`` counts folded BatchNorms, ``zoo_skipped`` lists
        steps not applied and why.
    """
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
    probe = _probe(model, example)
    eager = copy.deepcopy(model).eval()
    with torch.no_grad():
        reference = eager(probe)
    prepared = copy.deepcopy(eager)
    skipped: list[str] = []
    folded = 0
    try:
        folded = fold_batchnorm(prepared, probe)
        with torch.no_grad():
            diff = float((prepared(probe) - reference).abs().max())
        if diff > _tolerance(reference):
            skipped.append(f"BatchNorm folding changed the output by {diff:.3g}; left unfolded")
            prepared, folded = copy.deepcopy(eager), 0
    except Exception as err:  # an architecture the hooks cannot follow
        skipped.append(f"BatchNorm folding failed ({type(err).__name__}: {err}); left unfolded")
        prepared, folded = copy.deepcopy(eager), 0
    if channels_last:
        _to_channels_last(prepared)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    prepared = prepared.to(dtype)
    served = InferenceModel(prepared, dtype, channels_last)
    served.zoo_folded = folded
    served.zoo_skipped = skipped
    for reason in skipped:
        logger.warning("%s: %s", type(model).__name__, reason)
    if compile:
        served.model = torch.compile(served.model)  # type: ignore[assignment]
    return served


def _probe(model: nn.Module, example: torch.Tensor | Sequence[int] | None) -> torch.Tensor:
    if isinstance(example, torch.Tensor):
        return example.float()
    if example is not None:
        shape = tuple(example)
    elif getattr(model, "zoo_name", None):
        from .registry import model_card

        shape = model_card(model.zoo_name).input.example_shape()
    else:
        shape = (1, 3, 16, 112, 112)
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))
