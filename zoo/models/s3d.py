"""S3D: separable 3D Inception (Xie et al., "Rethinking Spatiotemporal Feature Learning", 2018).

Every 3D convolution wider than ``1x1x1`` is split into a spatial ``1xkxk`` conv and a temporal
``kx1x1`` conv, each followed by BatchNorm and ReLU.  The layout follows Inception-v1 (GoogLeNet):
two separable stem convs, nine mixed blocks (``3b .. 5c``) and a fixed ``2x7x7`` average pool.

``s3d_kinetics400`` is torchvision's ``s3d`` (``S3D_Weights.KINETICS400_V1``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._published import published
from ._backbones2d import INCEPTION_V1_MIXED, ZeroPaddedAvgPool
from ._interface import VideoClassifier
from ._resnet3d import ConvBNAct, batch_norm3d, conv3d
from ..convert.keys import KEEP, Rule, convert

__all__ = ["S3D", "SepConv3d", "SepInception3d", "s3d"]

# torchvision's S3D BatchNorm: eps 1e-3, momentum 1e-3.
_NORM = batch_norm3d(eps=1e-3, momentum=1e-3)


class SepConv3d(nn.Module):
    """``1xkxk`` spatial conv-BN-ReLU, then ``kx1x1`` temporal conv-BN-ReLU.

    ``(N, C_in, T, H, W) -> (N, C_out, T/s, H/s, W/s)`` for ``stride = s``.  ``temporal_bias``
    gives the temporal conv a bias (IBM's S3D has one; torchvision's has none).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, norm_layer=_NORM, temporal_bias: bool = False) -> None:
        super().__init__()
        pad = kernel // 2
        self.spatial = ConvBNAct(in_channels, out_channels, (1, kernel, kernel), (1, stride, stride), (0, pad, pad), norm_layer=norm_layer)
        self.temporal = ConvBNAct(out_channels, out_channels, (kernel, 1, 1), (stride, 1, 1), (pad, 0, 0), norm_layer=norm_layer)
        if temporal_bias:
            self.temporal.conv = conv3d(out_channels, out_channels, (kernel, 1, 1), (stride, 1, 1), (pad, 0, 0), bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.temporal(self.spatial(x))


class SepInception3d(nn.Module):
    """An Inception mixed block with separable ``3x3x3`` branches.

    Branches: ``1x1x1``; ``1x1x1 -> sep 3``; ``1x1x1 -> sep 3`` (narrower); ``3x3x3`` max-pool ->
    ``1x1x1``.  Their outputs are concatenated on channels:
    ``(N, C_in, T, H, W) -> (N, b0 + b1 + b2 + b3, T, H, W)``.
    """

    def __init__(self, in_channels: int, b0: int, b1_mid: int, b1: int, b2_mid: int, b2: int, b3: int, norm_layer=_NORM, temporal_bias: bool = False) -> None:
        super().__init__()
        self.branch1x1 = ConvBNAct(in_channels, b0, 1, norm_layer=norm_layer)
        self.branch3x3_reduce = ConvBNAct(in_channels, b1_mid, 1, norm_layer=norm_layer)
        self.branch3x3 = SepConv3d(b1_mid, b1, 3, norm_layer=norm_layer, temporal_bias=temporal_bias)
        self.branch3x3b_reduce = ConvBNAct(in_channels, b2_mid, 1, norm_layer=norm_layer)
        self.branch3x3b = SepConv3d(b2_mid, b2, 3, norm_layer=norm_layer, temporal_bias=temporal_bias)
        self.branch_pool = nn.MaxPool3d(3, stride=1, padding=1)
        self.branch_pool_proj = ConvBNAct(in_channels, b3, 1, norm_layer=norm_layer)
        self.out_channels = b0 + b1 + b2 + b3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(
            [
                self.branch1x1(x),
                self.branch3x3(self.branch3x3_reduce(x)),
                self.branch3x3b(self.branch3x3b_reduce(x)),
                self.branch_pool_proj(self.branch_pool(x)),
            ],
            dim=1,
        )


# GoogLeNet's widths of the nine mixed blocks, under torchvision's S3D names (3b, 3c, 4b..4f, 5b, 5c).
_S3D_NAMES = ("mixed_3b", "mixed_3c", "mixed_4b", "mixed_4c", "mixed_4d", "mixed_4e", "mixed_4f", "mixed_5b", "mixed_5c")
_MIXED = dict(zip(_S3D_NAMES, INCEPTION_V1_MIXED.values()))


class S3D(VideoClassifier):
    """S3D for clips ``(N, 3, T, H, W)`` -> logits ``(N, num_classes)``; ``forward_features``: ``(N, 1024)``.

    Total stride is ``(8, 32, 32)``; the head averages ``2x7x7`` windows (stride 1) and then all
    window positions, so ``T >= 9`` and ``H, W >= 193`` are needed (16x224x224 gives one window).
    """

    def __init__(self, num_classes: int = 400, dropout_ratio: float = 0.2, norm_layer=_NORM) -> None:
        super().__init__()
        self.conv1 = SepConv3d(3, 64, 7, stride=2, norm_layer=norm_layer)
        self.pool1 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.conv2 = ConvBNAct(64, 64, 1, norm_layer=norm_layer)
        self.conv3 = SepConv3d(64, 192, 3, norm_layer=norm_layer)
        self.pool2 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
        self.mixed_3b = SepInception3d(*_MIXED["mixed_3b"], norm_layer=norm_layer)
        self.mixed_3c = SepInception3d(*_MIXED["mixed_3c"], norm_layer=norm_layer)
        self.pool3 = nn.MaxPool3d(3, stride=2, padding=1)
        self.mixed_4b = SepInception3d(*_MIXED["mixed_4b"], norm_layer=norm_layer)
        self.mixed_4c = SepInception3d(*_MIXED["mixed_4c"], norm_layer=norm_layer)
        self.mixed_4d = SepInception3d(*_MIXED["mixed_4d"], norm_layer=norm_layer)
        self.mixed_4e = SepInception3d(*_MIXED["mixed_4e"], norm_layer=norm_layer)
        self.mixed_4f = SepInception3d(*_MIXED["mixed_4f"], norm_layer=norm_layer)
        self.pool4 = nn.MaxPool3d(2, stride=2)
        self.mixed_5b = SepInception3d(*_MIXED["mixed_5b"], norm_layer=norm_layer)
        self.mixed_5c = SepInception3d(*_MIXED["mixed_5c"], norm_layer=norm_layer)
        self.avgpool = ZeroPaddedAvgPool((2, 7, 7), (1, 1, 1), (0, 0, 0))
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = 1024
        self.fc = nn.Linear(1024, num_classes)

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W) -> (N, 1024, T/8, H/32, W/32)``."""
        x = self.pool1(self.conv1(x))
        x = self.conv3(self.conv2(x))
        x = self.pool2(x)
        x = self.mixed_3c(self.mixed_3b(x))
        x = self.pool3(x)
        for block in (self.mixed_4b, self.mixed_4c, self.mixed_4d, self.mixed_4e, self.mixed_4f):
            x = block(x)
        x = self.pool4(x)
        return self.mixed_5c(self.mixed_5b(x))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, 1024)``: the ``2x7x7`` window averages, averaged over all windows."""
        # The classifier is linear, so averaging the 2x7x7 windows before it equals averaging the
        # per-window logits (torchvision applies a 1x1x1 conv per window, then the mean).
        return self.avgpool(self.forward_map(x)).mean(dim=(2, 3, 4))


def s3d(num_classes: int = 400, **kwargs) -> S3D:
    """Builder of :class:`S3D` (kwargs: ``dropout_ratio``)."""
    return S3D(num_classes=num_classes, **kwargs)


# ---------------------------------------------------------------------------------------------
# torchvision keys: features.{0..15} (Sequential; pools at 1, 4, 7, 13), Conv3dNormActivation
# as `.0` conv / `.1` BN, TemporalSeparableConv as `.0` spatial / `.1` temporal, branches 0..3,
# classifier.1 a 1x1x1 Conv3d.
_TV_FEATURES = {"5": "mixed_3b", "6": "mixed_3c", "8": "mixed_4b", "9": "mixed_4c", "10": "mixed_4d",
                "11": "mixed_4e", "12": "mixed_4f", "14": "mixed_5b", "15": "mixed_5c"}
_CONV_BN = {"0": "conv", "1": "bn"}
_SEP = {"0": "spatial", "1": "temporal"}


def _tv_s3d_key(m) -> str:
    index, rest = m.group(1), m.group(2)
    if index in ("0", "3"):  # separable stem convs: {0,1}.{0,1}.param
        part, layer, param = rest.split(".", 2)
        return f"conv{1 if index == '0' else 3}.{_SEP[part]}.{_CONV_BN[layer]}.{param}"
    if index == "2":
        layer, param = rest.split(".", 1)
        return f"conv2.{_CONV_BN[layer]}.{param}"
    block = _TV_FEATURES[index]
    branch, rest = rest.split(".", 1)
    if branch == "branch0":
        layer, param = rest.split(".", 1)
        return f"{block}.branch1x1.{_CONV_BN[layer]}.{param}"
    if branch in ("branch1", "branch2"):
        name = "branch3x3" if branch == "branch1" else "branch3x3b"
        step, rest = rest.split(".", 1)
        if step == "0":
            layer, param = rest.split(".", 1)
            return f"{block}.{name}_reduce.{_CONV_BN[layer]}.{param}"
        part, layer, param = rest.split(".", 2)
        return f"{block}.{name}.{_SEP[part]}.{_CONV_BN[layer]}.{param}"
    _, layer, param = rest.split(".", 2)  # branch3.1.{0,1}: after the max-pool
    return f"{block}.branch_pool_proj.{_CONV_BN[layer]}.{param}"


_TV_RULES = [
    (r"features\.(\d+)\.(.+)", _tv_s3d_key),
    Rule(r"classifier\.1\.(weight|bias)", r"fc.\1", reshape=True),  # the 1x1x1 conv classifier is a Linear here
]


@register_converter("torchvision_s3d")
def convert_torchvision_s3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """torchvision ``S3D`` state dict -> :class:`S3D` (the ``1x1x1`` conv classifier becomes ``fc``)."""
    return convert(source, model, (*_TV_RULES, KEEP), what="torchvision S3D")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

register_model("s3d_kinetics400", builder=s3d, family="s3d", dataset="kinetics400", num_classes=400,
               input=InputSpec(clip_len=128, frame_step=2, mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989),
                               note=("torchvision eval: resize to 256x256 (not short side), centre crop 224, clips of 128 "
                                     "frames at 15 fps, one clip per video; at least 14 frames")),
               converters={"pth": "torchvision_s3d"}, source="torchvision",
               weights=(published("s3d-d76dad2f.pth", "torchvision_s3d", 68.368, 88.05, repo="torchvision",
                                  protocol="clip-level, clip_len=128, frame_rate=15, 1 clip/video", default=True,
                                  description="torchvision S3D_Weights.KINETICS400_V1"),),
               description="S3D (separable 3D Inception-v1), Kinetics-400, torchvision's weights.")
