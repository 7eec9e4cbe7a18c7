"""R(2+1)D: 3D ResNets whose 3x3x3 convolutions are factored into a spatial and a temporal one.

Tran et al., "A Closer Look at Spatiotemporal Convolutions for Action Recognition", CVPR 2018.
The layout follows GluonCV's ``R2Plus1D`` (MXNet ``r2plus1d_resnet*_kinetics400``; its PyTorch zoo's
``r2plus1d_v1_resnet*_kinetics400`` are the same network): a factored stem (``1x7x7`` conv to 45
channels, then ``3x1x1`` to 64, no pooling), four residual stages of which stages 2-4 halve T, H
and W, global average pooling, GluonCV's segmental consensus, dropout and a linear classifier.

Built from the shared blocks of :mod:`zoo.models._resnet3d`; the factored conv is a conv builder.
"""
from __future__ import annotations

from functools import partial

from typing import Callable, Mapping

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._published import GLUONCV_CONFIGS, GLUONCV_LOGS, published
from ..convert.keys import KEEP, Rule, convert
from ._resnet3d import (
    RESNET_DEPTHS,
    BasicBlock3d,
    Bottleneck3d,
    ClassifierHead3d,
    ResNet3d,
    Stem3d,
    Triple,
    batch_norm3d,
    init_weights,
    make_stage,
)

__all__ = ["mid_channels", "Conv2Plus1d", "conv2plus1d_builder", "R2Plus1D", "r2plus1d_resnet"]

def mid_channels(in_channels: int, out_channels: int, kernel_s: int = 3) -> int:
    """Width of the (2+1)D intermediate layer that keeps a ``3 x k x k`` conv's parameter count.

    ``floor(in * out * 3k² / (in * k² + 3 * out))`` (the paper's ``M_i``; ``k = 3``: ``27`` and ``9``, as
    GluonCV and torchvision; mmaction2 applies it to its ``k = 7`` stem and ``k = 1`` shortcuts too).
    """
    area = kernel_s * kernel_s
    return (in_channels * out_channels * 3 * area) // (in_channels * area + 3 * out_channels)


class Conv2Plus1d(nn.Module):
    """``conv(1 x k x k) -> BN -> ReLU -> conv(kt x 1 x 1)``: a factored spatio-temporal conv.

    ``(N, in_channels, T, H, W) -> (N, out_channels, T/st, H/ss, W/ss)`` for ``stride=(st, ss, ss)``;
    the spatial conv has the spatial stride, the temporal conv the temporal one.  Parameters:
    ``conv_s.weight``, ``bn_s.*``, ``conv_t.weight``.  The BatchNorm after ``conv_t`` belongs to the
    enclosing block (or stem).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid: int,
        *,
        stride: Triple = (1, 1, 1),
        kernel_t: int = 3,
        kernel_s: int = 3,
        norm_layer: Callable[[int], nn.Module] = batch_norm3d(),
    ) -> None:
        super().__init__()
        st, sh, sw = stride
        self.conv_s = nn.Conv3d(in_channels, mid, (1, kernel_s, kernel_s), (1, sh, sw), (0, kernel_s // 2, kernel_s // 2), bias=False)
        self.bn_s = norm_layer(mid)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(mid, out_channels, (kernel_t, 1, 1), (st, 1, 1), ((kernel_t - 1) // 2, 0, 0), bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))


def conv2plus1d_builder(mid: int, norm_layer: Callable[[int], nn.Module] = batch_norm3d()) -> Callable[..., Conv2Plus1d]:
    """A :class:`~zoo.models._resnet3d.ConvBuilder` of :class:`Conv2Plus1d` with ``mid`` channels.

    GluonCV sizes ``mid`` from the *block's* input and output widths and uses it for every (2+1)D
    conv of that block, so each block gets its own builder.
    """

    def build(in_planes: int, out_planes: int, *, stride: Triple, kernel_t: int = 3, dilation: int = 1) -> Conv2Plus1d:
        if dilation != 1:
            raise ValueError("Conv2Plus1d does not support dilation")
        return Conv2Plus1d(in_planes, out_planes, mid, stride=stride, kernel_t=kernel_t, norm_layer=norm_layer)

    return build


def _stage(
    block: type[nn.Module], in_planes: int, planes: int, num_blocks: int, stride: int, *, mid_from_input: bool, norm_layer: Callable[[int], nn.Module]
) -> nn.Sequential:
    """One R(2+1)D stage.

    GluonCV v1 sizes a block's (2+1)D convs by ``mid_channels(block input, planes)``; the VMZ port
    (v2) by ``mid_channels(planes, planes)`` everywhere.
    """
    out_planes = planes * block.expansion
    per_block = []
    for i in range(num_blocks):
        width_in = (in_planes if i == 0 else out_planes) if mid_from_input else planes
        per_block.append({"conv_builder": conv2plus1d_builder(mid_channels(width_in, planes), norm_layer)})
        if block is Bottleneck3d:
            per_block[-1]["conv2_kernel_t"] = 3
    return make_stage(block, in_planes, planes, num_blocks, stride=stride, block_kwargs=per_block, norm_layer=norm_layer)


class R2Plus1D(ResNet3d):
    """R(2+1)D ResNet-18/34/50/101/152 as in GluonCV.

    ``forward``: ``(N * S * K, 3, T, H, W)`` normalised clips (``S = num_segments``, ``K = num_crop``
    consecutive batch items per video) -> logits ``(N, num_classes)``; ``forward_features`` gives
    ``(N, F)`` (``F = 512`` for depths 18/34, 2048 otherwise).  Stages 2-4 halve ``T``, so
    ``T >= 8`` keeps every stage non-empty (GluonCV uses 16 frames at 112x112).

    Args:
        depth: 18, 34 (basic blocks), 50, 101, 152 (bottlenecks).
        partial_bn: in ``train()``, every BatchNorm but the first is frozen (TSN's partial BN).
        mid_from_input: size each block's (2+1)D convs from the block's input width (GluonCV's
            ``R2Plus1D``); ``False`` sizes them from the block's own width (the VMZ layout of
            GluonCV's ``r2plus1d_v2``).
        bn_eps: BatchNorm epsilon (``1e-5`` in GluonCV's ``R2Plus1D``, ``1e-3`` in the VMZ port).
    """

    def __init__(
        self,
        num_classes: int = 400,
        depth: int = 50,
        *,
        dropout_ratio: float = 0.5,
        num_segments: int = 1,
        num_crop: int = 1,
        init_std: float = 0.001,
        partial_bn: bool = False,
        mid_from_input: bool = True,
        bn_eps: float = 1e-5,
    ) -> None:
        if depth not in RESNET_DEPTHS:
            raise ValueError(f"R(2+1)D depth must be one of {sorted(RESNET_DEPTHS)}, got {depth}")
        block = BasicBlock3d if depth < 50 else Bottleneck3d
        layers = RESNET_DEPTHS[depth]
        norm = batch_norm3d(eps=bn_eps)
        stem = Stem3d(3, 64, conv=Conv2Plus1d(3, 64, 45, stride=(1, 2, 2), kernel_s=7, norm_layer=norm), pool_kernel=None, norm_layer=norm)
        stages, in_planes = [], 64
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), layers)):
            stage = _stage(block, in_planes, planes, num_blocks, 1 if i == 0 else 2, mid_from_input=mid_from_input, norm_layer=norm)
            stages.append(stage)
            in_planes = planes * block.expansion
        head = ClassifierHead3d(
            in_planes, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments, num_crop=num_crop, init_std=init_std
        )
        super().__init__(stem, stages, head, partial_bn=partial_bn)
        self.depth = depth
        init_weights(self)


def r2plus1d_resnet(num_classes: int = 400, depth: int = 50, **kwargs) -> R2Plus1D:
    """Builder of :class:`R2Plus1D` (kwargs: ``dropout_ratio``, ``num_segments``, ``num_crop``,
    ``init_std``, ``partial_bn``, ``mid_from_input``, ``bn_eps``)."""
    return R2Plus1D(num_classes=num_classes, depth=depth, **kwargs)


# --------------------------------------------------------------------------- weight conversion


_R2PLUS1D_RULES: tuple[Rule, ...] = (
    (r"conv1\.weight", "stem.conv.conv_s.weight"),
    (r"bn1\.(\w+)", r"stem.conv.bn_s.\1"),
    (r"conv2\.weight", "stem.conv.conv_t.weight"),
    (r"bn2\.(\w+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+\.conv\d)\.conv1\.weight", r"\1.conv_s.weight"),
    (r"(layer\d\.\d+\.conv\d)\.bn1\.(\w+)", r"\1.bn_s.\2"),
    (r"(layer\d\.\d+\.conv\d)\.conv2\.weight", r"\1.conv_t.weight"),
    (r"(layer\d\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("gluoncv_r2plus1d")
def convert_gluoncv_r2plus1d(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV ``R2Plus1D`` weights (MXNet ``.params``, or the PyTorch zoo's ``r2plus1d_v1`` ``.pth``) -> ours."""
    return convert(source, model, (*_R2PLUS1D_RULES, KEEP), mxnet_bn=True, what="GluonCV R2Plus1D")


_R2PLUS1D_V2_RULES: tuple[Rule, ...] = (
    (r"conv1_middle\.weight", "stem.conv.conv_s.weight"),
    (r"bn1_middle\.(\w+)", r"stem.conv.bn_s.\1"),
    (r"conv1\.weight", "stem.conv.conv_t.weight"),
    (r"bn1\.(\w+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+)\.conv2_middle\.weight", r"\1.conv2.conv_s.weight"),
    (r"(layer\d\.\d+)\.bn2_middle\.(\w+)", r"\1.conv2.bn_s.\2"),
    (r"(layer\d\.\d+)\.conv2\.weight", r"\1.conv2.conv_t.weight"),
    (r"(layer\d\.\d+)\.down_sample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.down_sample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"out_fc\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("gluoncv_r2plus1d_v2")
def convert_gluoncv_r2plus1d_v2(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ResNet_R2plus1Dv2`` (VMZ port, BatchNorm variant) state dict -> ours."""
    return convert(source, model, (*_R2PLUS1D_V2_RULES, KEEP), what="GluonCV R2plus1Dv2")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_MXNET_SOURCE = "GluonCV model zoo (gluoncv/model_zoo/action_recognition/r2plus1d.py)"
_K400_DESC = "Kinetics400 from scratch, 16 frames (32/2), 112x112"
_register = partial(register_model, builder=r2plus1d_resnet, family="r2plus1d", dataset="kinetics400", num_classes=400,
                    input=InputSpec(frame_step=2, crop_size=112, short_side=128),
                    converters={"params": "gluoncv_r2plus1d", "pth": "gluoncv_r2plus1d"},
                    source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/r2plus1dv1.py)")
_register("r2plus1d_resnet101_kinetics400", source=_MXNET_SOURCE, kwargs=dict(depth=101),
          description="R(2+1)D ResNet-101 (GluonCV MXNet zoo)")
_register("r2plus1d_resnet152_kinetics400", source=_MXNET_SOURCE, kwargs=dict(depth=152),
          description="R(2+1)D ResNet-152 (GluonCV MXNet zoo)")
_register("r2plus1d_resnet18_kinetics400", source=_MXNET_SOURCE, kwargs=dict(depth=18),
          weights=(published("r2plus1d_resnet18_kinetics400-5a14d1f9.params", "gluoncv_r2plus1d", 70.8,
                             sha1="5a14d1f9772e523bbeae8484ec382feb30b74ffa", default=True, pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/r2plus1d_resnet18_kinetics400.sh", description=_K400_DESC),),
          description="R(2+1)D ResNet-18 (GluonCV MXNet zoo)")
_register("r2plus1d_resnet34_kinetics400", source=_MXNET_SOURCE, kwargs=dict(depth=34),
          weights=(published("r2plus1d_resnet34_kinetics400-de2e592b.params", "gluoncv_r2plus1d", 71.6,
                             sha1="de2e592b450b9007705507d5167859d45e782695", default=True, pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/r2plus1d_resnet34_kinetics400.sh", description=_K400_DESC),),
          description="R(2+1)D ResNet-34 (GluonCV MXNet zoo)")
_register("r2plus1d_resnet50_kinetics400", source=_MXNET_SOURCE, kwargs=dict(depth=50),
          weights=(published("r2plus1d_resnet50_kinetics400-deaefb14.params", "gluoncv_r2plus1d", 73.9,
                             sha1="deaefb14d31c703115a911828534d24ac68c7fb0", default=True, pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/r2plus1d_resnet50_kinetics400.sh", description=_K400_DESC),),
          description="R(2+1)D ResNet-50 (GluonCV MXNet zoo)")
_register("r2plus1d_v1_resnet101_kinetics400", kwargs=dict(depth=101),
          description="R(2+1)D ResNet-101 (GluonCV PyTorch zoo, same network as r2plus1d_resnet101_kinetics400)")
_register("r2plus1d_v1_resnet152_kinetics400", kwargs=dict(depth=152),
          description="R(2+1)D ResNet-152 (GluonCV PyTorch zoo, same network as r2plus1d_resnet152_kinetics400)")
_register("r2plus1d_v1_resnet18_kinetics400", kwargs=dict(depth=18),
          weights=(published("r2plus1d_v1_resnet18_kinetics400-340a5952.pth", "gluoncv_r2plus1d", 71.72,
                             sha1="340a59522b4ffe7e3621ad4a269e4cd4a99f74b2", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "r2plus1d_v1_resnet18_kinetics400.yaml", description=_K400_DESC),),
          description="R(2+1)D ResNet-18 (GluonCV PyTorch zoo, same network as r2plus1d_resnet18_kinetics400)")
_register("r2plus1d_v1_resnet34_kinetics400", kwargs=dict(depth=34),
          weights=(published("r2plus1d_v1_resnet34_kinetics400-5102fd17.pth", "gluoncv_r2plus1d", 72.63,
                             sha1="5102fd1736a2a205f5fd7bded5d2e0d2e5ca6307", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "r2plus1d_v1_resnet34_kinetics400.yaml", description=_K400_DESC),),
          description="R(2+1)D ResNet-34 (GluonCV PyTorch zoo, same network as r2plus1d_resnet34_kinetics400)")
_register("r2plus1d_v1_resnet50_custom", dataset="custom", kwargs=dict(depth=50),
          weights=(published("r2plus1d_v1_resnet50_kinetics400-9a3b665c.pth", "gluoncv_r2plus1d", 74.92,
                             sha1="9a3b665c182f81f22d4a105c75fac030ad20a628", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "r2plus1d_v1_resnet50_kinetics400.yaml",
                             description=("the r2plus1d_v1_resnet50_kinetics400 weights (Kinetics-400) to fine-tune"
                                          " from")),),
          description=("R(2+1)D ResNet-50 for fine-tuning on your own dataset (GluonCV r2plus1d_v1_resnet50_custom): "
                       "get_model(name, pretrained=True, num_classes=N) loads r2plus1d_v1_resnet50_kinetics400's "
                       "weights except the classifier, which starts fresh."))
_register("r2plus1d_v1_resnet50_kinetics400", kwargs=dict(depth=50),
          weights=(published("r2plus1d_v1_resnet50_kinetics400-9a3b665c.pth", "gluoncv_r2plus1d", 74.92,
                             sha1="9a3b665c182f81f22d4a105c75fac030ad20a628", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "r2plus1d_v1_resnet50_kinetics400.yaml", description=_K400_DESC),),
          description="R(2+1)D ResNet-50 (GluonCV PyTorch zoo, same network as r2plus1d_resnet50_kinetics400)")
_register("r2plus1d_v2_resnet152_kinetics400",
          input=InputSpec(clip_len=32, frame_step=2, crop_size=112, short_side=128),
          converters={"pth": "gluoncv_r2plus1d_v2"},
          source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/r2plus1dv2.py)",
          kwargs=dict(depth=152, mid_from_input=False, bn_eps=0.001, dropout_ratio=0.0),
          weights=(published("r2plus1d_v2_resnet152_kinetics400-42707ffc.pth", "gluoncv_r2plus1d_v2", 81.34,
                             sha1="42707ffcab518cdda93523004360de167863c5d8", default=True, pretraining="IG65M",
                             recipe=GLUONCV_CONFIGS + "r2plus1d_v2_resnet152_kinetics400.yaml",
                             description=("IG65M pretraining (VMZ), fine-tuned on Kinetics-400; 32 frames step 2 "
                                          "per GluonCV's config")),),
          description=("R(2+1)D ResNet-152, the VMZ layout (BatchNorm eps 1e-3, (2+1)D widths from each block's own "
                       "width), no dropout"))
