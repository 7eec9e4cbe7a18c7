"""TIN: Temporal Interlaced Network (Shao et al., "Temporal Interlacing Network", AAAI 2020), in plain PyTorch.

A per-frame ResNet (:class:`~zoo.models.tsm.TemporalResNet`) whose residual branches start with a
**temporal interlace** instead of TSM's fixed shift: the first ``C / shift_div`` channels of each
frame are split into four groups, and each group is moved in time by a *learned, fractional*
offset, the same for all positions of a clip (the second pair of groups by the negated offsets
of the first pair).  A fractional move by ``o`` mixes the two integer moves around it,
``(1 - frac(o)) * move(floor(o)) + frac(o) * move(floor(o) + 1)``; an integer move by ``s`` puts frame
``t`` at ``t + s`` and leaves zeros where nothing lands.  The moved groups are then scaled per
frame by learned weights in ``(0, 2)``.

The offsets (in ``(-2, 2)``) come from an *offset net* on the space-averaged features
(``Conv1d`` over channels, two linear layers over the ``T`` frames, ``4 * (sigmoid - 1/2)``), the
weights from a *weight net* (``Conv1d``, ``2 * sigmoid``).  mmaction2 runs the integer move as a
compiled CUDA op (``mmcv.ops.tin_shift``); :func:`shift_groups` is that op's definition as tensor
indexing, so the network runs on any device.

Input ``(N, 3, T, H, W)`` with ``T == num_segments``; output ``(N, num_classes)``.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import InputSpec, register_converter
from ._mmaction2 import IMAGENET_NORM, RESNET2D_RULES, SEGMENTS_NOTE, mm_protocol, register_mmaction2
from .tsm import TemporalResNet

__all__ = ["shift_groups", "temporal_interlace", "TemporalInterlace", "TIN", "tin_resnet"]


def shift_groups(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Move channel groups in time by whole frames: ``out[n, t + s, c] = x[n, t, c]``, zeros elsewhere.

    ``x``: ``(N, T, C, ...)``; ``shifts``: integer ``(N, G)``, one move per sample and group of
    ``C / G`` consecutive channels (``mmcv.ops.tin_shift``'s definition).  Returns ``x``'s shape.
    """
    n, t, c = x.shape[:3]
    groups = shifts.shape[1]
    if c % groups:
        raise ValueError(f"{c} channels do not split into {groups} groups")
    per_channel = shifts.long().repeat_interleave(c // groups, dim=1)  # (N, C)
    source = torch.arange(t, device=x.device)[None, :, None] - per_channel[:, None, :]  # (N, T, C): frame read
    valid = (source >= 0) & (source < t)
    index = source.clamp(0, t - 1).view(n, t, c, *([1] * (x.dim() - 3))).expand_as(x)
    mask = valid.view(n, t, c, *([1] * (x.dim() - 3))).to(x.dtype)
    return torch.gather(x, 1, index) * mask


def temporal_interlace(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Move channel groups in time by fractional ``offsets`` ``(N, G)``, linearly between whole frames.

    ``x``: ``(N, T, C, ...)`` -> same shape; ``out = (1 - f) * shift(floor(o)) + f * shift(floor(o) + 1)``
    with ``f = o - floor(o)``, per sample and group (:func:`shift_groups`).
    """
    n, _, c = x.shape[:3]
    low = torch.floor(offsets)
    frac = (offsets - low).repeat_interleave(c // offsets.shape[1], dim=1)  # (N, C)
    frac = frac.view(n, 1, c, *([1] * (x.dim() - 3)))
    return (1 - frac) * shift_groups(x, low) + frac * shift_groups(x, low + 1)


class _OffsetNet(nn.Module):
    """Space-averaged features ``(N, C, T)`` -> offsets ``(N, groups)`` in ``(-2, 2)``."""

    def __init__(self, channels: int, groups: int, num_segments: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, 1, 3, padding=1)
        self.fc1 = nn.Linear(num_segments, num_segments)
        self.fc2 = nn.Linear(num_segments, groups)
        nn.init.constant_(self.fc2.bias, 0.5108)  # offsets start near 1 frame: 4 * (sigmoid(0.5108) - 0.5) = 1.0

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = self.fc2(torch.relu(self.fc1(self.conv(pooled).squeeze(1))))
        return 4 * (torch.sigmoid(x) - 0.5)


class TemporalInterlace(nn.Module):
    """The temporal interlace (see the module docstring) on frames folded into the batch, then ``net``.

    ``(N * T, C, H, W)`` -> ``net``'s output.  The first ``C // shift_div`` channels are interlaced in
    four groups (moved by ``o1, o2, -o1, -o2``, scaled by the weights ``w1, w2, w1, w2``); the rest pass.
    """

    def __init__(self, net: nn.Module, num_segments: int, shift_div: int = 4) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.folds = net.in_channels // shift_div
        if self.folds % 4:
            raise ValueError(f"{self.folds} interlaced channels do not split into 4 groups")
        self.offset_net = _OffsetNet(self.folds, 2, num_segments)
        self.weight_net = nn.Conv1d(self.folds, 2, 3, padding=1)
        nn.init.zeros_(self.weight_net.bias)

    def interlace(self, x: torch.Tensor) -> torch.Tensor:
        """``(N * T, C, H, W)`` -> the same with the first ``folds`` channels interlaced."""
        nt, c, h, w = x.shape
        t = self.num_segments
        if nt % t:
            raise ValueError(f"batch of {nt} frames is not a multiple of num_segments={t}")
        n = nt // t
        moved = x[:, : self.folds].reshape(n, t, self.folds, h, w)
        pooled = moved.mean(dim=(3, 4)).transpose(1, 2)  # (N, folds, T)
        offsets = self.offset_net(pooled)  # (N, 2)
        weights = 2 * torch.sigmoid(self.weight_net(pooled)).transpose(1, 2)  # (N, T, 2)
        moved = temporal_interlace(moved, torch.cat([offsets, -offsets], dim=1))
        per_channel = weights.repeat(1, 1, 2).repeat_interleave(self.folds // 4, dim=2)  # (N, T, folds)
        moved = (moved * per_channel[..., None, None]).reshape(nt, self.folds, h, w)
        return torch.cat([moved, x[:, self.folds:]], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.interlace(x))


class TIN(TemporalResNet):
    """A per-frame ResNet with a :class:`TemporalInterlace` before every residual branch's first conv.

    Kwargs as :class:`~zoo.models.tsm.TemporalResNet`'s (``depth``, ``num_segments``, ``dropout_ratio``)
    plus ``shift_div`` (a ``1/shift_div`` share of the channels is interlaced).
    """

    def __init__(self, num_classes: int, shift_div: int = 4, **kwargs) -> None:
        super().__init__(num_classes, temporal="none", **kwargs)
        for block in self.backbone.blocks():
            block.conv1 = TemporalInterlace(block.conv1, self.num_segments, shift_div)


def tin_resnet(num_classes: int, depth: int = 50, **kwargs) -> TIN:
    """TIN on ResNet-``depth`` (kwargs of :class:`TIN`)."""
    return TIN(num_classes, depth=depth, **kwargs)


# --------------------------------------------------------------------------------------------
# mmaction2's ResNetTIN: the interlace and the conv are ``conv1.conv.net1`` / ``conv1.conv.net2``
# --------------------------------------------------------------------------------------------

_MM_RULES = (
    Rule(r"backbone\.(layer\d\.\d+)\.conv1\.conv\.net1\.offset_net\.(conv|fc1|fc2)\.(weight|bias)",
         r"backbone.\1.conv1.offset_net.\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv1\.conv\.net1\.weight_net\.conv\.(weight|bias)", r"backbone.\1.conv1.weight_net.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv1\.conv\.net2\.weight", r"backbone.\1.conv1.net.weight"),
    *RESNET2D_RULES,
)


@register_converter("mmaction2_tin")
def convert_mmaction2_tin(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``ResNetTIN`` checkpoints -> our :class:`TIN`."""
    return convert(source, model, _MM_RULES, what="mmaction2 TIN")


_register_mm = partial(register_mmaction2, builder=tin_resnet, family="tin", converter="mmaction2_tin")

_register_mm("tin_resnet50_seg8_sthsthv1", dataset="sthsthv1", kwargs={'depth': 50, 'num_segments': 8, 'shift_div': 4},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tin/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv1-rgb/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv1-rgb_20220913-9b7804d6.pth",
             top1=44.04, top5=72.72, pretraining="ImageNet", config="tin/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv1-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 1 crop (CenterCrop 224px after short side 256)", "the README table (its metafile says 38.68/68.55; the README is the table the release reports)"),
             description="TIN: ResNet-50 with a learned temporal interlace (a quarter of the channels, four groups) in every residual branch, 8 segments, ImageNet-initialised, mmaction2's weights.")

_register_mm("tin_resnet50_seg8_sthsthv2", dataset="sthsthv2", kwargs={'depth': 50, 'num_segments': 8, 'shift_div': 4},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tin/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv2-rgb/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv2-rgb_20220913-84f9b4b0.pth",
             top1=56.48, top5=83.45, pretraining="ImageNet", config="tin/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv2-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 1 crop (CenterCrop 224px after short side 256)", "the README table (its metafile says 54.78/82.18; the README is the table the release reports)"),
             description="TIN: ResNet-50 with a learned temporal interlace (a quarter of the channels, four groups) in every residual branch, 8 segments, ImageNet-initialised, mmaction2's weights.")

_register_mm("tin_resnet50_from_tsm_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8, 'shift_div': 4},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tin/tin_kinetics400-pretrained-tsm-r50_1x1x8-50e_kinetics400-rgb/tin_kinetics400-pretrained-tsm-r50_1x1x8-50e_kinetics400-rgb_20220913-7f10d0c0.pth",
             top1=71.86, top5=90.44, pretraining="Kinetics-400 (TSM)", config="tin/tin_kinetics400-pretrained-tsm-r50_1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 1 crop (CenterCrop 224px after short side 256)"),
             description="TIN: ResNet-50 with a learned temporal interlace (a quarter of the channels, four groups) in every residual branch, 8 segments, fine-tuned from TSM-R50 Kinetics-400, mmaction2's weights.")
