"""Channel-separated networks: ir-CSN (Tran et al., "Video Classification with Channel-Separated
Convolutional Networks", ICCV 2019), as ported from VMZ into GluonCV's PyTorch zoo (``ResNet_IRCSNv2``).

An ir-CSN bottleneck is a ResNet bottleneck whose ``3x3x3`` conv is depthwise (one group per
channel), i.e. "interaction-reduced": channel interactions happen only in the ``1x1x1`` convs.
Stem: ``3x7x7`` conv (stride ``1x2x2``) and a ``1x3x3`` max-pool; stages 2-4 halve T, H and W;
global average pooling and a linear classifier.  BatchNorm eps is ``1e-3`` (VMZ/Caffe2).
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._published import GLUONCV_CONFIGS, published
from ._resnet3d import RESNET_DEPTHS, Bottleneck3d, ClassifierHead3d, ResNet3d, Stem3d, Triple, batch_norm3d, conv3d, init_weights, make_stage
from ..convert.keys import KEEP, Rule, convert

__all__ = ["depthwise_conv", "IrCSN", "ircsn_resnet"]


def depthwise_conv(in_planes: int, out_planes: int, *, stride: Triple = (1, 1, 1), kernel_t: int = 3, dilation: int = 1) -> nn.Conv3d:
    """A :class:`~zoo.models._resnet3d.ConvBuilder`: depthwise ``kernel_t x 3 x 3`` conv (``groups = channels``).

    ``(N, C, T, H, W) -> (N, C, T/st, H/ss, W/ss)``.
    """
    if in_planes != out_planes:
        raise ValueError(f"a depthwise conv keeps the width, got {in_planes} -> {out_planes}")
    pad = ((kernel_t - 1) // 2, dilation, dilation)
    return conv3d(in_planes, out_planes, (kernel_t, 3, 3), stride=stride, padding=pad, dilation=(1, dilation, dilation), groups=out_planes)


class IrCSN(ResNet3d):
    """ir-CSN ResNet-50/101/152.

    ``forward``: ``(N * S * K, 3, T, H, W)`` normalised clips -> logits ``(N, num_classes)``;
    ``forward_features`` gives ``(N, 2048)`` (``S``/``K``: ``num_segments``/``num_crop`` consecutive
    clips per video, averaged).  GluonCV's ir-CSN-152 takes 32 frames at 224x224.
    """

    def __init__(
        self,
        num_classes: int = 400,
        depth: int = 152,
        *,
        dropout_ratio: float = 0.0,
        num_segments: int = 1,
        num_crop: int = 1,
        init_std: float = 0.01,
        partial_bn: bool = False,
        bn_eps: float = 1e-3,
    ) -> None:
        if depth not in (50, 101, 152):
            raise ValueError(f"ir-CSN depth must be 50, 101 or 152, got {depth}")
        norm = batch_norm3d(eps=bn_eps)
        stem = Stem3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), pool_kernel=(1, 3, 3), pool_stride=(1, 2, 2), pool_padding=(0, 1, 1), norm_layer=norm)
        stages, in_planes = [], 64
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), RESNET_DEPTHS[depth])):
            stride = 1 if i == 0 else 2
            stages.append(
                make_stage(Bottleneck3d, in_planes, planes, num_blocks, stride=stride, conv_builder=depthwise_conv, conv2_kernel_t=3, norm_layer=norm)
            )
            in_planes = planes * Bottleneck3d.expansion
        head = ClassifierHead3d(
            in_planes, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments, num_crop=num_crop, init_std=init_std
        )
        super().__init__(stem, stages, head, partial_bn=partial_bn)
        self.depth = depth
        init_weights(self)


def ircsn_resnet(num_classes: int = 400, depth: int = 152, **kwargs) -> IrCSN:
    """Builder of :class:`IrCSN` (kwargs: ``dropout_ratio``, ``num_segments``, ``num_crop``,
    ``init_std``, ``partial_bn``, ``bn_eps``)."""
    return IrCSN(num_classes=num_classes, depth=depth, **kwargs)


_IRCSN_V2_RULES: tuple[Rule, ...] = (
    (r"conv1\.weight", "stem.conv.weight"),
    (r"bn1\.(\w+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+)\.conv3\.weight", r"\1.conv2.weight"),
    (r"(layer\d\.\d+)\.bn3\.(\w+)", r"\1.bn2.\2"),
    (r"(layer\d\.\d+)\.conv4\.weight", r"\1.conv3.weight"),
    (r"(layer\d\.\d+)\.bn4\.(\w+)", r"\1.bn3.\2"),
    (r"(layer\d\.\d+)\.down_sample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.down_sample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"out_fc\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("gluoncv_ircsn_v2")
def convert_gluoncv_ircsn_v2(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ResNet_IRCSNv2`` (VMZ port, BatchNorm variant) state dict -> ours."""
    return convert(source, model, (*_IRCSN_V2_RULES, KEEP), what="GluonCV IRCSNv2")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

register_model("ircsn_v2_resnet152_f32s2_kinetics400", builder=ircsn_resnet, family="csn", dataset="kinetics400",
               num_classes=400, input=InputSpec(clip_len=32, frame_step=2), converters={"pth": "gluoncv_ircsn_v2"},
               source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/ircsnv2.py)",
               kwargs=dict(depth=152),
               weights=(published("ircsn_v2_resnet152_f32s2_kinetics400-82855d2c.pth", "gluoncv_ircsn_v2", 83.18,
                                  sha1="82855d2c85a888e96477130253b90a4892bdc649", default=True, pretraining="IG65M",
                                  recipe=GLUONCV_CONFIGS + "ircsn_v2_resnet152_f32s2_kinetics400.yaml",
                                  description="IG65M pretraining (VMZ), fine-tuned on Kinetics-400; 32 frames step 2"),),
               description="ir-CSN ResNet-152 (depthwise 3x3x3 bottlenecks, BatchNorm eps 1e-3), no dropout")
