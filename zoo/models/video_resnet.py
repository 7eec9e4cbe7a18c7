"""torchvision's video ResNets (Tran et al., CVPR 2018) and the IG-65M R(2+1)D-34 models.

* ``r3d_18``: ResNet-18 with ``3x3x3`` convolutions everywhere.
* ``mc3_18``: "mixed convolutions": ``3x3x3`` in ``layer1``, ``1x3x3`` (2D) in ``layer2..4``,
  whose stride is then spatial only.
* ``r2plus1d_18`` / ``r2plus1d_34``: every ``3x3x3`` factored into ``1x3x3`` + BN + ReLU + ``3x1x1``
  (:class:`zoo.models.r2plus1d.Conv2Plus1d`) with the parameter-preserving mid width.

All have a ``3x7x7`` (or factored ``1x7x7`` + ``3x1x1``) stride-``(1, 2, 2)`` stem without pooling,
stride 2 in ``layer2..4``, global average pooling and a linear classifier; no dropout upstream.

The IG-65M models (moabitcoin/ig65m-pytorch, converted from Facebook's VMZ Caffe2 release) are
R(2+1)D-34 with BatchNorm ``eps=1e-3`` and VMZ's mid widths: each (2+1)D conv sized from its own
input/output width (torchvision sizes both convs of a block from the block's input width).
Built from :mod:`zoo.models._resnet3d`.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ..sources_upstream import ig65m_weights, torchvision_weights
from ._resnet3d import (
    RESNET_DEPTHS,
    BasicBlock3d,
    ClassifierHead3d,
    NormLayer,
    ResNet3d,
    Stem3d,
    Triple,
    batch_norm3d,
    init_weights,
    make_stage,
)
from ._upstream_keys import remap_state
from .r2plus1d import Conv2Plus1d, mid_channels

__all__ = ["VideoResNet", "video_resnet", "r3d_18", "mc3_18", "r2plus1d_18", "r2plus1d_34"]

_VARIANTS = ("r3d", "mc3", "r2plus1d")


def _conv2plus1d_builder(norm_layer: NormLayer, block_mid: int | None) -> Callable[..., nn.Module]:
    """A conv builder of :class:`Conv2Plus1d`: mid width ``block_mid`` for every conv of the block
    (torchvision), or, with ``None``, sized per conv from its own widths (VMZ / IG-65M)."""

    def build(in_planes: int, out_planes: int, *, stride: Triple, kernel_t: int = 3, dilation: int = 1) -> nn.Module:
        mid = block_mid if block_mid is not None else mid_channels(in_planes, out_planes)
        return Conv2Plus1d(in_planes, out_planes, mid, stride=stride, kernel_t=kernel_t, norm_layer=norm_layer)

    return build


class VideoResNet(ResNet3d):
    """torchvision-style video ResNet: ``(N, 3, T, H, W) -> (N, num_classes)`` (features ``(N, 512)``).

    Args:
        variant: ``"r3d"``, ``"mc3"`` or ``"r2plus1d"``.
        depth: 18 or 34 (basic blocks).
        bn_eps: BatchNorm epsilon (torchvision 1e-5, IG-65M 1e-3).
        per_conv_mid: size every (2+1)D conv's mid width from its own widths (VMZ / IG-65M).
        dropout_ratio: dropout before ``fc`` (0 upstream).
    """

    def __init__(
        self,
        num_classes: int = 400,
        variant: str = "r3d",
        depth: int = 18,
        *,
        bn_eps: float = 1e-5,
        per_conv_mid: bool = False,
        dropout_ratio: float = 0.0,
    ) -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        if depth not in (18, 34):
            raise ValueError(f"video ResNets here are depth 18 or 34, got {depth}")
        norm = batch_norm3d(eps=bn_eps)
        if variant == "r2plus1d":
            stem_conv = Conv2Plus1d(3, 64, 45, stride=(1, 2, 2), kernel_s=7, norm_layer=norm)
            stem = Stem3d(3, 64, conv=stem_conv, pool_kernel=None, norm_layer=norm)
        else:
            stem = Stem3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), pool_kernel=None, norm_layer=norm)
        stages, in_planes = [], 64
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), RESNET_DEPTHS[depth])):
            spatial_only = variant == "mc3" and i > 0
            stride = (1, 1, 1) if i == 0 else ((1, 2, 2) if spatial_only else (2, 2, 2))
            if variant == "r2plus1d":
                per_block = [
                    {"conv_builder": _conv2plus1d_builder(norm, None if per_conv_mid else mid_channels(in_planes if b == 0 else planes, planes))}
                    for b in range(num_blocks)
                ]
            else:
                per_block = [{"kernel_t": 1 if spatial_only else 3}] * num_blocks
            stages.append(make_stage(BasicBlock3d, in_planes, planes, num_blocks, stride=stride, block_kwargs=per_block, norm_layer=norm))
            in_planes = planes
        head = ClassifierHead3d(512, num_classes, dropout_ratio=dropout_ratio)
        super().__init__(stem, stages, head)
        self.variant = variant
        init_weights(self)


def video_resnet(num_classes: int = 400, **kwargs) -> VideoResNet:
    """Builder of :class:`VideoResNet` (kwargs: ``variant``, ``depth``, ``bn_eps``, ``per_conv_mid``, ``dropout_ratio``)."""
    return VideoResNet(num_classes=num_classes, **kwargs)


def r3d_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    return VideoResNet(num_classes, "r3d", 18, **kwargs)


def mc3_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    return VideoResNet(num_classes, "mc3", 18, **kwargs)


def r2plus1d_18(num_classes: int = 400, **kwargs) -> VideoResNet:
    return VideoResNet(num_classes, "r2plus1d", 18, **kwargs)


def r2plus1d_34(num_classes: int = 400, **kwargs) -> VideoResNet:
    """IG-65M R(2+1)D-34: BatchNorm eps 1e-3, VMZ mid widths."""
    return VideoResNet(num_classes, "r2plus1d", 34, **{"bn_eps": 1e-3, "per_conv_mid": True, **kwargs})


# ---------------------------------------------------------------------------------------------
# torchvision VideoResNet keys (also ig65m's): stem Sequential (conv 0, BN 1 | R(2+1)D: 0, 1, 3, 4),
# block convs as Sequential(conv, BN[, ReLU]) with an inner Sequential for (2+1)D convs.
_TV_RULES = [  # the stem's first conv/BN depend on the variant: see the converter
    (r"stem\.3\.weight", "stem.conv.conv_t.weight"),
    (r"stem\.4\.(.+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+)\.conv(\d)\.0\.0\.weight", r"\1.conv\2.conv_s.weight"),
    (r"(layer\d\.\d+)\.conv(\d)\.0\.1\.(.+)", r"\1.conv\2.bn_s.\3"),
    (r"(layer\d\.\d+)\.conv(\d)\.0\.3\.weight", r"\1.conv\2.conv_t.weight"),
    (r"(layer\d\.\d+)\.conv(\d)\.0\.weight", r"\1.conv\2.weight"),
    (r"(layer\d\.\d+)\.conv(\d)\.1\.(.+)", r"\1.bn\2.\3"),
    (r"(layer\d\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.downsample\.1\.(.+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
]


@register_converter("torchvision_video_resnet")
def convert_torchvision_video_resnet(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """torchvision ``VideoResNet`` (r3d_18, mc3_18, r2plus1d_18; also ig65m's R(2+1)D-34) -> :class:`VideoResNet`."""
    factored = "stem.3.weight" in source
    stem_conv, stem_bn = ("stem.conv.conv_s.weight", "stem.conv.bn_s") if factored else ("stem.conv.weight", "stem.bn")
    rules = [
        (r"stem\.0\.weight", stem_conv),
        (r"stem\.1\.(.+)", stem_bn + r".\1"),
        *_TV_RULES,
    ]
    return remap_state(source, model, rules, what="torchvision VideoResNet")


_TV_INPUT = InputSpec(
    clip_len=16, frame_step=1, crop_size=112, short_side=128,
    mean=(0.43216, 0.394666, 0.37645), std=(0.22803, 0.22145, 0.216989),
    note="torchvision eval: resize to 128x171, centre crop 112, 16 frames at 15 fps, 5 clips per video",
)
_TV_PROTOCOL = "video-level, frame_rate=15, clips_per_video=5, clip_len=16"

for _name, _builder, _file, _top1, _top5, _params, _gflops, _what in (
    ("r3d_18", r3d_18, "r3d_18-b3b3357e.pth", 63.200, 83.479, 33.371472, 40.697, "R3D-18 (3x3x3 convolutions)"),
    ("mc3_18", mc3_18, "mc3_18-a90a0ba3.pth", 63.960, 84.130, 11.695440, 43.343, "MC3-18 (3D layer1, 2D layer2-4)"),
    ("r2plus1d_18", r2plus1d_18, "r2plus1d_18-91a641e6.pth", 67.463, 86.175, 31.505325, 40.519, "R(2+1)D-18"),
):
    register_model(
        f"{_name}_kinetics400",
        _builder,
        family="video_resnet",
        dataset="kinetics400",
        num_classes=400,
        input=_TV_INPUT,
        weights=(torchvision_weights(_file, "torchvision_video_resnet", _top1, _top5, protocol=_TV_PROTOCOL,
                                     description=f"torchvision {_name.upper()}_Weights.KINETICS400_V1"),),
        converters={"pth": "torchvision_video_resnet"},
        description=f"{_what}, Kinetics-400, torchvision's weights.",
        source="torchvision",
        params_m=_params,
        gflops=_gflops,
    )

# IG-65M: 8- and 32-frame clips at 112x112; the plain IG-65M heads are the hashtag classes the
# release keeps (487 for 8 frames, 359 for 32); the Kinetics ones are fine-tuned from IG-65M.
_IG65M_MEAN, _IG65M_STD = (0.43216, 0.394666, 0.37645), (0.22803, 0.22145, 0.216989)
for _frames, _dataset, _classes, _file, _what in (
    (8, "kinetics400", 400, "r2plus1d_34_clip8_ft_kinetics_from_ig65m-0aa0550b.pth", "IG-65M pretrained, Kinetics-400 fine-tuned"),
    (32, "kinetics400", 400, "r2plus1d_34_clip32_ft_kinetics_from_ig65m-ade133f1.pth", "IG-65M pretrained, Kinetics-400 fine-tuned"),
    (8, "ig65m", 487, "r2plus1d_34_clip8_ig65m_from_scratch-9bae36ae.pth", "IG-65M from scratch (hashtag head)"),
    (32, "ig65m", 359, "r2plus1d_34_clip32_ig65m_from_scratch-449a7af9.pth", "IG-65M from scratch (hashtag head)"),
):
    register_model(
        f"r2plus1d_34_{_frames}_{'kinetics' if _dataset == 'kinetics400' else 'ig65m'}",
        r2plus1d_34,
        family="video_resnet",
        dataset=_dataset,
        num_classes=_classes,
        input=InputSpec(clip_len=_frames, frame_step=1, crop_size=112, short_side=128, mean=_IG65M_MEAN, std=_IG65M_STD,
                        note="ig65m-pytorch: clips of {} frames at 112x112 (torchvision's Kinetics normalisation)".format(_frames)),
        weights=(ig65m_weights(_file, "torchvision_video_resnet", description=f"moabitcoin/ig65m-pytorch {_what}; "
                               "no accuracy stated upstream"),),
        converters={"pth": "torchvision_video_resnet"},
        description=f"R(2+1)D-34, {_frames}-frame clips, {_what} (VMZ weights via ig65m-pytorch).",
        source="moabitcoin/ig65m-pytorch (facebookresearch/VMZ)",
    )
