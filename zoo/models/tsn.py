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
from collections import OrderedDict

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ..sources import gluoncv_mxnet_weights
from ._backbones2d import (
    ConvBN,
    convert_gluon_state,
    fixed_avg_pool,
    V3_GLUON_NAMES,
    inception_v1_block,
    inception_v3_layers,
    pool_nd,
    vgg16_features,
)
from ._backbones_small import ResNet2d
from ._interface import VideoClassifier, init_conv_bn, segment_consensus

__all__ = ["TSN", "TSNResNetV1b", "TSNVGG16", "TSNInceptionV1", "TSNInceptionV3", "tsn_resnet_v1b", "tsn_vgg16", "tsn_inceptionv1", "tsn_inceptionv3"]

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

    #: GluonCV names of our top-level modules, for :func:`convert_gluon_state`.
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
    """TSN over ResNet v1b (``depth`` 18/34/50/101/152); features 512 or 2048."""

    GLUON_NAMES = {"backbone": "", "fc": "output"}

    def __init__(self, num_classes: int, depth: int = 50, dropout_ratio: float = 0.5, init_std: float = 0.01, **kwargs) -> None:
        super().__init__(num_classes, dropout_ratio=dropout_ratio, init_std=init_std, **kwargs)
        self.backbone = ResNet2d(depth)
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
        raise TypeError(f"the gluoncv_tsn converter needs a TSN model, got {type(model).__name__}")
    return convert_gluon_state(source, model, type(model).GLUON_NAMES, what=type(model).__name__)


register_converter("gluoncv_tsn", _convert_gluoncv_tsn)

# ---------------------------------------------------------------------------------------------
# Names, as GluonCV registers them (gluoncv 0.10.5.post0, model_zoo/action_recognition/actionrec_*).

_NUM_CLASSES = {"kinetics400": 400, "ucf101": 101, "hmdb51": 51, "sthsthv2": 174}
# TSN segments used in GluonCV's training recipes (Segments column of its accuracy tables).
_SEGMENTS = {"kinetics400": 7, "ucf101": 3, "hmdb51": 3, "sthsthv2": 8}
# GluonCV fixes dropout/init per dataset: the small datasets get heavy dropout and a tiny init.
_HEAD = {
    "kinetics400": {"dropout_ratio": 0.5, "init_std": 0.01},
    "sthsthv2": {"dropout_ratio": 0.5, "init_std": 0.01},
    "ucf101": {"dropout_ratio": 0.9, "init_std": 0.001},
    "hmdb51": {"dropout_ratio": 0.9, "init_std": 0.001},
}
_INCEPTION_HEAD = {**_HEAD, "ucf101": {"dropout_ratio": 0.8, "init_std": 0.001}, "hmdb51": {"dropout_ratio": 0.8, "init_std": 0.001}}

# name -> (sha1 of the .params, GluonCV's published top-1, description)
_WEIGHTS: dict[str, tuple[str, float, str]] = {
    "vgg16_ucf101": ("d6dc1bbaaf3cbe0be19f02362706393f62ce76fa", 83.4, "ImageNet init, 3 segments, UCF101 split 1"),
    "inceptionv1_kinetics400": ("6dcdafb1dd19866fdd3116cbe3689adb85824b2c", 69.1, "ImageNet init, 7 segments"),
    "inceptionv3_ucf101": ("13ef5c3bd40141f11c5b4e471f8f2ad0c1ac6299", 88.1, "ImageNet init, 3 segments, UCF101 split 1"),
    "inceptionv3_kinetics400": ("8a4a6946893de23937b5e5e4a1a449800d57ff71", 72.5, "ImageNet init, 7 segments"),
    "resnet18_v1b_kinetics400": ("46d5a9850cdb884eb9c9a95d48269c3d60c94d77", 65.5, "ImageNet init, 7 segments"),
    "resnet34_v1b_kinetics400": ("8a8d0d8d395882f836d379aefb4136dce8763d0c", 69.1, "ImageNet init, 7 segments"),
    "resnet50_v1b_kinetics400": ("cc757e5c94fdaaea64a8cb5acfbd655ddf6ffa96", 69.9, "ImageNet init, 7 segments"),
    "resnet101_v1b_kinetics400": ("5bb6098ea5343dc0f4bf8536b3771b8ddfe231d7", 71.3, "ImageNet init, 7 segments"),
    "resnet152_v1b_kinetics400": ("9bc70c66059854a22e935b42f783ef2bec0377d8", 71.5, "ImageNet init, 7 segments"),
    "resnet50_v1b_sthsthv2": ("80ee0c6bef8b0240ec88273531cd7f43e3f6b65d", 35.5, "ImageNet init, 8 segments"),
    "resnet50_v1b_hmdb51": ("682591e23ce4b92fbd3222c0710ebb52166fddca", 55.2, "ImageNet init, 3 segments, HMDB51 split 1"),
}

_GLUONCV_SRC = "GluonCV 0.10.5 model_zoo/action_recognition/actionrec_{}.py (MXNet)"
_TRAIN = "GluonCV scripts/action-recognition/train_recognizer.py (see the train command linked in its model zoo table)"


def _input(dataset: str, crop: int) -> InputSpec:
    short = 340 if crop == 299 else 256  # GluonCV resizes frames to 340x256 (450x340 for InceptionV3)
    return InputSpec(
        clip_len=1,
        frame_step=1,
        num_segments=_SEGMENTS[dataset],
        crop_size=crop,
        short_side=short,
        note=f"TSN: one frame per segment, the {_SEGMENTS[dataset]} segments stacked along T; logits are averaged over T",
    )


def _weights(name: str, num_classes: int | None = None, description: str = "") -> tuple:
    if name not in _WEIGHTS:
        return ()
    sha1, top1, desc = _WEIGHTS[name]
    return (gluoncv_mxnet_weights(name, sha1, "gluoncv_tsn", top1, description=description or desc, num_classes=num_classes),)


def _register(name: str, builder, arch_kwargs: dict, dataset: str, head: dict, crop: int, src: str, what: str) -> None:
    register_model(
        name,
        builder,
        family="tsn",
        dataset=dataset,
        num_classes=_NUM_CLASSES[dataset],
        kwargs={**arch_kwargs, **head[dataset]},
        input=_input(dataset, crop),
        weights=_weights(name),
        converters={"params": "gluoncv_tsn"},
        description=f"TSN {what} on {dataset} (GluonCV {name}); frames of a video are classified and averaged.",
        source=_GLUONCV_SRC.format(src),
        train_command=_TRAIN,
    )


for _ds in ("ucf101", "hmdb51", "kinetics400", "sthsthv2"):
    _register(f"vgg16_{_ds}", tsn_vgg16, {}, _ds, _HEAD, 224, "vgg16", "VGG-16")
    _register(f"inceptionv1_{_ds}", tsn_inceptionv1, {}, _ds, _INCEPTION_HEAD, 224, "inceptionv1", "Inception v1 (GoogLeNet-BN)")
    _register(f"inceptionv3_{_ds}", tsn_inceptionv3, {}, _ds, _INCEPTION_HEAD, 299, "inceptionv3", "Inception v3")
for _ds in ("kinetics400", "sthsthv2"):
    for _depth in (18, 34, 50, 101, 152):
        _register(f"resnet{_depth}_v1b_{_ds}", tsn_resnet_v1b, {"depth": _depth}, _ds, _HEAD, 224, "resnetv1b", f"ResNet-{_depth} v1b")
for _ds in ("ucf101", "hmdb51"):
    _register(f"resnet50_v1b_{_ds}", tsn_resnet_v1b, {"depth": 50}, _ds, _HEAD, 224, "resnetv1b", "ResNet-50 v1b")

# *_custom: a Kinetics-400 model to fine-tune on another dataset.  GluonCV copies every parameter
# but the classifier from the Kinetics-400 weights; here pretrained=True with num_classes=N does the
# same (the registry keeps every weight whose shape fits and starts a new classifier).
for _depth in (18, 50):
    _parent = f"resnet{_depth}_v1b_kinetics400"
    register_model(
        f"resnet{_depth}_v1b_custom",
        tsn_resnet_v1b,
        family="tsn",
        dataset="custom",
        num_classes=400,
        kwargs={"depth": _depth, **_HEAD["kinetics400"]},
        input=_input("kinetics400", 224),
        weights=_weights(_parent, num_classes=400, description=f"the {_parent} weights (Kinetics-400, 7 segments) to fine-tune from"),
        converters={"params": "gluoncv_tsn"},
        description=(
            f"TSN ResNet-{_depth} v1b for fine-tuning on your own dataset (GluonCV resnet{_depth}_v1b_custom): "
            f"get_model(name, pretrained=True, num_classes=N) loads {_parent}'s weights except the classifier, "
            "which starts fresh."
        ),
        source=_GLUONCV_SRC.format("resnetv1b"),
        train_command=_TRAIN,
    )
