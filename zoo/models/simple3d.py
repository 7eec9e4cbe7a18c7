"""A small plain 3D CNN (C3D-like, with BatchNorm), sized for CPU training on small clips.

It is zoo's reference model for the synthetic motion dataset: ``simple3d`` convolves over time,
``simple2d`` is the same network with ``1x3x3`` kernels, fed a single frame (a per-frame model).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..registry import InputSpec, register_model
from ._interface import VideoClassifier, init_conv_bn

__all__ = ["Simple3D", "simple3d"]


class Simple3D(VideoClassifier):
    """Stacked ``conv-BN-ReLU`` stages with pooling, global average pooling and a linear head.

    Input ``(N, 3, T, H, W)``; output logits ``(N, num_classes)``; ``forward_features`` gives the
    pooled ``(N, widths[-1])``.
    """

    def __init__(
        self,
        num_classes: int,
        widths: tuple[int, ...] = (32, 64, 128, 256),
        temporal_kernel: int = 3,
        dropout_ratio: float = 0.3,
    ) -> None:
        super().__init__()
        kt = temporal_kernel
        layers: list[nn.Module] = []
        in_ch = 3
        for i, width in enumerate(widths):
            stride = (1, 2, 2) if i == 0 or kt == 1 else (2, 2, 2)
            layers += [
                nn.Conv3d(in_ch, width, (kt, 3, 3), stride=stride, padding=(kt // 2, 1, 1), bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
                nn.Conv3d(width, width, (kt, 3, 3), padding=(kt // 2, 1, 1), bias=False),
                nn.BatchNorm3d(width),
                nn.ReLU(inplace=True),
            ]
            in_ch = width
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = in_ch
        self.fc = nn.Linear(in_ch, num_classes)
        init_conv_bn(self, linear_std=0.01)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: ``(N, 3, T, H, W)`` -> pooled features ``(N, num_features)``."""
        return self.pool(self.features(x)).flatten(1)


def simple3d(num_classes: int, **kwargs) -> Simple3D:
    """Builder of :class:`Simple3D` (kwargs: ``widths``, ``temporal_kernel``, ``dropout_ratio``)."""
    return Simple3D(num_classes=num_classes, **kwargs)


_SYNTH = dict(
    mean=(0.5, 0.5, 0.5),
    std=(0.25, 0.25, 0.25),
    crop_size=56,
    short_side=64,
    note="configs/simple3d_synthetic.yaml also subtracts each pixel's mean over the clip (data.temporal_centering)",
)
_DEMO_WIDTHS = (16, 32, 64, 128)

register_model(
    "simple3d_synthetic",
    simple3d,
    family="simple3d",
    dataset="synthetic",
    num_classes=8,
    kwargs={"widths": _DEMO_WIDTHS, "dropout_ratio": 0.1},
    input=InputSpec(clip_len=8, frame_step=2, **_SYNTH),
    description="Plain 3D CNN for the synthetic motion dataset (trained by `make demo`).",
    source="zoo",
    train_command="make demo (configs/simple3d_synthetic.yaml)",
)
register_model(
    "simple2d_synthetic",
    simple3d,
    family="simple3d",
    dataset="synthetic",
    num_classes=8,
    kwargs={"widths": _DEMO_WIDTHS, "temporal_kernel": 1},
    input=InputSpec(clip_len=1, frame_step=1, **_SYNTH),
    description="The same CNN with 1x3x3 kernels on one frame: a single-frame baseline.",
    source="zoo",
    train_command="make demo (configs/simple2d_synthetic.yaml)",
)
