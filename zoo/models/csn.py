"""Channel-separated networks: ir-CSN (Tran et al., "Video Classification with Channel-Separated
Convolutional Networks", ICCV 2019), as ported from VMZ into GluonCV's PyTorch zoo (``ResNet_IRCSNv2``).

An ir-CSN bottleneck is a ResNet bottleneck whose ``3x3x3`` conv is depthwise (one group per
channel), i.e. "interaction-reduced": channel interactions happen only in the ``1x1x1`` convs.
Stem: ``3x7x7`` conv (stride ``1x2x2``) and a ``1x3x3`` max-pool; stages 2-4 halve T, H and W;
global average pooling and a linear classifier.  BatchNorm eps is ``1e-3`` (VMZ/Caffe2).
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, RESNET3D_RULES, mm_norm, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, published
from ._resnet3d import RESNET_DEPTHS, Bottleneck3d, ClassifierHead3d, ResNet3d, Stem3d, Triple, batch_norm3d, conv3d, init_weights, make_stage
from ..convert.keys import KEEP, Rule, convert

__all__ = ["depthwise_conv", "PointwiseDepthwise", "IrCSN", "ircsn_resnet", "ipcsn_resnet"]


def depthwise_conv(in_planes: int, out_planes: int, *, stride: Triple = (1, 1, 1), kernel_t: int = 3, dilation: int = 1) -> nn.Conv3d:
    """A :class:`~zoo.models._resnet3d.ConvBuilder`: depthwise ``kernel_t x 3 x 3`` conv (``groups = channels``).

    ``(N, C, T, H, W) -> (N, C, T/st, H/ss, W/ss)``.
    """
    if in_planes != out_planes:
        raise ValueError(f"a depthwise conv keeps the width, got {in_planes} -> {out_planes}")
    pad = ((kernel_t - 1) // 2, dilation, dilation)
    return conv3d(in_planes, out_planes, (kernel_t, 3, 3), stride=stride, padding=pad, dilation=(1, dilation, dilation), groups=out_planes)


class PointwiseDepthwise(nn.Module):
    """ip-CSN's bottleneck conv: ``1x1x1`` conv and BatchNorm (no activation), then a depthwise ``kernel_t x 3 x 3`` conv.

    ``(N, C, T, H, W) -> (N, C, T/st, H/ss, W/ss)``; the block's own BatchNorm and ReLU follow.
    """

    def __init__(self, planes: int, *, stride: Triple, kernel_t: int, dilation: int, norm_layer) -> None:
        super().__init__()
        self.pointwise = conv3d(planes, planes, 1)
        self.bn = norm_layer(planes)
        self.depthwise = depthwise_conv(planes, planes, stride=stride, kernel_t=kernel_t, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.depthwise(self.bn(self.pointwise(x)))


class IrCSN(ResNet3d):
    """ir-CSN ResNet-50/101/152 (``bottleneck="ip"``: ip-CSN, a ``1x1x1`` conv before each depthwise one).

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
        bottleneck: str = "ir",
    ) -> None:
        if depth not in (50, 101, 152):
            raise ValueError(f"ir-CSN depth must be 50, 101 or 152, got {depth}")
        if bottleneck not in ("ir", "ip"):
            raise ValueError(f"bottleneck must be 'ir' (depthwise only) or 'ip' (pointwise then depthwise), got {bottleneck!r}")
        norm = batch_norm3d(eps=bn_eps)
        def pointwise_depthwise(in_planes: int, out_planes: int, **kw) -> PointwiseDepthwise:
            return PointwiseDepthwise(out_planes, norm_layer=norm, **kw)

        conv_builder = pointwise_depthwise if bottleneck == "ip" else depthwise_conv
        stem = Stem3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), pool_kernel=(1, 3, 3), pool_stride=(1, 2, 2), pool_padding=(0, 1, 1), norm_layer=norm)
        stages, in_planes = [], 64
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), RESNET_DEPTHS[depth])):
            stride = 1 if i == 0 else 2
            stages.append(
                make_stage(Bottleneck3d, in_planes, planes, num_blocks, stride=stride, conv_builder=conv_builder, conv2_kernel_t=3, norm_layer=norm)
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


def ipcsn_resnet(num_classes: int = 400, depth: int = 152, **kwargs) -> IrCSN:
    """ip-CSN: :class:`IrCSN` with ``bottleneck="ip"`` (same kwargs)."""
    return IrCSN(num_classes=num_classes, depth=depth, bottleneck="ip", **kwargs)


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


# mmaction2's CSN keeps ``conv2`` as a Sequential of ConvModules: ir ``(depthwise)``, ip ``(1x1x1, depthwise)``.
_MM_IRCSN_RULES = (
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.0\.conv\.weight", r"\1.conv2.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.0\.bn\.(\w+)", r"\1.bn2.\2"),
    *RESNET3D_RULES,
)
_MM_IPCSN_RULES = (
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.0\.conv\.weight", r"\1.conv2.pointwise.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.0\.bn\.(\w+)", r"\1.conv2.bn.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.1\.conv\.weight", r"\1.conv2.depthwise.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv2\.1\.bn\.(\w+)", r"\1.bn2.\2"),
    *RESNET3D_RULES,
)


@register_converter("mmaction2_csn")
def convert_mmaction2_csn(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``ResNet3dCSN`` checkpoints (ir or ip, told by the model) -> our :class:`IrCSN`."""
    ip = any(k.endswith("conv2.pointwise.weight") for k in model.state_dict())
    return convert(source, model, _MM_IPCSN_RULES if ip else _MM_IRCSN_RULES, what=f"mmaction2 {'ip' if ip else 'ir'}-CSN")


# --------------------------------------------------------------------------------------------
# mmaction2's ir-/ip-CSN: the same networks, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_register_mm = partial(register_mmaction2, family="csn", converter="mmaction2_csn")

_register_mm("ircsn_resnet152_ig65m_f32s2_kinetics400", dataset="kinetics400", builder=ircsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/csn/ircsn_ig65m-pretrained-r152_8xb12-32x2x1-58e_kinetics400-rgb/ircsn_ig65m-pretrained-r152_8xb12-32x2x1-58e_kinetics400-rgb_20220811-c7a3cc5b.pth",
             top1=82.87, top5=95.9, pretraining="IG-65M", config="csn/ircsn_ig65m-pretrained-r152_8xb12-32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ir-CSN ResNet-152 (depthwise 3x3x3 bottlenecks), IG-65M pretraining, mmaction2's weights.")

_register_mm("ircsn_resnet152_ig65m_bnfrozen_f32s2_kinetics400", dataset="kinetics400", builder=ircsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/csn/ircsn_ig65m-pretrained-r152-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb/ircsn_ig65m-pretrained-r152-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb_20220811-7d1dacde.pth",
             top1=82.84, top5=95.92, pretraining="IG-65M", config="csn/ircsn_ig65m-pretrained-r152-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ir-CSN ResNet-152 (depthwise 3x3x3 bottlenecks), IG-65M pretraining, BatchNorm frozen in fine-tuning, mmaction2's weights.")

_register_mm("ircsn_resnet50_ig65m_bnfrozen_f32s2_kinetics400", dataset="kinetics400", builder=ircsn_resnet, kwargs={'depth': 50},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/csn/ircsn_ig65m-pretrained-r50-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb/ircsn_ig65m-pretrained-r50-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb_20220811-44395bae.pth",
             top1=79.44, top5=94.26, pretraining="IG-65M", config="csn/ircsn_ig65m-pretrained-r50-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ir-CSN ResNet-50 (depthwise 3x3x3 bottlenecks), IG-65M pretraining, BatchNorm frozen in fine-tuning, mmaction2's weights.")

_register_mm("ipcsn_resnet152_f32s2_kinetics400", dataset="kinetics400", builder=ipcsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **mm_norm((110.2008, 100.63983, 95.99475), (58.14765, 56.46975, 55.332195))),
             url="https://download.openmmlab.com/mmaction/recognition/csn/vmz/vmz_ipcsn_from_scratch_r152_32x2x1_180e_kinetics400_rgb_20210617-d565828d.pth",
             top1=77.8, top5=93.1, pretraining="Scratch", config="csn/ipcsn_r152_32x2x1-180e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ip-CSN ResNet-152 (pointwise + depthwise 3x3x3 bottlenecks), from scratch, mmaction2's weights.")

_register_mm("ircsn_resnet152_f32s2_kinetics400", dataset="kinetics400", builder=ircsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **mm_norm((110.2008, 100.63983, 95.99475), (58.14765, 56.46975, 55.332195))),
             url="https://download.openmmlab.com/mmaction/recognition/csn/vmz/vmz_ircsn_from_scratch_r152_32x2x1_180e_kinetics400_rgb_20210617-5c933ae1.pth",
             top1=76.53, top5=92.28, pretraining="Scratch", config="csn/ircsn_r152_32x2x1-180e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ir-CSN ResNet-152 (depthwise 3x3x3 bottlenecks), from scratch, mmaction2's weights.")

_register_mm("ipcsn_resnet152_ig65m_bnfrozen_f32s2_kinetics400", dataset="kinetics400", builder=ipcsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/recognition/csn/vmz/vmz_ipcsn_ig65m_pretrained_r152_32x2x1_58e_kinetics400_rgb_20210617-c3be9793.pth",
             top1=82.68, top5=95.69, pretraining="IG-65M", config="csn/ipcsn_ig65m-pretrained-r152-bnfrozen_32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ip-CSN ResNet-152 (pointwise + depthwise 3x3x3 bottlenecks), IG-65M pretraining, BatchNorm frozen in fine-tuning, mmaction2's weights.")

_register_mm("ipcsn_resnet152_sports1m_bnfrozen_f32s2_kinetics400", dataset="kinetics400", builder=ipcsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **mm_norm((110.2008, 100.63983, 95.99475), (58.14765, 56.46975, 55.332195))),
             url="https://download.openmmlab.com/mmaction/recognition/csn/vmz/vmz_ipcsn_sports1m_pretrained_r152_32x2x1_58e_kinetics400_rgb_20210617-3367437a.pth",
             top1=79.07, top5=93.82, pretraining="Sports-1M", config="csn/ipcsn_sports1m-pretrained-r152-bnfrozen_32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ip-CSN ResNet-152 (pointwise + depthwise 3x3x3 bottlenecks), Sports-1M pretraining, BatchNorm frozen in fine-tuning, mmaction2's weights.")

_register_mm("ircsn_resnet152_sports1m_bnfrozen_f32s2_kinetics400", dataset="kinetics400", builder=ircsn_resnet, kwargs={'depth': 152},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **mm_norm((110.2008, 100.63983, 95.99475), (58.14765, 56.46975, 55.332195))),
             url="https://download.openmmlab.com/mmaction/recognition/csn/vmz/vmz_ircsn_sports1m_pretrained_r152_32x2x1_58e_kinetics400_rgb_20210617-b9b10241.pth",
             top1=78.57, top5=93.44, pretraining="Sports-1M", config="csn/ircsn_sports1m-pretrained-r152-bnfrozen_32x2x1-58e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="ir-CSN ResNet-152 (depthwise 3x3x3 bottlenecks), Sports-1M pretraining, BatchNorm frozen in fine-tuning, mmaction2's weights.")
