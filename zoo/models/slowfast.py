"""SlowFast networks (Feichtenhofer et al., ICCV 2019), as in GluonCV.

Two ResNet pathways over the same clip: the *Slow* one sees few frames with full width (64
channels after the stem), the *Fast* one ``alpha`` times more frames with ``1/beta_inv`` of the
width.  After the stem and after each of the first three stages, a lateral ``k x 1 x 1`` conv with
temporal stride ``alpha`` maps Fast features to the Slow frame rate and they are concatenated to
the Slow features.  Both pathways are pooled globally and concatenated (``2048 + 256 = 2304``)
before the classifier.

Input layout: GluonCV's MXNet SlowFast takes the Fast frames followed by the Slow frames,
concatenated along ``T``: ``(N, 3, fast_frames + slow_frames, H, W)`` (``input_layout="fast_slow"``,
the default).  GluonCV's PyTorch SlowFast instead takes only the Fast clip and picks every
``alpha``-th frame for the Slow pathway (``input_layout="fast"``).
"""
from __future__ import annotations

import re
from functools import partial

from typing import Sequence

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, GLUONCV_LOGS, published
from ..convert.keys import Rule, convert
from ._resnet3d import (
    RESNET_DEPTHS,
    Bottleneck3d,
    ClassifierHead3d,
    ConvBNAct,
    HeadedClassifier,
    Stem3d,
    init_weights,
    make_stage,
)

__all__ = ["SlowFast", "slowfast_resnet", "convert_gluoncv_slowfast"]


def _temporal_kernels(num_blocks: int, head_kernel_t: int, limit: int | None) -> list[dict[str, int]]:
    """``conv1_kernel_t`` per block: ``head_kernel_t`` for the first ``limit`` blocks (all when ``None``), then 1."""
    return [{"conv1_kernel_t": head_kernel_t if limit is None or i < limit else 1} for i in range(num_blocks)]


class SlowFast(HeadedClassifier):
    """SlowFast ResNet: ``(N * num_segments * num_crop, 3, T, H, W)`` -> logits ``(N, num_classes)``.

    ``T = fast_frames + slow_frames`` (Fast frames first) for ``input_layout="fast_slow"``;
    ``T = fast_frames`` for ``input_layout="fast"`` (Slow = every ``alpha``-th frame).

    Args:
        layers: bottleneck blocks per stage, e.g. ``(3, 4, 6, 3)`` (ResNet-50).
        fast_layers: the Fast pathway's blocks per stage where they differ from the Slow one's
            (mmaction2's R101-R50: ``layers`` of ResNet-101, ``fast_layers`` of ResNet-50); ``None``: ``layers``.
        alpha: Fast/Slow frame-rate ratio (stride of the lateral convs).
        beta_inv: Slow/Fast channel ratio.
        fusion_conv_channel_ratio: lateral conv output channels / Fast channels.
        fusion_kernel_size: temporal kernel of the lateral convs.
        width_per_group: Slow stem width (64).
        slow_frames, fast_frames: frames of each pathway.
        num_block_temp_kernel_fast / _slow: in ``layer3`` only the first this-many blocks keep
            the ``3x1x1`` reduce conv (GluonCV's ``*_50_50`` variant: 6), ``None``: all.
        dropout_ratio, init_std, num_segments, num_crop: head settings (see
            :class:`~zoo.models._resnet3d.ClassifierHead3d`); ``forward_features`` gives ``(N, 2304)``.
        partial_bn: every BN but the first (the Fast stem's) is frozen while training (TSN's partial BN).
        bn_frozen: every BN uses running statistics and has a frozen scale/shift.
        frozen_stages: freeze the stems, the first lateral and stages ``1..K`` of both pathways
            (with their laterals); ``-1`` freezes nothing.
        lateral_norm: the lateral convs are followed by BatchNorm and ReLU (GluonCV, PySlowFast);
            ``False``: the conv alone (mmaction2's default).
    """

    def __init__(
        self,
        num_classes: int,
        layers: Sequence[int] = (3, 4, 6, 3),
        *,
        fast_layers: Sequence[int] | None = None,
        alpha: int = 8,
        beta_inv: int = 8,
        fusion_conv_channel_ratio: int = 2,
        fusion_kernel_size: int = 5,
        width_per_group: int = 64,
        slow_frames: int = 4,
        fast_frames: int = 32,
        num_block_temp_kernel_fast: int | None = None,
        num_block_temp_kernel_slow: int | None = None,
        input_layout: str = "fast_slow",
        dropout_ratio: float = 0.5,
        init_std: float = 0.01,
        num_segments: int = 1,
        num_crop: int = 1,
        partial_bn: bool = False,
        bn_frozen: bool = False,
        frozen_stages: int = -1,
        lateral_norm: bool = True,
    ) -> None:
        super().__init__()
        if input_layout not in ("fast_slow", "fast"):
            raise ValueError(f"input_layout must be 'fast_slow' or 'fast', got {input_layout!r}")
        self.alpha, self.slow_frames, self.fast_frames = alpha, slow_frames, fast_frames
        self.input_layout = input_layout
        self.partial_bn = partial_bn
        fast_width = width_per_group // beta_inv
        self.fast_stem = Stem3d(3, fast_width, (5, 7, 7), (1, 2, 2), pool_kernel=(1, 3, 3), pool_stride=(1, 2, 2))
        self.slow_stem = Stem3d(3, width_per_group, (1, 7, 7), (1, 2, 2), pool_kernel=(1, 3, 3), pool_stride=(1, 2, 2))

        fast_in, slow_in = fast_width, width_per_group
        laterals, fast_stages, slow_stages = [], [], []
        for i, (num_blocks, num_fast_blocks) in enumerate(zip(layers, fast_layers or layers)):
            lateral_out = fast_in * fusion_conv_channel_ratio
            lateral = ConvBNAct(fast_in, lateral_out, (fusion_kernel_size, 1, 1), (alpha, 1, 1), (fusion_kernel_size // 2, 0, 0))
            if not lateral_norm:  # mmaction2's default: the lateral is the conv alone
                lateral.bn, lateral.act = nn.Identity(), nn.Identity()
            laterals.append(lateral)
            stride = (1, 1, 1) if i == 0 else (1, 2, 2)
            limit_fast = num_block_temp_kernel_fast if i == 2 else None
            limit_slow = num_block_temp_kernel_slow if i == 2 else None
            fast_planes, slow_planes = width_per_group * 2**i // beta_inv, width_per_group * 2**i
            fast_stages.append(
                make_stage(Bottleneck3d, fast_in, fast_planes, num_fast_blocks, stride=stride,
                           block_kwargs=_temporal_kernels(num_fast_blocks, 3, limit_fast))
            )
            slow_stages.append(
                make_stage(Bottleneck3d, slow_in + lateral_out, slow_planes, num_blocks, stride=stride,
                           block_kwargs=_temporal_kernels(num_blocks, 1 if i < 2 else 3, limit_slow))
            )
            fast_in, slow_in = fast_planes * Bottleneck3d.expansion, slow_planes * Bottleneck3d.expansion
        # laterals[i] feeds slow stage i: after the stem (i = 0) and after fast stages 1..3
        self.laterals = nn.ModuleList(laterals)
        self.fast_layers = nn.ModuleList(fast_stages)
        self.slow_layers = nn.ModuleList(slow_stages)
        self.num_features = slow_in + fast_in
        self.head = ClassifierHead3d(
            self.num_features, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments,
            num_crop=num_crop, init_std=init_std,
        )
        init_weights(self, zero_init_residual=True)
        self.freeze(bn_frozen, frozen_stages)

    def stage_modules(self, count: int) -> list[nn.Module]:
        """Both stems, the laterals that feed the first ``count`` stages, and those stages of both pathways."""
        return [self.fast_stem, self.slow_stem, *self.laterals[: count + 1], *self.fast_layers[:count],
                *self.slow_layers[:count]]

    def split_pathways(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, T, H, W)`` -> (fast ``(B, 3, T_f, H, W)``, slow ``(B, 3, T_s, H, W)``) per ``input_layout``."""
        if self.input_layout == "fast":
            return x, x[:, :, :: self.alpha]
        expected = self.fast_frames + self.slow_frames
        if x.shape[2] != expected:
            raise ValueError(
                f"SlowFast expects {self.fast_frames} fast frames followed by {self.slow_frames} slow frames "
                f"along T ({expected} in all), got T={x.shape[2]}; or build it with input_layout='fast'"
            )
        return x[:, :, : self.fast_frames], x[:, :, self.fast_frames :]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N * S * K, 3, T, H, W)`` -> pooled ``(N, 2304)`` = [Slow 2048, Fast 256], views averaged."""
        fast, slow = self.split_pathways(x)
        fast, slow = self.fast_stem(fast), self.slow_stem(slow)
        for lateral, fast_stage, slow_stage in zip(self.laterals, self.fast_layers, self.slow_layers):
            slow = slow_stage(torch.cat([slow, lateral(fast)], dim=1))
            fast = fast_stage(fast)
        pool = nn.functional.adaptive_avg_pool3d
        return self.head.pool(torch.cat([pool(slow, 1).flatten(1), pool(fast, 1).flatten(1)], dim=1))


def slowfast_resnet(num_classes: int, depth: int = 50, fast_depth: int | None = None,
                    layers: tuple[int, ...] | None = None, **kwargs) -> SlowFast:
    """Builder: SlowFast with a ResNet-``depth`` (50, 101, 152) Slow pathway and a ResNet-``fast_depth``
    Fast one (``None``: the same depth); ``kwargs`` as :class:`SlowFast`.

    ``layers`` (blocks per stage, both pathways) overrides the depths, for a small test network.
    """
    for what, value in (("depth", depth), ("fast_depth", fast_depth or depth)):
        if value not in (50, 101, 152):
            raise ValueError(f"SlowFast {what} must be 50, 101 or 152, got {value}")
    if layers:
        return SlowFast(num_classes, tuple(layers), **kwargs)
    return SlowFast(num_classes, RESNET_DEPTHS[depth], fast_layers=RESNET_DEPTHS[fast_depth or depth], **kwargs)


# --------------------------------------------------------------------------------------------
# GluonCV MXNet .params -> ours
# --------------------------------------------------------------------------------------------

def _stage_key(m) -> str:
    """``{fast,slow}_res{2..5}.{j}.<part>`` -> ``{fast,slow}_layers.{0..3}.{j}.<ours>``."""
    part = m[4]
    if part.startswith("downsample."):
        index, _, rest = part[len("downsample."):].partition(".")
        part = f"downsample.{ {'0': 'conv', '1': 'bn'}[index] }.{rest}"
    return f"{m[1]}_layers.{int(m[2]) - 2}.{m[3]}.{part}"


_LATERALS = {"p1": 0, "res2": 1, "res3": 2, "res4": 3}

GLUONCV_SLOWFAST_RULES = [
    (r"(fast|slow)_conv1\.weight", r"\1_stem.conv.weight"),
    (r"(fast|slow)_bn1\.(\w+)", r"\1_stem.bn.\2"),
    (r"(fast|slow)_res([2-5])\.(\d+)\.((?:conv\d|bn\d|downsample\.[01])\.\w+)", _stage_key),
    (r"lateral_(p1|res[234])\.([01])\.(\w+)", lambda m: f"laterals.{_LATERALS[m[1]]}.{ {'0': 'conv', '1': 'bn'}[m[2]] }.{m[3]}"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
]


def convert_gluoncv_slowfast(source: dict, model: nn.Module) -> dict:
    """GluonCV MXNet ``SlowFast`` ``.params`` keys -> ours.

    ``{fast,slow}_conv1``/``_bn1`` -> ``{fast,slow}_stem.{conv,bn}``, ``{fast,slow}_res{2..5}.j``
    -> ``{fast,slow}_layers.{0..3}.j`` (``downsample.{0,1}`` -> ``downsample.{conv,bn}``),
    ``lateral_{p1,res2,res3,res4}.{0,1}`` -> ``laterals.{0..3}.{conv,bn}``, ``fc`` -> ``head.fc``.
    """
    return convert(source, model, GLUONCV_SLOWFAST_RULES, mxnet_bn=True, what="GluonCV SlowFast weights")


register_converter("gluoncv_slowfast", convert_gluoncv_slowfast)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_MXNET_16X8_INPUT = InputSpec(clip_len=80,
                   note=("From 128 consecutive frames, every 2nd (64, Fast pathway) then every 8th (16, Slow pathway),"
                         " concatenated Fast-then-Slow along T (GluonCV MXNet layout): input (N, 3, 80, 224, 224)."))
_SOURCE = "GluonCV model zoo (MXNet), gluoncv/model_zoo/action_recognition/slowfast.py"
_MXNET_4X16_INPUT = InputSpec(clip_len=36,
                     note=("From 64 consecutive frames, every 2nd (32, Fast pathway) then every 16th (4, Slow "
                           "pathway), concatenated Fast-then-Slow along T (GluonCV MXNet layout): input (N, 3, 36, "
                           "224, 224)."))
_TORCH_4X16_INPUT = InputSpec(clip_len=32, frame_step=2,
                     note=("GluonCV PyTorch layout: the Fast clip only, 32 frames (every 2nd of 64), input (N, 3, 32, "
                           "224, 224); the Slow pathway takes every 8th of them (4 frames)."))
_MXNET_4X16_R50 = dict(depth=50, alpha=8, fusion_kernel_size=5, slow_frames=4, fast_frames=32)
_TORCH_4X16_R50 = dict(depth=50, alpha=8, fusion_kernel_size=5, slow_frames=4, fast_frames=32, input_layout="fast")
_K400_DESC = "Trained from scratch on Kinetics-400; GluonCV top-1 with 10 clips x 3 crops."
_TORCH_K400_DESC = "Trained from scratch on Kinetics-400, 32 frames with step 2 (GluonCV PyTorch zoo)"
_MXNET_8X8_INPUT = InputSpec(clip_len=40,
                     note=("From 64 consecutive frames, every 2nd (32, Fast pathway) then every 8th (8, Slow pathway),"
                           " concatenated Fast-then-Slow along T (GluonCV MXNet layout): input (N, 3, 40, 224, 224)."))
_TORCH_8X8_INPUT = InputSpec(clip_len=32, frame_step=2,
                     note=("GluonCV PyTorch layout: the Fast clip only, 32 frames (every 2nd of 64), input (N, 3, 32, "
                           "224, 224); the Slow pathway takes every 4th of them (8 frames)."))
_register = partial(register_model, builder=slowfast_resnet, family="slowfast", dataset="kinetics400", num_classes=400,
                    input=InputSpec(clip_len=64, frame_step=2,
                                    note=("GluonCV PyTorch layout: the Fast clip only, 64 frames (every 2nd of 128), "
                                          "input (N, 3, 64, 224, 224); the Slow pathway takes every 4th of them (16 "
                                          "frames).")),
                    converters={"pth": "gluoncv_slowfast", "params": "gluoncv_slowfast"},
                    source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/slowfast.py)")
_register("slowfast_16x8_resnet101_50_50_kinetics400", input=_MXNET_16X8_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE,
          kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=16, fast_frames=64, num_block_temp_kernel_fast=6, num_block_temp_kernel_slow=6),
          description=("SlowFast 16x8 ResNet-101 whose layer3 keeps 3x1x1 reduce convs in its first 6 blocks only (a "
                       "ResNet-50-like temporal design; no published weights). GluonCV's PyTorch-zoo version "
                       "(Fast-clip input): slowfast_16x8_resnet101_50_50_kinetics400_torch."))
_register("slowfast_16x8_resnet101_50_50_kinetics400_torch",
          kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=16, fast_frames=64, num_block_temp_kernel_fast=6, num_block_temp_kernel_slow=6, input_layout="fast"),
          description=("SlowFast 16x8 ResNet-101 as in GluonCV's PyTorch zoo "
                       "(slowfast_16x8_resnet101_50_50_kinetics400): input is the Fast clip only, the Slow pathway is "
                       "every alpha-th frame. The same network as the MXNet-zoo name "
                       "slowfast_16x8_resnet101_50_50_kinetics400 (same weights layout), which takes Fast-then-Slow "
                       "frames concatenated along T instead; hence a separate name. GluonCV publishes no weights for "
                       "it."))
_register("slowfast_16x8_resnet101_kinetics400", input=_MXNET_16X8_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=16, fast_frames=64),
          description=("SlowFast 16x8 (Slow 16 frames, Fast 64) ResNet-101 for Kinetics-400 (no published weights). "
                       "GluonCV's PyTorch-zoo version (Fast-clip input): slowfast_16x8_resnet101_kinetics400_torch."))
_register("slowfast_16x8_resnet101_kinetics400_torch",
          kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=16, fast_frames=64, input_layout="fast"),
          description=("SlowFast 16x8 ResNet-101 as in GluonCV's PyTorch zoo (slowfast_16x8_resnet101_kinetics400): "
                       "input is the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the"
                       " MXNet-zoo name slowfast_16x8_resnet101_kinetics400 (same weights layout), which takes "
                       "Fast-then-Slow frames concatenated along T instead; hence a separate name. GluonCV publishes "
                       "no weights for it."))
_register("slowfast_16x8_resnet50_sthsthv2", dataset="sthsthv2", num_classes=174,
          kwargs=dict(depth=50, alpha=4, fusion_kernel_size=7, slow_frames=16, fast_frames=64, input_layout="fast"),
          weights=(published("slowfast_16x8_resnet50_sthsthv2-05203231.pth", "gluoncv_slowfast",
                             sha1="0520323165727d59002c6c62071bc1dc28248469", default=True, num_classes=174,
                             description=("Trained from scratch on Something-Something-V2, 64 frames with step 2 "
                                          "(GluonCV PyTorch zoo)")),),
          description=("SlowFast 16x8 ResNet-50 as in GluonCV's PyTorch zoo (slowfast_16x8_resnet50_sthsthv2): input "
                       "is the Fast clip only, the Slow pathway is every alpha-th frame."))
_register("slowfast_4x16_resnet101_kinetics400", input=_MXNET_4X16_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=dict(depth=101, alpha=8, fusion_kernel_size=5, slow_frames=4, fast_frames=32),
          description=("SlowFast 4x16 ResNet-101 for Kinetics-400 (GluonCV publishes no weights for it). GluonCV's "
                       "PyTorch-zoo version (Fast-clip input): slowfast_4x16_resnet101_kinetics400_torch."))
_register("slowfast_4x16_resnet101_kinetics400_torch", input=_TORCH_4X16_INPUT,
          kwargs=dict(depth=101, alpha=8, fusion_kernel_size=5, slow_frames=4, fast_frames=32, input_layout="fast"),
          description=("SlowFast 4x16 ResNet-101 as in GluonCV's PyTorch zoo (slowfast_4x16_resnet101_kinetics400): "
                       "input is the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the"
                       " MXNet-zoo name slowfast_4x16_resnet101_kinetics400 (same weights layout), which takes "
                       "Fast-then-Slow frames concatenated along T instead; hence a separate name. GluonCV publishes "
                       "no weights for it."))
_register("slowfast_4x16_resnet50_custom", dataset="custom", input=_MXNET_4X16_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=_MXNET_4X16_R50,
          weights=(published("slowfast_4x16_resnet50_kinetics400-9d650f51.params", "gluoncv_slowfast", 75.3,
                             sha1="9d650f5186ffc08348f8d7384d6994a8f39a03b1", default=True, num_classes=400,
                             pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/slowfast_4x16_resnet50_kinetics400.sh",
                             description=("The Kinetics-400 weights of slowfast_4x16_resnet50_kinetics400 (GluonCV "
                                          "top-1 75.3 on Kinetics-400).")),),
          description=("SlowFast 4x16 ResNet-50 to fine-tune on your own classes: get_model(name, pretrained=True, "
                       "num_classes=N) loads the Kinetics-400 weights of slowfast_4x16_resnet50_kinetics400 and starts"
                       " a new N-way classifier. GluonCV's PyTorch-zoo version (Fast-clip input): "
                       "slowfast_4x16_resnet50_custom_torch."))
_register("slowfast_4x16_resnet50_custom_torch", dataset="custom", input=_TORCH_4X16_INPUT, kwargs=_TORCH_4X16_R50,
          weights=(published("slowfast_4x16_resnet50_kinetics400-1d1eadb2.pth", "gluoncv_slowfast", 75.25,
                             sha1="1d1eadb258ccfc0c117db0ff0eaf1638d18405b3", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "slowfast_4x16_resnet50_kinetics400.yaml",
                             description=("the slowfast_4x16_resnet50_kinetics400 PyTorch weights (Kinetics-400) to"
                                          " fine-tune from")),),
          description=("SlowFast 4x16 ResNet-50 as in GluonCV's PyTorch zoo (slowfast_4x16_resnet50_custom): input is "
                       "the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the "
                       "MXNet-zoo name slowfast_4x16_resnet50_custom (same weights layout), which takes Fast-then-Slow"
                       " frames concatenated along T instead; hence a separate name. get_model(name, pretrained=True, "
                       "num_classes=N) loads slowfast_4x16_resnet50_kinetics400's PyTorch weights except the "
                       "classifier."))
_register("slowfast_4x16_resnet50_kinetics400", input=_MXNET_4X16_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=_MXNET_4X16_R50,
          weights=(published("slowfast_4x16_resnet50_kinetics400-9d650f51.params", "gluoncv_slowfast", 75.3,
                             sha1="9d650f5186ffc08348f8d7384d6994a8f39a03b1", default=True, num_classes=400,
                             pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/slowfast_4x16_resnet50_kinetics400.sh",
                             description=_K400_DESC),),
          description=("SlowFast 4x16 (Slow 4 frames, Fast 32, alpha 8) ResNet-50 for Kinetics-400. GluonCV's "
                       "PyTorch-zoo version (Fast-clip input): slowfast_4x16_resnet50_kinetics400_torch."))
_register("slowfast_4x16_resnet50_kinetics400_torch", input=_TORCH_4X16_INPUT, kwargs=_TORCH_4X16_R50,
          weights=(published("slowfast_4x16_resnet50_kinetics400-1d1eadb2.pth", "gluoncv_slowfast", 75.25,
                             sha1="1d1eadb258ccfc0c117db0ff0eaf1638d18405b3", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "slowfast_4x16_resnet50_kinetics400.yaml",
                             description=_TORCH_K400_DESC),),
          description=("SlowFast 4x16 ResNet-50 as in GluonCV's PyTorch zoo (slowfast_4x16_resnet50_kinetics400): "
                       "input is the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the"
                       " MXNet-zoo name slowfast_4x16_resnet50_kinetics400 (same weights layout), which takes "
                       "Fast-then-Slow frames concatenated along T instead; hence a separate name."))
_register("slowfast_8x8_resnet101_kinetics400", input=_MXNET_8X8_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=8, fast_frames=32),
          weights=(published("slowfast_8x8_resnet101_kinetics400-fbde1a7c.params", "gluoncv_slowfast", 77.2,
                             sha1="fbde1a7cfdaeeba7190dd15f284b91036bf5f3f6", default=True, num_classes=400,
                             pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/slowfast_8x8_resnet101_kinetics400.sh",
                             description=_K400_DESC),),
          description=("SlowFast 8x8 (Slow 8 frames, Fast 32, alpha 4) ResNet-101 for Kinetics-400. GluonCV's "
                       "PyTorch-zoo version (Fast-clip input): slowfast_8x8_resnet101_kinetics400_torch."))
_register("slowfast_8x8_resnet101_kinetics400_torch", input=_TORCH_8X8_INPUT,
          kwargs=dict(depth=101, alpha=4, fusion_kernel_size=5, slow_frames=8, fast_frames=32, input_layout="fast"),
          weights=(published("slowfast_8x8_resnet101_kinetics400-db5e9fef.pth", "gluoncv_slowfast", 76.95,
                             sha1="db5e9fef55b28eb55b6dc7b2cba98d0c14fc3568", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "slowfast_8x8_resnet101_kinetics400.yaml",
                             description=_TORCH_K400_DESC),),
          description=("SlowFast 8x8 ResNet-101 as in GluonCV's PyTorch zoo (slowfast_8x8_resnet101_kinetics400): "
                       "input is the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the"
                       " MXNet-zoo name slowfast_8x8_resnet101_kinetics400 (same weights layout), which takes "
                       "Fast-then-Slow frames concatenated along T instead; hence a separate name."))
_register("slowfast_8x8_resnet50_kinetics400", input=_MXNET_8X8_INPUT, converters={"params": "gluoncv_slowfast"},
          source=_SOURCE, kwargs=dict(depth=50, alpha=4, fusion_kernel_size=7, slow_frames=8, fast_frames=32),
          weights=(published("slowfast_8x8_resnet50_kinetics400-d6b25339.params", "gluoncv_slowfast", 76.6,
                             sha1="d6b253398615a21d8b2a827ddfb09c0d8827f79c", default=True, num_classes=400,
                             pretraining="Scratch",
                             recipe=GLUONCV_LOGS + "kinetics400/slowfast_8x8_resnet50_kinetics400.sh",
                             description=_K400_DESC),),
          description=("SlowFast 8x8 (Slow 8 frames, Fast 32, alpha 4, 7x1x1 laterals) ResNet-50 for Kinetics-400. "
                       "GluonCV's PyTorch-zoo version (Fast-clip input): slowfast_8x8_resnet50_kinetics400_torch."))
_register("slowfast_8x8_resnet50_kinetics400_torch", input=_TORCH_8X8_INPUT,
          kwargs=dict(depth=50, alpha=4, fusion_kernel_size=7, slow_frames=8, fast_frames=32, input_layout="fast"),
          weights=(published("slowfast_8x8_resnet50_kinetics400-e94e9a57.pth", "gluoncv_slowfast", 76.66,
                             sha1="e94e9a57eaa2f4dde12673bc6632f9aa090d8c21", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "slowfast_8x8_resnet50_kinetics400.yaml",
                             description=_TORCH_K400_DESC),),
          description=("SlowFast 8x8 ResNet-50 as in GluonCV's PyTorch zoo (slowfast_8x8_resnet50_kinetics400): input "
                       "is the Fast clip only, the Slow pathway is every alpha-th frame. The same network as the "
                       "MXNet-zoo name slowfast_8x8_resnet50_kinetics400 (same weights layout), which takes "
                       "Fast-then-Slow frames concatenated along T instead; hence a separate name."))


# --------------------------------------------------------------------------------------------
# mmaction2's ResNet3dSlowFast: the same network (lateral convs without BatchNorm unless
# ``lateral_norm``), mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

def _mm_layer(m: "re.Match[str]") -> str:
    """``backbone.<path>_path.layerI.J.<rest>`` -> ``<path>_layers.(I-1).J.<our rest>``."""
    rest = re.sub(r"^conv(\d)\.conv\.", r"conv\1.", m[4])
    rest = re.sub(r"^conv(\d)\.bn\.", r"bn\1.", rest)
    return f"{m[1]}_layers.{int(m[2]) - 1}.{m[3]}.{rest}"


_MM_RULES = (
    Rule(r"backbone\.(slow|fast)_path\.conv1\.(conv|bn)\.(\w+)", r"\1_stem.\2.\3"),
    Rule(r"backbone\.slow_path\.conv1_lateral\.(conv|bn)\.(\w+)", r"laterals.0.\1.\2"),
    Rule(r"backbone\.slow_path\.layer(\d)_lateral\.(conv|bn)\.(\w+)", r"laterals.\1.\2.\3"),
    Rule(r"backbone\.(slow|fast)_path\.layer(\d)\.(\d+)\.(.+)", _mm_layer),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.fc.\1"),
)


@register_converter("mmaction2_slowfast")
def convert_mmaction2_slowfast(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``ResNet3dSlowFast`` checkpoints (``backbone.slow_path.*``, ``backbone.fast_path.*``) -> ours.

    mmaction2's head concatenates the pooled Fast features before the Slow ones, ours Slow first: the
    classifier's input columns are swapped to match.
    """
    state = convert(source, model, _MM_RULES, what="mmaction2 SlowFast")
    fast = source["backbone.fast_path.layer4.0.conv3.bn.weight"].shape[0]
    weight = state["head.fc.weight"]
    state["head.fc.weight"] = torch.cat([weight[:, fast:], weight[:, :fast]], dim=1)
    return state


_MM_INPUT = InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM)
_register_mm = partial(register_mmaction2, builder=slowfast_resnet, family="slowfast", converter="mmaction2_slowfast")

_register_mm("slowfast_4x16_resnet50_e256_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'alpha': 8, 'beta_inv': 8, 'fusion_kernel_size': 5, 'slow_frames': 4, 'fast_frames': 32, 'input_layout': 'fast', 'lateral_norm': False},
             input=_MM_INPUT,
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb_20220901-701b0f6f.pth",
             top1=75.55, top5=92.35, pretraining="Scratch", config="slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowFast ResNet-50, 4x16 (a clip of 32 frames at step 2: the Slow pathway takes every 8th, the Fast one all 32; alpha 8), lateral convs without BatchNorm, from scratch, mmaction2's weights.")

_register_mm("slowfast_8x8_resnet50_e256_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'alpha': 4, 'beta_inv': 8, 'fusion_kernel_size': 7, 'slow_frames': 8, 'fast_frames': 32, 'input_layout': 'fast', 'lateral_norm': False},
             input=_MM_INPUT,
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb/slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb_20220818-1cb6dfc8.pth",
             top1=76.8, top5=92.99, pretraining="Scratch", config="slowfast/slowfast_r50_8xb8-8x8x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowFast ResNet-50, 8x8 (a clip of 32 frames at step 2: the Slow pathway takes every 4th, the Fast one all 32; alpha 4), lateral convs without BatchNorm, from scratch, mmaction2's weights.")

_register_mm("slowfast_8x8_resnet50_e256_steplr_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'alpha': 4, 'beta_inv': 8, 'fusion_kernel_size': 7, 'slow_frames': 8, 'fast_frames': 32, 'input_layout': 'fast', 'lateral_norm': True},
             input=_MM_INPUT,
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r50_8xb8-8x8x1-steplr-256e_kinetics400-rgb/slowfast_r50_8xb8-8x8x1-steplr-256e_kinetics400-rgb_20220818-b62a501f.pth",
             top1=76.65, top5=92.86, pretraining="Scratch", config="slowfast/slowfast_r50_8xb8-8x8x1-steplr-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowFast ResNet-50, 8x8 (a clip of 32 frames at step 2: the Slow pathway takes every 4th, the Fast one all 32; alpha 4), lateral convs with BatchNorm and ReLU, from scratch, mmaction2's weights.")

_register_mm("slowfast_8x8_resnet101_e256_kinetics400", dataset="kinetics400", kwargs={'depth': 101, 'alpha': 4, 'beta_inv': 8, 'fusion_kernel_size': 7, 'slow_frames': 8, 'fast_frames': 32, 'input_layout': 'fast', 'lateral_norm': False},
             input=_MM_INPUT,
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb/slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb_20220901-9c0e09bd.pth",
             top1=78.65, top5=93.88, pretraining="Scratch", config="slowfast/slowfast_r101_8xb8-8x8x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)", "the metafile"),
             description="SlowFast ResNet-101, 8x8 (a clip of 32 frames at step 2: the Slow pathway takes every 4th, the Fast one all 32; alpha 4), lateral convs without BatchNorm, from scratch, mmaction2's weights.")

_register_mm("slowfast_4x16_resnet101_resnet50_e256_kinetics400", dataset="kinetics400", kwargs={'depth': 101, 'fast_depth': 50, 'alpha': 8, 'beta_inv': 8, 'fusion_kernel_size': 5, 'slow_frames': 4, 'fast_frames': 32, 'input_layout': 'fast', 'lateral_norm': False},
             input=_MM_INPUT,
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowfast/slowfast_r101-r50_32xb8-4x16x1-256e_kinetics400-rgb/slowfast_r101-r50_32xb8-4x16x1-256e_kinetics400-rgb_20220901-a77ac3ee.pth",
             top1=77.03, top5=92.99, pretraining="Scratch", config="slowfast/slowfast_r101-r50_32xb8-4x16x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowFast 4x16 with a ResNet-101 Slow pathway and a ResNet-50 Fast one (a clip of 32 frames at step 2: the Slow pathway takes every 8th, the Fast one all 32; alpha 8), lateral convs without BatchNorm, from scratch, mmaction2's weights.")
