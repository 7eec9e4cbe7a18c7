"""2D backbones shared by the per-frame video families (two-stream, LRCN, TSM/TAM) and flow helpers.

* :class:`ResNet2d`: ResNet v1b built from :mod:`._backbones2d`'s blocks, with configurable widths,
  input channels and stem.  With the defaults it is GluonCV's ``resnet*_v1b`` trunk of the TSN
  family (``conv1``, ``bn1``, ``layer1.0.conv1`` ...), so ImageNet / TSN ResNet weights load into it;
  ``widths=(16, 32, 64, 128), stem="small"`` is a CPU-sized variant used on the synthetic dataset.
* :class:`Xception`: a compact Xception (Chollet 2017): entry flow, ``middle_blocks`` middle-flow
  blocks, exit flow, all with depthwise-separable convolutions and residual shortcuts.
* :func:`flow_conv_weight`: the cross-modality initialisation of the two-stream papers, turning an
  RGB first-conv kernel into one over ``2L`` stacked flow channels.

Every trunk maps ``(N, C_in, H, W)`` to pooled features ``(N, feat_dim)``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._backbones2d import RESNET_V1B_SPECS, add_resnet_stages
from ._interface import init_conv_bn

__all__ = ["ResNet2d", "Xception", "build_trunk", "flow_conv_weight", "first_conv"]


class ResNet2d(nn.Module):
    """ResNet v1b trunk up to global average pooling: ``(N, in_channels, H, W)`` -> ``(N, feat_dim)``.

    Args:
        depth: 18, 34, 50, 101 or 152 (block type and counts of ResNet v1b).
        widths: planes of the four stages (ImageNet: ``64, 128, 256, 512``).
        in_channels: 3 for RGB, ``2L`` for stacked optical flow.
        stem: ``"imagenet"`` (7x7/2 conv + 3x3/2 max-pool, stride 4) or ``"small"`` (3x3/2 conv, no
            pool, stride 2: for 32-64 px inputs).
        groups, width_per_group: ResNeXt's grouped 3x3 convs (bottleneck depths only; ResNeXt-101
            32x4d: ``groups=32, width_per_group=4``); the defaults are plain ResNet.
    """

    def __init__(
        self,
        depth: int = 18,
        widths: Sequence[int] = (64, 128, 256, 512),
        in_channels: int = 3,
        stem: str = "imagenet",
        groups: int = 1,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        if depth not in RESNET_V1B_SPECS:
            raise ValueError(f"ResNet depth must be one of {sorted(RESNET_V1B_SPECS)}, got {depth}")
        if stem not in ("imagenet", "small"):
            raise ValueError(f"stem must be 'imagenet' or 'small', got {stem!r}")
        block, layers = RESNET_V1B_SPECS[depth]
        stem_width = widths[0]
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, stem_width, 7, 2, 3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = nn.Conv2d(in_channels, stem_width, 3, 2, 1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(stem_width)
        grouped = {} if groups == 1 and width_per_group == 64 else {"groups": groups, "width_per_group": width_per_group}
        if grouped and depth < 50:
            raise ValueError(f"grouped (ResNeXt) blocks need a bottleneck depth (50, 101, 152), got {depth}")
        self.feat_dim = add_resnet_stages(self, block, layers, widths, stem_width, **grouped)
        init_conv_bn(self)

    def blocks(self) -> list[nn.Module]:
        """All residual blocks, stage by stage (where TSM / TAM insert their temporal modules)."""
        return [b for i in range(4) for b in getattr(self, f"layer{i + 1}")]

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` -> last feature map ``(N, feat_dim, H/32, W/32)``."""
        x = self.maxpool(F.relu(self.bn1(self.conv1(x)), inplace=True))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))


class SeparableConv2d(nn.Module):
    """Depthwise ``k x k`` conv then pointwise ``1x1`` conv (no bias); ``(N, C_in, H, W) -> (N, C_out, H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 3) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel, 1, kernel // 2, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """``reps`` x (ReLU -> SeparableConv -> BN), optional 3x3/2 max-pool, plus a (1x1 conv) shortcut.

    ``relu_first=False`` drops the leading ReLU (the first entry-flow block, whose input is already
    rectified).  ``(N, C_in, H, W) -> (N, C_out, H/stride, W/stride)``.
    """

    def __init__(self, in_channels: int, out_channels: int, reps: int, stride: int = 1, relu_first: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for i in range(reps):
            if i > 0 or relu_first:
                layers.append(nn.ReLU(inplace=False))
            layers += [SeparableConv2d(channels, out_channels), nn.BatchNorm2d(out_channels)]
            channels = out_channels
        if stride != 1:
            layers.append(nn.MaxPool2d(3, stride, 1))
        self.body = nn.Sequential(*layers)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class Xception(nn.Module):
    """Compact Xception: ``(N, in_channels, H, W)`` -> ``(N, feat_dim)`` (stride 32).

    Entry flow: conv 3x3/2 (``widths[0]``), conv 3x3 (``2 * widths[0]``), three strided separable
    blocks (``widths[1:4]``); middle flow: ``middle_blocks`` residual blocks of three separable
    convs at ``widths[3]``; exit flow: a strided block to ``widths[4]``, then two separable convs
    to ``widths[5]`` and ``widths[6]``.  The defaults are the ImageNet Xception
    (32, 128, 256, 728, 1024, 1536, 2048 with 8 middle blocks, 2048-d features).
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (32, 128, 256, 728, 1024, 1536, 2048),
        middle_blocks: int = 8,
    ) -> None:
        super().__init__()
        if len(widths) != 7:
            raise ValueError(f"Xception needs 7 widths (stem, 3 entry blocks, exit block, 2 exit convs), got {len(widths)}")
        w0, w1, w2, w3, w4, w5, w6 = widths
        self.conv1 = nn.Conv2d(in_channels, w0, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.conv2 = nn.Conv2d(w0, 2 * w0, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * w0)
        self.entry = nn.Sequential(
            XceptionBlock(2 * w0, w1, 2, stride=2, relu_first=False),
            XceptionBlock(w1, w2, 2, stride=2),
            XceptionBlock(w2, w3, 2, stride=2),
        )
        self.middle = nn.Sequential(*[XceptionBlock(w3, w3, 3) for _ in range(middle_blocks)])
        self.exit = nn.Sequential(
            XceptionBlock(w3, w4, 2, stride=2),
            SeparableConv2d(w4, w5), nn.BatchNorm2d(w5), nn.ReLU(inplace=True),
            SeparableConv2d(w5, w6), nn.BatchNorm2d(w6), nn.ReLU(inplace=True),
        )
        self.feat_dim = w6
        init_conv_bn(self)

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C_in, H, W)`` -> ``(N, feat_dim, H/32, W/32)``."""
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = F.relu(self.bn2(self.conv2(x)), inplace=True)
        return self.exit(self.middle(self.entry(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_map(x).mean(dim=(2, 3))


def build_trunk(backbone: str, in_channels: int = 3, **kwargs) -> nn.Module:
    """A 2D trunk by name: ``"resnet18"``, ``"resnet34"``, ``"resnet50"``, ... or ``"xception"``.

    ``kwargs`` go to :class:`ResNet2d` (``widths``, ``stem``) or :class:`Xception` (``widths``,
    ``middle_blocks``).  The trunk has ``feat_dim`` and maps ``(N, in_channels, H, W)`` to
    ``(N, feat_dim)``.
    """
    if backbone.startswith("resnet") and backbone[6:].isdigit():
        return ResNet2d(int(backbone[6:]), in_channels=in_channels, **kwargs)
    if backbone == "xception":
        return Xception(in_channels=in_channels, **kwargs)
    raise ValueError(f"unknown backbone {backbone!r}; use resnet18/34/50/101/152 or xception")


def first_conv(trunk: nn.Module) -> nn.Conv2d:
    """The trunk's first convolution (the one that sees the input channels)."""
    for module in trunk.modules():
        if isinstance(module, nn.Conv2d):
            return module
    raise ValueError(f"{type(trunk).__name__} has no Conv2d")


def flow_conv_weight(rgb_weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """Cross-modality initialisation of a flow stream's first conv from an RGB one.

    ``(O, 3, kh, kw)`` -> ``(O, in_channels, kh, kw)``: the kernel is averaged over the three RGB
    channels and that mean is replicated over the ``in_channels = 2L`` flow channels (Wang et al.,
    "Temporal Segment Networks", 2016; the two-stream networks after them).
    """
    if rgb_weight.ndim != 4 or rgb_weight.shape[1] != 3:
        raise ValueError(f"expected an RGB conv weight (O, 3, kh, kw), got {tuple(rgb_weight.shape)}")
    return rgb_weight.mean(dim=1, keepdim=True).expand(-1, in_channels, -1, -1).clone()
