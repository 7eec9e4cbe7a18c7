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

from functools import partial

from typing import Any, Mapping, Sequence

import torch.nn as nn

from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, GLUONCV_LOGS, published
from ..convert.keys import convert
from ._resnet3d import (
    RESNET_DEPTHS,
    Bottleneck3d,
    ClassifierHead3d,
    NonLocal3d,
    ResNet3d,
    Stem3d,
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
    base_width: int = 64,
    inflate_freq: Sequence[int | Sequence[int]] | int | None = None,
    inflate_style: str = "3x1x1",
    nonlocal_stages: Sequence[int] = (),
    nonlocal_freq: Sequence[int | Sequence[int]] | None = None,
    nonlocal_kwargs: Mapping[str, Any] | None = None,
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
    head_hidden: int | None = None,
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
        base_width: the stem's width and ``layer1``'s inner width (64; smaller for a test network).
        inflate_freq: per stage, 1/0 per block (or one int for the stage); default GluonCV's
            pattern for ``depth`` (:data:`I3D_INFLATE`).
        inflate_style: ``"3x1x1"`` (inflate the reduce conv) or ``"3x3x3"`` (inflate the ``3x3``).
        nonlocal_stages / nonlocal_freq: stage indices (0-based) that may hold non-local blocks,
            and per stage 1/0 per block where one follows.
        nonlocal_kwargs: :class:`~zoo.models._resnet3d.NonLocal3d` arguments (``mode``,
            ``sub_sample``, ``scale``, ``proj_bias``; GluonCV's defaults when empty).
        conv1_kernel_t, conv1_stride_t, pool1_kernel_t, pool1_stride_t: the stem's temporal shape.
        temporal_pool2: GluonCV's ``2x1x1`` max-pool (stride 2) after ``layer1``.
        head_hidden: width of a ``Linear -> BatchNorm1d -> ReLU`` layer before the classifier
            (mmaction2's OmniSource head: twice the classes); ``None``: the classifier alone.
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
        3, base_width, (conv1_kernel_t, 7, 7), (conv1_stride_t, 2, 2),
        pool_kernel=(pool1_kernel_t, 3, 3), pool_stride=(pool1_stride_t, 2, 2),
    )
    stages, in_planes = [], base_width
    for i, num_blocks in enumerate(stage_blocks):
        planes = base_width * 2**i
        flags = [bool(f) and i in nonlocal_stages for f in nonlocal_cfg[i]]
        stages.append(
            make_stage(
                Bottleneck3d, in_planes, planes, num_blocks,
                stride=(temporal_strides[i], spatial_strides[i], spatial_strides[i]),
                block_kwargs=block_kwargs_i3d(inflate[i], inflate_style),
                nonlocal_blocks=flags, nonlocal_builder=partial(NonLocal3d, **(nonlocal_kwargs or {})), dilation=dilations[i],
            )
        )
        in_planes = planes * Bottleneck3d.expansion
    head = ClassifierHead3d(
        in_planes, num_classes, dropout_ratio=dropout_ratio, num_segments=num_segments,
        num_crop=num_crop, init_std=init_std, hidden_features=head_hidden,
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
    return convert(source, model, GLUONCV_RESNET3D_RULES, mxnet_bn=True, what="GluonCV I3D weights")


register_converter("gluoncv_i3d_resnet", convert_gluoncv_i3d)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_K400_DESC = "ImageNet-inflated init, trained on Kinetics-400 (32 frames, step 2); GluonCV top-1 with 10 clips x 3 crops."
_TORCH_DESC = "ImageNet-inflated init, 32 frames step 2 (GluonCV PyTorch zoo)"
_FINETUNE_R50 = dict(depth=50, dropout_ratio=0.8, init_std=0.001, partial_bn=True)
_FINETUNED_DESC = "Fine-tuned from the Kinetics-400 I3D ResNet-50 (ImageNet, K400 init); split 1, 32 frames step 2."
_register = partial(register_model, builder=i3d_resnet, family="i3d", dataset="kinetics400", num_classes=400,
                    input=InputSpec(clip_len=32, frame_step=2),
                    converters={"params": "gluoncv_i3d_resnet", "pth": "gluoncv_i3d_resnet"},
                    source="GluonCV model zoo (MXNet), gluoncv/model_zoo/action_recognition/i3d_resnet.py")
_register("i3d_nl10_resnet101_v1_kinetics400",
          kwargs=dict(depth=101, nonlocal_stages=(1, 2), nonlocal_freq=_NL10_101),
          weights=(published("i3d_nl10_resnet101_v1_kinetics400-59186c31.params", "gluoncv_i3d_resnet", 76.1,
                             sha1="59186c31dea2f20940a358fc8ea5199cd6d4303c", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_nl10_resnet101_v1_kinetics400.sh",
                             description=_K400_DESC),
                   published("i3d_nl10_resnet101_v1_kinetics400-526a2ed0.pth", "gluoncv_i3d_resnet", 75.93,
                             sha1="526a2ed07cffeab6d827ab28c979b537100cd2b3", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_nl10_resnet101_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-101 with 10 non-local blocks for Kinetics-400. Weights tags: 59186c31 = GluonCV "
                       "MXNet zoo (default); 526a2ed0 = GluonCV PyTorch zoo, the same network (get_model(name, "
                       "pretrained='526a2ed0'))."))
_register("i3d_nl10_resnet50_v1_kinetics400",
          kwargs=dict(depth=50, nonlocal_stages=(1, 2), nonlocal_freq=_NL10_50),
          weights=(published("i3d_nl10_resnet50_v1_kinetics400-bfb58c41.params", "gluoncv_i3d_resnet", 75.3,
                             sha1="bfb58c4127705ad6e98f4916abde0c849e2f1288", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_nl10_resnet50_v1_kinetics400.sh",
                             description=_K400_DESC),
                   published("i3d_nl10_resnet50_v1_kinetics400-281e1e8a.pth", "gluoncv_i3d_resnet", 75.93,
                             sha1="281e1e8a8ef78ada7e095b43caf0cd3f75e7a6a4", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_nl10_resnet50_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-50 with 10 non-local blocks (layer2/layer3) for Kinetics-400. Weights tags: "
                       "bfb58c41 = GluonCV MXNet zoo (default); 281e1e8a = GluonCV PyTorch zoo, the same network "
                       "(get_model(name, pretrained='281e1e8a'))."))
_register("i3d_nl5_resnet101_v1_kinetics400",
          kwargs=dict(depth=101, nonlocal_stages=(1, 2), nonlocal_freq=_NL5_101),
          weights=(published("i3d_nl5_resnet101_v1_kinetics400-fbfc1d30.params", "gluoncv_i3d_resnet", 76.0,
                             sha1="fbfc1d30d90c304295dedd6c70b037d100e43d5f", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_nl5_resnet101_v1_kinetics400.sh",
                             description=_K400_DESC),
                   published("i3d_nl5_resnet101_v1_kinetics400-2cea8edd.pth", "gluoncv_i3d_resnet", 75.81,
                             sha1="2cea8edd07e5565b9c1eb66ca862ade3127ce523", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_nl5_resnet101_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-101 with 5 non-local blocks for Kinetics-400. Weights tags: fbfc1d30 = GluonCV "
                       "MXNet zoo (default); 2cea8edd = GluonCV PyTorch zoo, the same network (get_model(name, "
                       "pretrained='2cea8edd'))."))
_register("i3d_nl5_resnet50_v1_kinetics400",
          kwargs=dict(depth=50, nonlocal_stages=(1, 2), nonlocal_freq=_NL5_50),
          weights=(published("i3d_nl5_resnet50_v1_kinetics400-3c0e47ea.params", "gluoncv_i3d_resnet", 75.2,
                             sha1="3c0e47ea5ee699c3e1f706c9df7a74dbd6321b11", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_nl5_resnet50_v1_kinetics400.sh", description=_K400_DESC),
                   published("i3d_nl5_resnet50_v1_kinetics400-9df1e103.pth", "gluoncv_i3d_resnet", 75.17,
                             sha1="9df1e103d54bc1227da58d19347e1371cf98a9fb", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_nl5_resnet50_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-50 with 5 non-local blocks (layer2/layer3) for Kinetics-400. Weights tags: 3c0e47ea"
                       " = GluonCV MXNet zoo (default); 9df1e103 = GluonCV PyTorch zoo, the same network "
                       "(get_model(name, pretrained='9df1e103'))."))
_register("i3d_resnet101_v1_kinetics400", kwargs=dict(depth=101),
          weights=(published("i3d_resnet101_v1_kinetics400-6b69f655.params", "gluoncv_i3d_resnet", 75.1,
                             sha1="6b69f655c60823bd05a83fe076c61d6c297add0d", default=True, num_classes=400,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "kinetics400/i3d_resnet101_v1_kinetics400.sh", description=_K400_DESC),
                   published("i3d_resnet101_v1_kinetics400-a9bb4f89.pth", "gluoncv_i3d_resnet", 75.1,
                             sha1="a9bb4f89551c30d553a487fcc560ff7f41a3de8c", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_resnet101_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-101 for Kinetics-400. Weights tags: 6b69f655 = GluonCV MXNet zoo (default); "
                       "a9bb4f89 = GluonCV PyTorch zoo, the same network (get_model(name, pretrained='a9bb4f89'))."))
_register("i3d_resnet50_v1_custom", dataset="custom", kwargs=_FINETUNE_R50,
          weights=(published("i3d_resnet50_v1_kinetics400-568a722e.params", "gluoncv_i3d_resnet", 74.0,
                             sha1="568a722eb61da663e11b582886ddbef9ef8f6ac6", default=True, num_classes=400,
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "kinetics400/i3d_resnet50_v1_kinetics400.sh",
                             description=("The Kinetics-400 weights of i3d_resnet50_v1_kinetics400 (GluonCV top-1 "
                                          "74.0 on Kinetics-400).")),
                   published("i3d_resnet50_v1_kinetics400-18545497.pth", "gluoncv_i3d_resnet", 74.87,
                             sha1="185454973645ff66b6310e715863384db135d87f", num_classes=400, pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_resnet50_v1_kinetics400.yaml",
                             description=("the i3d_resnet50_v1_kinetics400 PyTorch weights (Kinetics-400) to "
                                          "fine-tune from"))),
          description=("I3D ResNet-50 to fine-tune on your own classes (GluonCV's fine-tuning settings: dropout 0.8, "
                       "partial BN). get_model(name, pretrained=True, num_classes=N) loads the Kinetics-400 weights of"
                       " i3d_resnet50_v1_kinetics400 and starts a new N-way classifier. Weights tags: 568a722e = "
                       "GluonCV MXNet zoo (default); 18545497 = GluonCV PyTorch zoo, the same network (get_model(name,"
                       " pretrained='18545497'))."))
_register("i3d_resnet50_v1_hmdb51", dataset="hmdb51", num_classes=51,
          kwargs=dict(depth=50, dropout_ratio=0.8, init_std=0.001),
          weights=(published("i3d_resnet50_v1_hmdb51-2ec6bf01.params", "gluoncv_i3d_resnet", 70.9,
                             sha1="2ec6bf01a55af38579380e6531d0ecc816862abe", default=True, num_classes=51,
                             pretraining="ImageNet, K400",
                             recipe=GLUONCV_LOGS + "hmdb51/i3d_resnet50_v1_hmdb51_kinetics400.sh", description=_FINETUNED_DESC),
                   published("i3d_resnet50_v1_hmdb51-0d0ad559.params", "gluoncv_i3d_resnet", 48.5, sha1="0d0ad559",
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "hmdb51/i3d_resnet50_v1_hmdb51.sh",
                             description=("alternate version: ImageNet init only (no Kinetics pretraining), HMDB51 "
                                          "split 1"))),
          description="I3D ResNet-50 for HMDB51.")
_register("i3d_resnet50_v1_kinetics400", kwargs=dict(depth=50),
          weights=(published("i3d_resnet50_v1_kinetics400-568a722e.params", "gluoncv_i3d_resnet", 74.0,
                             sha1="568a722eb61da663e11b582886ddbef9ef8f6ac6", default=True, num_classes=400,
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "kinetics400/i3d_resnet50_v1_kinetics400.sh",
                             description=_K400_DESC),
                   published("i3d_resnet50_v1_kinetics400-18545497.pth", "gluoncv_i3d_resnet", 74.87,
                             sha1="185454973645ff66b6310e715863384db135d87f", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_resnet50_v1_kinetics400.yaml", description=_TORCH_DESC)),
          description=("I3D ResNet-50 (3x1x1 inflation on alternate blocks) for Kinetics-400. Weights tags: 568a722e ="
                       " GluonCV MXNet zoo (default); 18545497 = GluonCV PyTorch zoo, the same network "
                       "(get_model(name, pretrained='18545497'))."))
_register("i3d_resnet50_v1_sthsthv2", dataset="sthsthv2", num_classes=174, input=InputSpec(frame_step=2),
          kwargs=dict(depth=50),
          weights=(published("i3d_resnet50_v1_sthsthv2-01961e4c.params", "gluoncv_i3d_resnet", 50.6,
                             sha1="01961e4cccf6405cd1342670b9525c21c578c9d4", default=True, num_classes=174,
                             pretraining="ImageNet",
                             recipe=GLUONCV_LOGS + "somethingsomethingv2/i3d_resnet50_v1_sthsthv2.sh",
                             description=("ImageNet-inflated init, trained on Something-Something-V2 (16 frames, step"
                                          " 2).")),
                   published("i3d_resnet50_v1_sthsthv2-e975d989.pth", "gluoncv_i3d_resnet", 49.61,
                             sha1="e975d989c1eb1e66e5be36c1c4d6ff626708cfae", pretraining="ImageNet",
                             recipe=GLUONCV_CONFIGS + "i3d_resnet50_v1_sthsthv2.yaml",
                             description="ImageNet-inflated init, 16 frames step 2 (GluonCV PyTorch zoo)")),
          description=("I3D ResNet-50 for Something-Something-V2. Weights tags: 01961e4c = GluonCV MXNet zoo "
                       "(default); e975d989 = GluonCV PyTorch zoo, the same network (get_model(name, "
                       "pretrained='e975d989'))."))
_register("i3d_resnet50_v1_ucf101", dataset="ucf101", num_classes=101, kwargs=_FINETUNE_R50,
          weights=(published("i3d_resnet50_v1_ucf101-760d0981.params", "gluoncv_i3d_resnet", 95.4,
                             sha1="760d0981094787b8789ee4a8c382d09d493c7413", default=True, num_classes=101,
                             pretraining="ImageNet, K400",
                             recipe=GLUONCV_LOGS + "ucf101/i3d_resnet50_v1_ucf101_kinetics400.sh", description=_FINETUNED_DESC),
                   published("i3d_resnet50_v1_ucf101-7afc7286.params", "gluoncv_i3d_resnet", 83.9, sha1="7afc7286",
                             pretraining="ImageNet", recipe=GLUONCV_LOGS + "ucf101/i3d_resnet50_v1_ucf101.sh",
                             description=("alternate version: ImageNet init only (no Kinetics pretraining), UCF101 "
                                          "split 1"))),
          description="I3D ResNet-50 for UCF101 (partial BN while training).")


# --------------------------------------------------------------------------------------------
# mmaction2's I3D ResNets: the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_register_mm = partial(register_mmaction2, builder=i3d_resnet, family="i3d", converter="mmaction2_resnet3d")

_register_mm("i3d_resnet50_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb_20220812-e213c223.pth",
             top1=73.47, top5=91.27, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50, 32x2 sampling, ImageNet-inflated, mmaction2's weights.")

_register_mm("i3d_resnet50_dense_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-dense-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50_8xb8-dense-32x2x1-100e_kinetics400-rgb_20220812-9f46003f.pth",
             top1=73.77, top5=91.35, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50_8xb8-dense-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("1 dense clip of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50, 32x2 dense sampling, ImageNet-inflated, mmaction2's weights.")

_register_mm("i3d_resnet50_heavy_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'inflate_freq': 1, 'conv1_stride_t': 1, 'pool1_stride_t': 1},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50-heavy_8xb8-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50-heavy_8xb8-32x2x1-100e_kinetics400-rgb_20220812-ed501b31.pth",
             top1=76.21, top5=92.48, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50-heavy_8xb8-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50 heavy (every block inflated, no temporal stride in the stem), 32x2 sampling, ImageNet-inflated, mmaction2's weights.")

_register_mm("i3d_nl_dotproduct_resnet50_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'nonlocal_stages': (1, 2), 'nonlocal_freq': ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'dot_product', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb_20220812-8e1f2148.pth",
             top1=74.8, top5=92.07, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50 with 5 dot-product non-local blocks (res3, res4; sub-sampled, unscaled affinity), 32x2 sampling, ImageNet-inflated, mmaction2's weights.")

_register_mm("i3d_nl_embeddedgaussian_resnet50_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'nonlocal_stages': (1, 2), 'nonlocal_freq': ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'embedded_gaussian', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb_20220812-afd8f562.pth",
             top1=74.73, top5=91.8, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50 with 5 embedded-Gaussian non-local blocks (res3, res4; sub-sampled, unscaled affinity), 32x2 sampling, ImageNet-inflated, mmaction2's weights.")

_register_mm("i3d_nl_gaussian_resnet50_in1k_f32s2_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'nonlocal_stages': (1, 2), 'nonlocal_freq': ((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'gaussian', 'scale': False, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/i3d/i3d_imagenet-pretrained-r50-nl-gaussian_8xb8-32x2x1-100e_kinetics400-rgb/i3d_imagenet-pretrained-r50-nl-gaussian_8xb8-32x2x1-100e_kinetics400-rgb_20220812-0c5cbf5a.pth",
             top1=73.97, top5=91.33, pretraining="ImageNet", config="i3d/i3d_imagenet-pretrained-r50-nl-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="I3D ResNet-50 with 5 Gaussian non-local blocks (res3, res4; sub-sampled, unscaled affinity), 32x2 sampling, ImageNet-inflated, mmaction2's weights.")
