"""Temporal Relation Network (TRN; Zhou et al., "Temporal Relational Reasoning in Videos", ECCV 2018).

A 2D ResNet runs on each of the ``T`` frames (one per TSN segment); each frame's pooled features are
projected to ``hidden`` (256) channels, and a multi-scale relation head reasons over ordered tuples
of frames: for every scale ``s = T, T-1, ..., 2`` a small MLP (ReLU, ``Linear(s * hidden, 256)``,
ReLU, ``Linear(256, num_classes)``) scores tuples of ``s`` frames (in time order) and the scores of
all scales are added.

**Which tuples.**  At scale ``T`` there is one tuple (all frames).  At each smaller scale mmaction2's
``RelationModuleMultiScale`` draws ``min(3, C(T, s))`` of the ``C(T, s)`` tuples at random
(``numpy.random.choice`` without replacement) at *every* forward pass, in training and in testing
alike, and adds their scores; its test results are therefore not reproducible run to run.  Ours
(:class:`MultiScaleRelation`):

* in ``eval()`` mode, by default, scores **every** tuple of a scale and adds their mean times the
  number mmaction2 draws (3): exactly the expected value of mmaction2's output over its random draw
  (the draw only chooses which terms enter a sum), so the result is deterministic and unbiased;
* in ``train()`` mode draws at random as mmaction2 does (from torch's generator, so
  ``torch.manual_seed`` makes it repeatable);
* with :meth:`MultiScaleRelation.set_draws` uses given tuple indices at every scale (mmaction2's own
  draw: the parity test records the reference's draw and gives it to ours, so the comparison is exact).

Weights: mmaction2's Something-Something V1/V2 files (``configs/recognition/trn``), converted by
:func:`convert_mmaction2_trn` from its ``ResNet`` + ``TRNHead`` layout.
"""
from __future__ import annotations

import itertools
import math
from functools import partial
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import InputSpec, register_converter
from ._backbones_small import ResNet2d
from ._interface import VideoClassifier
from ._mmaction2 import IMAGENET_NORM, RESNET2D_RULES, register_mmaction2

__all__ = ["MultiScaleRelation", "TRN", "trn_resnet", "convert_mmaction2_trn"]


class MultiScaleRelation(nn.Module):
    """Multi-scale temporal relations: ``(N, T, hidden)`` frame codes -> logits ``(N, num_classes)``.

    ``fusion[i]`` scores tuples of ``T - i`` frames; ``draws_per_scale`` tuples (at most) enter the
    sum at each scale below ``T`` (mmaction2: 3).  See the module docstring for which tuples.
    """

    def __init__(self, num_frames: int, hidden: int, num_classes: int, *, bottleneck: int = 256,
                 draws_per_scale: int = 3) -> None:
        super().__init__()
        if num_frames < 2:
            raise ValueError(f"TRN relates at least 2 frames, got num_frames={num_frames}")
        self.num_frames = num_frames
        self.scales = list(range(num_frames, 1, -1))
        for scale in self.scales:  # every ordered tuple of `scale` frames, as itertools.combinations lists them
            tuples = torch.tensor(list(itertools.combinations(range(num_frames), scale)))
            self.register_buffer(f"tuples_{scale}", tuples, persistent=False)
        self.draws = [1] + [min(draws_per_scale, math.comb(num_frames, s)) for s in self.scales[1:]]
        self.fusion = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(scale * hidden, bottleneck), nn.ReLU(), nn.Linear(bottleneck, num_classes))
            for scale in self.scales)
        self.fixed_draws: list[list[int]] | None = None

    def set_draws(self, draws: Sequence[Sequence[int]] | None) -> None:
        """Use the tuple indices ``draws[i]`` at scale ``T - 1 - i`` (mmaction2's ``idx_relations_randomsample``
        of scales ``T-1 .. 2``) at every forward; ``None`` goes back to the default (expectation / random)."""
        if draws is not None:
            draws = [[int(i) for i in row] for row in draws]
            if len(draws) != len(self.scales) - 1:
                raise ValueError(f"need one row of tuple indices per scale {self.scales[1:]}, got {len(draws)} rows")
        self.fixed_draws = draws

    def _tuples(self, scale: int) -> torch.Tensor:
        return getattr(self, f"tuples_{scale}")

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        n, t, hidden = codes.shape
        if t != self.num_frames:
            raise ValueError(f"the relation head was built for {self.num_frames} frames, got {t}")
        logits = 0
        for i, (scale, fusion) in enumerate(zip(self.scales, self.fusion)):
            tuples = self._tuples(scale)
            if i > 0 and self.fixed_draws is not None:
                tuples = tuples[self.fixed_draws[i - 1]]
            elif i > 0 and self.training:
                tuples = tuples[torch.randperm(len(tuples), device=tuples.device)[: self.draws[i]]]
            scores = fusion(codes[:, tuples].reshape(n, tuples.shape[0], scale * hidden))  # (N, R, classes)
            if i == 0 or self.fixed_draws is not None or self.training:
                logits = logits + scores.sum(dim=1)
            else:  # the expected sum of `draws` tuples drawn without replacement
                logits = logits + scores.mean(dim=1) * self.draws[i]
        return logits


class TRN(VideoClassifier):
    """TRN over a 2D ResNet: ``(N, 3, T, H, W)`` -> logits ``(N, num_classes)``.

    ``forward_features`` gives the per-frame pooled features in time order, ``(N, T * feat_dim)``
    (``feat_dim`` 2048 for ResNet-50); ``forward_head``: dropout, ``fc`` to ``hidden`` per frame, then
    :class:`MultiScaleRelation`.  Its classifiers (what :meth:`reset_classifier` replaces) are the last
    ``Linear`` of each scale's MLP.

    Args:
        depth: the ResNet's depth.
        num_frames: ``T`` (TSN segments, 8 for the published files).
        hidden: width of each frame's code (256).
        dropout_ratio: dropout on the frame features before ``fc`` (0.8 upstream).
        init_std: std of the normal initialisation of ``fc`` and of new classifiers.
        partial_bn: TSN's partial BatchNorm while training (mmaction2's TRN trains with it).
    """

    def __init__(self, num_classes: int, depth: int = 50, *, num_frames: int = 8, hidden: int = 256,
                 dropout_ratio: float = 0.8, init_std: float = 0.001, partial_bn: bool = False) -> None:
        super().__init__()
        self.num_frames = num_frames
        self.backbone = ResNet2d(depth)
        self.frame_features = self.backbone.feat_dim
        self.num_features = num_frames * self.frame_features
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(self.frame_features, hidden)
        nn.init.normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)
        self.relations = MultiScaleRelation(num_frames, hidden, num_classes)
        self.init_std = init_std
        self.partial_bn = partial_bn

    @property
    def classifier_names(self) -> tuple[str, ...]:
        return tuple(f"relations.fusion.{i}.3" for i in range(len(self.relations.fusion)))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> per-frame pooled features ``(N, T * feat_dim)``, frame by frame."""
        n, c, t, h, w = x.shape
        if t != self.num_frames:
            raise ValueError(f"this TRN was built for {self.num_frames} frames, got T={t}; "
                             f"pass num_frames={t} to get_model")
        return self.backbone(x.transpose(1, 2).reshape(n * t, c, h, w)).reshape(n, -1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, T * feat_dim)`` -> logits ``(N, num_classes)``: dropout, ``fc`` per frame, relations."""
        frames = features.reshape(features.shape[0], self.num_frames, self.frame_features)
        return self.relations(self.fc(self.dropout(frames)))


def trn_resnet(num_classes: int, depth: int = 50, **kwargs) -> TRN:
    """TRN (multi-scale relations) over ResNet-``depth``; ``kwargs`` as :class:`TRN`."""
    return TRN(num_classes, depth, **kwargs)


#: mmaction2's ``ResNet`` (:data:`~zoo.models._mmaction2.RESNET2D_RULES`) and ``TRNHead``: ``fc_cls`` (frame
#: features -> hidden) and ``consensus.fc_fusion_scales`` (one MLP per scale).
_MM_TRN_RULES = (
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
    Rule(r"cls_head\.consensus\.fc_fusion_scales\.(\d+)\.([13])\.(weight|bias)", r"relations.fusion.\1.\2.\3"),
    *RESNET2D_RULES,
)


@register_converter("mmaction2_trn")
def convert_mmaction2_trn(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TRN checkpoints (``backbone.*`` of its 2D ``ResNet``, ``cls_head.*`` of ``TRNHead``) -> :class:`TRN`."""
    return convert(source, model, _MM_TRN_RULES, what="mmaction2 TRN")


_SEGMENTS_NOTE = ("8 frames, one from each of 8 equal segments of the video (TSN sampling), run per frame by the "
                  "ResNet; the relation head scores ordered tuples of them")
_register_mm = partial(register_mmaction2, builder=trn_resnet, family="trn", converter="mmaction2_trn",
                       kwargs={"depth": 50, "num_frames": 8, "partial_bn": True},
                       input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256,
                                       **IMAGENET_NORM, note=_SEGMENTS_NOTE))
_PROTOCOL = ("mmaction2 test: 8 segments sampled twice (twice_sample: 2 clips of 8 frames) x 3 crops (ThreeCrop "
             "256px after short side 256), scores averaged (average_clips='prob'), with mmaction2's random draw of "
             "frame tuples; top-1/top-5 'accurate' of the README table and the metafile (they agree; the README's "
             "protocol column says 16 clips x 10 crop, its 'efficient' figures {efficient})")

_register_mm("trn_resnet50_seg8_sthsthv1",
             dataset="sthsthv1",
             description="TRN (multi-scale temporal relations) over ResNet-50, 8 segments, Something-Something V1, "
                         "mmaction2's weights. In eval mode the relation head adds the expected value of mmaction2's "
                         "random draw of frame tuples (every tuple scored), so results are deterministic.",
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv1-rgb/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv1-rgb_20220815-e13db2e9.pth",
             top1=33.65, top5=62.22,
             config="trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv1-rgb.py",
             pretraining="ImageNet",
             protocol=_PROTOCOL.format(efficient="31.60/60.15"))

_register_mm("trn_resnet50_seg8_sthsthv2",
             dataset="sthsthv2",
             description="TRN (multi-scale temporal relations) over ResNet-50, 8 segments, Something-Something V2, "
                         "mmaction2's weights. In eval mode the relation head adds the expected value of mmaction2's "
                         "random draw of frame tuples (every tuple scored), so results are deterministic.",
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb_20220815-e01617db.pth",
             top1=51.2, top5=78.42,
             config="trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py",
             pretraining="ImageNet",
             protocol=_PROTOCOL.format(efficient="47.65/76.27"))
