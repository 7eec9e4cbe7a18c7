"""P3D: Pseudo-3D residual networks (Qiu et al., "Learning Spatio-Temporal Representation with
Pseudo-3D Residual Networks", ICCV 2017), as in GluonCV's MXNet ``P3D``.

Stages 1-3 are bottlenecks whose ``3x3x3`` conv is replaced by a ``1x3x3`` spatial conv S and a
``3x1x1`` temporal conv T, combined by the block's design, cycling ``A, B, C`` over the network's
block index: A = ``T(S(x))``, B = ``S(x) + T(x)``, C = ``S(x) + T(S(x))`` (each of S and T followed
by BN and ReLU).  A max-pool halves T after each of stages 1-3, so a 16-frame clip reaches stage 4
as a single frame; stage 4 is a 2D ResNet stage (``1x3x3`` kernels).  The stride of a strided
block sits on its ``1x1`` reduce conv (Caffe style), as in GluonCV.
"""
from __future__ import annotations

from functools import partial

from typing import Mapping

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._published import GLUONCV_LOGS, published
from ._resnet3d import Bottleneck3d, ClassifierHead3d, ResNet3d, Stem3d, Triple, batch_norm3d, conv3d, init_weights, make_stage
from ..convert.keys import KEEP, Rule, convert

__all__ = ["P3DConv", "ReduceStrideBottleneck3d", "P3D", "p3d_resnet", "P3D_DEPTHS"]

#: Blocks per stage of the GluonCV P3D depths.
P3D_DEPTHS: dict[int, tuple[int, int, int, int]] = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}

DESIGNS = ("A", "B", "C")


class P3DConv(nn.Module):
    """The pseudo-3D middle of a P3D bottleneck: spatial ``1x3x3`` S and temporal ``3x1x1`` T.

    ``(N, C, T, H, W) -> (N, C, T, H, W)``.  ``design`` ``"A"``: ``T(S(x))``; ``"B"``: ``S(x) + T(x)``;
    ``"C"``: ``S(x) + T(S(x))``, where ``S = relu(bn_s(conv_s(.)))`` and ``T = relu(bn_t(conv_t(.)))``.
    It carries its own BatchNorms (``norm_included`` tells the block to add none).  The block's ReLU
    right after this module supplies design A's last ReLU (for B and C it is a no-op on a sum of
    ReLU outputs), so that no ReLU output is modified in place.
    """

    norm_included = True

    def __init__(self, channels: int, design: str) -> None:
        super().__init__()
        if design not in DESIGNS:
            raise ValueError(f"P3D block design must be one of {DESIGNS}, got {design!r}")
        self.design = design
        norm = batch_norm3d()
        self.conv_s = conv3d(channels, channels, (1, 3, 3))
        self.bn_s = norm(channels)
        self.conv_t = conv3d(channels, channels, (3, 1, 1))
        self.bn_t = norm(channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.relu(self.bn_s(self.conv_s(x)))
        if self.design == "A":
            return self.bn_t(self.conv_t(s))  # the block's ReLU follows
        if self.design == "B":
            return s + self.relu(self.bn_t(self.conv_t(x)))
        return s + self.relu(self.bn_t(self.conv_t(s)))


def p3d_conv_builder(design: str):
    """A :class:`~zoo.models._resnet3d.ConvBuilder` of :class:`P3DConv` with a fixed design."""

    def build(in_planes: int, out_planes: int, *, stride: Triple, kernel_t: int = 3, dilation: int = 1) -> P3DConv:
        if in_planes != out_planes or tuple(stride) != (1, 1, 1) or dilation != 1:
            raise ValueError("P3DConv keeps the width and resolution (the stride sits on the reduce conv)")
        return P3DConv(out_planes, design)

    return build


class ReduceStrideBottleneck3d(Bottleneck3d):
    """:class:`~zoo.models._resnet3d.Bottleneck3d` with the stride on the ``1x1`` reduce conv (Caffe style).

    ``(N, in_planes, T, H, W) -> (N, planes * 4, T/st, H/ss, W/ss)`` for ``stride = (st, ss, ss)``.
    """

    def __init__(self, in_planes: int, planes: int, *, stride: Triple = (1, 1, 1), conv1_kernel_t: int = 1, **kwargs) -> None:
        super().__init__(in_planes, planes, stride=(1, 1, 1), conv1_kernel_t=conv1_kernel_t, **kwargs)
        self.conv1 = conv3d(in_planes, self.conv1.out_channels, (conv1_kernel_t, 1, 1), stride=stride)


class P3D(ResNet3d):
    """P3D ResNet-50/101/152 as in GluonCV (MXNet).

    ``forward``: ``(N * S * K, 3, T, H, W)`` normalised clips, ``16 <= T < 32`` (``S = num_segments``,
    ``K = num_crop`` consecutive batch items per video) -> logits ``(N, num_classes)``;
    ``forward_features`` gives ``(N, 2048)``.

    Args:
        depth: 50, 101 or 152.
        block_design: the designs cycled over the network's 3D blocks.
        partial_bn: in ``train()``, every BatchNorm but the first is frozen (TSN's partial BN).
    """

    def __init__(
        self,
        num_classes: int = 400,
        depth: int = 50,
        *,
        block_design: tuple[str, ...] = DESIGNS,
        dropout_ratio: float = 0.5,
        num_segments: int = 1,
        num_crop: int = 1,
        init_std: float = 0.001,
        partial_bn: bool = False,
    ) -> None:
        if depth not in P3D_DEPTHS:
            raise ValueError(f"P3D depth must be one of {sorted(P3D_DEPTHS)}, got {depth}")
        layers = P3D_DEPTHS[depth]
        stem = Stem3d(3, 64, (1, 7, 7), (1, 2, 2), (0, 3, 3), pool_kernel=(2, 3, 3), pool_stride=(2, 2, 2), pool_padding=(0, 1, 1))
        stages, in_planes, block_index = [], 64, 0
        for i, (planes, num_blocks) in enumerate(zip((64, 128, 256), layers[:3])):
            designs = [block_design[(block_index + j) % len(block_design)] for j in range(num_blocks)]
            per_block = [{"conv_builder": p3d_conv_builder(d)} for d in designs]
            stride = (1, 1, 1) if i == 0 else (1, 2, 2)
            stages.append(make_stage(ReduceStrideBottleneck3d, in_planes, planes, num_blocks, stride=stride, block_kwargs=per_block))
            in_planes, block_index = planes * 4, block_index + num_blocks
        stages.append(make_stage(ReduceStrideBottleneck3d, in_planes, 512, layers[3], stride=(1, 2, 2), conv2_kernel_t=1))
        temporal_pool = nn.MaxPool3d((2, 1, 1), (2, 1, 1))
        pools = {0: temporal_pool, 1: temporal_pool, 2: temporal_pool}
        head = ClassifierHead3d(
            2048, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments, num_crop=num_crop, init_std=init_std
        )
        super().__init__(stem, stages, head, stage_pools=pools, partial_bn=partial_bn)
        self.depth = depth
        init_weights(self)

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, T, H, W)``, ``16 <= T < 32`` -> every stage's output (stage 4's has ``T = 1``)."""
        if not 16 <= x.shape[2] < 32:
            raise ValueError(
                f"P3D takes clips of 16 to 31 frames (got {x.shape[2]}): its temporal pooling must leave "
                "exactly one frame for the 2D stage 4 (GluonCV uses 16)"
            )
        return super().forward_stages(x)


def p3d_resnet(num_classes: int = 400, depth: int = 50, **kwargs) -> P3D:
    """Builder of :class:`P3D` (kwargs: ``block_design``, ``dropout_ratio``, ``num_segments``,
    ``num_crop``, ``init_std``, ``partial_bn``)."""
    return P3D(num_classes=num_classes, depth=depth, **kwargs)


# --------------------------------------------------------------------------- weight conversion

_P3D_RULES: tuple[Rule, ...] = (
    (r"conv1\.weight", "stem.conv.weight"),
    (r"bn1\.(\w+)", r"stem.bn.\1"),
    (r"(layer[123]\.\d+)\.conv2\.weight", r"\1.conv2.conv_s.weight"),
    (r"(layer[123]\.\d+)\.bn2\.(\w+)", r"\1.conv2.bn_s.\2"),
    (r"(layer[123]\.\d+)\.conv_temporal\.weight", r"\1.conv2.conv_t.weight"),
    (r"(layer[123]\.\d+)\.bn_temporal\.(\w+)", r"\1.conv2.bn_t.\2"),
    (r"(layer\d\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("gluoncv_p3d")
def convert_gluoncv_p3d(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV MXNet ``P3D`` weights -> ours; stage 4's 2D kernels ``(O, I, k, k)`` gain a unit time axis."""
    return convert(source, model, (*_LAYER4_2D, *_P3D_RULES, KEEP), mxnet_bn=True, what="GluonCV P3D")


#: Stage 4 is 2D in GluonCV's P3D: its kernels gain a unit time axis.
_LAYER4_2D = (
    Rule(r"(layer4\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight", reshape=True),
    Rule(r"(layer4\..*conv\w*\.weight)", r"\1", reshape=True),
)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_K400_DESC = "Kinetics400 from scratch, 16 frames (32/2), 224x224"
_register = partial(register_model, builder=p3d_resnet, family="p3d", dataset="kinetics400", num_classes=400,
                    input=InputSpec(frame_step=2), converters={"params": "gluoncv_p3d"},
                    source="GluonCV model zoo (gluoncv/model_zoo/action_recognition/p3d.py)")
_register("p3d_resnet101_kinetics400", kwargs=dict(depth=101),
          weights=(published("p3d_resnet101_kinetics400-b30e3a63.params", "gluoncv_p3d", 72.6,
                             sha1="b30e3a6389c3a12867fe41bb3838f407d47aed2b", default=True, pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/p3d_resnet101_kinetics400.sh", description=_K400_DESC),),
          description="P3D ResNet-101 (GluonCV MXNet zoo); needs 16-31 frames per clip")
_register("p3d_resnet50_kinetics400", kwargs=dict(depth=50),
          weights=(published("p3d_resnet50_kinetics400-671ba81c.params", "gluoncv_p3d", 71.6,
                             sha1="671ba81c2b287ce3b9aa2393e15ff1562b705c4d", default=True, pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/p3d_resnet50_kinetics400.sh", description=_K400_DESC),),
          description="P3D ResNet-50 (GluonCV MXNet zoo); needs 16-31 frames per clip")
