"""Temporal Pyramid Network (TPN) on a Slow-only ResNet, as in GluonCV's PyTorch model zoo.

Yang et al., "Temporal Pyramid Network for Action Recognition", CVPR 2020.  The backbone is the
Slow-only ResNet-50/101 of :mod:`zoo.models.i3d_slow` (``1x7x7`` stem, no temporal striding,
``3x1x1`` inflation in ``layer3``/``layer4``).  The neck takes ``layer3`` ``(N, 1024, T, H/16, W/16)``
and ``layer4`` ``(N, 2048, T, H/32, W/32)`` and:

1. **spatial modulation**: brings every level to ``layer4``'s width and resolution (``layer3``:
   one stride-2 ``1x3x3`` conv-BN-ReLU to 2048 channels; ``layer4``: unchanged);
2. **temporal modulation**: a grouped (32 groups) ``3x1x1`` conv to 1024 channels and a temporal
   max-pool by the level's rate (e.g. 8 and 8 for 8 frames: ``T -> 1``);
3. **two information flows** over the levels: top-down (each level adds the one above it,
   nearest-upsampled) and bottom-up (each level adds the one below it through a ``3x1x1`` conv and
   a temporal max-pool), each fused by a :class:`LevelFusion` (per level a temporal max-pool and a
   grouped ``1x1`` conv-BN-ReLU, concatenated, ``1x1`` conv-BN-ReLU to 2048);
4. **pyramid fusion**: both flows concatenated, ``1x1`` conv-BN-ReLU to 2048 channels,
   then global average pooling, dropout and ``fc`` (:class:`~zoo.models._resnet3d.ClassifierHead3d`).

GluonCV quirk kept for parity: its bottom-up flow starts from the levels *after* the top-down
additions (the two flows share one list upstream), so the lower level entering the bottom-up flow
already holds the top-down sum.

The auxiliary head (:class:`AuxHead`, a deep-supervision classifier on ``layer3``) is part of the
published weights, so it is built and loaded; ``forward`` runs it in training mode only (GluonCV's and
mmaction2's inference do not run it), and :meth:`TPNet.auxiliary_loss` weighs its cross-entropy by
``aux_loss_weight`` (0.5 upstream) for the training engine to add.

Names and weights: GluonCV's PyTorch zoo (``gluoncv/torch/model_zoo/action_recognition/tpn.py``);
:func:`convert_gluoncv_tpn` maps its state dict keys to ours.  mmaction2's TPN files on SlowOnly
(``convert_mmaction2_tpn``) and on a TSM ResNet-50 (``backbone="tsm"``: the 2D ResNet runs per frame
with temporal shifts and its ``layer3``/``layer4`` maps are regrouped into clips for the same neck;
``convert_mmaction2_tpn_tsm``).
"""
from __future__ import annotations

from functools import partial

import math
import weakref
from typing import Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, RESNET2D_RULES, RESNET3D_RULES, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, published
from ._interface import freeze_bn_affine
from ._resnet3d import ClassifierHead3d, ConvBNAct, ResNet3d, Triple, conv3d, init_weights, triple
from ..convert.keys import KEEP, Rule, convert
from .i3d_slow import i3d_slow_resnet
from .tsm import tsm_resnet

__all__ = [
    "TemporalModulation",
    "TemporalDownsample",
    "LevelFusion",
    "SpatialModulation",
    "TPNNeck",
    "AuxHead",
    "TPNet",
    "tpn_resnet",
    "convert_gluoncv_tpn",
]

#: Groups of the temporal-modulation and level-fusion convs (GluonCV / the TPN paper).
TPN_GROUPS = 32


def _temporal_pool(scale: Sequence[int]) -> nn.Module:
    """Max-pool with kernel = stride = ``scale`` (``(t, h, w)``), rounding up; identity for ``(1, 1, 1)``."""
    scale = triple(scale)
    if scale == (1, 1, 1):
        return nn.Identity()
    return nn.MaxPool3d(scale, scale, 0, ceil_mode=True)


class TemporalModulation(nn.Module):
    """Grouped ``3x1x1`` conv then a temporal max-pool by ``rate``.

    ``(N, in_channels, T, H, W) -> (N, out_channels, ceil(T / rate), H, W)``.
    """

    def __init__(self, in_channels: int, out_channels: int, rate: int, groups: int = TPN_GROUPS) -> None:
        super().__init__()
        self.conv = conv3d(in_channels, out_channels, (3, 1, 1), groups=groups)
        self.pool = _temporal_pool((rate, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class TemporalDownsample(nn.Module):
    """Bottom-up step between two levels: ``3x1x1`` conv (no norm, no activation), then max-pool by ``scale``.

    ``(N, channels, T, H, W) -> (N, channels, ceil(T / st), ceil(H / sh), ceil(W / sw))``.
    """

    def __init__(self, channels: int, scale: Sequence[int] = (1, 1, 1)) -> None:
        super().__init__()
        self.conv = conv3d(channels, channels, (3, 1, 1))
        self.pool = _temporal_pool(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


class LevelFusion(nn.Module):
    """Fuse pyramid levels: per level max-pool by ``pool_scales[i]`` and grouped ``1x1`` conv-BN-ReLU,
    concatenate on channels, ``1x1`` conv-BN-ReLU.

    ``[(N, in_channels[i], T_i, H, W)] -> (N, out_channels, T', H, W)``; the pooled levels must agree
    in ``(T', H, W)``.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        mid_channels: Sequence[int],
        out_channels: int,
        pool_scales: Sequence[Sequence[int]],
        groups: int = TPN_GROUPS,
    ) -> None:
        super().__init__()
        if not len(in_channels) == len(mid_channels) == len(pool_scales):
            raise ValueError("LevelFusion needs one in_channels, mid_channels and pool_scales entry per level")
        self.pools = nn.ModuleList(_temporal_pool(s) for s in pool_scales)
        self.project = nn.ModuleList(ConvBNAct(c, m, 1, groups=groups) for c, m in zip(in_channels, mid_channels))
        self.fuse = ConvBNAct(sum(mid_channels), out_channels, 1)

    def forward(self, levels: Sequence[torch.Tensor]) -> torch.Tensor:
        projected = [project(pool(x)) for x, pool, project in zip(levels, self.pools, self.project)]
        return self.fuse(torch.cat(projected, dim=1))


class SpatialModulation(nn.Module):
    """Bring each level to ``channels`` channels by stride-2 ``1x3x3`` conv-BN-ReLUs, each doubling the width.

    Level ``i`` with ``in_channels[i] = channels / 2**k`` gets ``k`` such convs (``k = 0``: unchanged),
    so ``[(N, C_i, T, H_i, W_i)] -> [(N, channels, T, H_i / 2**k_i, W_i / 2**k_i)]``.
    """

    def __init__(self, in_channels: Sequence[int], channels: int) -> None:
        super().__init__()
        self.levels = nn.ModuleList()
        for width in in_channels:
            steps = int(math.log2(channels // width)) if channels >= width else 0
            if steps < 1:
                self.levels.append(nn.Identity())
                continue
            self.levels.append(
                nn.Sequential(
                    *(ConvBNAct(width * 2**k, width * 2 ** (k + 1), (1, 3, 3), (1, 2, 2), (0, 1, 1)) for k in range(steps))
                )
            )

    def forward(self, levels: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        return [op(x) for op, x in zip(self.levels, levels)]


def _add_resized(base: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """``base + other``, with ``other`` nearest-resized to ``base``'s ``(T, H, W)`` when they differ.

    GluonCV adds with broadcasting (its upsampling scale is ``(1, 1, 1)``), which works when the
    coarser level has one frame; nearest resizing gives the same sum there and also covers longer clips.
    """
    if other.shape[2:] != base.shape[2:]:
        other = F.interpolate(other, size=base.shape[2:], mode="nearest")
    return base + other


class TPNNeck(nn.Module):
    """The TPN neck: spatial and temporal modulation, top-down and bottom-up flows, pyramid fusion.

    ``forward([layer3, layer4])`` with ``(N, 1024, T, H/16, W/16)`` and ``(N, 2048, T, H/32, W/32)``
    -> ``(N, fused_channels, T', H/32, W/32)`` (``T'`` = the bottom-up flow's frames, 1 for the
    published configurations).

    Args:
        in_channels: channels of the backbone levels, lowest first.
        level_channels: channels of each level after temporal modulation.
        temporal_rates: temporal max-pool of each level's modulation (GluonCV's ``scales``).
        downsample_scale: the bottom-up ``TemporalDownsample`` pool ``(t, h, w)``.
        fusion_pool_scales: :class:`LevelFusion` per-level pools ``(t, h, w)``.
        upsample_scale: top-down nearest-upsampling factor ``(t, h, w)``.
        fused_channels: output channels of each flow's fusion and of the pyramid fusion.
    """

    def __init__(
        self,
        in_channels: Sequence[int] = (1024, 2048),
        level_channels: int = 1024,
        temporal_rates: Sequence[int] = (8, 8),
        downsample_scale: Sequence[int] = (1, 1, 1),
        fusion_pool_scales: Sequence[Sequence[int]] = ((1, 1, 1), (1, 1, 1)),
        upsample_scale: Sequence[int] = (1, 1, 1),
        fused_channels: int = 2048,
    ) -> None:
        super().__init__()
        num_levels = len(in_channels)
        if len(temporal_rates) != num_levels:
            raise ValueError(f"temporal_rates needs one rate per level ({num_levels}), got {tuple(temporal_rates)}")
        top = in_channels[-1]
        self.upsample_scale: Triple = triple(upsample_scale)
        self.spatial_modulation = SpatialModulation(in_channels, top)
        self.temporal_modulation = nn.ModuleList(TemporalModulation(top, level_channels, rate) for rate in temporal_rates)
        self.bottom_up_downsample = nn.ModuleList(TemporalDownsample(level_channels, downsample_scale) for _ in range(num_levels - 1))
        mids = [level_channels] * num_levels
        self.top_down_fusion = LevelFusion(mids, mids, fused_channels, fusion_pool_scales)
        self.bottom_up_fusion = LevelFusion(mids, mids, fused_channels, fusion_pool_scales)
        self.pyramid_fusion = ConvBNAct(2 * fused_channels, fused_channels, 1)

    def _upsample(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample_scale == (1, 1, 1):
            return x
        return F.interpolate(x, scale_factor=self.upsample_scale, mode="nearest")

    def forward(self, features: Sequence[torch.Tensor]) -> torch.Tensor:
        levels = [tm(x) for tm, x in zip(self.temporal_modulation, self.spatial_modulation(features))]
        # Top-down: from the top level to the bottom, each level adds the (upsampled) one above.
        for i in range(len(levels) - 1, 0, -1):
            levels[i - 1] = _add_resized(levels[i - 1], self._upsample(levels[i]))
        top_down = self.top_down_fusion(levels)
        # Bottom-up, continuing from the top-down sums (GluonCV's shared list; see the module docstring).
        for i in range(len(levels) - 1):
            levels[i + 1] = levels[i + 1] + self.bottom_up_downsample[i](levels[i])
        bottom_up = self.bottom_up_fusion(levels)
        return self.pyramid_fusion(torch.cat([top_down, bottom_up], dim=1))


class AuxHead(nn.Module):
    """Auxiliary (deep-supervision) classifier on ``layer3``: stride-2 ``1x3x3`` conv-BN-ReLU doubling
    the width, global average pool, dropout 0.5, ``fc``.

    ``(N, in_channels, T, H, W) -> (N, num_classes)``.  Used only for training (see :class:`TPNet`).
    """

    def __init__(self, in_channels: int, num_classes: int, loss_weight: float = 0.5, dropout_ratio: float = 0.5) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.features = ConvBNAct(in_channels, in_channels * 2, (1, 3, 3), (1, 2, 2), (0, 1, 1))
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(in_channels * 2, num_classes)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool3d(self.features(x), 1).flatten(1)
        return self.fc(self.dropout(x))


#: The auxiliary logits of each TPNet's last training-mode forward, until :meth:`TPNet.auxiliary_loss` takes them.
_AUX_LOGITS: "weakref.WeakKeyDictionary[nn.Module, torch.Tensor]" = weakref.WeakKeyDictionary()


class TPNet(ResNet3d):
    """Slow-only (or TSM) ResNet + :class:`TPNNeck` + classifier head; :class:`AuxHead` kept for training.

    ``forward``: ``(N * S * K, 3, T, H, W)`` normalised clips -> logits ``(N, num_classes)``;
    ``forward_features`` gives the pooled neck output ``(N, 2048)``.  GluonCV's TPN takes ``T`` = 8, 16 or 32 frames
    at 224x224 (its consensus over ``S = num_segments``, ``K = num_crop`` is 1 view).

    In training mode ``forward`` also runs the auxiliary head on ``layer3`` (unless ``aux_loss_weight`` is 0)
    and :meth:`auxiliary_loss` gives its weighted cross-entropy, which the training engine adds to the
    classification loss, as GluonCV and mmaction2 train TPN; in eval mode the head is not run.
    :meth:`forward_with_aux` gives ``(logits, aux_logits)`` for a loop of one's own.
    ``partial_bn``, ``bn_frozen`` and ``frozen_stages`` act on the backbone as in
    :class:`~zoo.models._resnet3d.ResNet3d` (``bn_frozen`` also on the neck and the auxiliary head);
    GluonCV's TPN accepts these knobs but does not act on them.

    ``backbone="tsm"`` (mmaction2's TPN-TSM): the backbone is a per-frame 2D ResNet with TSM shifts
    (:func:`~zoo.models.tsm.tsm_resnet` over ``tsm_frames`` frames, ``stem`` = its ``conv1``, BN, ReLU,
    max-pool); the clip's frames are folded into the batch for it and ``layer3``/``layer4`` are
    unfolded back to ``(N, C, T, H, W)`` for the neck, so the input stays ``(N, 3, tsm_frames, H, W)``.
    """

    def __init__(
        self,
        num_classes: int = 400,
        depth: int = 50,
        *,
        temporal_rates: Sequence[int] = (8, 8),
        downsample_scale: Sequence[int] = (1, 1, 1),
        fusion_pool_scales: Sequence[Sequence[int]] = ((1, 1, 1), (1, 1, 1)),
        upsample_scale: Sequence[int] = (1, 1, 1),
        aux_loss_weight: float = 0.5,
        dropout_ratio: float = 0.5,
        init_std: float = 0.01,
        num_segments: int = 1,
        num_crop: int = 1,
        partial_bn: bool = False,
        bn_frozen: bool = False,
        frozen_stages: int = -1,
        backbone: str = "slowonly",
        tsm_frames: int = 8,
    ) -> None:
        if backbone == "slowonly":
            trunk = i3d_slow_resnet(
                num_classes, depth, dropout_ratio=dropout_ratio, init_std=init_std, num_segments=num_segments,
                num_crop=num_crop,
            )
            stem, stages, head = trunk.stem, trunk.stages(), trunk.head
        elif backbone == "tsm":
            frames = tsm_resnet(num_classes, depth, num_segments=tsm_frames).backbone
            stem = nn.Sequential(frames.conv1, frames.bn1, nn.ReLU(inplace=True), frames.maxpool)
            stages = [frames.layer1, frames.layer2, frames.layer3, frames.layer4]
            head = ClassifierHead3d(frames.feat_dim, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments,
                                    num_crop=num_crop, init_std=init_std)
        else:
            raise ValueError(f"TPN backbone must be 'slowonly' or 'tsm', got {backbone!r}")
        super().__init__(stem, stages, head, partial_bn=partial_bn, bn_frozen=bn_frozen, frozen_stages=frozen_stages)
        self.tsm_frames = tsm_frames if backbone == "tsm" else None
        self.depth = depth
        self.neck = TPNNeck(
            (1024, 2048), 1024, temporal_rates, downsample_scale, fusion_pool_scales, upsample_scale, fused_channels=2048,
        )
        self.aux_head = AuxHead(1024, num_classes, loss_weight=aux_loss_weight)
        init_weights(self.neck)
        init_weights(self.aux_head)
        if bn_frozen:
            freeze_bn_affine([self.neck, self.aux_head])

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, T, H, W)`` -> every stage's output ``(B, C_i, T, H_i, W_i)`` (a TSM backbone runs per frame)."""
        if self.tsm_frames is None:
            return super().forward_stages(x)
        b, c, t, h, w = x.shape
        if t != self.tsm_frames:
            raise ValueError(f"this TPN-TSM was built for {self.tsm_frames} frames, got T={t}; "
                             f"pass tsm_frames={t} to get_model")
        outs = super().forward_stages(x.transpose(1, 2).reshape(b * t, c, h, w))
        return [out.view(b, t, *out.shape[1:]).transpose(1, 2) for out in outs]

    def _pooled_neck(self, stages: list[torch.Tensor]) -> torch.Tensor:
        """The stages' ``layer3``/``layer4`` outputs -> the pooled neck output ``(N, 2048)``, views averaged."""
        return self.head.pool(self.neck(stages[-2:]))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N * S * K, 3, T, H, W)`` -> the pooled neck output ``(N, 2048)``, views averaged."""
        return self._pooled_neck(self.forward_stages(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N * S * K, 3, T, H, W)`` -> logits ``(N, num_classes)``; in training also the auxiliary logits,
        kept (outside the module, so copies and pickles of it stay plain) for :meth:`auxiliary_loss`."""
        stages = self.forward_stages(x)
        if self.training and self.aux_head.loss_weight > 0:
            _AUX_LOGITS[self] = self.aux_head(stages[-2])
        return self.forward_head(self._pooled_neck(stages))

    def auxiliary_loss(self, target: torch.Tensor) -> torch.Tensor | None:
        """The auxiliary head's weighted cross-entropy for the last training-mode ``forward`` (each view of a
        sample gets its label), or ``None`` when that forward ran no auxiliary head."""
        aux_logits = _AUX_LOGITS.pop(self, None)
        if aux_logits is None:
            return None
        return self.aux_loss(aux_logits.float(), target.repeat_interleave(aux_logits.shape[0] // target.shape[0]))

    def train(self, mode: bool = True) -> "TPNet":
        if not mode:
            _AUX_LOGITS.pop(self, None)  # nothing of the last training step outlives it
        return super().train(mode)

    def forward_with_aux(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, 3, T, H, W)`` -> ``(logits (N, num_classes), aux_logits (B, num_classes))`` for training."""
        stages = self.forward_stages(x)
        return self.forward_head(self._pooled_neck(stages)), self.aux_head(stages[-2])

    classifier_names = ("head.fc", "aux_head.fc")

    def aux_loss(self, aux_logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``aux_loss_weight * cross_entropy(aux_logits, target)`` (GluonCV's ``loss_aux``)."""
        return self.aux_head.loss_weight * F.cross_entropy(aux_logits, target)


def tpn_resnet(num_classes: int = 400, depth: int = 50, **kwargs) -> TPNet:
    """Builder of :class:`TPNet` (kwargs: ``temporal_rates``, ``downsample_scale``, ``fusion_pool_scales``,
    ``upsample_scale``, ``aux_loss_weight``, ``dropout_ratio``, ``init_std``, ``num_segments``, ``num_crop``,
    ``partial_bn``, ``bn_frozen``, ``frozen_stages``, ``backbone``, ``tsm_frames``)."""
    if depth not in (50, 101):
        raise ValueError(f"TPN depth must be 50 or 101 (GluonCV's TPN backbones), got {depth}")
    return TPNet(num_classes=num_classes, depth=depth, **kwargs)


# --------------------------------------------------------------------------------------------
# GluonCV PyTorch state dict -> ours
# --------------------------------------------------------------------------------------------

_FLOWS = {"level_fusion_op": "bottom_up_fusion", "level_fusion_op2": "top_down_fusion"}

_GLUONCV_TPN_RULES: tuple[Rule, ...] = (
    (r"conv1\.weight", "stem.conv.weight"),
    (r"bn1\.(\w+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+)\.(conv\d\.weight|bn\d\.\w+)", r"\1.\2"),
    (r"(layer\d\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
    (r"TPN_neck\.spatial_modulation\.spatial_modulation\.(\d+)\.(\d+)\.(conv|bn)\.(\w+)", r"neck.spatial_modulation.levels.\1.\2.\3.\4"),
    (r"TPN_neck\.temporal_modulation_ops\.(\d+)\.conv\.weight", r"neck.temporal_modulation.\1.conv.weight"),
    (r"TPN_neck\.downsampling_ops\.(\d+)\.conv\.weight", r"neck.bottom_up_downsample.\1.conv.weight"),
    (r"TPN_neck\.(level_fusion_op2?)\.ops\.(\d+)\.conv\.weight", lambda m: f"neck.{_FLOWS[m[1]]}.project.{m[2]}.conv.weight"),
    (r"TPN_neck\.(level_fusion_op2?)\.ops\.(\d+)\.norm\.(\w+)", lambda m: f"neck.{_FLOWS[m[1]]}.project.{m[2]}.bn.{m[3]}"),
    (r"TPN_neck\.(level_fusion_op2?)\.fusion_conv\.0\.weight", lambda m: f"neck.{_FLOWS[m[1]]}.fuse.conv.weight"),
    (r"TPN_neck\.(level_fusion_op2?)\.fusion_conv\.1\.(\w+)", lambda m: f"neck.{_FLOWS[m[1]]}.fuse.bn.{m[2]}"),
    (r"TPN_neck\.pyramid_fusion_op\.0\.weight", "neck.pyramid_fusion.conv.weight"),
    (r"TPN_neck\.pyramid_fusion_op\.1\.(\w+)", r"neck.pyramid_fusion.bn.\1"),
    (r"TPN_neck\.aux_head\.convs\.(conv|bn)\.(\w+)", r"aux_head.features.\1.\2"),
    (r"TPN_neck\.aux_head\.fc\.(weight|bias)", r"aux_head.fc.\1"),
)


@register_converter("gluoncv_tpn")
def convert_gluoncv_tpn(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``TPNet`` state dict -> ours.

    ``conv1``/``bn1`` -> ``stem.{conv,bn}``, ``layerI.J.downsample.{0,1}`` -> ``.downsample.{conv,bn}``,
    ``fc`` -> ``head.fc``; neck: ``spatial_modulation.spatial_modulation`` -> ``spatial_modulation.levels``,
    ``temporal_modulation_ops`` -> ``temporal_modulation``, ``downsampling_ops`` -> ``bottom_up_downsample``,
    ``level_fusion_op``/``level_fusion_op2`` -> ``bottom_up_fusion``/``top_down_fusion`` (``ops.I.norm`` ->
    ``project.I.bn``, ``fusion_conv.{0,1}`` -> ``fuse.{conv,bn}``), ``pyramid_fusion_op.{0,1}`` ->
    ``pyramid_fusion.{conv,bn}``, ``TPN_neck.aux_head.convs`` -> ``aux_head.features``.
    """
    return convert(source, model, (*_GLUONCV_TPN_RULES, KEEP), what="GluonCV TPN")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_F8S8_INPUT = InputSpec(clip_len=8, frame_step=8)
_R50_F32S2 = dict(depth=50, temporal_rates=(32, 32), downsample_scale=(1, 1, 1), fusion_pool_scales=((1, 1, 1), (1, 1, 1)))
_register = partial(register_model, builder=tpn_resnet, family="tpn", dataset="kinetics400", num_classes=400,
                    input=InputSpec(clip_len=32, frame_step=2), converters={"pth": "gluoncv_tpn"},
                    source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/tpn.py)")
_register("tpn_resnet101_f16s4_kinetics400", input=InputSpec(frame_step=4),
          kwargs=dict(depth=101, temporal_rates=(8, 16), downsample_scale=(2, 1, 1), fusion_pool_scales=((2, 1, 1), (1, 1, 1))),
          weights=(published("tpn_resnet101_f16s4_kinetics400-647080df.pth", "gluoncv_tpn", 79.39,
                             sha1="647080df950480e6544e6cd471f0024125656593", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet101_f16s4_kinetics400.yaml",
                             description=("Kinetics-400, 16 frames with step 4 (from 64); ImageNet-inflated "
                                          "ResNet-101 init")),),
          description=("TPN on a Slow-only ResNet-101 (16x4 sampling; temporal-modulation rates (8, 16)); the "
                       "auxiliary layer3 head is kept for training and not run at inference."))
_register("tpn_resnet101_f32s2_kinetics400",
          kwargs=dict(depth=101, temporal_rates=(16, 32), downsample_scale=(2, 1, 1), fusion_pool_scales=((2, 1, 1), (1, 1, 1))),
          weights=(published("tpn_resnet101_f32s2_kinetics400-a94422a9.pth", "gluoncv_tpn", 79.7,
                             sha1="a94422a94acda20f34eb07604cd3315307d1a9a2", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet101_f32s2_kinetics400.yaml",
                             description=("Kinetics-400, 32 frames with step 2 (from 64); ImageNet-inflated "
                                          "ResNet-101 init")),),
          description=("TPN on a Slow-only ResNet-101 (32x2 sampling; temporal-modulation rates (16, 32)); the "
                       "auxiliary layer3 head is kept for training and not run at inference."))
_register("tpn_resnet101_f8s8_kinetics400", input=_F8S8_INPUT,
          kwargs=dict(depth=101, temporal_rates=(4, 8), downsample_scale=(2, 1, 1), fusion_pool_scales=((2, 1, 1), (1, 1, 1))),
          weights=(published("tpn_resnet101_f8s8_kinetics400-092c2f7f.pth", "gluoncv_tpn", 78.1,
                             sha1="092c2f7fc98ec9ea204487fa074bc0ca832aba9a", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet101_f8s8_kinetics400.yaml",
                             description=("Kinetics-400, 8 frames with step 8 (from 64); ImageNet-inflated "
                                          "ResNet-101 init")),),
          description=("TPN on a Slow-only ResNet-101 (8x8 sampling; temporal-modulation rates (4, 8)); the auxiliary "
                       "layer3 head is kept for training and not run at inference."))
_register("tpn_resnet50_f16s4_kinetics400", input=InputSpec(frame_step=4),
          kwargs=dict(depth=50, temporal_rates=(16, 16), downsample_scale=(1, 1, 1), fusion_pool_scales=((1, 1, 1), (1, 1, 1))),
          weights=(published("tpn_resnet50_f16s4_kinetics400-6bf899df.pth", "gluoncv_tpn", 77.33,
                             sha1="6bf899df92224d3c0c117c940ef0c95d51fedb26", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet50_f16s4_kinetics400.yaml",
                             description=("Kinetics-400, 16 frames with step 4 (from 64); ImageNet-inflated "
                                          "ResNet-50 init")),),
          description=("TPN on a Slow-only ResNet-50 (16x4 sampling; temporal-modulation rates (16, 16)); the "
                       "auxiliary layer3 head is kept for training and not run at inference."))
_register("tpn_resnet50_f32s2_custom", dataset="custom", kwargs=_R50_F32S2,
          weights=(published("tpn_resnet50_f32s2_kinetics400-27710ce8.pth", "gluoncv_tpn", 78.9,
                             sha1="27710ce8091a317f50fc55e171b29c096b3d253e", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "tpn_resnet50_f32s2_kinetics400.yaml",
                             description=("the tpn_resnet50_f32s2_kinetics400 weights (Kinetics-400) to fine-tune "
                                          "from")),),
          description=("TPN ResNet-50 (32x2) for fine-tuning on your own dataset (GluonCV tpn_resnet50_f32s2_custom): "
                       "get_model(name, pretrained=True, num_classes=N) loads tpn_resnet50_f32s2_kinetics400's weights"
                       " except the classifier and the auxiliary classifier, which start fresh."))
_register("tpn_resnet50_f32s2_kinetics400", kwargs=_R50_F32S2,
          weights=(published("tpn_resnet50_f32s2_kinetics400-27710ce8.pth", "gluoncv_tpn", 78.9,
                             sha1="27710ce8091a317f50fc55e171b29c096b3d253e", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet50_f32s2_kinetics400.yaml",
                             description=("Kinetics-400, 32 frames with step 2 (from 64); ImageNet-inflated "
                                          "ResNet-50 init")),),
          description=("TPN on a Slow-only ResNet-50 (32x2 sampling; temporal-modulation rates (32, 32)); the "
                       "auxiliary layer3 head is kept for training and not run at inference."))
_register("tpn_resnet50_f8s8_kinetics400", input=_F8S8_INPUT,
          kwargs=dict(depth=50, temporal_rates=(8, 8), downsample_scale=(1, 1, 1), fusion_pool_scales=((1, 1, 1), (1, 1, 1))),
          weights=(published("tpn_resnet50_f8s8_kinetics400-368108eb.pth", "gluoncv_tpn", 77.04,
                             sha1="368108eb6bca9143318937319c3efec09e0419af", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "tpn_resnet50_f8s8_kinetics400.yaml",
                             description=("Kinetics-400, 8 frames with step 8 (from 64); ImageNet-inflated "
                                          "ResNet-50 init")),),
          description=("TPN on a Slow-only ResNet-50 (8x8 sampling; temporal-modulation rates (8, 8)); the auxiliary "
                       "layer3 head is kept for training and not run at inference."))


# --------------------------------------------------------------------------------------------
# mmaction2's TPN on SlowOnly: the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_MM_FLOWS = {"1": "top_down_fusion", "2": "bottom_up_fusion"}
_MM_TPN_NECK_RULES = (
    Rule(r"neck\.spatial_modulation\.spatial_modulation\.(\d+)\.(\d+)\.(conv|bn)\.(\w+)", r"neck.spatial_modulation.levels.\1.\2.\3.\4"),
    Rule(r"neck\.temporal_modulation_ops\.(\d+)\.conv\.conv\.weight", r"neck.temporal_modulation.\1.conv.weight"),
    Rule(r"neck\.downsample_ops\.(\d+)\.conv\.conv\.weight", r"neck.bottom_up_downsample.\1.conv.weight"),
    Rule(r"neck\.level_fusion_([12])\.downsamples\.(\d+)\.conv\.(conv|bn)\.(\w+)", lambda m: f"neck.{_MM_FLOWS[m[1]]}.project.{m[2]}.{m[3]}.{m[4]}"),
    Rule(r"neck\.level_fusion_([12])\.fusion_conv\.(conv|bn)\.(\w+)", lambda m: f"neck.{_MM_FLOWS[m[1]]}.fuse.{m[2]}.{m[3]}"),
    Rule(r"neck\.pyramid_fusion\.(conv|bn)\.(\w+)", r"neck.pyramid_fusion.\1.\2"),
    Rule(r"neck\.aux_head\.conv\.(conv|bn)\.(\w+)", r"aux_head.features.\1.\2"),
    Rule(r"neck\.aux_head\.fc\.(weight|bias)", r"aux_head.fc.\1"),
)
_MM_TPN_RULES = (*_MM_TPN_NECK_RULES, *RESNET3D_RULES)


@register_converter("mmaction2_tpn")
def convert_mmaction2_tpn(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TPN-SlowOnly checkpoints (``backbone.*``, ``neck.*``, ``cls_head.fc_cls``) -> our :class:`TPNet`."""
    return convert(source, model, _MM_TPN_RULES, what="mmaction2 TPN")


#: mmaction2's TPN on ``ResNetTSM``: the 2D backbone's keys (:data:`RESNET2D_RULES`, shifted ``conv1.net``)
#: onto the folded-frames stem and stages of ``TPNet(backbone="tsm")``; the neck's as for SlowOnly.
_MM_TPN_TSM_RULES = (
    Rule(r"backbone\.conv1\.conv\.weight", "stem.0.weight"),
    Rule(r"backbone\.conv1\.bn\.(\w+)", r"stem.1.\1"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.fc.\1"),
    *_MM_TPN_NECK_RULES,
    *(Rule(rule.source, rule.target.replace("backbone.", "", 1)) for rule in RESNET2D_RULES if "layer" in rule.source
      and "non_local" not in rule.source),
)


@register_converter("mmaction2_tpn_tsm")
def convert_mmaction2_tpn_tsm(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TPN-TSM checkpoints (``backbone.*`` of ``ResNetTSM``, ``neck.*``, ``cls_head.fc_cls``) -> our
    :class:`TPNet` with ``backbone="tsm"``."""
    return convert(source, model, _MM_TPN_TSM_RULES, what="mmaction2 TPN-TSM")


_register_mm = partial(register_mmaction2, builder=tpn_resnet, family="tpn", converter="mmaction2_tpn")

_register_mm("tpn_slowonly_resnet50_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'temporal_rates': (8, 8), 'downsample_scale': (1, 1, 1), 'fusion_pool_scales': ((1, 1, 1), (1, 1, 1))},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tpn/tpn-slowonly_r50_8xb8-8x8x1-150e_kinetics400-rgb/tpn-slowonly_r50_8xb8-8x8x1-150e_kinetics400-rgb_20220913-97d0835d.pth",
             top1=74.2, top5=91.48, pretraining="Scratch", config="tpn/tpn-slowonly_r50_8xb8-8x8x1-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="TPN on SlowOnly ResNet-50 (levels res4 and res5), 8x8 sampling, from scratch, mmaction2's weights.")

_register_mm("tpn_slowonly_resnet50_in1k_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'temporal_rates': (8, 8), 'downsample_scale': (1, 1, 1), 'fusion_pool_scales': ((1, 1, 1), (1, 1, 1))},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tpn/tpn-slowonly_imagenet-pretrained-r50_8xb8-8x8x1-150e_kinetics400-rgb/tpn-slowonly_imagenet-pretrained-r50_8xb8-8x8x1-150e_kinetics400-rgb_20220913-fed3f4c1.pth",
             top1=76.74, top5=92.57, pretraining="ImageNet", config="tpn/tpn-slowonly_imagenet-pretrained-r50_8xb8-8x8x1-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the metafile"),
             description="TPN on SlowOnly ResNet-50 (levels res4 and res5), 8x8 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("tpn_tsm_resnet50_seg8_sthsthv1", dataset="sthsthv1", converter="mmaction2_tpn_tsm", kwargs={'depth': 50, 'backbone': 'tsm', 'tsm_frames': 8, 'temporal_rates': (8, 8), 'downsample_scale': (1, 1, 1), 'fusion_pool_scales': ((1, 1, 1), (1, 1, 1))},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM,
                             note="8 frames, one from each of 8 equal segments of the video (TSN sampling), run per frame by the TSM ResNet"),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tpn/tpn-tsm_imagenet-pretrained-r50_8xb8-1x1x8-150e_sthv1-rgb/tpn-tsm_imagenet-pretrained-r50_8xb8-1x1x8-150e_sthv1-rgb_20230221-940a3615.pth",
             top1=51.87, top5=79.67, pretraining="ImageNet", config="tpn/tpn-tsm_imagenet-pretrained-r50_8xb8-1x1x8-150e_sthv1-rgb.py",
             protocol=mm_protocol("8 segments sampled twice (twice_sample: 2 clips of 8 frames) x 3 crops (ThreeCrop 256px after short side 256)", "the README table and the metafile (they agree; the README's protocol column says 8 clips x 3 crop)"),
             description="TPN on a TSM ResNet-50 (2D ResNet per frame with temporal shifts; TPN levels res4 and res5 over the 8 frames), Something-Something V1, ImageNet-initialised backbone, mmaction2's weights.")
