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

mmaction2's ``ResNet2Plus1d`` (``r2plus1d_r34_*``) is R(2+1)D-34 with VMZ's per-conv mid widths and
``eps=1e-3`` on the blocks' BatchNorms, and differs in four places, each an option here: its stem's
(2+1)D conv is sized by the same rule for a ``7x7`` kernel (83 mid channels, ``stem_mid``), a
``1x3x3`` max-pool follows the stem (``stem_pool``), each strided shortcut is itself a (2+1)D
conv (``1x1x1`` spatial, BN, ReLU, ``1x1x1`` temporal, sized by the rule for ``k = 1``;
``factorised_shortcut``), and the BatchNorms inside the (2+1)D convs keep ``eps=1e-5``
(``inner_bn_eps``).
Built from :mod:`zoo.models._resnet3d`.
"""
from __future__ import annotations

from functools import partial

from typing import Callable

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._published import published
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
from ..convert.keys import KEEP, Rule, convert
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from .r2plus1d import Conv2Plus1d, mid_channels

__all__ = ["VideoResNet", "video_resnet", "r3d_18", "mc3_18", "r2plus1d_18", "r2plus1d_34"]

_VARIANTS = ("r3d", "mc3", "r2plus1d")


def _conv2plus1d_builder(norm_layer: NormLayer, block_mid: int | None) -> Callable[..., nn.Module]:
    """A conv builder of :class:`Conv2Plus1d`: mid width ``block_mid`` for every conv of the block
    (torchvision), or, with ``None``, sized per conv from its own widths (VMZ / IG-65M / mmaction2).
    ``norm_layer`` is the BatchNorm between the spatial and the temporal conv."""

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
        stem_mid: mid width of the R(2+1)D stem's (2+1)D conv (torchvision / VMZ: 45; mmaction2: 83,
            :func:`~zoo.models.r2plus1d.mid_channels` of ``3 -> 64`` for a ``7x7`` kernel).
        stem_pool: a ``1x3x3`` max-pool, stride ``(1, 2, 2)``, after the stem (mmaction2).
        factorised_shortcut: each strided R(2+1)D shortcut is a :class:`Conv2Plus1d` with ``1x1x1``
            kernels (mmaction2) instead of one ``1x1x1`` conv; BN follows either.
        inner_bn_eps: epsilon of the BatchNorm inside each (2+1)D conv; ``None``: ``bn_eps``
            (mmaction2: 1e-5 inside, 1e-3 elsewhere).
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
        stem_mid: int = 45,
        stem_pool: bool = False,
        factorised_shortcut: bool = False,
        inner_bn_eps: float | None = None,
    ) -> None:
        if variant not in _VARIANTS:
            raise ValueError(f"variant must be one of {_VARIANTS}, got {variant!r}")
        if depth not in (18, 34):
            raise ValueError(f"video ResNets here are depth 18 or 34, got {depth}")
        norm = batch_norm3d(eps=bn_eps)
        inner_norm = norm if inner_bn_eps is None else batch_norm3d(eps=inner_bn_eps)
        if variant == "r2plus1d":
            stem_conv = Conv2Plus1d(3, 64, stem_mid, stride=(1, 2, 2), kernel_s=7, norm_layer=inner_norm)
            stem = Stem3d(3, 64, conv=stem_conv, pool_kernel=(1, 3, 3) if stem_pool else None,
                          pool_stride=(1, 2, 2), norm_layer=norm)
        else:
            stem = Stem3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), pool_kernel=None, norm_layer=norm)
        stages, in_planes = [], 64
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), RESNET_DEPTHS[depth])):
            spatial_only = variant == "mc3" and i > 0
            stride = (1, 1, 1) if i == 0 else ((1, 2, 2) if spatial_only else (2, 2, 2))
            if variant == "r2plus1d":
                per_block = [
                    {"conv_builder": _conv2plus1d_builder(inner_norm, None if per_conv_mid else mid_channels(in_planes if b == 0 else planes, planes))}
                    for b in range(num_blocks)
                ]
            else:
                per_block = [{"kernel_t": 1 if spatial_only else 3}] * num_blocks
            stage = make_stage(BasicBlock3d, in_planes, planes, num_blocks, stride=stride, block_kwargs=per_block, norm_layer=norm)
            if factorised_shortcut and variant == "r2plus1d" and stage[0].downsample is not None:
                stage[0].downsample.conv = Conv2Plus1d(in_planes, planes, mid_channels(in_planes, planes, kernel_s=1),
                                                       stride=stride, kernel_t=1, kernel_s=1, norm_layer=inner_norm)
            stages.append(stage)
            in_planes = planes
        head = ClassifierHead3d(512, num_classes, dropout_ratio=dropout_ratio)
        super().__init__(stem, stages, head)
        self.variant = variant
        init_weights(self)


def video_resnet(num_classes: int = 400, **kwargs) -> VideoResNet:
    """Builder of :class:`VideoResNet` (kwargs: ``variant``, ``depth``, ``bn_eps``, ``per_conv_mid``, ``dropout_ratio``,
    ``stem_mid``, ``stem_pool``, ``factorised_shortcut``, ``inner_bn_eps``)."""
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
    return convert(source, model, (*rules, KEEP), what="torchvision VideoResNet")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_IG65M_32_INPUT = InputSpec(clip_len=32, crop_size=112, short_side=128, mean=(0.43216, 0.394666, 0.37645),
                   std=(0.22803, 0.22145, 0.216989),
                   note="ig65m-pytorch: clips of 32 frames at 112x112 (torchvision's Kinetics normalisation)")
_IG65M_SCRATCH_DESC = "moabitcoin/ig65m-pytorch IG-65M from scratch (hashtag head); no accuracy stated upstream"
_IG65M_KINETICS_DESC = "moabitcoin/ig65m-pytorch IG-65M pretrained, Kinetics-400 fine-tuned; no accuracy stated upstream"
_IG65M_8_INPUT = InputSpec(clip_len=8, crop_size=112, short_side=128, mean=(0.43216, 0.394666, 0.37645),
                     std=(0.22803, 0.22145, 0.216989),
                     note="ig65m-pytorch: clips of 8 frames at 112x112 (torchvision's Kinetics normalisation)")
_register = partial(register_model, builder=r2plus1d_34, family="video_resnet", dataset="kinetics400", num_classes=400,
                    input=InputSpec(frame_step=2, crop_size=112, short_side=128, mean=(0.43216, 0.394666, 0.37645),
                                    std=(0.22803, 0.22145, 0.216989),
                                    note=("torchvision eval: resize to 128x171, centre crop 112, 16 frames at 15 fps,"
                                          " 5 clips per video")),
                    converters={"pth": "torchvision_video_resnet"},
                    source="moabitcoin/ig65m-pytorch (facebookresearch/VMZ)")
_register("mc3_18_kinetics400", builder=mc3_18, source="torchvision",
          weights=(published("mc3_18-a90a0ba3.pth", "torchvision_video_resnet", 63.96, 84.13, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=5, clip_len=16", default=True,
                             description="torchvision MC3_18_Weights.KINETICS400_V1"),),
          description="MC3-18 (3D layer1, 2D layer2-4), Kinetics-400, torchvision's weights.")
_register("r2plus1d_18_kinetics400", builder=r2plus1d_18, source="torchvision",
          weights=(published("r2plus1d_18-91a641e6.pth", "torchvision_video_resnet", 67.463, 86.175, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=5, clip_len=16", default=True,
                             description="torchvision R2PLUS1D_18_Weights.KINETICS400_V1"),),
          description="R(2+1)D-18, Kinetics-400, torchvision's weights.")
_register("r2plus1d_34_32_ig65m", dataset="ig65m", num_classes=359, input=_IG65M_32_INPUT,
          weights=(published("r2plus1d_34_clip32_ig65m_from_scratch-449a7af9.pth", "torchvision_video_resnet",
                             repo="ig65m", default=True, description=_IG65M_SCRATCH_DESC),),
          description="R(2+1)D-34, 32-frame clips, IG-65M from scratch (hashtag head) (VMZ weights via ig65m-pytorch).")
_register("r2plus1d_34_32_kinetics", input=_IG65M_32_INPUT,
          weights=(published("r2plus1d_34_clip32_ft_kinetics_from_ig65m-ade133f1.pth", "torchvision_video_resnet",
                             repo="ig65m", default=True, description=_IG65M_KINETICS_DESC),),
          description=("R(2+1)D-34, 32-frame clips, IG-65M pretrained, Kinetics-400 fine-tuned (VMZ weights via "
                       "ig65m-pytorch)."))
_register("r2plus1d_34_8_ig65m", dataset="ig65m", num_classes=487, input=_IG65M_8_INPUT,
          weights=(published("r2plus1d_34_clip8_ig65m_from_scratch-9bae36ae.pth", "torchvision_video_resnet",
                             repo="ig65m", default=True, description=_IG65M_SCRATCH_DESC),),
          description="R(2+1)D-34, 8-frame clips, IG-65M from scratch (hashtag head) (VMZ weights via ig65m-pytorch).")
_register("r2plus1d_34_8_kinetics", input=_IG65M_8_INPUT,
          weights=(published("r2plus1d_34_clip8_ft_kinetics_from_ig65m-0aa0550b.pth", "torchvision_video_resnet",
                             repo="ig65m", default=True, description=_IG65M_KINETICS_DESC),),
          description=("R(2+1)D-34, 8-frame clips, IG-65M pretrained, Kinetics-400 fine-tuned (VMZ weights via "
                       "ig65m-pytorch)."))
_register("r3d_18_kinetics400", builder=r3d_18, source="torchvision",
          weights=(published("r3d_18-b3b3357e.pth", "torchvision_video_resnet", 63.2, 83.479, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=5, clip_len=16", default=True,
                             description="torchvision R3D_18_Weights.KINETICS400_V1"),),
          description="R3D-18 (3x3x3 convolutions), Kinetics-400, torchvision's weights.")


# --------------------------------------------------------------------------------------------
# mmaction2's ResNet2Plus1d (configs/recognition/r2plus1d): ConvModule names (conv and BN under one name)
# --------------------------------------------------------------------------------------------

_MM_RULES = (
    Rule(r"backbone\.conv1\.conv\.(conv_s\.weight|bn_s\.\w+|conv_t\.weight)", r"stem.conv.\1"),
    Rule(r"backbone\.conv1\.bn\.(\w+)", r"stem.bn.\1"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv(\d)\.conv\.(conv_s\.weight|bn_s\.\w+|conv_t\.weight)", r"\1.conv\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv(\d)\.bn\.(\w+)", r"\1.bn\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.downsample\.conv\.(conv_s\.weight|bn_s\.\w+|conv_t\.weight)", r"\1.downsample.conv.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.downsample\.bn\.(\w+)", r"\1.downsample.bn.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("mmaction2_r2plus1d")
def convert_mmaction2_r2plus1d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``ResNet2Plus1d`` + ``I3DHead`` checkpoints -> :class:`VideoResNet` built with mmaction2's options."""
    return convert(source, model, _MM_RULES, what="mmaction2 R(2+1)D")


#: :class:`VideoResNet` options of mmaction2's ``ResNet2Plus1d`` (``_base_/models/r2plus1d_r34.py``).
MMACTION2_R2PLUS1D = {"variant": "r2plus1d", "depth": 34, "bn_eps": 1e-3, "per_conv_mid": True, "dropout_ratio": 0.5,
                      "stem_mid": mid_channels(3, 64, kernel_s=7), "stem_pool": True, "factorised_shortcut": True,
                      "inner_bn_eps": 1e-5}


def _register_mm(name: str, frames: int, step: int, top1: float, top5: float, config: str, url: str) -> None:
    register_mmaction2(
        name, builder=video_resnet, family="video_resnet", converter="mmaction2_r2plus1d", dataset="kinetics400",
        kwargs=MMACTION2_R2PLUS1D,
        input=InputSpec(clip_len=frames, frame_step=step, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
        url=url, top1=top1, top5=top5, pretraining="Scratch", config=config,
        protocol=mm_protocol(f"10 uniform clips of {frames} frames with step {step} x 3 crops (ThreeCrop 256px after "
                             "short side 256)"),
        description=(f"R(2+1)D-34 as mmaction2 builds it ({frames}x{step} sampling, from scratch): per-conv mid widths, "
                     "a 1x3x3 max-pool after the stem, (2+1)D-factorised shortcuts; mmaction2's weights."))


_register_mm("r2plus1d_resnet34_f8s8_kinetics400", 8, 8, 69.76, 88.41,
             "r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py",
             "https://download.openmmlab.com/mmaction/v1.0/recognition/r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb_20220812-47cfe041.pth")
_register_mm("r2plus1d_resnet34_f32s2_kinetics400", 32, 2, 75.46, 92.28,
             "r2plus1d/r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb.py",
             "https://download.openmmlab.com/mmaction/v1.0/recognition/r2plus1d/r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb/r2plus1d_r34_8xb8-32x2x1-180e_kinetics400-rgb_20220812-4270588c.pth")
