"""Work-arounds for mixed-precision kernels that compute wrong results.

CPU bf16 autocast: oneDNN's bf16 convolution computes a wrong weight gradient (garbage values, often
NaN or ~1e36) when the input is shorter than the kernel along a dimension, the padding making up
the rest: a ``3x1x1`` convolution over 2 frames, a ``5x7x7`` one over 3 or 4. The forward pass and the
input gradient are right, so nothing shows until the optimizer step writes garbage into the weights.
I3D-ResNet-50 meets it on an 8-frame clip (``layer1`` sees 2 frames through ``3x1x1`` kernels); with
gradient clipping one such tensor turns every weight NaN. :func:`guard_bf16_convolutions` runs those
convolutions (cheap ones: their input is short) in float32; all others stay in bf16.
"""
from __future__ import annotations

import torch
import torch.nn as nn

__all__ = ["guard_bf16_convolutions", "shorter_than_kernel"]


def shorter_than_kernel(conv: nn.modules.conv._ConvNd, x: torch.Tensor) -> bool:
    """Whether ``x`` (``(N, C, *spatial)``) is shorter than ``conv``'s kernel along some dimension."""
    return any(size < k for size, k in zip(x.shape[2:], conv.kernel_size))


def _needs_float32(conv: nn.modules.conv._ConvNd, x: torch.Tensor) -> bool:
    return (x.device.type == "cpu" and torch.is_autocast_enabled("cpu")
            and torch.get_autocast_dtype("cpu") == torch.bfloat16 and torch.is_grad_enabled()
            and conv.weight.requires_grad and shorter_than_kernel(conv, x))


class _Float32WhenShort:
    """Mixin: the convolution runs in float32 (autocast off) when :func:`_needs_float32`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _needs_float32(self, x):  # type: ignore[arg-type]
            with torch.autocast("cpu", enabled=False):
                return super().forward(x.float())  # type: ignore[misc]
        return super().forward(x)  # type: ignore[misc]


class GuardedConv1d(_Float32WhenShort, nn.Conv1d):
    """:class:`~torch.nn.Conv1d` safe for CPU bf16 training."""


class GuardedConv2d(_Float32WhenShort, nn.Conv2d):
    """:class:`~torch.nn.Conv2d` safe for CPU bf16 training."""


class GuardedConv3d(_Float32WhenShort, nn.Conv3d):
    """:class:`~torch.nn.Conv3d` safe for CPU bf16 training."""


_GUARDED = {nn.Conv1d: GuardedConv1d, nn.Conv2d: GuardedConv2d, nn.Conv3d: GuardedConv3d}


def guard_bf16_convolutions(model: nn.Module) -> int:
    """Make every plain ``nn.ConvNd`` of ``model`` fall back to float32 where CPU bf16 gets its weight
    gradient wrong (same parameters and ``state_dict``; the class changes to a subclass in place).

    Returns:
        how many convolutions were guarded.
    """
    count = 0
    for module in model.modules():
        guarded = _GUARDED.get(type(module))
        if guarded is not None:
            module.__class__ = guarded
            count += 1
    return count
