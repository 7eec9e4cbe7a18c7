"""Temporal Shift Module (TSM), Temporal Aggregation Module (TAM) and the C2D baseline.

* **TSM** (Lin et al., ICCV 2019): a 2D ResNet run on every frame, where the residual branch of each
  block first shifts ``1/fold_div`` of its channels one frame back in time and another ``1/fold_div``
  one frame forward (zero-padded at the clip ends).  The shift costs no parameters or FLOPs; the
  following 2D convolutions then mix neighbouring frames.
* **TAM** (Fan et al., "More Is Less", NeurIPS 2019; IBM's bLVNet-TAM): the same insertion point,
  but a learned depthwise temporal aggregation: per channel, the previous, current and next frame
  are weighted, summed and rectified (:func:`temporal_aggregation`, also IBM's TAM-ResNet's).
* **C2D** (Wang et al., "Non-local Neural Networks", 2018): ResNet-50 with ``1 x k x k`` kernels
  only (a per-frame 2D network) on a 3D tensor, with temporal max-pooling in the stem and after
  ``res2``; time is modelled only by those pools and the final average.

TSM/TAM input ``(N, 3, T, H, W)``: the ``T`` frames are the segments (``num_segments = T``);
per-frame features are averaged (TSN consensus).  All return ``(N, num_classes)``.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_model
from ._mmaction2 import IMAGENET_NORM, SEGMENTS_NOTE, mm_protocol, register_mmaction2
from ._backbones_small import ResNet2d
from ._tsn_backbones import MobileOne
from ._interface import VideoClassifier, segment_consensus
from ._resnet3d import Bottleneck3d, ClassifierHead3d, NonLocal3d, ResNet3d, Stem3d, init_weights, make_stage

__all__ = [
    "temporal_shift", "TemporalShift", "temporal_aggregation", "TemporalAggregation", "TemporalAggregation3d",
    "TemporalResNet", "TemporalMobileOne", "FramesNonLocal", "tsm_resnet", "tsm_mobileone", "tam_resnet", "c2d_resnet",
]


def temporal_shift(x: torch.Tensor, num_segments: int, fold_div: int = 8) -> torch.Tensor:
    """Shift channels in time: ``(N * T, C, H, W)`` -> same shape.

    Channels ``[0, C/fold_div)`` take the *next* frame's values (shift towards the past), channels
    ``[C/fold_div, 2C/fold_div)`` the *previous* frame's (shift towards the future), the rest stay;
    frames shifted in from outside the clip are zeros.
    """
    nt, c, h, w = x.shape
    if nt % num_segments:
        raise ValueError(f"batch of {nt} frames is not a multiple of num_segments={num_segments}")
    x = x.view(nt // num_segments, num_segments, c, h, w)
    fold = c // fold_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]
    out[:, 1:, fold : 2 * fold] = x[:, :-1, fold : 2 * fold]
    out[:, :, 2 * fold :] = x[:, :, 2 * fold :]
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    """:func:`temporal_shift` then ``net`` (the wrapped conv): ``(N * T, C, H, W)`` -> ``net``'s output."""

    def __init__(self, net: nn.Module, num_segments: int, fold_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.fold_div = fold_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.fold_div))


def temporal_aggregation(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """TAM: ``relu(k[0] * x[t-1] + k[1] * x[t] + k[2] * x[t+1])`` per channel, zeros beyond the clip ends.

    ``x``: ``(N, C, T, H, W)``; ``kernel``: ``(C, 1, 3, 1, 1)`` (previous, current, next frame per
    channel, a depthwise ``3x1x1`` conv weight).  Returns ``(N, C, T, H, W)``.
    """
    # every argument spelt out and none taken from x: int8 lowering prepacks the weight from them
    return F.relu(F.conv3d(x, kernel, None, (1, 1, 1), (1, 0, 0), (1, 1, 1), kernel.shape[0]))


class TemporalAggregation3d(nn.Module):
    """TAM on clips: ``(N, C, T, H, W) -> (N, C, T, H, W)``, :func:`temporal_aggregation` with the
    depthwise ``3x1x1`` weight ``conv.weight`` (IBM's TAM-ResNet layout)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, channels, (3, 1, 1), padding=(1, 0, 0), groups=channels, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return temporal_aggregation(x, self.conv.weight)


class TemporalAggregation(nn.Module):
    """TAM on frames folded into the batch, then ``net``: ``(N * T, C, H, W)`` -> ``net``'s output.

    :func:`temporal_aggregation` with per-channel weights held as three depthwise ``1x1`` convs
    ``prev``, ``current``, ``next`` (the parameter layout of :class:`TemporalResNet`).
    """

    def __init__(self, net: nn.Module, num_segments: int, channels: int) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.prev = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
        self.current = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
        self.next = nn.Conv2d(channels, channels, 1, groups=channels, bias=False)
        # start as the identity (plus small neighbour weights) so an inserted TAM does not disturb
        # a pretrained 2D network
        nn.init.ones_(self.current.weight)
        nn.init.constant_(self.prev.weight, 0.1)
        nn.init.constant_(self.next.weight, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        t = self.num_segments
        if nt % t:
            raise ValueError(f"batch of {nt} frames is not a multiple of num_segments={t}")
        kernel = torch.stack([self.prev.weight, self.current.weight, self.next.weight], dim=2)  # (C, 1, 3, 1, 1)
        clips = x.view(-1, t, c, h, w).transpose(1, 2)
        out = temporal_aggregation(clips, kernel).transpose(1, 2).reshape(nt, c, h, w)
        return self.net(out)


class FramesNonLocal(nn.Module):
    """``block`` then a non-local block over the clip's frames: ``(N * T, C, H, W) -> (N * T, C', H', W')``.

    The frames of each clip are stacked to ``(N, C', T, H', W')`` for ``nonlocal_block`` and unstacked again.
    """

    def __init__(self, block: nn.Module, num_segments: int, nonlocal_block: nn.Module) -> None:
        super().__init__()
        self.block = block
        self.nonlocal_block = nonlocal_block
        self.num_segments = num_segments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        nt, c, h, w = x.shape
        clips = x.view(nt // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        return self.nonlocal_block(clips).transpose(1, 2).reshape(nt, c, h, w)


class TemporalResNet(VideoClassifier):
    """A per-frame 2D ResNet whose residual branches get a temporal module (TSM, TAM or none).

    Input ``(N, 3, T, H, W)`` (``T == num_segments``); output logits ``(N, num_classes)``;
    ``forward_features`` gives the mean of the per-frame features ``(N, F)``.

    Args:
        temporal: ``"shift"`` (TSM), ``"tam"`` or ``"none"`` (plain TSN).
        depth, widths, stem: the :class:`ResNet2d` trunk.
        num_segments: frames per clip the temporal modules assume (checked on every call).
        fold_div: TSM shifts ``2/fold_div`` of the channels.
        dropout_ratio: dropout before the classifier.
        nonlocal_freq: per stage, 1/0 per block: a :class:`~zoo.models._resnet3d.NonLocal3d` over the
            clip's frames follows that block (:class:`FramesNonLocal`); ``nonlocal_kwargs`` are its arguments.
    """

    def __init__(
        self,
        num_classes: int,
        temporal: str = "shift",
        depth: int = 50,
        num_segments: int = 8,
        fold_div: int = 8,
        widths: Sequence[int] = (64, 128, 256, 512),
        stem: str = "imagenet",
        dropout_ratio: float = 0.5,
        nonlocal_freq: Sequence[Sequence[int]] | None = None,
        nonlocal_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if temporal not in ("shift", "tam", "none"):
            raise ValueError(f"temporal must be 'shift', 'tam' or 'none', got {temporal!r}")
        self.temporal = temporal
        self.num_segments = num_segments
        self.backbone = ResNet2d(depth, widths, stem=stem)
        for block in self.backbone.blocks():
            conv1 = block.conv1
            if temporal == "shift":
                block.conv1 = TemporalShift(conv1, num_segments, fold_div)
            elif temporal == "tam":
                block.conv1 = TemporalAggregation(conv1, num_segments, conv1.in_channels)
        for stage, flags in enumerate(nonlocal_freq or ()):
            layer = getattr(self.backbone, f"layer{stage + 1}")
            for index, flag in enumerate(flags):
                if flag:
                    block = layer[index]
                    layer[index] = FramesNonLocal(block, num_segments,
                                                  NonLocal3d(block.conv3.out_channels, **(nonlocal_kwargs or {})))
        self._make_head(num_classes, dropout_ratio)

    def _make_head(self, num_classes: int, dropout_ratio: float) -> None:
        """Dropout and the classifier ``fc`` over the trunk's ``feat_dim`` features."""
        self.num_features = self.backbone.feat_dim
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(self.num_features, num_classes)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the per-frame features averaged over ``T``, ``(N, num_features)``."""
        n, c, t, h, w = x.shape
        if t != self.num_segments:
            raise ValueError(f"{type(self).__name__} was built for {self.num_segments} frames, got T={t}; "
                             f"pass num_segments={t} to get_model")
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        return segment_consensus(self.backbone(frames), t)


class TemporalMobileOne(TemporalResNet):
    """TSM on MobileOne (mmaction2's ``MobileOneTSM``): every block of the trunk, ``stage0``
    included, gets its input shifted in time (:class:`TemporalShift` around the whole block, so
    the identity branch sees the shifted input too).  Input ``(N, 3, T, H, W)``, ``T == num_segments``.

    ``shift_segments`` (default ``num_segments``) is the run of frames the shift treats as one clip:
    mmaction2's 16-segment MobileOne config sets 16 segments on its head only, so its backbone keeps
    8 and shifts frames 0-7 and 8-15 as two clips; that published network has ``shift_segments=8``.
    """

    def __init__(self, num_classes: int, arch: str = "s4", num_segments: int = 8, fold_div: int = 8,
                 dropout_ratio: float = 0.5, shift_segments: int | None = None) -> None:
        VideoClassifier.__init__(self)  # TemporalResNet's head and forward, over another trunk
        shift_segments = shift_segments or num_segments
        if num_segments % shift_segments:
            raise ValueError(f"num_segments={num_segments} is not a multiple of shift_segments={shift_segments}")
        self.temporal = "shift"
        self.num_segments = num_segments
        self.backbone = MobileOne(arch)
        self.backbone.stage0 = TemporalShift(self.backbone.stage0, shift_segments, fold_div)
        for i in range(1, 5):
            stage = getattr(self.backbone, f"stage{i}")
            for index, block in enumerate(stage):
                stage[index] = TemporalShift(block, shift_segments, fold_div)
        self._make_head(num_classes, dropout_ratio)


def tsm_resnet(num_classes: int, depth: int = 50, **kwargs) -> TemporalResNet:
    """TSM on ResNet-``depth`` (kwargs of :class:`TemporalResNet`)."""
    return TemporalResNet(num_classes, temporal="shift", depth=depth, **kwargs)


def tsm_mobileone(num_classes: int, arch: str = "s4", **kwargs) -> TemporalMobileOne:
    """TSM on MobileOne-``arch`` (kwargs of :class:`TemporalMobileOne`)."""
    return TemporalMobileOne(num_classes, arch=arch, **kwargs)


def tam_resnet(num_classes: int, depth: int = 50, **kwargs) -> TemporalResNet:
    """TAM on ResNet-``depth`` (kwargs of :class:`TemporalResNet`)."""
    return TemporalResNet(num_classes, temporal="tam", depth=depth, **kwargs)


def c2d_resnet(
    num_classes: int,
    layers: Sequence[int] = (3, 4, 6, 3),
    widths: Sequence[int] = (64, 128, 256, 512),
    stem_width: int = 64,
    temporal_pools: bool = True,
    dropout_ratio: float = 0.5,
    stem_temporal_pool: bool | None = None,
    stem_pool_padding: int = 1,
) -> ResNet3d:
    """C2D ResNet: ``(N, 3, T, H, W)`` -> ``(N, num_classes)``.

    Stem ``1x7x7/(1,2,2)`` conv and ``1x3x3`` max-pool, bottleneck stages with ``1x1x1`` and
    ``1x3x3`` kernels only.  ``temporal_pools`` adds the temporal stride 2 of the stem pool and a
    ``2x1x1/2`` max-pool after ``res2`` (so ``T`` must be a multiple of 4), as in the non-local
    paper's C2D baseline.  ``widths`` are bottleneck planes (outputs are 4x).
    ``stem_temporal_pool=False`` keeps only the pool after ``res2`` and ``stem_pool_padding=0``
    drops the stem pool's spatial padding (mmaction2's C2D, after video-nonlocal-net's speed-ups).
    """
    temporal_stem = temporal_pools if stem_temporal_pool is None else stem_temporal_pool
    pool_stride = (2, 2, 2) if temporal_stem else (1, 2, 2)
    pool_kernel = (2, 3, 3) if temporal_stem else (1, 3, 3)
    stem = Stem3d(3, stem_width, (1, 7, 7), (1, 2, 2), pool_kernel=pool_kernel, pool_stride=pool_stride,
                  pool_padding=(0, stem_pool_padding, stem_pool_padding))
    stages, in_planes = [], stem_width
    for i, (planes, count) in enumerate(zip(widths, layers)):
        stride = (1, 1, 1) if i == 0 else (1, 2, 2)
        stages.append(make_stage(Bottleneck3d, in_planes, planes, count, stride=stride))
        in_planes = planes * Bottleneck3d.expansion
    pools = {0: nn.MaxPool3d((2, 1, 1), (2, 1, 1))} if temporal_pools else None
    head = ClassifierHead3d(in_planes, num_classes, dropout_ratio=dropout_ratio)
    model = ResNet3d(stem, stages, head, pools)
    init_weights(model)
    return model


_DOC_TSM = ("clip of T=8 frames, one per TSN segment (uniform sampling over the video); the 2D ResNet "
            "runs per frame and the per-frame logits are averaged")
register_model(
    "tsm_resnet50",
    tsm_resnet,
    family="tsm",
    dataset="",
    num_classes=400,
    kwargs={"depth": 50, "num_segments": 8},
    input=InputSpec(clip_len=8, frame_step=1, crop_size=224, short_side=256, note=_DOC_TSM),
    description="Temporal Shift Module (1/8 of channels shifted each way) in every residual branch of ResNet-50; no weights.",
    source="zoo",
)
register_model(
    "tam_resnet50",
    tam_resnet,
    family="tam",
    dataset="",
    num_classes=400,
    kwargs={"depth": 50, "num_segments": 8},
    input=InputSpec(clip_len=8, frame_step=1, crop_size=224, short_side=256, note=_DOC_TSM),
    description="Temporal Aggregation Module (depthwise prev/current/next blending) in every residual branch of ResNet-50; no weights.",
    source="zoo",
)
register_model(
    "c2d_resnet50",
    c2d_resnet,
    family="c2d",
    dataset="",
    num_classes=400,
    input=InputSpec(clip_len=8, frame_step=8, crop_size=224, short_side=256,
                    note="T must be a multiple of 4 (temporal max-pools in the stem and after res2)"),
    description="C2D baseline: ResNet-50 with 1xkxk kernels on a clip, temporal max-pooling only; no weights.",
    source="zoo",
)


# --------------------------------------------------------------------------------------------
# mmaction2's TSM ResNets: the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_register_mm = partial(register_mmaction2, builder=tsm_resnet, family="tsm", converter="mmaction2_resnet2d")

_register_mm("tsm_resnet50_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb_20220831-64d69186.pth",
             top1=73.18, top5=90.56, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 8 segments, mmaction2's weights.")

_register_mm("tsm_resnet50_seg8_e100_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-100e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-100e_kinetics400-rgb_20220831-a6db1e5d.pth",
             top1=73.22, top5=90.22, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-100e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 8 segments, mmaction2's weights.")

_register_mm("tsm_resnet50_seg16_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 16},
             input=InputSpec(clip_len=16, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=16)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb_20220831-042b1748.pth",
             top1=75.12, top5=91.55, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb.py",
             protocol=mm_protocol("16 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 16 segments, mmaction2's weights.")

_register_mm("tsm_resnet50_dense_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-dense-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50_8xb16-dense-1x1x8-50e_kinetics400-rgb_20220831-f55d3c2b.pth",
             top1=73.38, top5=90.78, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-dense-1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (dense segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 8 segments (dense sampling), mmaction2's weights.")

_register_mm("tsm_resnet101_seg8_sthsthv2", dataset="sthsthv2", kwargs={'depth': 101, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb/tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb_20230320-efcc0d1b.pth",
             top1=63.7, top5=88.28, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb.py",
             protocol=mm_protocol("16 frames (uniform segments, twice_sample) x 3 crops (ThreeCrop 256px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-101, 8 segments, mmaction2's weights. mmaction2's metafile lists this file twice, once tagged Kinetics-400; its config, classifier (174 classes) and README table say Something-Something V2, which the card follows.")

_register_mm("tsm_resnet50_seg8_sthsthv2", dataset="sthsthv2", kwargs={'depth': 50, 'num_segments': 8},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb_20230317-be0fc26e.pth",
             top1=62.72, top5=87.7, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py",
             protocol=mm_protocol("16 frames (uniform segments, twice_sample) x 3 crops (ThreeCrop 256px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 8 segments, mmaction2's weights.")

_register_mm("tsm_resnet50_seg16_sthsthv2", dataset="sthsthv2", kwargs={'depth': 50, 'num_segments': 16},
             input=InputSpec(clip_len=16, frame_step=1, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=16)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb_20230317-ec6696ad.pth",
             top1=64.16, top5=88.61, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_sthv2-rgb.py",
             protocol=mm_protocol("32 frames (uniform segments, twice_sample) x 3 crops (ThreeCrop 256px after short side 256)"),
             description="TSM (1/8 of channels shifted each way in every residual branch) over ResNet-50, 16 segments, mmaction2's weights.")

_register_mm("tsm_nl_embeddedgaussian_resnet50_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8, 'nonlocal_freq': ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'embedded_gaussian', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_kinetics400-rgb_20220831-35eddb57.pth",
             top1=74.34, top5=91.23, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50-nl-embedded-gaussian_8xb16-1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM over ResNet-50 with 5 embedded-Gaussian non-local blocks over the 8 frames (res3, res4; sub-sampled, unscaled affinity), mmaction2's weights.")

_register_mm("tsm_nl_dotproduct_resnet50_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8, 'nonlocal_freq': ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'dot_product', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50-nl-dot-product_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50-nl-dot-product_8xb16-1x1x8-50e_kinetics400-rgb_20220831-108bfde5.pth",
             top1=74.49, top5=91.15, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50-nl-dot-product_8xb16-1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM over ResNet-50 with 5 dot-product non-local blocks over the 8 frames (res3, res4; sub-sampled, unscaled affinity), mmaction2's weights.")

_register_mm("tsm_nl_gaussian_resnet50_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'num_segments': 8, 'nonlocal_freq': ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'gaussian', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=8, frame_step=1, num_segments=1, crop_size=224, short_side=256, **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=8)),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-r50-nl-gaussian_8xb16-1x1x8-50e_kinetics400-rgb/tsm_imagenet-pretrained-r50-nl-gaussian_8xb16-1x1x8-50e_kinetics400-rgb_20220831-7e54dacf.pth",
             top1=73.66, top5=90.99, pretraining="ImageNet", config="tsm/tsm_imagenet-pretrained-r50-nl-gaussian_8xb16-1x1x8-50e_kinetics400-rgb.py",
             protocol=mm_protocol("8 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSM over ResNet-50 with 5 Gaussian non-local blocks over the 8 frames (res3, res4; sub-sampled, unscaled affinity), mmaction2's weights.")

_register_mm = partial(register_mmaction2, builder=c2d_resnet, family="c2d", converter="mmaction2_resnet3d")

_register_mm("c2d_resnet50_f8s8_kinetics400", dataset="kinetics400", kwargs={'stem_temporal_pool': False, 'stem_pool_padding': 0},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/c2d/c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb/c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb_20221027-3ca304fa.pth",
             top1=73.89, top5=91.21, pretraining="ImageNet", config="c2d/c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="mmaction2's C2D ResNet-50: 2D kernels on a 8-frame clip (step 8), a 2x1x1 temporal max-pool after res2, unpadded stem pool.")

_register_mm("c2d_resnet50_f16s4_kinetics400", dataset="kinetics400", kwargs={'stem_temporal_pool': False, 'stem_pool_padding': 0},
             input=InputSpec(clip_len=16, frame_step=4, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/c2d/c2d_r50-in1k-pre_8xb32-16x4x1-100e_kinetics400-rgb/c2d_r50-in1k-pre_8xb32-16x4x1-100e_kinetics400-rgb_20221027-5f382a43.pth",
             top1=74.97, top5=91.91, pretraining="ImageNet", config="c2d/c2d_r50-in1k-pre_8xb32-16x4x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 16 frames with step 4 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="mmaction2's C2D ResNet-50: 2D kernels on a 16-frame clip (step 4), a 2x1x1 temporal max-pool after res2, unpadded stem pool.")


# mmaction2's TSM on MobileOne-S4 (mmaction2's MobileOneTSM over mmpretrain's MobileOne)
register_mmaction2("tsm_mobileone_s4_seg16_kinetics400", builder=tsm_mobileone, family="tsm", converter="mmaction2_mobileone",
                   dataset="kinetics400", kwargs={"arch": "s4", "num_segments": 16, "shift_segments": 8},
                   input=InputSpec(clip_len=16, frame_step=1, num_segments=1, crop_size=224, short_side=256,
                                   **IMAGENET_NORM, note=SEGMENTS_NOTE.format(s=16)),
                   url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb_20230825-a7f8876b.pth",
                   top1=74.38, top5=91.71, pretraining="ImageNet",
                   config="tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py",
                   protocol=mm_protocol("16 frames (uniform segments) x 3 crops (ThreeCrop 256px after short side 256, the "
                                        "config's test pipeline; the README's column says 10 crops)"),
                   description=("TSM (1/8 of channels shifted each way before every block) over MobileOne-S4, 16 segments, "
                                "mmaction2's weights, in the multi-branch form the file holds (model.backbone.fuse() "
                                "folds each block into one conv, same outputs). As in mmaction2's config, which sets 16 "
                                "segments on the head only, the shift treats frames 0-7 and 8-15 as two separate clips."))
