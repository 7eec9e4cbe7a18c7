"""I3D ResNet (Carreira & Zisserman 2017) and its non-local variants (Wang et al. 2018), as in GluonCV.

The network is a ResNet-50/101 whose 2D kernels are inflated to 3D on chosen blocks: in the
``3x1x1`` style an inflated block's ``1x1`` reduce conv becomes ``3x1x1`` (the ``3x3`` stays
``1x3x3``).  Stem ``5x7x7`` conv stride ``(2, 2, 2)``, ``1x3x3`` max-pool stride ``(2, 2, 2)``,
a ``2x1x1`` temporal max-pool after ``layer1``, so a 32-frame clip leaves ``layer4`` as
``(N, 2048, 4, 7, 7)``.  Non-local blocks (embedded Gaussian, no sub-sampling) follow chosen
blocks of ``layer2``/``layer3``.

Names and weights are GluonCV's MXNet model zoo (``gluoncv.model_zoo.action_recognition.i3d_resnet``);
:func:`convert_gluoncv_i3d` maps its ``.params`` keys to ours.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ..sources import gluoncv_mxnet_weights
from ._resnet3d import (
    RESNET_DEPTHS,
    Bottleneck3d,
    ClassifierHead3d,
    NonLocal3d,
    ResNet3d,
    Stem3d,
    convert_by_rules,
    init_weights,
    make_stage,
    per_block,
)

__all__ = ["i3d_resnet", "I3D_INFLATE", "convert_gluoncv_i3d", "block_kwargs_i3d"]

#: GluonCV's inflation patterns (1 = inflated block) per depth.
I3D_INFLATE: dict[int, tuple[tuple[int, ...], ...]] = {
    50: ((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)),
    101: ((1, 1, 1), (1, 0, 1, 0), (1, 0) * 11 + (1,), (0, 1, 0)),
}

#: GluonCV's non-local placements (1 = a non-local block after that block), per name.
_NL5_50 = ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0))
_NL10_50 = ((0, 0, 0), (1, 1, 1, 1), (1, 1, 1, 1, 1, 1), (0, 0, 0))
_NL5_101 = ((0, 0, 0), (0, 1, 0, 1), (0,) * 6 + (1,) + (0,) * 6 + (1,) + (0,) * 6 + (1, 0, 0), (0, 0, 0))
_NL10_101 = ((0, 0, 0), (1, 1, 1, 1), (0, 0, 1, 0) * 5 + (0, 0, 1), (0, 0, 0))


def block_kwargs_i3d(inflate: Sequence[int], style: str = "3x1x1") -> list[dict[str, int]]:
    """Per-block kernel choices of an I3D stage: ``3x1x1`` inflates ``conv1``, ``3x3x3`` inflates ``conv2``."""
    if style not in ("3x1x1", "3x3x3"):
        raise ValueError(f"inflate_style must be '3x1x1' or '3x3x3', got {style!r}")
    key = "conv1_kernel_t" if style == "3x1x1" else "conv2_kernel_t"
    return [{key: 3 if flag else 1} for flag in inflate]


def i3d_resnet(
    num_classes: int,
    depth: int = 50,
    *,
    layers: Sequence[int] | None = None,
    inflate_freq: Sequence[int | Sequence[int]] | int | None = None,
    inflate_style: str = "3x1x1",
    nonlocal_stages: Sequence[int] = (),
    nonlocal_freq: Sequence[int | Sequence[int]] | None = None,
    spatial_strides: Sequence[int] = (1, 2, 2, 2),
    temporal_strides: Sequence[int] = (1, 1, 1, 1),
    dilations: Sequence[int] = (1, 1, 1, 1),
    conv1_kernel_t: int = 5,
    conv1_stride_t: int = 2,
    pool1_kernel_t: int = 1,
    pool1_stride_t: int = 2,
    temporal_pool2: bool = True,
    dropout_ratio: float = 0.5,
    init_std: float = 0.01,
    num_segments: int = 1,
    num_crop: int = 1,
    partial_bn: bool = False,
    bn_frozen: bool = False,
    frozen_stages: int = -1,
) -> ResNet3d:
    """I3D ResNet: ``(N * num_segments * num_crop, 3, T, H, W)`` -> logits ``(N, num_classes)``.

    Args:
        depth: 50 or 101 (any of :data:`RESNET_DEPTHS` with bottlenecks).
        layers: blocks per stage, overriding ``depth``'s (e.g. ``(1, 1, 1, 1)`` for a small test
            network; the patterns must then be given per block or as ints).
        inflate_freq: per stage, 1/0 per block (or one int for the stage); default GluonCV's
            pattern for ``depth`` (:data:`I3D_INFLATE`).
        inflate_style: ``"3x1x1"`` (inflate the reduce conv) or ``"3x3x3"`` (inflate the ``3x3``).
        nonlocal_stages / nonlocal_freq: stage indices (0-based) that may hold non-local blocks,
            and per stage 1/0 per block where one follows.
        conv1_kernel_t, conv1_stride_t, pool1_kernel_t, pool1_stride_t: the stem's temporal shape.
        temporal_pool2: GluonCV's ``2x1x1`` max-pool (stride 2) after ``layer1``.
        num_segments, num_crop: views per video averaged by the head (GluonCV consensus).
        partial_bn: every BN but the stem's is frozen while training (TSN's partial BN).
        bn_frozen: every BN uses running statistics and has a frozen scale/shift.
        frozen_stages: freeze the stem and ``layer1..layerK`` (``-1``: none).

    ``forward_features`` gives the pooled ``(N, 2048)`` features.
    """
    if depth not in (50, 101, 152):
        raise ValueError(f"I3D ResNet depth must be 50, 101 or 152, got {depth}")
    stage_blocks = tuple(layers) if layers is not None else RESNET_DEPTHS[depth]
    if inflate_freq is None:
        inflate_freq = I3D_INFLATE.get(depth, 1) if layers is None else 1
    inflate = [per_block(f, n) for f, n in zip(_per_stage(inflate_freq), stage_blocks)]
    nonlocal_cfg = [per_block(f, n) for f, n in zip(_per_stage(nonlocal_freq or 0), stage_blocks)]
    stem = Stem3d(
        3, 64, (conv1_kernel_t, 7, 7), (conv1_stride_t, 2, 2),
        pool_kernel=(pool1_kernel_t, 3, 3), pool_stride=(pool1_stride_t, 2, 2),
    )
    stages, in_planes = [], 64
    for i, num_blocks in enumerate(stage_blocks):
        planes = 64 * 2**i
        flags = [bool(f) and i in nonlocal_stages for f in nonlocal_cfg[i]]
        stages.append(
            make_stage(
                Bottleneck3d, in_planes, planes, num_blocks,
                stride=(temporal_strides[i], spatial_strides[i], spatial_strides[i]),
                block_kwargs=block_kwargs_i3d(inflate[i], inflate_style),
                nonlocal_blocks=flags, nonlocal_builder=NonLocal3d, dilation=dilations[i],
            )
        )
        in_planes = planes * Bottleneck3d.expansion
    head = ClassifierHead3d(
        in_planes, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments,
        num_crop=num_crop, init_std=init_std,
    )
    pools = {0: nn.MaxPool3d((2, 1, 1), (2, 1, 1))} if temporal_pool2 else None
    model = ResNet3d(stem, stages, head, pools, partial_bn=partial_bn, bn_frozen=bn_frozen, frozen_stages=frozen_stages)
    init_weights(model)
    return model


def _per_stage(pattern: Sequence[int | Sequence[int]] | int, num_stages: int = 4) -> list[int | Sequence[int]]:
    if isinstance(pattern, int):
        return [pattern] * num_stages
    if len(pattern) != num_stages:
        raise ValueError(f"expected one pattern per stage ({num_stages}), got {len(pattern)}")
    return list(pattern)


# --------------------------------------------------------------------------------------------
# GluonCV MXNet .params -> ours
# --------------------------------------------------------------------------------------------

_BLOCK_SEQ = {"0": "conv1", "1": "bn1", "3": "conv2", "4": "bn2", "6": "conv3", "7": "bn3", "8": "nonlocal_block"}
_NONLOCAL = {"W": "proj", "W_bn.0": "proj", "W_bn.1": "bn", "bn": "bn", "theta": "theta", "phi": "phi", "g": "g"}


def _block_key(m) -> str:
    """``res_layers.{i}.{j}.<part>.<param>`` -> ``layer{i+1}.{j}.<ours>.<param>``."""
    stage, block, part, rest = int(m[1]) + 1, m[2], m[3], m[4]
    if part.startswith("bottleneck."):  # the same parameters, stored a second time under the block's Sequential
        index, _, rest = f"{part[len('bottleneck.'):]}.{rest}".partition(".")
        part = _BLOCK_SEQ[index]
    if part == "nonlocal_block":
        sub, _, param = rest.rpartition(".")
        return f"layer{stage}.{block}.nonlocal_block.{_NONLOCAL[sub]}.{param}"
    if part.startswith("downsample."):
        part = "downsample." + {"0": "conv", "1": "bn"}[part.split(".")[1]]
    return f"layer{stage}.{block}.{part}.{rest}"


GLUONCV_RESNET3D_RULES = [
    (r"first_stage\.0\.(weight)", r"stem.conv.\1"),
    (r"first_stage\.1\.(\w+)", r"stem.bn.\1"),
    (r"res_layers\.(\d+)\.(\d+)\.(bottleneck\.\d+|conv\d|bn\d|downsample\.[01]|nonlocal_block)\.(.+)", _block_key),
    (r"(?:fc|head\.1)\.(weight|bias)", r"head.fc.\1"),
]


def convert_gluoncv_i3d(source: dict, model: nn.Module) -> dict:
    """GluonCV MXNet ``I3D_ResNetV1`` / ``ResNet_SlowFast`` (i3d_slow) ``.params`` keys -> ours.

    ``first_stage.{0,1}`` -> ``stem.{conv,bn}``, ``res_layers.i.j`` -> ``layer{i+1}.j`` (the
    ``bottleneck.N`` duplicates included and checked equal), ``downsample.{0,1}`` ->
    ``downsample.{conv,bn}``, non-local ``W``/``W_bn`` -> ``proj``/``bn``, ``fc``/``head.1`` ->
    ``head.fc``; ``gamma``/``beta`` -> ``weight``/``bias``.
    """
    return convert_by_rules(source, model, GLUONCV_RESNET3D_RULES, what="GluonCV I3D weights")


register_converter("gluoncv_i3d_resnet", convert_gluoncv_i3d)

# --------------------------------------------------------------------------------------------
# Model cards
# --------------------------------------------------------------------------------------------

_SOURCE = "GluonCV model zoo (MXNet), gluoncv/model_zoo/action_recognition/i3d_resnet.py"
_I3D_INPUT = InputSpec(clip_len=32, frame_step=2, crop_size=224, short_side=256)
_FINETUNE = dict(dropout_ratio=0.8, init_std=0.001)


def _register(name: str, *, dataset: str, num_classes: int, kwargs: dict, sha1: str | None, top1: float | None,
              description: str, input: InputSpec = _I3D_INPUT, weights_name: str | None = None, weights_description: str = "") -> None:
    weights = ()
    if sha1:
        weights = (
            gluoncv_mxnet_weights(weights_name or name, sha1, "gluoncv_i3d_resnet", top1, description=weights_description,
                                  num_classes=num_classes if weights_name is None else 400),
        )
    register_model(
        name, i3d_resnet, family="i3d", dataset=dataset, num_classes=num_classes, kwargs=kwargs, input=input,
        weights=weights, converters={"params": "gluoncv_i3d_resnet"}, description=description, source=_SOURCE,
    )


_R50 = dict(depth=50)
_R101 = dict(depth=101)
_NL = dict(nonlocal_stages=(1, 2))
_K400_DESC = "ImageNet-inflated init, trained on Kinetics-400 (32 frames, step 2); GluonCV top-1 with 10 clips x 3 crops."

_register("i3d_resnet50_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs=_R50,
          sha1="568a722eb61da663e11b582886ddbef9ef8f6ac6", top1=74.0, weights_description=_K400_DESC,
          description="I3D ResNet-50 (3x1x1 inflation on alternate blocks) for Kinetics-400.")
_register("i3d_resnet101_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs=_R101,
          sha1="6b69f655c60823bd05a83fe076c61d6c297add0d", top1=75.1, weights_description=_K400_DESC,
          description="I3D ResNet-101 for Kinetics-400.")
_register("i3d_nl5_resnet50_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs={**_R50, **_NL, "nonlocal_freq": _NL5_50},
          sha1="3c0e47ea5ee699c3e1f706c9df7a74dbd6321b11", top1=75.2, weights_description=_K400_DESC,
          description="I3D ResNet-50 with 5 non-local blocks (layer2/layer3) for Kinetics-400.")
_register("i3d_nl10_resnet50_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs={**_R50, **_NL, "nonlocal_freq": _NL10_50},
          sha1="bfb58c4127705ad6e98f4916abde0c849e2f1288", top1=75.3, weights_description=_K400_DESC,
          description="I3D ResNet-50 with 10 non-local blocks (layer2/layer3) for Kinetics-400.")
_register("i3d_nl5_resnet101_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs={**_R101, **_NL, "nonlocal_freq": _NL5_101},
          sha1="fbfc1d30d90c304295dedd6c70b037d100e43d5f", top1=76.0, weights_description=_K400_DESC,
          description="I3D ResNet-101 with 5 non-local blocks for Kinetics-400.")
_register("i3d_nl10_resnet101_v1_kinetics400", dataset="kinetics400", num_classes=400, kwargs={**_R101, **_NL, "nonlocal_freq": _NL10_101},
          sha1="59186c31dea2f20940a358fc8ea5199cd6d4303c", top1=76.1, weights_description=_K400_DESC,
          description="I3D ResNet-101 with 10 non-local blocks for Kinetics-400.")
_register("i3d_resnet50_v1_ucf101", dataset="ucf101", num_classes=101, kwargs={**_R50, **_FINETUNE, "partial_bn": True},
          sha1="760d0981094787b8789ee4a8c382d09d493c7413", top1=95.4,
          weights_description="Fine-tuned from the Kinetics-400 I3D ResNet-50 (ImageNet, K400 init); split 1, 32 frames step 2.",
          description="I3D ResNet-50 for UCF101 (partial BN while training).")
_register("i3d_resnet50_v1_hmdb51", dataset="hmdb51", num_classes=51, kwargs={**_R50, **_FINETUNE},
          sha1="2ec6bf01a55af38579380e6531d0ecc816862abe", top1=70.9,
          weights_description="Fine-tuned from the Kinetics-400 I3D ResNet-50 (ImageNet, K400 init); split 1, 32 frames step 2.",
          description="I3D ResNet-50 for HMDB51.")
_register("i3d_resnet50_v1_sthsthv2", dataset="sthsthv2", num_classes=174, kwargs=_R50,
          sha1="01961e4cccf6405cd1342670b9525c21c578c9d4", top1=50.6, input=InputSpec(clip_len=16, frame_step=2),
          weights_description="ImageNet-inflated init, trained on Something-Something-V2 (16 frames, step 2).",
          description="I3D ResNet-50 for Something-Something-V2.")
_register("i3d_resnet50_v1_custom", dataset="custom", num_classes=400, kwargs={**_R50, **_FINETUNE, "partial_bn": True},
          sha1="568a722eb61da663e11b582886ddbef9ef8f6ac6", top1=None, weights_name="i3d_resnet50_v1_kinetics400",
          weights_description="The Kinetics-400 weights of i3d_resnet50_v1_kinetics400 (GluonCV top-1 74.0 on Kinetics-400).",
          description=(
              "I3D ResNet-50 to fine-tune on your own classes (GluonCV's fine-tuning settings: dropout 0.8, "
              "partial BN). get_model(name, pretrained=True, num_classes=N) loads the Kinetics-400 weights of "
              "i3d_resnet50_v1_kinetics400 and starts a new N-way classifier."
          ))
