"""2D trunks that mmaction2's TSN and TSM take from other libraries, written here as plain PyTorch.

* :class:`DenseNet2d`: DenseNet-BC (Huang et al., 2017) in torchvision's layout (``features.conv0``,
  ``denseblockN.denselayerM.{norm1,conv1,norm2,conv2}``, ``transitionN``, ``norm5``);
  :func:`densenet161` is growth 48, blocks ``(6, 12, 36, 24)``, 96 stem channels: 2208 features.
* :class:`MobileOne`: MobileOne (Vasu et al., 2023) as mmpretrain builds it for training: every
  block is a sum of parallel branches (``k x k`` conv-BNs, a ``1x1`` conv-BN "scale" branch, a
  BatchNorm identity branch), then optional squeeze-and-excitation, then ReLU.  ``s4`` ends in
  2048 channels.  :meth:`MobileOneBlock.fuse` folds the branches into one conv (the "deploy" form),
  which computes the same function.

Every trunk maps frames ``(B, 3, H, W)`` to pooled features ``(B, feat_dim)``; ``forward_map``
gives the last feature map.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._interface import init_conv_bn
from .x3d import round_width

__all__ = ["DenseNet2d", "densenet161", "MobileOne", "MobileOneBlock", "SqueezeExcite2d", "MOBILEONE_ARCHS"]


class DenseLayer(nn.Module):
    """BN-ReLU-1x1 conv (``bn_size * growth``), BN-ReLU-3x3 conv (``growth``); the input is kept:
    ``(B, C, H, W) -> (B, C + growth, H, W)``."""

    def __init__(self, in_channels: int, growth: int, bn_size: int) -> None:
        super().__init__()
        inner = bn_size * growth
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, inner, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, growth, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        new = self.conv1(F.relu(self.norm1(x)))
        new = self.conv2(F.relu(self.norm2(new)))
        return torch.cat([x, new], dim=1)


class Transition(nn.Module):
    """BN-ReLU-1x1 conv (halving the channels), 2x2 average pool: ``(B, C, H, W) -> (B, C/2, H/2, W/2)``."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), 2, 2)


class DenseNet2d(nn.Module):
    """DenseNet-BC trunk: ``(B, 3, H, W) -> (B, feat_dim)``.

    The pooled map is ``features``' output, which ends in the BatchNorm ``norm5``: mmaction2's TSN
    pools torchvision's ``features`` directly, without the ReLU that torchvision's own classifier
    applies first.
    """

    def __init__(self, growth: int = 48, blocks: Sequence[int] = (6, 12, 36, 24), stem_channels: int = 96,
                 bn_size: int = 4) -> None:
        super().__init__()
        layers: "OrderedDict[str, nn.Module]" = OrderedDict()
        layers["conv0"] = nn.Conv2d(3, stem_channels, 7, 2, 3, bias=False)
        layers["norm0"] = nn.BatchNorm2d(stem_channels)
        layers["relu0"] = nn.ReLU(inplace=True)
        layers["pool0"] = nn.MaxPool2d(3, 2, 1)
        channels = stem_channels
        for i, count in enumerate(blocks):
            block = nn.Sequential()
            for j in range(count):
                block.add_module(f"denselayer{j + 1}", DenseLayer(channels + j * growth, growth, bn_size))
            layers[f"denseblock{i + 1}"] = block
            channels += count * growth
            if i < len(blocks) - 1:
                layers[f"transition{i + 1}"] = Transition(channels, channels // 2)
                channels //= 2
        layers[f"norm{len(blocks) + 1}"] = nn.BatchNorm2d(channels)
        self.features = nn.Sequential(layers)
        self.feat_dim = channels
        init_conv_bn(self)

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, feat_dim, H/32, W/32)``."""
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))


def densenet161() -> DenseNet2d:
    """DenseNet-161: growth 48, blocks (6, 12, 36, 24), 96 stem channels; 2208 features."""
    return DenseNet2d(growth=48, blocks=(6, 12, 36, 24), stem_channels=96)


class SqueezeExcite2d(nn.Module):
    """``x * sigmoid(expand(relu(reduce(mean_hw(x)))))`` on ``(B, C, H, W)``; hidden width ``C/16``
    rounded to a multiple of 8."""

    def __init__(self, channels: int, ratio: int = 16) -> None:
        super().__init__()
        hidden = round_width(channels // ratio, 1.0)
        self.reduce = nn.Conv2d(channels, hidden, 1)
        self.expand = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.expand(torch.relu(self.reduce(x.mean(dim=(2, 3), keepdim=True)))))


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int, groups: int) -> nn.Sequential:
    return nn.Sequential(OrderedDict(
        conv=nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, groups=groups, bias=False),
        bn=nn.BatchNorm2d(out_channels)))


def _fold_bn(weight: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """A bias-free conv ``weight`` followed by ``bn`` (eval) as one conv's weight and bias."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    return weight * scale.reshape(-1, 1, 1, 1), bn.bias - bn.running_mean * scale


class MobileOneBlock(nn.Module):
    """``relu(se(sum of branches))``: ``(B, C_in, H, W) -> (B, C_out, H/stride, W/stride)``.

    Branches: ``num_convs`` ``kernel x kernel`` conv-BNs (``branches``), a ``1x1`` conv-BN
    (``scale``, when ``kernel > 1``) and a BatchNorm of the input (``identity``, when the shape is
    kept).  After :meth:`fuse` one conv with bias (``fused``) replaces them.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, groups: int = 1,
                 num_convs: int = 1, se: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.groups = kernel, stride, groups
        self.in_channels, self.out_channels = in_channels, out_channels
        self.identity = nn.BatchNorm2d(in_channels) if in_channels == out_channels and stride == 1 else None
        self.scale = _conv_bn(in_channels, out_channels, 1, stride, groups) if kernel > 1 else None
        self.branches = nn.ModuleList(_conv_bn(in_channels, out_channels, kernel, stride, groups)
                                      for _ in range(num_convs))
        self.fused: nn.Conv2d | None = None
        self.se = SqueezeExcite2d(out_channels) if se else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            out = self.fused(x)
        else:
            out = sum(branch(x) for branch in self.branches)
            if self.scale is not None:
                out = out + self.scale(x)
            if self.identity is not None:
                out = out + self.identity(x)
        return F.relu(self.se(out))

    @torch.no_grad()
    def fuse(self) -> None:
        """Fold every branch (BatchNorm in eval form) into one ``kernel x kernel`` conv; same outputs."""
        if self.fused is not None:
            return
        weight = torch.zeros_like(self.branches[0].conv.weight)
        bias = torch.zeros(self.out_channels, dtype=weight.dtype, device=weight.device)
        pad = self.kernel // 2
        for branch in self.branches:
            w, b = _fold_bn(branch.conv.weight, branch.bn)
            weight, bias = weight + w, bias + b
        if self.scale is not None:
            w, b = _fold_bn(self.scale.conv.weight, self.scale.bn)
            weight, bias = weight + F.pad(w, [pad] * 4), bias + b
        if self.identity is not None:  # the identity as a conv: 1 at the centre tap of each channel's own input
            eye = torch.zeros_like(weight)
            per_group = self.in_channels // self.groups
            channels = torch.arange(self.in_channels)
            eye[channels, channels % per_group, pad, pad] = 1
            w, b = _fold_bn(eye, self.identity)
            weight, bias = weight + w, bias + b
        self.fused = nn.Conv2d(self.in_channels, self.out_channels, self.kernel, self.stride, pad,
                               groups=self.groups, bias=True).to(weight)
        self.fused.weight.copy_(weight)
        self.fused.bias.copy_(bias)
        self.branches, self.scale, self.identity = nn.ModuleList(), None, None


#: mmpretrain's MobileOne variants: blocks per stage, width factors of (64, 128, 256, 512),
#: conv branches per stage, squeeze-excitation on the last N blocks of each stage.
MOBILEONE_ARCHS: dict[str, dict[str, tuple]] = {
    "s0": dict(blocks=(2, 8, 10, 1), widths=(0.75, 1.0, 1.0, 2.0), convs=(4, 4, 4, 4), se=(0, 0, 0, 0)),
    "s1": dict(blocks=(2, 8, 10, 1), widths=(1.5, 1.5, 2.0, 2.5), convs=(1, 1, 1, 1), se=(0, 0, 0, 0)),
    "s2": dict(blocks=(2, 8, 10, 1), widths=(1.5, 2.0, 2.5, 4.0), convs=(1, 1, 1, 1), se=(0, 0, 0, 0)),
    "s3": dict(blocks=(2, 8, 10, 1), widths=(2.0, 2.5, 3.0, 4.0), convs=(1, 1, 1, 1), se=(0, 0, 0, 0)),
    "s4": dict(blocks=(2, 8, 10, 1), widths=(3.0, 3.5, 3.5, 4.0), convs=(1, 1, 1, 1), se=(0, 0, 5, 1)),
}


class MobileOne(nn.Module):
    """MobileOne trunk: ``(B, 3, H, W) -> (B, feat_dim)`` (stride 32).

    ``stage0`` is a 3x3/2 block to ``min(64, 64 * width[0])`` channels; each later stage repeats a
    depthwise 3x3 block (stride 2 on the first) and a pointwise 1x1 block.
    """

    def __init__(self, arch: str = "s4") -> None:
        super().__init__()
        if arch not in MOBILEONE_ARCHS:
            raise ValueError(f"MobileOne arch must be one of {sorted(MOBILEONE_ARCHS)}, got {arch!r}")
        spec = MOBILEONE_ARCHS[arch]
        channels = min(64, int(64 * spec["widths"][0]))
        self.stage0 = MobileOneBlock(3, channels, 3, stride=2)
        for i, (count, factor, convs, se) in enumerate(zip(spec["blocks"], spec["widths"], spec["convs"], spec["se"])):
            planes = int((64, 128, 256, 512)[i] * factor)
            blocks: list[nn.Module] = []
            for j in range(count):
                with_se = j >= count - se
                blocks.append(MobileOneBlock(channels, channels, 3, 2 if j == 0 else 1, channels, convs, with_se))
                blocks.append(MobileOneBlock(channels, planes, 1, 1, 1, convs, with_se))
                channels = planes
            setattr(self, f"stage{i + 1}", nn.Sequential(*blocks))
        self.feat_dim = channels
        init_conv_bn(self)

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` -> ``(B, feat_dim, H/32, W/32)``."""
        x = self.stage0(x)
        for i in range(1, 5):
            x = getattr(self, f"stage{i}")(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))

    def fuse(self) -> None:
        """Every block in its one-conv form (:meth:`MobileOneBlock.fuse`)."""
        for module in self.modules():
            if isinstance(module, MobileOneBlock):
                module.fuse()
