"""Time-fusion CNNs of Karpathy et al., "Large-scale Video Classification with CNNs" (CVPR 2014).

One AlexNet-like tower (five convs, two FC layers; BatchNorm here instead of the paper's local
response normalisation), and four ways of letting it see time:

* **single frame**: the tower on the middle frame (no time at all: the baseline).
* **late fusion**: two frames ``num_frames - 1`` apart (15 in the paper) go through one shared tower
  separately; their conv5 features are concatenated, so only the first FC layer compares them.
* **early fusion**: conv1 spans all ``num_frames`` frames (``T x 11 x 11``, 10 frames in the paper),
  so time is merged at the pixel level and the rest of the tower is 2D.
* **slow fusion**: conv1, conv2 and conv3 each see a short temporal window (``4``, ``2``, ``2`` frames
  with temporal stride 2, valid padding): 10 frames -> 4 -> 2 -> 1, merging time gradually
  (on shorter clips a layer's temporal kernel shrinks to the frames that reach it).
* **multiresolution**: a *context* stream on the whole frame at half resolution and a *fovea*
  stream on the centre crop at full resolution (half the side), two towers with the chosen fusion
  (slow by default), concatenated at the first FC layer.

All take ``(N, 3, T, H, W)`` and return ``(N, num_classes)``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_model
from ._interface import VideoClassifier, init_conv_bn

__all__ = ["FusionTower", "FusionCNN", "fusion_cnn", "FUSIONS"]

FUSIONS = ("single", "late", "early", "slow")


def _temporal_layout(fusion: str, num_frames: int) -> tuple[list[tuple[int, int]], int]:
    """Per conv layer ``(kernel_t, stride_t)`` and the frames the tower is given."""
    if fusion == "single":
        return [(1, 1)] * 5, 1
    if fusion == "late":
        return [(1, 1)] * 5, 2
    if fusion == "early":
        return [(num_frames, 1)] + [(1, 1)] * 4, num_frames
    if fusion == "slow":
        return [(4, 2), (2, 2), (2, 2), (1, 1), (1, 1)], num_frames
    raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")


class FusionTower(nn.Module):
    """conv1..conv5 with per-layer temporal kernels; ``(N, 3, T, H, W)`` -> ``(N, widths[-1] * T_out)``.

    Spatial sizes are pooled to 1x1 at the end; the remaining ``T_out`` positions are kept apart
    (flattened into the features) so the FC layer can compare them, as in late fusion.
    """

    def __init__(
        self,
        temporal: Sequence[tuple[int, int]],
        in_frames: int,
        widths: Sequence[int] = (96, 256, 384, 384, 256),
        kernels: Sequence[int] = (11, 5, 3, 3, 3),
        conv1_stride: int = 3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch, frames = 3, in_frames
        for i, (width, k, (kt, st)) in enumerate(zip(widths, kernels, temporal)):
            if kt > frames:  # short clips: slow fusion's later layers see what is left
                kt, st = frames, 1
            stride = (st, conv1_stride if i == 0 else 1, conv1_stride if i == 0 else 1)
            layers += [
                nn.Conv3d(in_ch, width, (kt, k, k), stride, (0, k // 2, k // 2), bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
            ]
            if i in (0, 1, 4):  # max-pool after conv1, conv2, conv5 (spatial only)
                layers.append(nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)))
            frames = (frames - kt) // st + 1
            in_ch = width
        self.features = nn.Sequential(*layers)
        self.out_frames = frames
        self.feat_dim = in_ch * frames

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        return x.mean(dim=(3, 4)).flatten(1)


class FusionCNN(VideoClassifier):
    """Karpathy et al.'s fusion models: ``(N, 3, T, H, W)`` -> ``(N, num_classes)``.

    Args:
        fusion: ``"single"``, ``"late"``, ``"early"`` or ``"slow"``.
        num_frames: ``T`` of the input clip (single frame accepts any ``T`` and uses the middle
            frame; late fusion uses the first and last frame).
        multires: two streams (context: whole frame at half resolution; fovea: centre crop of
            half the side at full resolution) instead of one.
        widths, kernels, conv1_stride: the conv tower (paper: 96-256-384-384-256, 11-5-3-3-3, 3).
        fc_width: width of fc6 and fc7 (paper: 4096).
        dropout_ratio: dropout after fc6 and fc7.  ``forward_features`` gives fc7's ``(N, fc_width)``.
    """

    def __init__(
        self,
        num_classes: int,
        fusion: str = "slow",
        num_frames: int = 10,
        multires: bool = False,
        widths: Sequence[int] = (96, 256, 384, 384, 256),
        kernels: Sequence[int] = (11, 5, 3, 3, 3),
        conv1_stride: int = 3,
        fc_width: int = 4096,
        dropout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        temporal, tower_frames = _temporal_layout(fusion, num_frames)
        self.fusion, self.num_frames, self.multires = fusion, num_frames, multires
        streams = ("context", "fovea") if multires else ("tower",)
        for name in streams:
            self.add_module(name, FusionTower(temporal, tower_frames, widths, kernels, conv1_stride))
        in_features = sum(getattr(self, s).feat_dim for s in streams)
        self.streams = streams
        self.fc6 = nn.Sequential(nn.Linear(in_features, fc_width), nn.ReLU(inplace=True), nn.Dropout(dropout_ratio))
        self.fc7 = nn.Sequential(nn.Linear(fc_width, fc_width), nn.ReLU(inplace=True), nn.Dropout(dropout_ratio))
        self.num_features = fc_width
        self.fc = nn.Linear(fc_width, num_classes)
        init_conv_bn(self)

    def select_frames(self, x: torch.Tensor) -> torch.Tensor:
        """The frames the tower sees: ``(N, 3, T, H, W)`` -> ``(N, 3, T', H, W)``."""
        t = x.shape[2]
        if self.fusion == "single":
            return x[:, :, t // 2 : t // 2 + 1]
        if t != self.num_frames:
            raise ValueError(f"{self.fusion} fusion was built for {self.num_frames} frames, got T={t}; "
                             f"pass num_frames={t} to get_model")
        if self.fusion == "late":
            return x[:, :, [0, t - 1]]
        return x

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> concatenated tower features ``(N, F)``."""
        x = self.select_frames(x)
        if not self.multires:
            return self.tower(x)
        h, w = x.shape[-2:]
        n, c, t = x.shape[:3]
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        context = F.interpolate(frames, size=(h // 2, w // 2), mode="bilinear", align_corners=False)
        top, left = h // 4, w // 4
        fovea = frames[:, :, top : top + h // 2, left : left + w // 2]
        as_clip = lambda f: f.reshape(n, t, c, *f.shape[-2:]).transpose(1, 2)  # noqa: E731
        return torch.cat([self.context(as_clip(context)), self.fovea(as_clip(fovea))], dim=1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> fc7's output ``(N, num_features)`` (its dropout included, as fc6's)."""
        return self.fc7(self.fc6(self.features(x)))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, num_features)`` -> ``(N, num_classes)`` (fc7 already ends in dropout)."""
        return self.fc(features)


def fusion_cnn(num_classes: int, **kwargs) -> FusionCNN:
    """Builder of :class:`FusionCNN` (kwargs: ``fusion``, ``num_frames``, ``multires``, ``widths``, ...)."""
    return FusionCNN(num_classes, **kwargs)


_KARPATHY = dict(crop_size=170, short_side=178, frame_step=1)
for _name, _kwargs, _frames, _what in (
    ("fusion_single_frame", {"fusion": "single"}, 1, "single-frame baseline (middle frame)"),
    ("fusion_late", {"fusion": "late", "num_frames": 16}, 16, "late fusion of two frames 15 apart (shared tower, merged at fc6)"),
    ("fusion_early", {"fusion": "early", "num_frames": 10}, 10, "early fusion (conv1 spans 10 frames)"),
    ("fusion_slow", {"fusion": "slow", "num_frames": 10}, 10, "slow fusion (conv1-3 merge 10 -> 4 -> 2 -> 1 frames)"),
    ("fusion_multires", {"fusion": "slow", "num_frames": 10, "multires": True}, 10,
     "multiresolution context (half-res frame) + fovea (centre crop) streams, slow fusion in each"),
):
    register_model(
        _name,
        fusion_cnn,
        family="fusion",
        dataset="",
        num_classes=487,
        kwargs=_kwargs,
        input=InputSpec(clip_len=_frames, **_KARPATHY,
                        note="Karpathy et al. 2014: 170x170 crops of 178-px frames (Sports-1M, 487 classes)"),
        description=f"Karpathy et al. 2014 {_what}; BatchNorm instead of LRN; no weights.",
        source="zoo",
    )
