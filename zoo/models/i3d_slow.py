"""Slow-only ResNet ("I3D-slow", the Slow pathway of SlowFast without the Fast one), as in GluonCV.

Feichtenhofer et al., "SlowFast Networks for Video Recognition", ICCV 2019.  A ResNet whose first
two stages are purely 2D (``1x1``/``1x3x3`` kernels) and whose ``layer3``/``layer4`` reduce convs are
inflated to ``3x1x1``; the stem is ``1x7x7`` with no temporal stride or pooling, so ``T`` is kept
all the way: 16 frames leave ``layer4`` as ``(N, 2048, 16, 7, 7)``.

Built from the I3D builder (:func:`zoo.models.i3d_resnet.i3d_resnet`) with Slow-only settings; the
GluonCV ``ResNet_SlowFast`` ``.params`` keys are those of I3D, so the I3D converter reads them.
"""
from __future__ import annotations

from typing import Any

from ..registry import InputSpec, register_model
from ..sources import gluoncv_mxnet_weights
from ._resnet3d import ResNet3d
from .i3d_resnet import i3d_resnet

__all__ = ["i3d_slow_resnet", "SLOW_ONLY"]

#: The Slow-only layout in :func:`i3d_resnet`'s terms.
SLOW_ONLY: dict[str, Any] = dict(
    inflate_freq=(0, 0, 1, 1),
    conv1_kernel_t=1,
    conv1_stride_t=1,
    pool1_kernel_t=1,
    pool1_stride_t=1,
    temporal_pool2=False,
)


def i3d_slow_resnet(num_classes: int, depth: int = 50, **kwargs: Any) -> ResNet3d:
    """Slow-only ResNet: ``(N * num_segments * num_crop, 3, T, H, W)`` -> logits ``(N, num_classes)``.

    ``kwargs`` are :func:`zoo.models.i3d_resnet.i3d_resnet`'s (``dropout_ratio``, ``num_segments``,
    ``num_crop``, ``partial_bn``, ``bn_frozen``, ``frozen_stages``, and the layout
    arguments, whose defaults here are :data:`SLOW_ONLY`).
    """
    return i3d_resnet(num_classes, depth, **{**SLOW_ONLY, **kwargs})


register_model(
    "i3d_slow_resnet101_f16s4_kinetics700",
    i3d_slow_resnet,
    family="i3d_slow",
    dataset="kinetics700",
    num_classes=700,
    kwargs=dict(depth=101),
    input=InputSpec(clip_len=16, frame_step=4, crop_size=224, short_side=256),
    weights=(
        gluoncv_mxnet_weights(
            "i3d_slow_resnet101_f16s4_kinetics700",
            "299b1d9d8a2bcf7c122acd0d23606af4fdfbe7e1",
            "gluoncv_i3d_resnet",
            67.65,
            description="Trained from scratch on Kinetics-700, 16 frames with step 4 (from 64); GluonCV top-1.",
        ),
    ),
    converters={"params": "gluoncv_i3d_resnet"},
    description="Slow-only ResNet-101 (SlowFast's Slow pathway alone) for Kinetics-700, 16x4 sampling.",
    source="GluonCV model zoo (MXNet), gluoncv/model_zoo/action_recognition/i3d_slow.py",
)
