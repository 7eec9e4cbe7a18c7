"""X3D (Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition", CVPR 2020).

A 3D network expanded from a tiny base along time, frame rate, resolution, width, bottleneck width
and depth.  Every block is an inverted bottleneck with a *channel-wise* ``3x3x3`` convolution, so
time is modelled in every block at the cost of a depthwise conv::

    stem:   conv 1x3x3/(1,2,2) 3->24, depthwise conv 5x1x1, BN, ReLU
    res2-5: blocks [conv 1x1x1 -> BN -> ReLU -> depthwise 3x3x3 (stride 1,2,2 in the first block)
            -> BN -> SE (every other block) -> Swish -> conv 1x1x1 -> BN] + shortcut, ReLU
            widths 24, 48, 96, 192; inner width 2.25x; depths 3, 5, 11, 7 (XS, S, M)
    head:   conv 1x1x1 192->432, BN, ReLU, global pool, fc 432->2048, ReLU, dropout, fc

XS, S and M share the network and differ in input: 4 frames at 160 px, 13 at 160, 16 at 224.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from ..registry import InputSpec, register_model
from ._interface import VideoClassifier, init_conv_bn
from ._resnet3d import ConvBNAct, batch_norm3d, conv3d, make_stage

__all__ = ["X3D", "X3DBlock", "SqueezeExcite3d", "x3d"]


def round_width(width: float, multiplier: float, divisor: int = 8) -> int:
    """``width * multiplier`` rounded to a multiple of ``divisor`` (never more than 10% down)."""
    width *= multiplier
    rounded = max(divisor, int(width + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * width else rounded)


class SqueezeExcite3d(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(fc2(relu(fc1(pool(x)))))`` on ``(N, C, T, H, W)``."""

    def __init__(self, channels: int, ratio: float = 0.0625) -> None:
        super().__init__()
        hidden = round_width(channels, ratio)
        self.fc1 = nn.Conv3d(channels, hidden, 1)
        self.fc2 = nn.Conv3d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3, 4), keepdim=True))))
        return x * torch.sigmoid(scale)


class X3DBlock(nn.Module):
    """X3D inverted bottleneck: ``(N, in_planes, T, H, W) -> (N, planes, T, H/s, W/s)``.

    ``planes`` is the block's output width (``expansion = 1``), ``inner`` its expanded width.
    Signature compatible with :func:`._resnet3d.make_stage`.
    """

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        *,
        inner: int,
        use_se: bool,
        stride: tuple[int, int, int] = (1, 1, 1),
        downsample: nn.Module | None = None,
        nonlocal_block: nn.Module | None = None,
        norm_layer=batch_norm3d(),
    ) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_planes, inner, 1, norm_layer=norm_layer)
        self.conv2 = conv3d(inner, inner, 3, stride, 1, groups=inner)
        self.bn2 = norm_layer(inner)
        self.se = SqueezeExcite3d(inner) if use_se else nn.Identity()
        self.act = nn.SiLU()
        self.conv3 = ConvBNAct(inner, planes, 1, act=False, norm_layer=norm_layer)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def last_bn(self) -> nn.Module:
        return self.conv3.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.se(self.bn2(self.conv2(self.conv1(x)))))
        return self.relu(self.conv3(out) + identity)


class X3D(VideoClassifier):
    """X3D network: ``(N, 3, T, H, W)`` -> logits ``(N, num_classes)``; ``forward_features``: ``(N, head_width)``.

    Args:
        depths: blocks per stage (base 1, 2, 5, 3 times the depth factor 2.2).
        width_factor: stem/stage widths are ``round_width(12, width_factor) * 2**i``.
        bottleneck_factor: inner width of a block relative to its output.
        head_width: width of the last ``fc`` before the classifier.
        dropout_ratio: dropout before the classifier.
    """

    def __init__(
        self,
        num_classes: int,
        depths: tuple[int, ...] = (3, 5, 11, 7),
        width_factor: float = 2.0,
        bottleneck_factor: float = 2.25,
        head_width: int = 2048,
        dropout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        norm = batch_norm3d()
        stem_width = round_width(12, width_factor)
        self.stem = nn.Sequential(
            conv3d(3, stem_width, (1, 3, 3), (1, 2, 2), (0, 1, 1)),
            conv3d(stem_width, stem_width, (5, 1, 1), 1, (2, 0, 0), groups=stem_width),
            norm(stem_width),
            nn.ReLU(inplace=True),
        )
        stages, in_planes, width = [], stem_width, stem_width
        for depth in depths:
            inner = round_width(width, bottleneck_factor)
            kwargs = [{"inner": inner, "use_se": j % 2 == 0} for j in range(depth)]
            stages.append(make_stage(X3DBlock, in_planes, width, depth, stride=(1, 2, 2), block_kwargs=kwargs))
            in_planes, width = width, width * 2
        self.stages = nn.Sequential(*stages)
        conv5_width = round_width(in_planes, bottleneck_factor)
        self.conv5 = ConvBNAct(in_planes, conv5_width, 1)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Linear(conv5_width, head_width)
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = head_width
        self.fc = nn.Linear(head_width, num_classes)
        init_conv_bn(self, linear_std=0.01)
        for block in self.modules():
            if isinstance(block, X3DBlock):  # residual branches start near zero
                nn.init.zeros_(block.last_bn().weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, head_width)`` (after ``fc1`` and its ReLU)."""
        x = self.conv5(self.stages(self.stem(x)))
        return torch.relu(self.fc1(self.pool(x).flatten(1)))


def x3d(num_classes: int, depth_factor: float = 2.2, base_depths: tuple[int, ...] = (1, 2, 5, 3), **kwargs) -> X3D:
    """Builder of :class:`X3D`: stage depths are ``ceil(base_depths * depth_factor)``."""
    depths = tuple(int(math.ceil(d * depth_factor)) for d in base_depths)
    return X3D(num_classes, depths=depths, **kwargs)


for _name, _frames, _step, _crop in (("x3d_xs", 4, 12, 160), ("x3d_s", 13, 6, 160), ("x3d_m", 16, 5, 224)):
    register_model(
        _name,
        x3d,
        family="x3d",
        dataset="",
        num_classes=400,
        input=InputSpec(clip_len=_frames, frame_step=_step, crop_size=_crop, short_side=_crop,
                        mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225),
                        note="X3D sizes share the network; they differ in frames, frame step and crop"),
        description=f"X3D-{_name[4:].upper()} (depthwise 3x3x3 inverted bottlenecks, SE, Swish); no weights.",
        source="zoo",
    )
