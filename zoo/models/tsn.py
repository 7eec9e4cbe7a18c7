"""Temporal Segment Networks with 2D backbones (GluonCV's ``actionrec_*`` models).

A 2D ImageNet-style network sees each frame on its own; the per-frame features are averaged
over the frames of a video (segmental consensus) and classified by one linear layer.  Backbones:
ResNet v1b (18/34/50/101/152), VGG-16, Inception v1 (GoogLeNet with BatchNorm) and Inception v3,
with GluonCV's layouts, BatchNorm settings, pooling and dropout placement, so GluonCV's MXNet
weights load through the ``gluoncv_tsn`` converter and give the same logits.

Input: ``(N, 3, T, H, W)``, ``T`` = the frames of one video (one per segment and crop), which are
folded into the batch; or ``(N * num_segments * num_crop, 3, H, W)`` frames, GluonCV's own layout,
averaged over consecutive groups of ``num_segments * num_crop`` (one frame per sample by default).
``forward_features`` gives the frame features averaged per sample, ``(N, num_features)``.
"""
from __future__ import annotations

import logging
import re
from collections import OrderedDict
from functools import partial
from typing import Any, Callable, Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..convert.quantize import int8_builder
from ..errors import WeightsError
from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, GLUONCV_LOGS, published
from ._backbones2d import (
    ConvBN,
    gluon_rules,
    fixed_avg_pool,
    V3_GLUON_NAMES,
    inception_v1_block,
    inception_v3_layers,
    pool_nd,
    vgg16_features,
)
from ._backbones_small import ResNet2d
from ._tsn_backbones import MobileOne, densenet161
from .swin3d import SwinTransformer3d, swin3d_b
from ._interface import VideoClassifier, init_conv_bn, segment_consensus

__all__ = ["TSN", "TSNResNetV1b", "TSNVGG16", "TSNInceptionV1", "TSNInceptionV3", "TSNTrunk", "tsn_resnet_v1b", "tsn_vgg16",
           "tsn_inceptionv1", "tsn_inceptionv3", "tsn_densenet161", "tsn_mobileone", "tsn_swin_b"]

logger = logging.getLogger(__name__)


class TSN(VideoClassifier):
    """Segmental consensus over a 2D backbone; subclasses define :meth:`frame_features`.

    Per frame: backbone features -> dropout; then the mean over the frames of a sample, then the
    linear classifier ``fc`` (GluonCV averages before its ``output`` layer).  ``forward_features``
    is that mean without the dropout; in training ``forward`` drops each frame's features, as GluonCV.

    Args:
        num_classes: classifier width.
        dropout_ratio: dropout on the per-frame features (VGG-16: also after fc6).
        init_std: std of the normal init of ``fc``.
        num_segments, num_crop: frames per sample when the input is 4-D ``(N*S*K, 3, H, W)``.
        partial_bn: in training, every BatchNorm but the first is frozen (statistics, scale and
            shift), TSN's partial BN.
    """

    #: GluonCV names of our top-level modules, for :func:`gluon_rules`.
    GLUON_NAMES: dict[str, str] = {"fc": "output"}

    def __init__(self, num_classes: int, *, dropout_ratio: float, init_std: float, num_segments: int = 1, num_crop: int = 1, partial_bn: bool = False) -> None:
        super().__init__()
        if num_segments < 1 or num_crop < 1:
            raise ValueError(f"num_segments and num_crop must be >= 1, got {num_segments} and {num_crop}")
        self.num_segments = num_segments
        self.num_crop = num_crop
        self.partial_bn = partial_bn
        self.init_std = init_std
        self.dropout = nn.Dropout(dropout_ratio)

    def _make_head(self, num_features: int, num_classes: int) -> None:
        """Create ``fc`` last, so it is the last 2-D weight of the state dict, and init everything."""
        self.num_features = num_features
        self.fc = nn.Linear(num_features, num_classes)
        init_conv_bn(self, linear_std=0.01)
        nn.init.normal_(self.fc.weight, std=self.init_std)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` frames -> ``(B, num_features)`` features (before dropout)."""
        raise NotImplementedError

    def _frames(self, x: torch.Tensor) -> tuple[torch.Tensor, int]:
        """``(N, 3, T, H, W)`` or ``(N*S*K, 3, H, W)`` -> frames ``(B, 3, H, W)`` and frames per sample."""
        if x.dim() == 5:
            n, c, t, h, w = x.shape
            return x.transpose(1, 2).reshape(n * t, c, h, w), t
        if x.dim() == 4:
            return x, self.num_segments * self.num_crop
        raise ValueError(f"expected (N, C, T, H, W) clips or (N, C, H, W) frames, got shape {tuple(x.shape)}")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` or ``(N*S*K, 3, H, W)`` -> frame features averaged per sample ``(N, num_features)``."""
        frames, per_sample = self._frames(x)
        return segment_consensus(self.frame_features(frames), per_sample)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` or ``(N*S*K, 3, H, W)`` -> logits ``(N, num_classes)``."""
        frames, per_sample = self._frames(x)
        return self.fc(segment_consensus(self.dropout(self.frame_features(frames)), per_sample))


class TSNResNetV1b(TSN):
    """TSN over ResNet v1b (``depth`` 18/34/50/101/152); features 512 or 2048.

    ``groups``/``width_per_group`` make it ResNeXt (mmaction2's ResNeXt-101 32x4d: 32 and 4).
    """

    GLUON_NAMES = {"backbone": "", "fc": "output"}

    def __init__(self, num_classes: int, depth: int = 50, dropout_ratio: float = 0.5, init_std: float = 0.01,
                 groups: int = 1, width_per_group: int = 64, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, **kwargs)
        self.backbone = ResNet2d(depth, groups=groups, width_per_group=width_per_group)
        self._make_head(self.backbone.feat_dim, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


class TSNVGG16(TSN):
    """TSN over VGG-16: conv trunk, fc6 + ReLU + dropout, fc7 + ReLU (then the shared dropout); 4096-d."""

    GLUON_NAMES = {"fc6": "features.31", "fc7": "features.33", "fc": "output"}

    def __init__(self, num_classes: int, dropout_ratio: float = 0.5, init_std: float = 0.001, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, **kwargs)
        self.features = vgg16_features()
        self.fc6 = nn.Linear(512 * 7 * 7, 4096)
        self.dropout6 = nn.Dropout(dropout_ratio)
        self.fc7 = nn.Linear(4096, 4096)
        self._make_head(4096, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).flatten(1)
        x = self.dropout6(torch.relu(self.fc6(x)))
        return torch.relu(self.fc7(x))


def _inception_v1_trunk() -> "OrderedDict[str, nn.Module]":
    """The 2D GoogLeNet-BN layers up to inception 5b (GluonCV's ``googlenet``; ceil-mode pools)."""
    dim = 2
    layers: "OrderedDict[str, nn.Module]" = OrderedDict()
    layers["conv1"] = ConvBN(3, 64, 7, 2, 3, dim=dim)
    layers["pool1"] = nn.MaxPool2d(3, 2, ceil_mode=True)
    layers["conv2"] = ConvBN(64, 64, 1, dim=dim)
    layers["conv3"] = ConvBN(64, 192, 3, 1, 1, dim=dim)
    layers["pool2"] = nn.MaxPool2d(3, 2, ceil_mode=True)
    for name in ("mixed_3a", "mixed_3b"):
        layers[name] = inception_v1_block(name, dim)
    layers["pool3"] = nn.MaxPool2d(3, 2, ceil_mode=True)
    for name in ("mixed_4a", "mixed_4b", "mixed_4c", "mixed_4d", "mixed_4e"):
        layers[name] = inception_v1_block(name, dim)
    layers["pool4"] = nn.MaxPool2d(2, 2)
    for name in ("mixed_5a", "mixed_5b"):
        layers[name] = inception_v1_block(name, dim)
    return layers


class TSNInceptionV1(TSN):
    """TSN over Inception v1 (GoogLeNet-BN, BN eps 1e-3), 7x7 average pool; 1024-d."""

    GLUON_NAMES = {
        "fc": "output",
        "features.conv1": "conv1",
        "features.conv2": "conv2",
        "features.conv3": "conv3",
        **{f"features.mixed_{b}": f"inception{b}" for b in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")},
    }

    def __init__(self, num_classes: int, dropout_ratio: float = 0.5, init_std: float = 0.001, partial_bn: bool = True, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, partial_bn=partial_bn, **kwargs)
        self.features = nn.Sequential(_inception_v1_trunk())
        self._make_head(1024, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return fixed_avg_pool(self.features(x), 7)


class TSNInceptionV3(TSN):
    """TSN over Inception v3 (BN eps 1e-3), 8x8 average pool at 299x299 input; 2048-d."""

    GLUON_NAMES = {"fc": "output", **V3_GLUON_NAMES}

    def __init__(self, num_classes: int, dropout_ratio: float = 0.5, init_std: float = 0.001, partial_bn: bool = True, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, partial_bn=partial_bn, **kwargs)
        self.features = nn.Sequential(inception_v3_layers(2, (pool_nd("max", 3, 2), pool_nd("max", 3, 2))))
        self._make_head(2048, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return fixed_avg_pool(self.features(x), 8)


class TSNTrunk(TSN):
    """TSN over a 2D trunk that pools frames to ``(B, feat_dim)``: ``"densenet161"`` or
    ``"mobileone_<arch>"`` (:mod:`._tsn_backbones`), mmaction2's TSN on torchvision's DenseNet-161
    and mmpretrain's MobileOne."""

    def __init__(self, num_classes: int, trunk: str, dropout_ratio: float = 0.4, init_std: float = 0.01, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, **kwargs)
        if trunk == "densenet161":
            self.backbone: nn.Module = densenet161()
        elif trunk.startswith("mobileone_"):
            self.backbone = MobileOne(trunk[len("mobileone_"):])
        else:
            raise ValueError(f"unknown TSN trunk {trunk!r}; use densenet161 or mobileone_s0 ... mobileone_s4")
        self._make_head(self.backbone.feat_dim, num_classes)

    def frame_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


def tsn_densenet161(num_classes: int, **kwargs) -> TSNTrunk:
    """TSN over DenseNet-161 (2208 features; kwargs of :class:`TSN`)."""
    return TSNTrunk(num_classes, "densenet161", **kwargs)


def tsn_mobileone(num_classes: int, arch: str = "s4", **kwargs) -> TSNTrunk:
    """TSN over MobileOne-``arch`` in its multi-branch (training) form (s4: 2048 features)."""
    return TSNTrunk(num_classes, f"mobileone_{arch}", **kwargs)


def tsn_swin_b(num_classes: int, **kwargs) -> SwinTransformer3d:
    """TSN over a 2D Swin-B (patch 4, window 7): :class:`~zoo.models.swin3d.SwinTransformer3d` with
    ``1x4x4`` patches and ``1x7x7`` windows sees every frame on its own, and its pooling over
    ``(T, H, W)`` is the mean of the per-frame features, TSN's consensus.  No drop-path, dropout 0.4
    before the classifier (mmaction2's TSN head).  Input ``(N, 3, T, H, W)``."""
    return swin3d_b(num_classes, **{"patch": (1, 4, 4), "window": (1, 7, 7), "drop_path": 0.0, "dropout_ratio": 0.4, **kwargs})


def tsn_resnet_v1b(num_classes: int, depth: int = 50, **kwargs) -> TSNResNetV1b:
    """Builder of :class:`TSNResNetV1b` (kwargs: ``dropout_ratio``, ``init_std``, ``num_segments``,
    ``num_crop``, ``partial_bn``)."""
    return TSNResNetV1b(num_classes, depth=depth, **kwargs)


def tsn_vgg16(num_classes: int, **kwargs) -> TSNVGG16:
    """Builder of :class:`TSNVGG16`."""
    return TSNVGG16(num_classes, **kwargs)


def tsn_inceptionv1(num_classes: int, **kwargs) -> TSNInceptionV1:
    """Builder of :class:`TSNInceptionV1` (``partial_bn`` defaults to True, as in GluonCV)."""
    return TSNInceptionV1(num_classes, **kwargs)


def tsn_inceptionv3(num_classes: int, **kwargs) -> TSNInceptionV3:
    """Builder of :class:`TSNInceptionV3` (``partial_bn`` defaults to True, as in GluonCV)."""
    return TSNInceptionV3(num_classes, **kwargs)


def _convert_gluoncv_tsn(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV ``actionrec_*`` MXNet parameters -> our :class:`TSN` keys."""
    if not isinstance(model, TSN):
        raise WeightsError(f"the gluoncv_tsn converter needs a TSN model, got {type(model).__name__}")
    return convert(source, model, gluon_rules(model, type(model).GLUON_NAMES), what=f"GluonCV {type(model).__name__}")


register_converter("gluoncv_tsn", _convert_gluoncv_tsn)


@register_converter("gluoncv_torch_tsn_resnet")
def convert_gluoncv_torch_tsn_resnet(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ActionRecResNetV1b`` (torchvision ResNet keys, the network of our ``TSNResNetV1b``) -> ours.

    ``conv1``, ``bn1``, ``layer{1-4}.*`` -> ``backbone.*``; ``fc`` stays ``fc``.
    """
    rules = [Rule(r"fc\.(weight|bias)", r"fc.\1"), Rule(r"((?:conv1|bn1|layer[1-4])\..+)", r"backbone.\1")]
    return convert(source, model, rules, what="GluonCV PyTorch TSN ResNet")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_INPUT_3SEG = InputSpec(clip_len=1, num_segments=3,
                   note="TSN: one frame per segment, the 3 segments stacked along T; logits are averaged over T")
_SOURCE_INCEPTIONV1 = "GluonCV 0.10.5 model_zoo/action_recognition/actionrec_inceptionv1.py (MXNet)"
#: Input of the alternate weights GluonCV trained with 1 segment (the card's default input has 3).
_INPUT_1SEG = InputSpec(clip_len=1, num_segments=1, note="TSN: one frame per segment, 1 segment; logits are averaged over T")
_INPUT_V3_1SEG = InputSpec(clip_len=1, num_segments=1, crop_size=299, short_side=340,
                           note="TSN: one frame per segment, 1 segment; logits are averaged over T")
_TRAIN = "GluonCV scripts/action-recognition/train_recognizer.py (see the train command linked in its model zoo table)"
_DESC_K400 = "ImageNet init, 7 segments"
_INPUT_8SEG = InputSpec(clip_len=1, num_segments=8,
                     note="TSN: one frame per segment, the 8 segments stacked along T; logits are averaged over T")
_INPUT_V3_3SEG = InputSpec(clip_len=1, num_segments=3, crop_size=299, short_side=340,
                     note="TSN: one frame per segment, the 3 segments stacked along T; logits are averaged over T")
_SOURCE_INCEPTIONV3 = "GluonCV 0.10.5 model_zoo/action_recognition/actionrec_inceptionv3.py (MXNet)"
_DESC_UCF101 = "ImageNet init, 3 segments, UCF101 split 1"
_DESC_UCF101_1SEG = "alternate version: ImageNet init, 1 segment, UCF101 split 1"
_DESC_K400_TORCH = "ImageNet init, 7 segments (GluonCV PyTorch zoo)"
_SOURCE_VGG16 = "GluonCV 0.10.5 model_zoo/action_recognition/actionrec_vgg16.py (MXNet)"
_INPUT_7SEG = InputSpec(clip_len=1, num_segments=7,
                        note="TSN: one frame per segment, the 7 segments stacked along T; logits are averaged over T")
_INPUT_V3_7SEG = InputSpec(clip_len=1, num_segments=7, crop_size=299, short_side=340,
                           note="TSN: one frame per segment, the 7 segments stacked along T; logits are averaged over T")
_register = partial(register_model, builder=tsn_resnet_v1b, family="tsn", dataset="kinetics400", num_classes=400,
                    input=_INPUT_7SEG,
                    converters={"params": "gluoncv_tsn", "pth": "gluoncv_torch_tsn_resnet"},
                    source="GluonCV 0.10.5 model_zoo/action_recognition/actionrec_resnetv1b.py (MXNet)")
_register("inceptionv1_hmdb51", builder=tsn_inceptionv1, dataset="hmdb51", num_classes=51, input=_INPUT_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV1, kwargs=dict(dropout_ratio=0.8, init_std=0.001),
          description=("TSN Inception v1 (GoogLeNet-BN) on hmdb51 (GluonCV inceptionv1_hmdb51); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("inceptionv1_kinetics400", builder=tsn_inceptionv1, converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV1,
          kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          weights=(published("inceptionv1_kinetics400-6dcdafb1.params", "gluoncv_tsn", 69.1,
                             sha1="6dcdafb1dd19866fdd3116cbe3689adb85824b2c", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/inceptionv1_kinetics400_tsn.sh", description=_DESC_K400),),
          description=("TSN Inception v1 (GoogLeNet-BN) on kinetics400 (GluonCV inceptionv1_kinetics400); frames of a "
                       "video are classified and averaged."),
          train_command=_TRAIN)
_register("inceptionv1_sthsthv2", builder=tsn_inceptionv1, dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV1, kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          description=("TSN Inception v1 (GoogLeNet-BN) on sthsthv2 (GluonCV inceptionv1_sthsthv2); frames of a video "
                       "are classified and averaged."),
          train_command=_TRAIN)
_register("inceptionv1_ucf101", builder=tsn_inceptionv1, dataset="ucf101", num_classes=101, input=_INPUT_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV1, kwargs=dict(dropout_ratio=0.8, init_std=0.001),
          description=("TSN Inception v1 (GoogLeNet-BN) on ucf101 (GluonCV inceptionv1_ucf101); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("inceptionv3_hmdb51", builder=tsn_inceptionv3, dataset="hmdb51", num_classes=51, input=_INPUT_V3_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV3, kwargs=dict(dropout_ratio=0.8, init_std=0.001),
          description=("TSN Inception v3 on hmdb51 (GluonCV inceptionv3_hmdb51); frames of a video are classified and "
                       "averaged."),
          train_command=_TRAIN)
_register("inceptionv3_kinetics400", builder=tsn_inceptionv3,
          input=_INPUT_V3_7SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV3, kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          weights=(published("inceptionv3_kinetics400-8a4a6946.params", "gluoncv_tsn", 72.5,
                             sha1="8a4a6946893de23937b5e5e4a1a449800d57ff71", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/inceptionv3_kinetics400_tsn.sh", description=_DESC_K400),),
          description=("TSN Inception v3 on kinetics400 (GluonCV inceptionv3_kinetics400); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("inceptionv3_sthsthv2", builder=tsn_inceptionv3, dataset="sthsthv2", num_classes=174,
          input=InputSpec(clip_len=1, num_segments=8, crop_size=299, short_side=340,
                          note=("TSN: one frame per segment, the 8 segments stacked along T; logits are averaged over"
                                " T")),
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV3, kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          description=("TSN Inception v3 on sthsthv2 (GluonCV inceptionv3_sthsthv2); frames of a video are classified "
                       "and averaged."),
          train_command=_TRAIN)
_register("inceptionv3_ucf101", builder=tsn_inceptionv3, dataset="ucf101", num_classes=101, input=_INPUT_V3_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_INCEPTIONV3, kwargs=dict(dropout_ratio=0.8, init_std=0.001),
          weights=(published("inceptionv3_ucf101-13ef5c3b.params", "gluoncv_tsn", 88.1,
                             sha1="13ef5c3bd40141f11c5b4e471f8f2ad0c1ac6299", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "ucf101/inceptionv3_ucf101_tsn.sh", description=_DESC_UCF101),
                   published("inceptionv3_ucf101-0c453da8.params", "gluoncv_tsn", 85.6, sha1="0c453da8",
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "ucf101/inceptionv3_ucf101.sh",
                             description=_DESC_UCF101_1SEG,
                             input=_INPUT_V3_1SEG)),
          description=("TSN Inception v3 on ucf101 (GluonCV inceptionv3_ucf101); frames of a video are classified and "
                       "averaged."),
          train_command=_TRAIN)
_register("resnet101_v1b_kinetics400", kwargs=dict(depth=101, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet101_v1b_kinetics400-5bb6098e.params", "gluoncv_tsn", 71.3,
                             sha1="5bb6098ea5343dc0f4bf8536b3771b8ddfe231d7", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet101_v1b_kinetics400_tsn.sh", description=_DESC_K400),
                   published("resnet101_v1b_kinetics400-172afa3b.pth", "gluoncv_torch_tsn_resnet", 72.25,
                             sha1="172afa3bcc5e922962c335b6ea9b7cedc8132c61", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet101_v1b_kinetics400.yaml", description=_DESC_K400_TORCH)),
          description=("TSN ResNet-101 v1b on kinetics400 (GluonCV resnet101_v1b_kinetics400); frames of a video are "
                       "classified and averaged. Weights tags: 5bb6098e = GluonCV MXNet zoo (default); 172afa3b = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='172afa3b'))."),
          train_command=_TRAIN)
_register("resnet101_v1b_sthsthv2", dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          kwargs=dict(depth=101, dropout_ratio=0.5, init_std=0.01),
          description=("TSN ResNet-101 v1b on sthsthv2 (GluonCV resnet101_v1b_sthsthv2); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("resnet152_v1b_kinetics400", kwargs=dict(depth=152, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet152_v1b_kinetics400-9bc70c66.params", "gluoncv_tsn", 71.5,
                             sha1="9bc70c66059854a22e935b42f783ef2bec0377d8", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet152_v1b_kinetics400_tsn.sh", description=_DESC_K400),
                   published("resnet152_v1b_kinetics400-3dedb835.pth", "gluoncv_torch_tsn_resnet", 72.45,
                             sha1="3dedb835f333e234a9279bbef4a9e2e840acc032", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet152_v1b_kinetics400.yaml", description=_DESC_K400_TORCH)),
          description=("TSN ResNet-152 v1b on kinetics400 (GluonCV resnet152_v1b_kinetics400); frames of a video are "
                       "classified and averaged. Weights tags: 9bc70c66 = GluonCV MXNet zoo (default); 3dedb835 = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='3dedb835'))."),
          train_command=_TRAIN)
_register("resnet152_v1b_sthsthv2", dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          kwargs=dict(depth=152, dropout_ratio=0.5, init_std=0.01),
          description=("TSN ResNet-152 v1b on sthsthv2 (GluonCV resnet152_v1b_sthsthv2); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("resnet18_v1b_custom", dataset="custom", kwargs=dict(depth=18, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet18_v1b_kinetics400-46d5a985.params", "gluoncv_tsn", 65.5,
                             sha1="46d5a9850cdb884eb9c9a95d48269c3d60c94d77", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet18_v1b_kinetics400_tsn.sh",
                             description=("the resnet18_v1b_kinetics400 weights (Kinetics-400, 7 segments) to "
                                          "fine-tune from")),),
          description=("TSN ResNet-18 v1b for fine-tuning on your own dataset (GluonCV resnet18_v1b_custom): "
                       "get_model(name, pretrained=True, num_classes=N) loads resnet18_v1b_kinetics400's weights "
                       "except the classifier, which starts fresh."),
          train_command=_TRAIN)
_register("resnet18_v1b_kinetics400", kwargs=dict(depth=18, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet18_v1b_kinetics400-46d5a985.params", "gluoncv_tsn", 65.5,
                             sha1="46d5a9850cdb884eb9c9a95d48269c3d60c94d77", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet18_v1b_kinetics400_tsn.sh", description=_DESC_K400),
                   published("resnet18_v1b_kinetics400-854b23e4.pth", "gluoncv_torch_tsn_resnet", 66.73,
                             sha1="854b23e460ab1fbc5a5cd458b439a90be1f98119", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet18_v1b_kinetics400.yaml", description=_DESC_K400_TORCH)),
          description=("TSN ResNet-18 v1b on kinetics400 (GluonCV resnet18_v1b_kinetics400); frames of a video are "
                       "classified and averaged. Weights tags: 46d5a985 = GluonCV MXNet zoo (default); 854b23e4 = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='854b23e4'))."),
          train_command=_TRAIN)
_register("resnet18_v1b_sthsthv2", dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          kwargs=dict(depth=18, dropout_ratio=0.5, init_std=0.01),
          description=("TSN ResNet-18 v1b on sthsthv2 (GluonCV resnet18_v1b_sthsthv2); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("resnet34_v1b_kinetics400", kwargs=dict(depth=34, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet34_v1b_kinetics400-8a8d0d8d.params", "gluoncv_tsn", 69.1,
                             sha1="8a8d0d8d395882f836d379aefb4136dce8763d0c", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet34_v1b_kinetics400_tsn.sh", description=_DESC_K400),
                   published("resnet34_v1b_kinetics400-124a2fa4.pth", "gluoncv_torch_tsn_resnet", 69.85,
                             sha1="124a2fa45fce7102243515bdebfb262728c10ad0", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet34_v1b_kinetics400.yaml", description=_DESC_K400_TORCH)),
          description=("TSN ResNet-34 v1b on kinetics400 (GluonCV resnet34_v1b_kinetics400); frames of a video are "
                       "classified and averaged. Weights tags: 8a8d0d8d = GluonCV MXNet zoo (default); 124a2fa4 = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='124a2fa4'))."),
          train_command=_TRAIN)
_register("resnet34_v1b_sthsthv2", dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          kwargs=dict(depth=34, dropout_ratio=0.5, init_std=0.01),
          description=("TSN ResNet-34 v1b on sthsthv2 (GluonCV resnet34_v1b_sthsthv2); frames of a video are "
                       "classified and averaged."),
          train_command=_TRAIN)
_register("resnet50_v1b_custom", dataset="custom", kwargs=dict(depth=50, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet50_v1b_kinetics400-cc757e5c.params", "gluoncv_tsn", 69.9,
                             sha1="cc757e5c94fdaaea64a8cb5acfbd655ddf6ffa96", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet50_v1b_kinetics400_tsn.sh",
                             description=("the resnet50_v1b_kinetics400 weights (Kinetics-400, 7 segments) to "
                                          "fine-tune from")),
                   published("resnet50_v1b_kinetics400-9939dbdf.pth", "gluoncv_torch_tsn_resnet", 70.88,
                             sha1="9939dbdfdbf11cb42c06456f341596e75becf074", num_classes=400, pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet50_v1b_kinetics400.yaml",
                             description=("the resnet50_v1b_kinetics400 PyTorch weights (Kinetics-400) to fine-tune "
                                          "from"))),
          description=("TSN ResNet-50 v1b for fine-tuning on your own dataset (GluonCV resnet50_v1b_custom): "
                       "get_model(name, pretrained=True, num_classes=N) loads resnet50_v1b_kinetics400's weights "
                       "except the classifier, which starts fresh. Weights tags: cc757e5c = GluonCV MXNet zoo "
                       "(default); 9939dbdf = GluonCV PyTorch zoo, the same network (get_model(name, "
                       "pretrained='9939dbdf'))."),
          train_command=_TRAIN)
_register("resnet50_v1b_hmdb51", dataset="hmdb51", num_classes=51, input=_INPUT_3SEG,
          kwargs=dict(depth=50, dropout_ratio=0.9, init_std=0.001),
          weights=(published("resnet50_v1b_hmdb51-682591e2.params", "gluoncv_tsn", 55.2,
                             sha1="682591e23ce4b92fbd3222c0710ebb52166fddca", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "hmdb51/resnet50_v1b_hmdb51_tsn.sh",
                             description="ImageNet init, 3 segments, HMDB51 split 1"),
                   published("resnet50_v1b_hmdb51-ba66ee4b.params", "gluoncv_tsn", 52.2, sha1="ba66ee4b",
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "hmdb51/resnet50_v1b_hmdb51.sh",
                             description="alternate version: ImageNet init, 1 segment, HMDB51 split 1",
                             input=_INPUT_1SEG)),
          description=("TSN ResNet-50 v1b on hmdb51 (GluonCV resnet50_v1b_hmdb51); frames of a video are classified "
                       "and averaged."),
          train_command=_TRAIN)
_register("resnet50_v1b_kinetics400", kwargs=dict(depth=50, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet50_v1b_kinetics400-cc757e5c.params", "gluoncv_tsn", 69.9,
                             sha1="cc757e5c94fdaaea64a8cb5acfbd655ddf6ffa96", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/resnet50_v1b_kinetics400_tsn.sh", description=_DESC_K400),
                   published("resnet50_v1b_kinetics400-9939dbdf.pth", "gluoncv_torch_tsn_resnet", 70.88,
                             sha1="9939dbdfdbf11cb42c06456f341596e75becf074", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet50_v1b_kinetics400.yaml", description=_DESC_K400_TORCH)),
          description=("TSN ResNet-50 v1b on kinetics400 (GluonCV resnet50_v1b_kinetics400); frames of a video are "
                       "classified and averaged. Weights tags: cc757e5c = GluonCV MXNet zoo (default); 9939dbdf = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='9939dbdf'))."),
          train_command=_TRAIN)
_register("resnet50_v1b_sthsthv2", dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          kwargs=dict(depth=50, dropout_ratio=0.5, init_std=0.01),
          weights=(published("resnet50_v1b_sthsthv2-80ee0c6b.params", "gluoncv_tsn", 35.5,
                             sha1="80ee0c6bef8b0240ec88273531cd7f43e3f6b65d", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "somethingsomethingv2/resnet50_v1b_sthsthv2_tsn.sh",
                             description="ImageNet init, 8 segments"),
                   published("resnet50_v1b_sthsthv2-cbb9167b.pth", "gluoncv_torch_tsn_resnet", 35.16,
                             sha1="cbb9167bd293a82475f5f179a29de1f5c2665b8a", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "resnet50_v1b_sthsthv2.yaml",
                             description="ImageNet init, 8 segments (GluonCV PyTorch zoo)")),
          description=("TSN ResNet-50 v1b on sthsthv2 (GluonCV resnet50_v1b_sthsthv2); frames of a video are "
                       "classified and averaged. Weights tags: 80ee0c6b = GluonCV MXNet zoo (default); cbb9167b = "
                       "GluonCV PyTorch zoo, the same network (get_model(name, pretrained='cbb9167b'))."),
          train_command=_TRAIN)
_register("resnet50_v1b_ucf101", dataset="ucf101", num_classes=101, input=_INPUT_3SEG,
          kwargs=dict(depth=50, dropout_ratio=0.9, init_std=0.001),
          description=("TSN ResNet-50 v1b on ucf101 (GluonCV resnet50_v1b_ucf101); frames of a video are classified "
                       "and averaged."),
          train_command=_TRAIN)
_register("vgg16_hmdb51", builder=tsn_vgg16, dataset="hmdb51", num_classes=51, input=_INPUT_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_VGG16, kwargs=dict(dropout_ratio=0.9, init_std=0.001),
          description="TSN VGG-16 on hmdb51 (GluonCV vgg16_hmdb51); frames of a video are classified and averaged.",
          train_command=_TRAIN)
_register("vgg16_kinetics400", builder=tsn_vgg16, converters={"params": "gluoncv_tsn"}, source=_SOURCE_VGG16,
          kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          description=("TSN VGG-16 on kinetics400 (GluonCV vgg16_kinetics400); frames of a video are classified and "
                       "averaged."),
          train_command=_TRAIN)
_register("vgg16_sthsthv2", builder=tsn_vgg16, dataset="sthsthv2", num_classes=174, input=_INPUT_8SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_VGG16, kwargs=dict(dropout_ratio=0.5, init_std=0.01),
          description="TSN VGG-16 on sthsthv2 (GluonCV vgg16_sthsthv2); frames of a video are classified and averaged.",
          train_command=_TRAIN)
_register("vgg16_ucf101", builder=tsn_vgg16, dataset="ucf101", num_classes=101, input=_INPUT_3SEG,
          converters={"params": "gluoncv_tsn"}, source=_SOURCE_VGG16, kwargs=dict(dropout_ratio=0.9, init_std=0.001),
          weights=(published("vgg16_ucf101-d6dc1bba.params", "gluoncv_tsn", 83.4,
                             sha1="d6dc1bbaaf3cbe0be19f02362706393f62ce76fa", default=True, pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "ucf101/vgg16_ucf101_tsn.sh", description=_DESC_UCF101),
                   published("vgg16_ucf101-05e319d4.params", "gluoncv_tsn", 81.5, sha1="05e319d4",
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "ucf101/vgg16_ucf101.sh",
                             description=_DESC_UCF101_1SEG,
                             input=_INPUT_1SEG)),
          description="TSN VGG-16 on ucf101 (GluonCV vgg16_ucf101); frames of a video are classified and averaged.",
          train_command=_TRAIN)

# GluonCV's ``_int8`` names: the fp32 twin quantised by PyTorch (static post-training, x86 backend). GluonCV's
# int8 files are MXNet graphs calibrated from the fp32 weights; zoo quantises the fp32 twin itself
# (:mod:`zoo.convert.quantize`): ``get_model("<name>_int8", calibration=[clips, ...])``.
_INT8_NOTE = (
    "int8: static post-training quantisation of the fp32 twin with PyTorch (FX graph mode, x86 backend; "
    "conv/linear in int8, BatchNorm and ReLU fused), calibrated on clips the user gives: "
    "zoo.weights.get_int8_model('{twin}', clips). On the parity weights every conv/linear ran in int8 "
    "and top-1 agreed with fp32 on 8/8 parity clips (max |logit change| 3-7 % of the largest logit)."
)


def _register_int8(name: str, twin: str, **card: Any) -> None:
    """Register ``name``, the fp32 name ``twin`` quantised to int8; ``card`` repeats the twin's dataset, input, kwargs."""
    register_model(name, int8_builder(twin), family="tsn", source="GluonCV int8 name; zoo quantises the fp32 twin",
                   description=f"{twin} quantised to int8 (pass calibration clips; see the int8 note).",
                   int8=_INT8_NOTE.format(twin=twin), **card)


_register_int8("vgg16_ucf101_int8", "vgg16_ucf101", dataset="ucf101", num_classes=101, input=_INPUT_3SEG,
               kwargs=dict(dropout_ratio=0.9, init_std=0.001))
_register_int8("inceptionv3_ucf101_int8", "inceptionv3_ucf101", dataset="ucf101", num_classes=101, input=_INPUT_V3_3SEG,
               kwargs=dict(dropout_ratio=0.8, init_std=0.001))
_register_int8("inceptionv3_kinetics400_int8", "inceptionv3_kinetics400", dataset="kinetics400", num_classes=400,
               input=_INPUT_V3_7SEG, kwargs=dict(dropout_ratio=0.5, init_std=0.01))
_register_int8("resnet18_v1b_kinetics400_int8", "resnet18_v1b_kinetics400", dataset="kinetics400", num_classes=400,
               input=_INPUT_7SEG, kwargs=dict(depth=18, dropout_ratio=0.5, init_std=0.01))
_register_int8("resnet50_v1b_kinetics400_int8", "resnet50_v1b_kinetics400", dataset="kinetics400", num_classes=400,
               input=_INPUT_7SEG, kwargs=dict(depth=50, dropout_ratio=0.5, init_std=0.01))


# --------------------------------------------------------------------------------------------
# mmaction2's TSN ResNets (and its C2D without temporal pooling, a TSN network on one clip): the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_register_mm = partial(register_mmaction2, builder=tsn_resnet_v1b, family="tsn", converter="mmaction2_resnet2d")

_register_mm("c2d_resnet50_nopool_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/c2d/c2d_r50-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb/c2d_r50-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb_20221027-e0227b22.pth",
             top1=73.44, top5=91.0, pretraining="ImageNet", config="c2d/c2d_r50-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="mmaction2's C2D without temporal pooling: ResNet-50 on each of 8 frames (step 8), the frame features averaged (a TSN network on one 8-frame clip).")

_register_mm("c2d_resnet101_nopool_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 101},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/c2d/c2d_r101-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb/c2d_r101-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb_20221027-557bd8bc.pth",
             top1=74.97, top5=91.77, pretraining="ImageNet", config="c2d/c2d_r101-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="mmaction2's C2D without temporal pooling: ResNet-101 on each of 8 frames (step 8), the frame features averaged (a TSN network on one 8-frame clip).")

_register_mm("tsn_resnet50_seg3_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=3, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb_20220906-cd10898e.pth",
             top1=72.83, top5=90.65, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 3 segments, mmaction2's weights.")

_register_mm("tsn_resnet50_seg5_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=5, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x5-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x5-100e_kinetics400-rgb_20220906-65d68713.pth",
             top1=73.8, top5=91.21, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x5-100e_kinetics400-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 5 segments, mmaction2's weights.")

_register_mm("tsn_resnet50_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=8, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb_20220906-2692d16c.pth",
             top1=74.12, top5=91.34, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 8 segments, mmaction2's weights.")

_register_mm("tsn_resnet50_dense_seg5_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=5, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-dense-1x1x5-100e_kinetics400-rgb/tsn_imagenet-pretrained-r50_8xb32-dense-1x1x5-100e_kinetics400-rgb_20220906-dcbc6e01.pth",
             top1=71.37, top5=89.67, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-dense-1x1x5-100e_kinetics400-rgb.py",
             protocol=mm_protocol("25 frames (dense segments) x 1 crop (CenterCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 5 segments (dense sampling), mmaction2's weights.")

_register_mm("tsn_resnet101_seg8_kinetics400", dataset="kinetics400", kwargs={'depth': 101},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=8, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r101_8xb32-1x1x8-100e_kinetics400-rgb/tsn_imagenet-pretrained-r101_8xb32-1x1x8-100e_kinetics400-rgb_20220906-23cff032.pth",
             top1=75.89, top5=92.07, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r101_8xb32-1x1x8-100e_kinetics400-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-101, 8 segments, mmaction2's weights.")

_register_mm("tsn_resnet50_seg8_sthsthv2", dataset="sthsthv2", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=8, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-50e_sthv2-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x8-50e_sthv2-rgb_20230313-06ad7d03.pth",
             top1=35.51, top5=67.09, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-50e_sthv2-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 8 segments, mmaction2's weights. The metafile tags this entry Kinetics-400; its config, classifier (174 classes) and README table say Something-Something V2, which the card follows.")

_register_mm("tsn_resnet50_seg16_sthsthv2", dataset="sthsthv2", kwargs={'depth': 50},
             input=InputSpec(clip_len=1, frame_step=1, num_segments=16, crop_size=224, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x16-50e_sthv2-rgb/tsn_imagenet-pretrained-r50_8xb32-1x1x16-50e_sthv2-rgb_20230221-85bcc1c3.pth",
             top1=36.91, top5=68.77, pretraining="ImageNet", config="tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x16-50e_sthv2-rgb.py",
             protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)"),
             description="TSN over ResNet-50, 16 segments, mmaction2's weights. The metafile tags this entry Kinetics-400; its config, classifier (174 classes) and README table say Something-Something V2, which the card follows.")


# --------------------------------------------------------------------------------------------
# mmaction2's TSN on backbones it takes from other libraries: ResNeXt (mmcls / mmpretrain),
# DenseNet-161 (torchvision), Swin-B (timm), MobileOne-S4 (mmpretrain)
# --------------------------------------------------------------------------------------------

_MM_FC = Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1")


@register_converter("mmaction2_mmcls_resnet2d")
def convert_mmaction2_mmcls_resnet2d(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TSN on mmcls's ResNet / ResNeXt (torchvision-style ``conv1``, ``bn1``, ``layerN.M.convK``,
    ``downsample.0/1`` under ``backbone.``) -> :class:`TSNResNetV1b`."""
    rules = [Rule(r"backbone\.((?:conv1|bn1|layer[1-4])\..+)", r"backbone.\1"), _MM_FC]
    return convert(source, model, rules, what="mmaction2 TSN mmcls ResNet")


@register_converter("mmaction2_torchvision_densenet")
def convert_mmaction2_torchvision_densenet(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TSN on torchvision's DenseNet (``backbone.features.*``; its classifier is replaced by
    an identity and has no weights) -> :class:`TSNTrunk` over :class:`~zoo.models._tsn_backbones.DenseNet2d`."""
    return convert(source, model, [Rule(r"backbone\.(features\..+)", r"backbone.\1"), _MM_FC],
                   what="mmaction2 TSN torchvision DenseNet")


def _timm_swin_merge_rule(source: Mapping[str, torch.Tensor]) -> Rule:
    """The patch-merging rule of the file's timm layout.

    timm >= 0.9 keeps the merge at the start of stages 1-3 (``layers.1.downsample``, the layout
    mmaction2 1.2.0 builds); timm 0.6 kept it at the end of stages 0-2 (``layers.0.downsample``).
    """
    if any(re.fullmatch(r"backbone\.layers\.0\.downsample\..+", key) for key in source):
        return Rule(r"backbone\.layers\.([0-2])\.downsample\.(norm|reduction)\.(weight|bias)", r"merges.\1.\2.\3")
    return Rule(r"backbone\.layers\.([1-3])\.downsample\.(norm|reduction)\.(weight|bias)",
                lambda m: f"merges.{int(m.group(1)) - 1}.{m.group(2)}.{m.group(3)}")


@register_converter("mmaction2_timm_swin")
def convert_mmaction2_timm_swin(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TSN on timm's 2D Swin (``backbone.patch_embed``, ``layers.i.blocks.j``, ``norm``) -> the
    per-frame :class:`~zoo.models.swin3d.SwinTransformer3d` of :func:`tsn_swin_b`.

    The 2D patch-embedding kernel gains a time axis of 1; the window index and shift masks that
    timm keeps as buffers are constants ours computes, so they are dropped.
    """
    rules = [
        Rule(r"backbone\.patch_embed\.proj\.weight", r"patch_embed.proj.weight", reshape=True),
        Rule(r"backbone\.patch_embed\.(proj\.bias|norm\.weight|norm\.bias)", r"patch_embed.\1"),
        Rule(r"backbone\.layers\.\d\.blocks\.\d+\.(?:attn\.relative_position_index|attn_mask)", None),
        Rule(r"backbone\.layers\.(\d)\.blocks\.(\d+)\.(.+)", r"stages.\1.\2.\3"),
        _timm_swin_merge_rule(source),
        Rule(r"backbone\.norm\.(weight|bias)", r"norm.\1"),
        _MM_FC,
    ]
    return convert(source, model, rules, what="mmaction2 TSN timm Swin")


def _register_tsn_mm(name: str, builder: Callable[..., nn.Module], config: str, stamp: str, top1: float, top5: float, *,
                     converter: str, segments: int, description: str, kwargs: Mapping[str, Any] | None = None,
                     figures: str = "the README table and the metafile (they agree)") -> None:
    """mmaction2's TSN on another library's trunk: the file ``<config>_<stamp>.pth`` under ``tsn/<config>/``,
    its config under ``tsn/custom_backbones/``, tested on 25 frames x 10 crops."""
    register_mmaction2(
        name, builder=builder, family="tsn", converter=converter, dataset="kinetics400", kwargs=kwargs,
        input=InputSpec(clip_len=1, frame_step=1, num_segments=segments, crop_size=224, short_side=256, **IMAGENET_NORM),
        url=f"https://download.openmmlab.com/mmaction/v1.0/recognition/tsn/{config}/{config}_{stamp}.pth",
        top1=top1, top5=top5, pretraining="ImageNet", config=f"tsn/custom_backbones/{config}.py",
        protocol=mm_protocol("25 frames (uniform segments) x 10 crops (TenCrop 224px after short side 256)", figures),
        description=description)


_register_tsn_mm("tsn_resnext101_32x4d_seg3_kinetics400", tsn_resnet_v1b,
                 "tsn_imagenet-pretrained-rn101-32x4d_8xb32-1x1x3-100e_kinetics400-rgb", "20221209-de2d5615", 72.95, 90.36,
                 converter="mmaction2_mmcls_resnet2d", segments=3, kwargs={"depth": 101, "groups": 32, "width_per_group": 4},
                 description="TSN over ResNeXt-101 32x4d (mmcls's ResNeXt), 3 segments, mmaction2's weights.")
_register_tsn_mm("tsn_densenet161_seg3_kinetics400", tsn_densenet161,
                 "tsn_imagenet-pretrained-dense161_8xb32-1x1x3-100e_kinetics400-rgb", "20220906-5f4c0daf", 72.07, 90.15,
                 converter="mmaction2_torchvision_densenet", segments=3,
                 description=("TSN over DenseNet-161 (torchvision's), 3 segments, mmaction2's weights; the frame "
                              "features are DenseNet's last BatchNorm output pooled, without a final ReLU, as mmaction2 "
                              "pools torchvision's features."))
_register_tsn_mm("tsn_swin_b_seg3_kinetics400", tsn_swin_b,
                 "tsn_imagenet-pretrained-swin-transformer_8xb32-1x1x3-100e_kinetics400-rgb", "20220906-65ed814e",
                 77.03, 92.61, converter="mmaction2_timm_swin", segments=3,
                 description="TSN over Swin-B (timm's swin_base_patch4_window7_224), 3 segments, mmaction2's weights.")
_register_tsn_mm("tsn_swin_b_seg8_kinetics400", tsn_swin_b,
                 "tsn_imagenet-pretrained-swin-transformer_32xb8-1x1x8-50e_kinetics400-rgb", "20230530-428f0064",
                 79.22, 94.2, converter="mmaction2_timm_swin", segments=8,
                 figures=("the README table (the metafile gives this entry the 1x1x3 file's URL; the card follows the "
                          "README, which links this file)"),
                 description=("TSN over Swin-B (timm's swin_base_patch4_window7_224), 8 segments, 50 epochs on 32 GPUs, "
                              "mmaction2's weights. mmaction2's metafile lists this entry with the 3-segment file's URL; "
                              "the README table links its own file, which this card follows."))
_register_tsn_mm("tsn_mobileone_s4_seg8_kinetics400", tsn_mobileone,
                 "tsn_imagenet-pretrained-mobileone-s4_8xb32-1x1x8-100e_kinetics400-rgb", "20230825-2da3c1f7",
                 73.65, 91.32, converter="mmaction2_mobileone", segments=8, kwargs={"arch": "s4"},
                 description=("TSN over MobileOne-S4 (mmpretrain's), 8 segments, mmaction2's weights, in the "
                              "multi-branch form the file holds; model.backbone.fuse() folds each block into one "
                              "conv (mmaction2's deploy form, same outputs)."))
