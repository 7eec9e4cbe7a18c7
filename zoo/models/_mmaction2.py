"""mmaction2's model zoo: its weights entries and the key layouts of its networks, shared by the families.

mmaction2 (OpenMMLab, Apache-2.0) publishes each checkpoint as
``https://download.openmmlab.com/mmaction/v1.0/recognition/<family>/<config>/<config>_<date>-<sha256[:8]>.pth``,
(a few older files, kept by the 1.x zoo, under ``mmaction/recognition/``),
a ``{"state_dict": ..., "meta": ...}`` dict whose keys are ``backbone.*`` and ``cls_head.*``.  Its
convolutions are ``ConvModule`` s: a conv and its norm live under one name (``conv1.conv.weight``,
``conv1.bn.weight``), where our ResNets name them ``conv1`` / ``bn1``.  The rule tables here turn
that layout into ours; each family file lists its names with :func:`mmaction2_file` entries and a
converter built from these rules.

Inputs: mmaction2 normalises 0..255 RGB frames with ``mean``/``std`` given in 0..255 units; the cards
give the same numbers divided by 255, for zoo's ``[0, 1]`` frames (the same normalised tensor).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import InputSpec, WeightsEntry, register_converter, register_model
from ._published import published

__all__ = ["mmaction2_file", "register_mmaction2", "NUM_CLASSES", "SEGMENTS_NOTE", "MMACTION2_DOCS", "RESNET2D_RULES",
           "RESNET3D_RULES", "MOBILEONE_RULES", "mm_norm", "mm_protocol", "IMAGENET_NORM", "KINETICS_NORM", "mm_nonlocal",
           "convert_mmaction2_resnet2d", "convert_mmaction2_resnet3d", "convert_mmaction2_mobileone"]

#: Where mmaction2 documents its recognition zoo (each card's source names its config there).
MMACTION2_DOCS = "https://github.com/open-mmlab/mmaction2/tree/main/configs/recognition/"
_BASE = "https://download.openmmlab.com/mmaction/"

#: The input note of a segment-sampled network (TSM, TIN, TANet): ``SEGMENTS_NOTE.format(s=8)``.
SEGMENTS_NOTE = ("{s} frames, one from each of {s} equal segments of the video (TSN sampling); the network "
                 "exchanges information between them and averages their scores")


def mm_norm(mean: tuple[float, float, float], std: tuple[float, float, float]) -> dict[str, tuple[float, ...]]:
    """mmaction2's 0..255 ``mean``/``std`` as :class:`~zoo.registry.InputSpec` fields for ``[0, 1]`` frames."""
    return {"mean": tuple(round(m / 255, 6) for m in mean), "std": tuple(round(s / 255, 6) for s in std)}


def mm_protocol(test: str, figures: str = "the README table and the metafile (they agree)") -> str:
    """An mmaction2 entry's evaluation protocol: its ``test`` sampling and crops (scores averaged over
    them, mmaction2's ``average_clips='prob'``), then where its top-1/top-5 ``figures`` come from."""
    return f"mmaction2 test: {test}, scores averaged (average_clips='prob'); top-1/top-5 from {figures}"


#: mmaction2's ImageNet ``mean``/``std`` (123.675, 116.28, 103.53 / 58.395, 57.12, 57.375), as card fields.
IMAGENET_NORM = mm_norm((123.675, 116.28, 103.53), (58.395, 57.12, 57.375))
#: The 0.45 / 0.225 ``mean``/``std`` of PySlowFast's Kinetics recipes (114.75 / 57.375 in mmaction2's
#: configs: MViT, UniFormer, UniFormerV2), as card fields.
KINETICS_NORM = mm_norm((114.75, 114.75, 114.75), (57.375, 57.375, 57.375))


def mmaction2_file(url: str, top1: float | None, top5: float | None, *, protocol: str, config: str,
                   **fields: Any) -> WeightsEntry:
    """The mmaction2 checkpoint at ``url`` (its full download URL) with its published top-1/top-5.

    Checked by the SHA-256 prefix its file name ends with; ``config`` (mmaction2's config path under
    ``configs/recognition/``) becomes the entry's recipe.
    """
    if not url.startswith(_BASE):
        raise ValueError(f"{url!r} is not under {_BASE}")
    path = url[len(_BASE):]
    return published(path.rpartition("/")[2], fields.pop("converter"), top1, top5, repo="mmaction2", path=path,
                     protocol=protocol, recipe=MMACTION2_DOCS + config, **fields)


#: Classes of the datasets mmaction2's zoo is trained on.
NUM_CLASSES = {"kinetics400": 400, "kinetics600": 600, "kinetics700": 700, "kinetics710": 710, "sthsthv1": 174,
               "sthsthv2": 174, "mitv1": 339, "ucf101": 101, "hmdb51": 51}


def register_mmaction2(name: str, *, builder: Callable[..., nn.Module], family: str, converter: str, dataset: str,
                       input: InputSpec, url: str, top1: float | None, top5: float | None, pretraining: str, config: str,
                       protocol: str, description: str, kwargs: Mapping[str, Any] | None = None,
                       num_classes: int | None = None) -> None:
    """Register ``name``, built by ``builder(**kwargs)``, with mmaction2's file at ``url`` as its default weights.

    ``config`` (its path under ``configs/recognition/``) is the card's source and the weights' recipe;
    ``converter`` reads the file; ``num_classes`` defaults to the dataset's (:data:`NUM_CLASSES`).
    """
    weights = mmaction2_file(url, top1, top5, converter=converter, config=config, default=True,
                             pretraining=pretraining, protocol=protocol)
    register_model(name, builder, family=family, dataset=dataset, num_classes=num_classes or NUM_CLASSES[dataset],
                   kwargs=kwargs, input=input, weights=(weights,), converters={"pth": converter},
                   source="mmaction2 1.2.0, configs/recognition/" + config, description=description)


#: mmaction2's 2D ``ResNet`` (TSN) and ``ResNetTSM`` (shift wrapped around ``conv1`` as ``.net``)
#: -> our :class:`~zoo.models._backbones_small.ResNet2d` under ``backbone.`` and the classifier ``fc``.
#: A block followed by a non-local block is wrapped as ``block`` beside ``non_local_block`` (TSM-NL).
RESNET2D_RULES = (
    Rule(r"backbone\.conv1\.conv\.weight", r"backbone.conv1.weight"),
    Rule(r"backbone\.conv1\.bn\.(\w+)", r"backbone.bn1.\1"),
    Rule(r"backbone\.(layer\d\.\d+)\.(block\.)?conv(\d)\.conv\.(net\.)?weight", r"backbone.\1.\2conv\3.\4weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.(block\.)?conv(\d)\.bn\.(\w+)", r"backbone.\1.\2bn\3.\4"),
    Rule(r"backbone\.(layer\d\.\d+)\.(block\.)?downsample\.conv\.weight", r"backbone.\1.\2downsample.0.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.(block\.)?downsample\.bn\.(\w+)", r"backbone.\1.\2downsample.1.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.(g|phi)\.0\.conv\.(weight|bias)", r"backbone.\1.nonlocal_block.\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.theta\.conv\.(weight|bias)", r"backbone.\1.nonlocal_block.theta.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.conv_out\.conv\.weight", r"backbone.\1.nonlocal_block.proj.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.conv_out\.bn\.(\w+)", r"backbone.\1.nonlocal_block.bn.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
)

#: mmaction2's ``ResNet3d`` family (I3D, SlowOnly, C2D, CSN after its own rules) -> our
#: :class:`~zoo.models._resnet3d.ResNet3d` (``stem``, ``layerN.M``, ``head.fc``).  mmaction2's C2D keeps
#: 2D kernels ``(O, I, k, k)``, ours are ``(O, I, 1, k, k)``: conv weights may gain that axis.
RESNET3D_RULES = (
    Rule(r"backbone\.conv1\.conv\.weight", r"stem.conv.weight", reshape=True),
    Rule(r"backbone\.conv1\.bn\.(\w+)", r"stem.bn.\1"),
    Rule(r"backbone\.(layer\d\.\d+)\.conv(\d)\.conv\.weight", r"\1.conv\2.weight", reshape=True),
    Rule(r"backbone\.(layer\d\.\d+)\.conv(\d)\.bn\.(\w+)", r"\1.bn\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.downsample\.conv\.weight", r"\1.downsample.conv.weight", reshape=True),
    Rule(r"backbone\.(layer\d\.\d+)\.downsample\.bn\.(\w+)", r"\1.downsample.bn.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.(g|phi)\.0\.conv\.(weight|bias)", r"\1.nonlocal_block.\2.\3"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.theta\.conv\.(weight|bias)", r"\1.nonlocal_block.theta.\2"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.conv_out\.conv\.weight", r"\1.nonlocal_block.proj.weight"),
    Rule(r"backbone\.(layer\d\.\d+)\.non_local_block\.conv_out\.bn\.(\w+)", r"\1.nonlocal_block.bn.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.fc.\1"),
)

_MOBILEONE_BLOCK = r"backbone\.(stage\d(?:\.\d+)?\.(?:net\.)?)"
#: mmpretrain's ``MobileOne`` (TSN) and mmaction2's ``MobileOneTSM`` (each block wrapped as ``.net``
#: by its temporal shift) in their multi-branch form -> our :class:`~zoo.models._tsn_backbones.MobileOne`.
MOBILEONE_RULES = (
    Rule(_MOBILEONE_BLOCK + r"branch_norm\.(\w+)", r"backbone.\1identity.\2"),
    Rule(_MOBILEONE_BLOCK + r"branch_scale\.conv\.weight", r"backbone.\1scale.conv.weight"),
    Rule(_MOBILEONE_BLOCK + r"branch_scale\.norm\.(\w+)", r"backbone.\1scale.bn.\2"),
    Rule(_MOBILEONE_BLOCK + r"branch_conv_list\.(\d+)\.conv\.weight", r"backbone.\1branches.\2.conv.weight"),
    Rule(_MOBILEONE_BLOCK + r"branch_conv_list\.(\d+)\.norm\.(\w+)", r"backbone.\1branches.\2.bn.\3"),
    Rule(_MOBILEONE_BLOCK + r"se\.conv1\.conv\.(weight|bias)", r"backbone.\1se.reduce.\2"),
    Rule(_MOBILEONE_BLOCK + r"se\.conv2\.conv\.(weight|bias)", r"backbone.\1se.expand.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
)


def mm_nonlocal(mode: str, use_scale: bool) -> dict[str, Any]:
    """``NonLocal3d`` kwargs of mmaction2's ``non_local_cfg`` (``sub_sample=True``, its ``mode``/``use_scale``)."""
    return {"mode": mode, "scale": use_scale, "sub_sample": True, "proj_bias": False}


@register_converter("mmaction2_resnet2d")
def convert_mmaction2_resnet2d(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TSN / TSM / C2D-without-pooling checkpoints -> our TSN or TSM ResNet (:data:`RESNET2D_RULES`)."""
    return convert(source, model, RESNET2D_RULES, what="mmaction2 2D ResNet")


@register_converter("mmaction2_resnet3d")
def convert_mmaction2_resnet3d(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 I3D / SlowOnly / C2D checkpoints -> our :class:`~zoo.models._resnet3d.ResNet3d` (:data:`RESNET3D_RULES`)."""
    return convert(source, model, RESNET3D_RULES, what="mmaction2 3D ResNet")


@register_converter("mmaction2_mobileone")
def convert_mmaction2_mobileone(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TSN / TSM MobileOne checkpoints (multi-branch, as trained) -> ours (:data:`MOBILEONE_RULES`).

    A file reparameterised by mmaction2's ``reparameterize_model.py`` (``branch_reparam``) is refused
    by the engine: load the published multi-branch file, then call the trunk's ``fuse()``.
    """
    return convert(source, model, MOBILEONE_RULES, what="mmaction2 MobileOne")
