"""I3D with Inception backbones (GluonCV's ``i3d_inceptionv1_kinetics400`` / ``i3d_inceptionv3_kinetics400``).

The 2D Inception v1 (GoogLeNet-BN) and v3 networks inflated to 3D: every ``kh x kw`` conv becomes
``max(kh, kw) x kh x kw`` (see :func:`zoo.models._backbones2d.inflate`), the blocks are the ones the
TSN family uses in 2D.  Global average pooling, segmental consensus, dropout, linear classifier.

Input ``(N * num_segments * num_crop, 3, T, H, W)`` (GluonCV's layout); clips of one sample are
consecutive in the batch and their features are averaged.
"""
from __future__ import annotations

from functools import partial

from collections import OrderedDict

import torch
import torch.nn as nn

from ..convert.keys import convert
from ..errors import WeightsError
from ..registry import InputSpec, register_converter, register_model
from ._published import GLUONCV_LOGS, published
from ._backbones2d import ConvBN, V3_GLUON_NAMES, gluon_rules, inception_v1_block, inception_v3_layers
from ._interface import VideoClassifier, init_conv_bn, segment_consensus

__all__ = ["I3DInception", "i3d_inceptionv1", "i3d_inceptionv3"]


def _v1_layers() -> "OrderedDict[str, nn.Module]":
    """Inflated GoogLeNet-BN: 7x7x7/2 stem, spatial-only stem pools, 3x3x3/2 and 2x2x2/2 pools later."""
    spatial_pool = lambda: nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))  # noqa: E731
    layers: "OrderedDict[str, nn.Module]" = OrderedDict()
    layers["conv1"] = ConvBN(3, 64, 7, 2, 3, dim=3)
    layers["pool1"] = spatial_pool()
    layers["conv2"] = ConvBN(64, 64, 1, dim=3)
    layers["conv3"] = ConvBN(64, 192, 3, 1, 1, dim=3)
    layers["pool2"] = spatial_pool()
    for name in ("mixed_3a", "mixed_3b"):
        layers[name] = inception_v1_block(name, dim=3)
    layers["pool3"] = nn.MaxPool3d(3, 2, 1)
    for name in ("mixed_4a", "mixed_4b", "mixed_4c", "mixed_4d", "mixed_4e"):
        layers[name] = inception_v1_block(name, dim=3)
    layers["pool4"] = nn.MaxPool3d(2, 2)
    for name in ("mixed_5a", "mixed_5b"):
        layers[name] = inception_v1_block(name, dim=3)
    return layers


_V1_GLUON_NAMES = {
    f"features.{n}": f"features.{i}"
    for i, n in enumerate(
        ["conv1", "pool1", "conv2", "conv3", "pool2", "mixed_3a", "mixed_3b", "pool3", "mixed_4a", "mixed_4b", "mixed_4c", "mixed_4d", "mixed_4e", "pool4", "mixed_5a", "mixed_5b"]
    )
    if not n.startswith("pool")
}


class I3DInception(VideoClassifier):
    """Inflated Inception v1 (``version=1``, 1024-d) or v3 (``version=3``, 2048-d).

    Args:
        num_classes: classifier width.
        version: 1 (GoogLeNet-BN) or 3 (Inception v3).
        num_segments, num_crop: clips per sample, averaged after global pooling (``forward_features``).
        dropout_ratio: dropout before the classifier.
        init_std: std of the normal init of the classifier.
        partial_bn: in training, every BatchNorm but the first is frozen (TSN's partial BN).
    """

    def __init__(self, num_classes: int, version: int = 1, num_segments: int = 1, num_crop: int = 1, dropout_ratio: float = 0.5, init_std: float = 0.01, partial_bn: bool = False) -> None:
        super().__init__()
        if version == 1:
            layers, self.num_features = _v1_layers(), 1024
        elif version == 3:
            pool = lambda: nn.MaxPool3d(3, (1, 2, 2), (1, 0, 0))  # noqa: E731
            layers, self.num_features = inception_v3_layers(3, (pool(), pool())), 2048
        else:
            raise ValueError(f"I3D-Inception version must be 1 or 3, got {version}")
        self.version = version
        self.num_segments = num_segments
        self.num_crop = num_crop
        self.init_std = init_std
        self.partial_bn = partial_bn
        self.features = nn.Sequential(layers)
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(self.num_features, num_classes)
        init_conv_bn(self, linear_std=init_std)

    @property
    def gluon_names(self) -> dict[str, str]:
        return {"fc": "output", **(_V1_GLUON_NAMES if self.version == 1 else V3_GLUON_NAMES)}

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N*S*K, 3, T, H, W)`` -> pooled features averaged over the clips of a sample ``(N, num_features)``."""
        if x.dim() != 5:
            raise ValueError(f"expected (N, C, T, H, W) clips, got shape {tuple(x.shape)}")
        return segment_consensus(self.features(x).mean(dim=(2, 3, 4)), self.num_segments * self.num_crop)


def i3d_inceptionv1(num_classes: int, **kwargs) -> I3DInception:
    """Builder of the inflated Inception v1 (kwargs: ``num_segments``, ``num_crop``,
    ``dropout_ratio``, ``init_std``, ``partial_bn``)."""
    return I3DInception(num_classes, version=1, **kwargs)


def i3d_inceptionv3(num_classes: int, **kwargs) -> I3DInception:
    """Builder of the inflated Inception v3 (same kwargs as :func:`i3d_inceptionv1`)."""
    return I3DInception(num_classes, version=3, **kwargs)


def _convert_gluoncv_i3d_inception(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV ``I3D_InceptionV1/V3`` MXNet parameters -> our keys.

    GluonCV registers the classifier twice (``output`` and ``head.1``), so its files may hold both
    names; ``head.1.*`` is accepted when it equals ``output.*``.
    """
    if not isinstance(model, I3DInception):
        raise WeightsError(f"the gluoncv_i3d_inception converter needs an I3DInception model, got {type(model).__name__}")
    source = dict(source)
    for p in ("weight", "bias"):  # a de-duplicated file may keep only the head.1 name
        if f"head.1.{p}" in source and f"output.{p}" not in source:
            source[f"output.{p}"] = source.pop(f"head.1.{p}")
    aliases = {"head.1.weight": "output.weight", "head.1.bias": "output.bias"}
    return convert(source, model, gluon_rules(model, model.gluon_names, aliases), what=f"GluonCV I3D-InceptionV{model.version}")


register_converter("gluoncv_i3d_inception", _convert_gluoncv_i3d_inception)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_INFLATED_DESC = "inflated from ImageNet Inception weights, 32 frames (64/2)"
_register = partial(register_model, family="i3d_inception", dataset="kinetics400", num_classes=400,
                    converters={"params": "gluoncv_i3d_inception"})
_register("i3d_inceptionv1_kinetics400", builder=i3d_inceptionv1, input=InputSpec(clip_len=32, frame_step=2),
          source="GluonCV 0.10.5 model_zoo/action_recognition/i3d_inceptionv1.py (MXNet)",
          kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          weights=(published("i3d_inceptionv1_kinetics400-81e0be10.params", "gluoncv_i3d_inception", 71.8,
                             sha1="81e0be1043ea4c68a4a0a439918c7b888ee5545b", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_inceptionv1_kinetics400.sh", description=_INFLATED_DESC),),
          description=("I3D with an inflated Inception v1 backbone on Kinetics-400 (GluonCV "
                       "i3d_inceptionv1_kinetics400)."),
          train_command=("GluonCV scripts/action-recognition/train_recognizer.py (i3d_inceptionv1_kinetics400.sh in "
                         "its model zoo table)"))
_register("i3d_inceptionv3_kinetics400", builder=i3d_inceptionv3,
          input=InputSpec(clip_len=32, frame_step=2, crop_size=299, short_side=340),
          source="GluonCV 0.10.5 model_zoo/action_recognition/i3d_inceptionv3.py (MXNet)",
          kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          weights=(published("i3d_inceptionv3_kinetics400-f14f8a99.params", "gluoncv_i3d_inception", 73.6,
                             sha1="f14f8a99007200ef56521b6a844f662784a8f5de", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_inceptionv3_kinetics400.sh", description=_INFLATED_DESC),),
          description=("I3D with an inflated Inception v3 backbone on Kinetics-400 (GluonCV "
                       "i3d_inceptionv3_kinetics400)."),
          train_command=("GluonCV scripts/action-recognition/train_recognizer.py (i3d_inceptionv3_kinetics400.sh in "
                         "its model zoo table)"))
