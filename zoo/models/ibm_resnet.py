"""IBM/action-recognition-pytorch ResNets: I3D-ResNet, R(2+1)D-ResNet ("s3d_resnet"), TAM-ResNet, TSN.

Chen et al., "Deep Analysis of CNN-based Spatio-temporal Representations for Action Recognition",
CVPR 2021.  All are ImageNet ResNet-50/101 layouts (stride on the ``3x3`` conv) with a ``7x7``
stride-2 stem and a ``3x3`` max-pool; the released configurations keep the temporal length through
the network (``--without_t_stride``), average over space, classify every frame and average the
frame logits (equal to classifying the averaged features: the classifier is linear).

* I3D-ResNet: stem ``3x7x7``, every bottleneck's ``3x3`` inflated to ``3x3x3``.
* R(2+1)D-ResNet: the bottleneck's ``3x3`` becomes ``1x3x3 -> BN -> ReLU -> 3x1x1`` at the same
  width (:class:`zoo.models.r2plus1d.Conv2Plus1d` with ``mid = width``).
* TAM-ResNet: a 2D ResNet applied per frame with a Temporal Aggregation Module before each block:
  ``relu(a * x[t-1] + b * x[t] + c * x[t+1])`` per channel, zero-padded in time.  Here frames
  stay on the ``T`` axis of ``(N, C, T, H, W)``: 2D convs are ``1xkxk`` 3D convs and TAM is a
  depthwise ``3x1x1`` conv (weights ``[a, b, c]``) plus ReLU.  TSN is the same network without TAM.

IBM's 2D models take ``N x (T*3) x H x W`` (channel ``t*3 + c``); ours take ``(N, 3, T, H, W)``:
``x.view(N, T, 3, H, W).permute(0, 2, 1, 3, 4)``.  IBM publishes no hashes, so the cards list the
release files in their descriptions; ``get_model(name, pretrained="K400-TAM-ResNet-50-f32.pth")``
converts a downloaded checkpoint (its ``state_dict`` entry) with the card's converter.
"""
from __future__ import annotations

from functools import partial

from typing import Any

import torch
import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._resnet3d import RESNET_DEPTHS, Bottleneck3d, ClassifierHead3d, ResNet3d, Stem3d, Triple, init_weights, make_stage
from ..convert.keys import KEEP, Rule, convert
from .r2plus1d import Conv2Plus1d
from .tsm import TemporalAggregation3d

__all__ = ["TAMBottleneck3d", "ibm_i3d_resnet", "ibm_r2plus1d_resnet", "ibm_tam_resnet"]


class TAMBottleneck3d(Bottleneck3d):
    """A bottleneck whose residual branch starts with TAM; the shortcut sees the block input."""

    def __init__(self, in_planes: int, planes: int, **kwargs: Any) -> None:
        super().__init__(in_planes, planes, **kwargs)
        self.tam = TemporalAggregation3d(in_planes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(self.tam(x))))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


def _separable_builder(in_planes: int, out_planes: int, *, stride: Triple, kernel_t: int = 3, dilation: int = 1) -> nn.Module:
    return Conv2Plus1d(in_planes, out_planes, out_planes, stride=stride, kernel_t=kernel_t)


def _ibm_resnet(num_classes: int, depth: int, kind: str, dropout_ratio: float) -> ResNet3d:
    if depth not in RESNET_DEPTHS or depth < 50:
        raise ValueError(f"IBM ResNets here are bottleneck depths 50, 101, 152; got {depth}")
    kt = 1 if kind in ("tam", "tsn") else 3
    stem = Stem3d(3, 64, (kt, 7, 7), (1, 2, 2), (kt // 2, 3, 3), pool_kernel=(1, 3, 3), pool_stride=(1, 2, 2), pool_padding=(0, 1, 1))
    block = TAMBottleneck3d if kind == "tam" else Bottleneck3d
    block_kwargs: dict[str, Any] = {"conv2_kernel_t": kt}
    if kind == "r2plus1d":
        block_kwargs["conv_builder"] = _separable_builder
    stages, in_planes = [], 64
    for i, (planes, num_blocks) in enumerate(zip((64, 128, 256, 512), RESNET_DEPTHS[depth])):
        stride = (1, 1, 1) if i == 0 else (1, 2, 2)  # --without_t_stride: T is kept
        stages.append(make_stage(block, in_planes, planes, num_blocks, stride=stride, block_kwargs=block_kwargs))
        in_planes = planes * 4
    head = ClassifierHead3d(in_planes, num_classes, dropout_ratio=dropout_ratio, init_std=0.001)
    model = ResNet3d(stem, stages, head)
    init_weights(model)
    return model


def ibm_i3d_resnet(num_classes: int = 400, depth: int = 50, dropout_ratio: float = 0.5) -> ResNet3d:
    """IBM I3D-ResNet: ``(N, 3, T, H, W) -> (N, num_classes)``, T kept through the network."""
    return _ibm_resnet(num_classes, depth, "i3d", dropout_ratio)


def ibm_r2plus1d_resnet(num_classes: int = 400, depth: int = 50, dropout_ratio: float = 0.5) -> ResNet3d:
    """IBM R(2+1)D-ResNet (``s3d_resnet``): separable ``1x3x3`` + ``3x1x1`` bottleneck convs."""
    return _ibm_resnet(num_classes, depth, "r2plus1d", dropout_ratio)


def ibm_tam_resnet(num_classes: int = 400, depth: int = 50, tam: bool = True, dropout_ratio: float = 0.5) -> ResNet3d:
    """IBM TAM-ResNet (``tam=False``: TSN ResNet) on ``(N, 3, T, H, W)``; any ``T`` (frames are the T axis)."""
    return _ibm_resnet(num_classes, depth, "tam" if tam else "tsn", dropout_ratio)


# ---------------------------------------------------------------------------------------------
_RULES = [
    (r"conv1\.weight", "stem.conv.weight"),
    (r"bn1\.(.+)", r"stem.bn.\1"),
    (r"(layer\d\.\d+)\.conv2_t\.weight", r"\1.conv2.conv_t.weight"),  # R(2+1)D: temporal half
    (r"(layer\d\.\d+)\.bn2_t\.(.+)", r"\1.bn2.\2"),
    (r"(layer\d\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer\d\.\d+)\.downsample\.1\.(.+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
]
_SEPARABLE_RULES = [
    (r"(layer\d\.\d+)\.conv2\.weight", r"\1.conv2.conv_s.weight"),
    (r"(layer\d\.\d+)\.bn2\.(.+)", r"\1.conv2.bn_s.\2"),
]


#: 2D ``kxk`` kernels of the 2D ResNets gain a unit time axis.
_CONV_2D_TO_3D = Rule(r"(.*conv\d?\.weight)", r"\1", reshape=True)


@register_converter("ibm_resnet3d")
def convert_ibm_resnet3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """IBM ``I3D_ResNet`` / ``S3D_ResNet`` checkpoint (``['state_dict']``, ``module.`` stripped) -> ours."""
    rules = (_SEPARABLE_RULES if any(k.endswith("conv2_t.weight") for k in source) else []) + _RULES
    return convert(source, model, (*rules, KEEP), what="IBM 3D ResNet")


@register_converter("ibm_resnet2d")
def convert_ibm_resnet2d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """IBM 2D ``ResNet`` (TSN, TAM) -> ours: ``kxk`` convs become ``1xkxk``; TAM's three per-channel
    1x1 convs (previous, current, next frame) become one depthwise ``3x1x1`` kernel."""
    merged: dict[str, torch.Tensor] = {}
    for key, value in source.items():
        if ".tam." not in key:
            merged[key] = value
        elif key.endswith(".tam.prev_se.fc1.weight"):
            base = key[: -len("prev_se.fc1.weight")]
            parts = [source[f"{base}{which}_se.fc1.weight"] for which in ("prev", "curr", "next")]
            merged[f"{base}conv.weight"] = torch.stack([p.reshape(p.shape[0], 1) for p in parts], dim=2)[..., None, None]
        elif not key.endswith((".tam.curr_se.fc1.weight", ".tam.next_se.fc1.weight")):
            merged[key] = value  # unknown TAM parameter: reported as unexpected
    return convert(merged, model, (*(Rule(p, t, reshape=p.endswith("weight")) for p, t in _RULES), _CONV_2D_TO_3D, KEEP),
                   what="IBM 2D ResNet")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_UNIFORM_INPUT = InputSpec(clip_len=32, crop_size=256,
                   note=("IBM eval: 32 frames uniformly over the video (one per segment), 3 crops x 2 clips, 256 px, "
                         "ImageNet mean/std"))
_DENSE_INPUT = InputSpec(clip_len=32, frame_step=2, crop_size=256,
                     note=("IBM eval: 32 frames densely sampled every 2nd frame, 3 crops x 10 clips, 256 px, ImageNet "
                           "mean/std; IBM's own layout is N x (T*3) x H x W"))
_TAM_2D_INPUT = InputSpec(clip_len=32, crop_size=256,
                     note=("IBM eval: 32 frames uniformly over the video (one per segment), 3 crops x 2 clips, 256 px,"
                           " ImageNet mean/std; IBM's own layout is N x (T*3) x H x W"))
#: IBM/action-recognition-pytorch README links (no hash published, so no weights entry; a local ``.pth`` converts).
IBM_RELEASES = "https://github.com/IBM/action-recognition-pytorch/releases/download/weights-v0.1/"
_LOCAL = " (no hash published: download it and pass the path as pretrained=)"
_register = partial(register_model, builder=ibm_tam_resnet, family="ibm_i3d_resnet", dataset="kinetics400",
                    num_classes=400,
                    input=InputSpec(clip_len=32, frame_step=2, crop_size=256,
                                    note=("IBM eval: 32 frames densely sampled every 2nd frame, 3 crops x 10 clips, "
                                          "256 px, ImageNet mean/std")),
                    converters={"pth": "ibm_resnet3d"}, source="IBM/action-recognition-pytorch")
_register("ibm_i3d_resnet101_kinetics400", builder=ibm_i3d_resnet, kwargs=dict(depth=101),
          description=("IBM I3D-ResNet-101, kinetics400; README top-1 77.8 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "K400-I3D-ResNet-101-f32.pth.tar" + _LOCAL))
_register("ibm_i3d_resnet101_sthsthv2", builder=ibm_i3d_resnet, dataset="sthsthv2", num_classes=174, input=_UNIFORM_INPUT,
          kwargs=dict(depth=101),
          description=("IBM I3D-ResNet-101, sthsthv2; README top-1 64.29 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "SSV2-I3D-ResNet-101-f32.pth.tar" + _LOCAL))
_register("ibm_i3d_resnet50_kinetics400", builder=ibm_i3d_resnet, kwargs=dict(depth=50),
          description=("IBM I3D-ResNet-50, kinetics400; README top-1 76.61 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "K400-I3D-ResNet-50-f32.pth.tar" + _LOCAL))
_register("ibm_i3d_resnet50_sthsthv2", builder=ibm_i3d_resnet, dataset="sthsthv2", num_classes=174, input=_UNIFORM_INPUT,
          kwargs=dict(depth=50),
          description=("IBM I3D-ResNet-50, sthsthv2; README top-1 62.84 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "SSV2-I3D-ResNet-50-f32.pth.tar" + _LOCAL))
_register("ibm_r2plus1d_resnet50_kinetics400", builder=ibm_r2plus1d_resnet, family="ibm_r2plus1d_resnet",
          kwargs=dict(depth=50),
          description="IBM R(2+1)D-ResNet-50, kinetics400 configuration of the README; no weights published.")
_register("ibm_tam_resnet101_kinetics400", family="ibm_tam_resnet", input=_DENSE_INPUT, converters={"pth": "ibm_resnet2d"},
          kwargs=dict(depth=101),
          description=("IBM TAM-ResNet-101, kinetics400; README top-1 77.61 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "K400-TAM-ResNet-101-f32.pth.tar" + _LOCAL))
_register("ibm_tam_resnet101_sthsthv2", family="ibm_tam_resnet", dataset="sthsthv2", num_classes=174, input=_TAM_2D_INPUT,
          converters={"pth": "ibm_resnet2d"}, kwargs=dict(depth=101),
          description=("IBM TAM-ResNet-101, sthsthv2; README top-1 65.32 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "SSV2-TAM-ResNet-101-f32.pth.tar" + _LOCAL))
_register("ibm_tam_resnet50_kinetics400", family="ibm_tam_resnet", input=_DENSE_INPUT, converters={"pth": "ibm_resnet2d"},
          kwargs=dict(depth=50),
          description=("IBM TAM-ResNet-50, kinetics400; README top-1 76.18 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "K400-TAM-ResNet-50-f32.pth.tar" + _LOCAL))
_register("ibm_tam_resnet50_sthsthv2", family="ibm_tam_resnet", dataset="sthsthv2", num_classes=174, input=_TAM_2D_INPUT,
          converters={"pth": "ibm_resnet2d"}, kwargs=dict(depth=50),
          description=("IBM TAM-ResNet-50, sthsthv2; README top-1 63.83 (IBM, 32 frames). Weights: "
                       + IBM_RELEASES + "SSV2-TAM-ResNet-50-f32.pth.tar" + _LOCAL))
_register("ibm_tsn_resnet50_kinetics400", family="ibm_tsn_resnet", input=_DENSE_INPUT, converters={"pth": "ibm_resnet2d"},
          kwargs=dict(depth=50, tam=False),
          description="IBM TSN ResNet-50, kinetics400 configuration of the README; no weights published.")
