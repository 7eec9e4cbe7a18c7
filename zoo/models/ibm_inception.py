"""IBM/action-recognition-pytorch Inception-v1 video networks: S3D and the inflated Inception I3D.

Chen et al., "Deep Analysis of CNN-based Spatio-temporal Representations for Action Recognition",
CVPR 2021 (IBM's ``--backbone_net s3d`` and ``--backbone_net i3d``).  Both are GoogLeNet layouts in
3D with one skeleton::

    conv1 (stride 1x2x2) -> max 1x3x3/1x2x2 -> conv2 1x1x1 -> conv3 -> pool 3x3x3/(t,2,2)
    -> mixed 3a, 3b -> pool 3x3x3/(t,2,2) -> mixed 4a..4e -> pool k/(t,2,2) -> mixed 5a, 5b
    -> global average -> dropout -> fc

with ``t = 1`` for ``without_t_stride`` (the configuration of IBM's README), else 2.  The first conv
never strides in time, unlike Xie et al.'s S3D and GluonCV's I3D-InceptionV1 (which therefore is not
this network: it also uses spatial-only and ``2x2x2`` pools in other places).

* S3D (``separable=True``): stem ``3x7x7`` full conv; ``conv3`` and the inception ``3x3``
  branches are separable ``1x3x3 -> BN -> ReLU -> 3x1x1 (with bias) -> BN -> ReLU``
  (:class:`zoo.models.s3d.SepConv3d` / :class:`~zoo.models.s3d.SepInception3d`); last pool ``2x2x2``
  without padding (with ``t = 1`` it shortens the clip by one frame, as upstream).
* I3D (``separable=False``): stem ``7x7x7``, every ``3x3`` inflated to ``3x3x3``
  (the Inception v1 blocks of :mod:`zoo.models._backbones2d`); last pool ``3x3x3``, padding 1.

IBM classifies every frame of the pooled ``(N, 1024, T')`` features and averages the frame logits;
the classifier is linear, so averaging the features first is the same.  All BatchNorms use eps
``1e-3`` and PyTorch's momentum 0.1.  IBM publishes no weights for these two configurations; the
cards convert an IBM checkpoint given as ``pretrained="/path/file.pth"``.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
from torch.nn.modules.utils import _triple

from ..registry import InputSpec, register_converter, register_model
from ._backbones2d import INCEPTION_V1_MIXED, ZeroPaddedAvgPool, inception_v1_block
from ._interface import VideoClassifier, init_conv_bn
from ._resnet3d import ConvBNAct, batch_norm3d
from ..convert.keys import KEEP, convert
from .s3d import SepConv3d, SepInception3d

__all__ = ["IBMInception3d", "ibm_s3d", "ibm_i3d_inception"]

_NORM = batch_norm3d(eps=1e-3, momentum=0.1)
_STAGE_3 = ("mixed_3a", "mixed_3b")
_STAGE_4 = ("mixed_4a", "mixed_4b", "mixed_4c", "mixed_4d", "mixed_4e")
_STAGE_5 = ("mixed_5a", "mixed_5b")


def _pool(method: str, kernel, stride, padding=0) -> nn.Module:
    if method == "max":
        return nn.MaxPool3d(kernel, stride, padding)
    if method == "avg":
        return ZeroPaddedAvgPool(_triple(kernel), _triple(stride), _triple(padding))
    raise ValueError(f"pooling_method must be 'max' or 'avg', got {method!r}")


class IBMInception3d(VideoClassifier):
    """IBM's S3D (``separable=True``) or inflated Inception I3D (``separable=False``).

    ``(N, 3, T, H, W) -> logits (N, num_classes)``; ``forward_features``: ``(N, 1024)``.
    Total spatial stride 32.  With ``without_t_stride`` ``T`` is kept (``T' = T``), except that S3D's
    unpadded ``2x2x2`` last pool drops one frame (``T' = T - 1``, so ``T >= 2``); otherwise the
    temporal stride is 8.

    Args:
        num_classes: classifier width.
        separable: S3D's separable ``1x3x3 + 3x1x1`` convs instead of inflated ``3x3x3`` ones.
        dropout_ratio: dropout before the classifier (IBM's ``--dropout``, 0.5).
        without_t_stride: keep ``T`` through the network (IBM's ``--without_t_stride``).
        pooling_method: ``"max"`` or ``"avg"`` for the four between-stage pools (``--pooling_method``);
            the pools inside the inception blocks are always max.
    """

    def __init__(
        self,
        num_classes: int = 400,
        separable: bool = True,
        dropout_ratio: float = 0.5,
        without_t_stride: bool = True,
        pooling_method: str = "max",
    ) -> None:
        super().__init__()
        ts = 1 if without_t_stride else 2
        layers: "OrderedDict[str, nn.Module]" = OrderedDict()
        if separable:
            layers["conv1"] = ConvBNAct(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), norm_layer=_NORM)
            layers["pool1"] = _pool(pooling_method, (1, 3, 3), (1, 2, 2), (0, 1, 1))
            layers["conv2"] = ConvBNAct(64, 64, 1, norm_layer=_NORM)
            layers["conv3"] = SepConv3d(64, 192, 3, norm_layer=_NORM, temporal_bias=True)
            block = lambda name: SepInception3d(*INCEPTION_V1_MIXED[name], norm_layer=_NORM, temporal_bias=True)  # noqa: E731
            last_pool = _pool(pooling_method, 2, (ts, 2, 2))
        else:
            layers["conv1"] = ConvBNAct(3, 64, 7, (1, 2, 2), 3, norm_layer=_NORM)
            layers["pool1"] = _pool(pooling_method, (1, 3, 3), (1, 2, 2), (0, 1, 1))
            layers["conv2"] = ConvBNAct(64, 64, 1, norm_layer=_NORM)
            layers["conv3"] = ConvBNAct(64, 192, 3, 1, 1, norm_layer=_NORM)
            block = lambda name: inception_v1_block(name, dim=3)  # noqa: E731
            last_pool = _pool(pooling_method, 3, (ts, 2, 2), 1)
        layers["pool2"] = _pool(pooling_method, 3, (ts, 2, 2), 1)
        layers.update((name, block(name)) for name in _STAGE_3)
        layers["pool3"] = _pool(pooling_method, 3, (ts, 2, 2), 1)
        layers.update((name, block(name)) for name in _STAGE_4)
        layers["pool4"] = last_pool
        layers.update((name, block(name)) for name in _STAGE_5)
        self.separable = separable
        self.init_std = 0.001
        self.num_features = 1024
        self.features = nn.Sequential(layers)
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(1024, num_classes)
        init_conv_bn(self, linear_std=self.init_std)  # IBM's (before its ImageNet inflation): N(0, 1e-3) fc

    def forward_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W) -> (N, 1024, T', H/32, W/32)`` (``T'`` as in the class docstring)."""
        return self.features(x)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> pooled features ``(N, 1024)``."""
        if x.dim() != 5:
            raise ValueError(f"expected (N, C, T, H, W) clips, got shape {tuple(x.shape)}")
        return self.forward_map(x).mean(dim=(2, 3, 4))


def ibm_s3d(num_classes: int = 400, **kwargs) -> IBMInception3d:
    """IBM S3D (kwargs: ``dropout_ratio``, ``without_t_stride``, ``pooling_method``)."""
    return IBMInception3d(num_classes, separable=True, **kwargs)


def ibm_i3d_inception(num_classes: int = 400, **kwargs) -> IBMInception3d:
    """IBM inflated Inception-v1 I3D (same kwargs as :func:`ibm_s3d`)."""
    return IBMInception3d(num_classes, separable=False, **kwargs)


# ---------------------------------------------------------------------------------------------
# IBM keys: conv{1,2,3}, inception{3a..5b}.branch{1..4}; BasicConv3d = conv/bn; STConv3d =
# conv/bn (spatial) + conv_t/bn_t (temporal); branch{2,3} = Sequential(1x1x1, 3x3), branch4 =
# Sequential(max-pool, 1x1x1).
_SEP_PARTS = {"conv": "spatial.conv", "bn": "spatial.bn", "conv_t": "temporal.conv", "bn_t": "temporal.bn"}
_SEP_BRANCHES = {"branch1": "branch1x1", "branch2.0": "branch3x3_reduce", "branch2.1": "branch3x3",
                 "branch3.0": "branch3x3b_reduce", "branch3.1": "branch3x3b", "branch4.1": "branch_pool_proj"}
_INFLATED_BRANCHES = {"branch1": "branches.0.0", "branch2.0": "branches.1.0", "branch2.1": "branches.1.1",
                      "branch3.0": "branches.2.0", "branch3.1": "branches.2.1", "branch4.1": "branches.3.1"}
_INCEPTION = r"inception(\d[a-e])\.(branch1|branch[23]\.[01]|branch4\.1)\.(conv|bn|conv_t|bn_t)\.(\w+)"


def _rules(separable: bool) -> list:
    branches = _SEP_BRANCHES if separable else _INFLATED_BRANCHES

    def inception(m) -> str:
        stage, branch, part, param = m.groups()
        if separable and branch in ("branch2.1", "branch3.1"):
            part = _SEP_PARTS[part]
        return f"features.mixed_{stage}.{branches[branch]}.{part}.{param}"

    rules = [(r"(conv[12])\.(conv|bn)\.(\w+)", r"features.\1.\2.\3")]
    if separable:
        rules.append((r"conv3\.(conv|bn|conv_t|bn_t)\.(\w+)", lambda m: f"features.conv3.{_SEP_PARTS[m.group(1)]}.{m.group(2)}"))
    else:
        rules.append((r"conv3\.(conv|bn)\.(\w+)", r"features.conv3.\1.\2"))
    rules.append((_INCEPTION, inception))
    return rules


@register_converter("ibm_inception3d")
def convert_ibm_inception3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """IBM ``S3D`` / ``I3D`` (Inception) state dict (``module.`` already stripped) -> :class:`IBMInception3d`."""
    if not isinstance(model, IBMInception3d):
        raise TypeError(f"the ibm_inception3d converter needs an IBMInception3d model, got {type(model).__name__}")
    what = "IBM S3D" if model.separable else "IBM I3D-Inception"
    return convert(source, model, (*_rules(model.separable), KEEP), what=what)


_INPUT = InputSpec(
    clip_len=32, frame_step=2, crop_size=256, short_side=256, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
    note="IBM eval (README): 32 frames densely sampled every 2nd frame, 3 crops x 10 clips, 256 px; "
         "mean = std = 0.5 (the models' own mean()/std())",
)

for _name, _builder, _title in (
    ("ibm_s3d_kinetics400", ibm_s3d, "S3D (separable 3D Inception-v1, 3x7x7 stem, no temporal striding)"),
    ("ibm_i3d_inception_kinetics400", ibm_i3d_inception, "I3D with an inflated Inception-v1 (7x7x7 stem, no temporal striding)"),
):
    register_model(
        _name,
        _builder,
        family="ibm_inception3d",
        dataset="kinetics400",
        num_classes=400,
        kwargs={"dropout_ratio": 0.5, "without_t_stride": True, "pooling_method": "max"},
        input=_INPUT,
        converters={"pth": "ibm_inception3d"},
        description=f"IBM {_title}, kinetics400 configuration of the README; no weights published.",
        source="IBM/action-recognition-pytorch",
    )
