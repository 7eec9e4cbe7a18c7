"""``GappedConv3d``: a ``Conv3d`` that computes gapped windows without the kernel that crashes.

In torch 2.13, a bf16 ``conv3d`` whose stride exceeds its kernel by two or more along an axis (SlowFast's
lateral connection: kernel 5, stride 8 in time; MViT v1's key/value pooling: kernel 3, stride 8 in space)
kills the process inside oneDNN's AMX path (``free(): invalid size``, SIGSEGV).  Measured on an AMX Xeon:
stride/kernel 8/5, 7/5, 8/3, 8/2 and 16/5 crash; 5/5, 6/5, 8/7 and ResNet's 2/1 downsampling run.

When the stride is at least the kernel, the windows along that axis do not overlap, so the same result is
obtained by gathering the ``kernel`` positions each window reads (a tensor of ``n_out * kernel`` positions)
and convolving it with stride equal to the kernel: that shape runs.  The module does this only where it is
needed (bf16 on a CPU with AMX, a gap of two or more) and is a plain ``nn.Conv3d`` everywhere else, so its
weights, ``state_dict`` keys and ONNX export are those of ``nn.Conv3d``.
"""
from __future__ import annotations

import functools

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["GappedConv3d", "gapped_axes", "gathered_conv3d"]

# Windows separated by this many positions or more are gathered (see the module docstring for the evidence).
MIN_GAP = 2


@functools.lru_cache(maxsize=1)
def cpu_has_amx_bf16() -> bool:
    """Whether this CPU has AMX bf16 tiles (the instructions whose oneDNN path crashes)."""
    try:
        return bool(torch.cpu.get_capabilities().get("amx_bf16", False))
    except (AttributeError, RuntimeError):
        return False


def gapped_axes(kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    """Spatio-temporal axes (0 = T, 1 = H, 2 = W) whose windows lie ``MIN_GAP`` or more positions apart."""
    return tuple(i for i, (k, s, d) in enumerate(zip(kernel, stride, dilation)) if d == 1 and s - k >= MIN_GAP)


def gathered_conv3d(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    stride: tuple[int, int, int],
    padding: tuple[int, int, int],
    dilation: tuple[int, int, int],
    groups: int,
    axes: tuple[int, ...],
) -> torch.Tensor:
    """``F.conv3d`` of ``x`` ``(N, C, T, H, W)`` computed with stride = kernel along ``axes``.

    Along each axis in ``axes`` (where ``stride >= kernel`` and dilation is 1) the input is zero-padded,
    the ``kernel`` positions that each output window reads are gathered side by side, and the convolution
    runs with stride = kernel and no padding on that axis.  Exact: every output sums the same products.
    """
    kernel = weight.shape[2:]
    stride, padding = list(stride), list(padding)
    for axis in axes:
        dim, k, s, p = 2 + axis, kernel[axis], stride[axis], padding[axis]
        if p:
            pad = [0, 0] * 3
            pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = p  # F.pad lists the last axis first
            x = F.pad(x, pad)
        n_out = (x.shape[dim] - k) // s + 1
        starts = torch.arange(n_out, device=x.device) * s
        index = (starts[:, None] + torch.arange(k, device=x.device)[None, :]).reshape(-1)
        x = x.index_select(dim, index)
        stride[axis], padding[axis] = k, 0
    return F.conv3d(x, weight, bias, tuple(stride), tuple(padding), dilation, groups)


class GappedConv3d(nn.Conv3d):
    """``nn.Conv3d`` that gathers gapped windows in bf16 on AMX CPUs (see the module docstring).

    Same arguments, parameters and keys as ``nn.Conv3d``; zero padding only.  ``forward(x)``: ``x`` is
    ``(N, C_in, T, H, W)``, returns ``(N, C_out, T', H', W')``.
    """

    #: the class this one computes exactly: tools that cannot follow its forward (int8's graph tracing) use it
    zoo_exact_base = nn.Conv3d

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.padding_mode != "zeros" or isinstance(self.padding, str):
            raise ValueError("GappedConv3d supports numeric zero padding only")
        self.gapped = gapped_axes(self.kernel_size, self.stride, self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gapped and x.device.type == "cpu" and _runs_bf16(x) and cpu_has_amx_bf16():
            return gathered_conv3d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups,
                                   self.gapped)
        return super().forward(x)


def _runs_bf16(x: torch.Tensor) -> bool:
    """Whether a convolution of ``x`` runs in bf16: a bf16 input, or CPU autocast to bf16."""
    if x.dtype == torch.bfloat16:
        return True
    return torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16
