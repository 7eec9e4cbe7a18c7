"""TANet: Temporal Adaptive Module on a per-frame ResNet (Liu et al., "TAM: Temporal Adaptive Module for
Video Recognition", ICCV 2021).

A 2D ResNet runs on every frame, as in TSM (:class:`~zoo.models.tsm.TemporalResNet`); in every
bottleneck the output of the first ``1x1`` conv (after its BatchNorm and ReLU) goes through a
**temporal adaptive module** before the ``3x3`` conv.  From the frame features averaged over space,
``(N, C, T)``:

* a *local* branch (``Conv1d`` over time, BatchNorm, ReLU, ``1x1`` ``Conv1d``, sigmoid) gives each
  channel and frame an importance weight that rescales the features;
* a *global* branch (two linear layers over the ``T`` frames with BatchNorm and ReLU between, then a
  softmax) gives each channel of each clip its own ``K``-tap temporal kernel, which is convolved over
  time (zero-padded) with the rescaled features.

Input ``(N, 3, T, H, W)`` with ``T == num_segments``; the per-frame features are averaged (TSN
consensus) and classified: ``(N, num_classes)``.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..convert.keys import Rule, convert
from ..registry import InputSpec, register_converter
from ._mmaction2 import RESNET2D_RULES, SEGMENTS_NOTE, mm_norm, mm_protocol, register_mmaction2
from .tsm import TemporalResNet

__all__ = ["TemporalAdaptiveModule", "TANet", "tanet_resnet"]


class TemporalAdaptiveModule(nn.Module):
    """TAM on frames folded into the batch: ``(N * T, C, H, W) -> (N * T, C, H, W)``.

    Args:
        channels: ``C``.
        num_segments: ``T``, the frames of a clip (the global branch's input width).
        alpha: width multiplier of the global branch's hidden layer (``T * alpha``).
        beta: channel reduction of the local branch.
        kernel_size: taps ``K`` of the clip-adaptive temporal kernel.
    """

    def __init__(self, channels: int, num_segments: int, alpha: int = 2, beta: int = 4, kernel_size: int = 3) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.kernel_size = kernel_size
        hidden = num_segments * alpha
        self.global_branch = nn.Sequential(
            nn.Linear(num_segments, hidden, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, kernel_size, bias=False), nn.Softmax(dim=-1))
        self.local_branch = nn.Sequential(
            nn.Conv1d(channels, channels // beta, 3, padding=1, bias=False), nn.BatchNorm1d(channels // beta),
            nn.ReLU(inplace=True), nn.Conv1d(channels // beta, channels, 1, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        t = self.num_segments
        if nt % t:
            raise ValueError(f"batch of {nt} frames is not a multiple of num_segments={t}")
        n = nt // t
        clips = x.view(n, t, c, h, w).transpose(1, 2)  # (N, C, T, H, W)
        pooled = clips.mean(dim=(3, 4))  # (N, C, T)
        kernels = self.global_branch(pooled.reshape(n * c, t)).view(n, c, self.kernel_size, 1, 1, 1)
        weighted = clips * self.local_branch(pooled)[..., None, None]
        # the clip- and channel-wise temporal convolution (cross-correlation, zero-padded), tap by tap
        pad = self.kernel_size // 2
        padded = F.pad(weighted, (0, 0, 0, 0, pad, pad))
        out = sum(kernels[:, :, k] * padded[:, :, k : k + t] for k in range(self.kernel_size))
        return out.transpose(1, 2).reshape(nt, c, h, w)


class _AdaptiveThen(nn.Module):
    """``tam`` then ``net`` (the bottleneck's ``3x3`` conv): ``(N * T, C, H, W)`` -> ``net``'s output."""

    def __init__(self, net: nn.Module, num_segments: int) -> None:
        super().__init__()
        self.tam = TemporalAdaptiveModule(net.in_channels, num_segments)
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.tam(x))


class TANet(TemporalResNet):
    """A per-frame ResNet with a TAM before every bottleneck's ``3x3`` conv (see the module docstring).

    Kwargs as :class:`~zoo.models.tsm.TemporalResNet`'s (``depth``, ``num_segments``, ``dropout_ratio``).
    """

    def __init__(self, num_classes: int, **kwargs) -> None:
        super().__init__(num_classes, temporal="none", **kwargs)
        for block in self.backbone.blocks():
            block.conv2 = _AdaptiveThen(block.conv2, self.num_segments)


def tanet_resnet(num_classes: int, depth: int = 50, **kwargs) -> TANet:
    """TANet on ResNet-``depth`` (kwargs of :class:`TANet`)."""
    return TANet(num_classes, depth=depth, **kwargs)


# --------------------------------------------------------------------------------------------
# mmaction2's TANet: each bottleneck is wrapped as ``block`` beside its ``tam``
# --------------------------------------------------------------------------------------------

_MM_RULES = (
    Rule(r"backbone\.(layer\d\.\d+)\.tam\.G\.(\d)\.(\w+)", r"backbone.\1.conv2.tam.global_branch.\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.tam\.L\.(\d)\.(\w+)", r"backbone.\1.conv2.tam.local_branch.\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.conv\.weight", r"backbone.\1.conv2.net.weight"),
    *RESNET2D_RULES,
)


@register_converter("mmaction2_tanet")
def convert_mmaction2_tanet(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``TANet`` checkpoints -> ours: each TA-block's ``block.`` level is dropped, then the rules apply."""
    unwrapped = {key.replace(".block.", ".", 1) if key.startswith("backbone.layer") else key: value
                 for key, value in source.items()}
    return convert(unwrapped, model, _MM_RULES, what="mmaction2 TANet")


_register_mm = partial(register_mmaction2, builder=tanet_resnet, family="tanet", converter="mmaction2_tanet")

_register_mm("tanet_resnet50_dense_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256, **mm_norm((123.675, 116.28, 103.5), (58.395, 57.12, 57.375)), note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tanet/tanet_imagenet-pretrained-r50_8xb8-dense-1x1x8-100e_kinetics400-rgb/tanet_imagenet-pretrained-r50_8xb8-dense-1x1x8-100e_kinetics400-rgb_20220919-a34346bc.pth",
             top1=76.25, top5=92.41, pretraining="ImageNet", config="tanet/tanet_imagenet-pretrained-r50_8xb8-dense-1x1x8-100e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (dense segments) x 3 crops (ThreeCrop 256px after short side 256)"),
             description="TANet: ResNet-50 with a temporal adaptive module in every bottleneck, 8 segments (dense sampling), ImageNet-initialised, mmaction2's weights.")

_register_mm("tanet_resnet50_seg8_sthsthv1", dataset="sthsthv1", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256, **mm_norm((123.675, 116.28, 103.5), (58.395, 57.12, 57.375)), note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tanet/tanet_imagenet-pretrained-r50_8xb8-1x1x8-50e_sthv1-rgb/tanet_imagenet-pretrained-r50_8xb8-1x1x8-50e_sthv1-rgb_20220906-de50e4ef.pth",
             top1=49.71, top5=77.43, pretraining="ImageNet", config="tanet/tanet_imagenet-pretrained-r50_8xb8-1x1x8-50e_sthv1-rgb.py",
             protocol=mm_protocol("16 frames (uniform segments, twice_sample) x 3 crops (ThreeCrop 256px after short side 256)", "the metafile"),
             description="TANet: ResNet-50 with a temporal adaptive module in every bottleneck, 8 segments, ImageNet-initialised, mmaction2's weights.")

_register_mm("tanet_resnet50_seg16_sthsthv1", dataset="sthsthv1", kwargs={'depth': 50, 'num_segments': 16},
             input=InputSpec(clip_len=16, frame_step=1, num_segments=1, crop_size=224, short_side=256, **mm_norm((123.675, 116.28, 103.5), (58.395, 57.12, 57.375)), note=SEGMENTS_NOTE.format(s=16)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tanet/tanet_imagenet-pretrained-r50_8xb6-1x1x16-50e_sthv1-rgb/tanet_imagenet-pretrained-r50_8xb6-1x1x16-50e_sthv1-rgb_20220919-cc37e9b8.pth",
             top1=50.95, top5=79.28, pretraining="ImageNet", config="tanet/tanet_imagenet-pretrained-r50_8xb6-1x1x16-50e_sthv1-rgb.py",
             protocol=mm_protocol("16 frames (uniform segments) x 1 crop (CenterCrop 224px after short side 256)", "the metafile"),
             description="TANet: ResNet-50 with a temporal adaptive module in every bottleneck, 16 segments, ImageNet-initialised, mmaction2's weights.")
