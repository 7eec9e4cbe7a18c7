"""GluonCV's PyTorch model zoo (``gluoncv.torch.model_zoo``, gluoncv 0.10.5): TSN ResNet v1b, I3D ResNet
(with non-local blocks), I3D-slow (Slow-only) and SlowFast names, their ``.pth`` weights and converters.

GluonCV publishes two zoos that share many names.  Where the network of a name is the same in both,
its PyTorch weights are a second, non-default weights tag of the MXNet name (``get_model(name,
pretrained="<tag>")``); where it differs, the PyTorch one is a separate name.  Names only the PyTorch
zoo has are registered under GluonCV's own names.

* **TSN ResNet v1b** (``resnet{18,34,50,101,152}_v1b_kinetics400``, ``resnet50_v1b_sthsthv2``,
  ``resnet50_v1b_custom``): GluonCV-torch builds on torchvision's ResNet, which is ResNet v1b (stride
  on the ``3x3`` conv, BN eps 1e-5), the network of our :class:`~zoo.models.tsn.TSNResNetV1b`; the
  ``.pth`` keys are torchvision's (``conv1``, ``layer1.0.conv1``, ``downsample.0``, ``fc``) and gain
  the ``backbone.`` prefix (``gluoncv_torch_tsn_resnet``).  Same network -> extra tag.
* **I3D ResNet / non-local** (``i3d_{,nl5_,nl10_}resnet{50,101}_v1_kinetics400``,
  ``i3d_resnet50_v1_sthsthv2``, ``i3d_resnet50_v1_custom``): the ``.pth`` keys are the MXNet
  structural names (``first_stage``, ``res_layers``, non-local ``W``/``W_bn``, ``fc`` stored twice as
  ``fc`` and ``head.1``), which the MXNet converter ``gluoncv_i3d_resnet`` already reads (aliases
  must agree).  Same network -> extra tag.
* **I3D-slow** (``i3d_slow_resnet{50,101}_f{8s8,16s4,32s2}_kinetics400``,
  ``i3d_slow_resnet50_f32s2_custom``: PyTorch only; ``i3d_slow_resnet101_f16s4_kinetics700``: extra
  tag): torchvision-style keys (``conv1``/``bn1`` stem, ``downsample.0/1``, ``fc``) read by
  ``gluoncv_torch_i3d_slow``.
* **SlowFast**: the weights layout is the MXNet one (``gluoncv_slowfast`` reads it), but GluonCV-torch
  feeds the Fast clip only and takes every ``alpha``-th frame for the Slow pathway, while the MXNet
  names take Fast-then-Slow frames concatenated along ``T``.  A different input convention is a
  different model interface, so each shared name gets a separate ``<name>_torch`` name built with
  ``input_layout="fast"``; ``slowfast_16x8_resnet50_sthsthv2`` (PyTorch only) keeps its name and the
  PyTorch layout.

Weights files: ``{repo}torch/models/{name}-{sha1[:8]}.pth`` (:func:`zoo.sources.gluoncv_torch_weights`).
"""
from __future__ import annotations

import logging
from typing import Mapping

import torch
import torch.nn as nn

from ..registry import InputSpec, WeightsEntry, register_converter, register_model, update_card
from ..sources import gluoncv_torch_weights

# The MXNet families must be registered before their cards are extended here ("gluoncv_torch" sorts
# before "i3d_*", "slowfast" and "tsn" in zoo.models' import loop).
from . import i3d_resnet, i3d_slow, slowfast, tsn  # noqa: F401  (registration side effect)
from ..convert.keys import KEEP, convert
from .i3d_slow import i3d_slow_resnet
from .slowfast import slowfast_resnet

__all__ = ["convert_gluoncv_torch_tsn_resnet", "convert_gluoncv_torch_i3d_slow", "TORCH_SLOWFAST"]

logger = logging.getLogger(__name__)

_SOURCE = "GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/{}.py)"

# --------------------------------------------------------------------------------------------
# Converters
# --------------------------------------------------------------------------------------------

_TSN_RULES = [
    (r"fc\.(weight|bias)", r"fc.\1"),
    (r"((?:conv1|bn1|layer[1-4])\..+)", r"backbone.\1"),
]


@register_converter("gluoncv_torch_tsn_resnet")
def convert_gluoncv_torch_tsn_resnet(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ActionRecResNetV1b`` (torchvision ResNet keys) -> our ``TSNResNetV1b``.

    ``conv1``, ``bn1``, ``layer{1-4}.*`` -> ``backbone.*``; ``fc`` stays ``fc``.
    """
    return convert(source, model, (*_TSN_RULES, KEEP), what="GluonCV PyTorch TSN ResNet")


_SLOW_RULES = [
    (r"conv1\.weight", "stem.conv.weight"),
    (r"bn1\.(\w+)", r"stem.bn.\1"),
    (r"(layer[1-4]\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    (r"(layer[1-4]\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    (r"fc\.(weight|bias)", r"head.fc.\1"),
]


@register_converter("gluoncv_torch_i3d_slow")
def convert_gluoncv_torch_i3d_slow(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ResNet_SlowFast`` (Slow-only, torchvision-style keys) -> our ``ResNet3d``.

    ``conv1``/``bn1`` -> ``stem.{conv,bn}``, ``layerI.J.downsample.{0,1}`` -> ``.downsample.{conv,bn}``,
    ``fc`` -> ``head.fc``; block convs/BNs keep their names.
    """
    return convert(source, model, (*_SLOW_RULES, KEEP), what="GluonCV PyTorch I3D-slow")


# I3D and SlowFast .pth files carry the MXNet structural names; their MXNet converters read them.
_I3D_PTH = "gluoncv_i3d_resnet"
_SLOWFAST_PTH = "gluoncv_slowfast"

# --------------------------------------------------------------------------------------------
# Extra PyTorch tags on MXNet names (same network)
# --------------------------------------------------------------------------------------------


def _add_torch_tag(name: str, entry: WeightsEntry, pth_converter: str) -> None:
    """Append ``entry`` (non-default) to ``name``'s weights, set its ``pth`` converter, say so in the card."""
    card = update_card(name)  # no changes: the current card, read without triggering the registry's lazy load
    mxnet_tags = ", ".join(f"{w.tag}" for w in card.weights if w.format == "params") or "none"
    note = (
        f" Weights tags: {mxnet_tags} = GluonCV MXNet zoo (default); {entry.tag} = GluonCV PyTorch zoo, "
        f"the same network (get_model(name, pretrained='{entry.tag}'))."
    )
    update_card(
        name,
        weights=card.weights + (entry,),
        converters={**card.converters, "pth": pth_converter},
        description=card.description + note,
    )


def _set_pth_converter(name: str, pth_converter: str) -> None:
    """Let ``get_model(name, pretrained="x.pth")`` read a GluonCV-torch checkpoint of the same network."""
    card = update_card(name)
    update_card(name, converters={**card.converters, "pth": pth_converter})


_TSN_TORCH: dict[str, str] = {
    "resnet18_v1b_kinetics400": "854b23e460ab1fbc5a5cd458b439a90be1f98119",
    "resnet34_v1b_kinetics400": "124a2fa45fce7102243515bdebfb262728c10ad0",
    "resnet50_v1b_kinetics400": "9939dbdfdbf11cb42c06456f341596e75becf074",
    "resnet101_v1b_kinetics400": "172afa3bcc5e922962c335b6ea9b7cedc8132c61",
    "resnet152_v1b_kinetics400": "3dedb835f333e234a9279bbef4a9e2e840acc032",
    "resnet50_v1b_sthsthv2": "cbb9167bd293a82475f5f179a29de1f5c2665b8a",
}
_TSN_TORCH_DESC = {"kinetics400": "ImageNet init, 7 segments (GluonCV PyTorch zoo)", "sthsthv2": "ImageNet init, 8 segments (GluonCV PyTorch zoo)"}

for _name, _sha1 in _TSN_TORCH.items():
    _dataset = _name.rsplit("_", 1)[1]
    _add_torch_tag(_name, gluoncv_torch_weights(_name, _sha1, "gluoncv_torch_tsn_resnet", description=_TSN_TORCH_DESC[_dataset]),
                   "gluoncv_torch_tsn_resnet")
_add_torch_tag(
    "resnet50_v1b_custom",
    gluoncv_torch_weights("resnet50_v1b_kinetics400", _TSN_TORCH["resnet50_v1b_kinetics400"], "gluoncv_torch_tsn_resnet",
                          num_classes=400, description="the resnet50_v1b_kinetics400 PyTorch weights (Kinetics-400) to fine-tune from"),
    "gluoncv_torch_tsn_resnet",
)
for _name in ("resnet18_v1b_custom", "resnet18_v1b_sthsthv2", "resnet34_v1b_sthsthv2", "resnet101_v1b_sthsthv2",
              "resnet152_v1b_sthsthv2", "resnet50_v1b_ucf101", "resnet50_v1b_hmdb51"):
    _set_pth_converter(_name, "gluoncv_torch_tsn_resnet")  # a GluonCV-torch checkpoint of the same network loads

_I3D_TORCH: dict[str, str] = {
    "i3d_resnet50_v1_kinetics400": "185454973645ff66b6310e715863384db135d87f",
    "i3d_resnet101_v1_kinetics400": "a9bb4f89551c30d553a487fcc560ff7f41a3de8c",
    "i3d_nl5_resnet50_v1_kinetics400": "9df1e103d54bc1227da58d19347e1371cf98a9fb",
    "i3d_nl10_resnet50_v1_kinetics400": "281e1e8a8ef78ada7e095b43caf0cd3f75e7a6a4",
    "i3d_nl5_resnet101_v1_kinetics400": "2cea8edd07e5565b9c1eb66ca862ade3127ce523",
    "i3d_nl10_resnet101_v1_kinetics400": "526a2ed07cffeab6d827ab28c979b537100cd2b3",
    "i3d_resnet50_v1_sthsthv2": "e975d989c1eb1e66e5be36c1c4d6ff626708cfae",
}

for _name, _sha1 in _I3D_TORCH.items():
    _frames = "16 frames step 2" if _name.endswith("sthsthv2") else "32 frames step 2"
    _add_torch_tag(_name, gluoncv_torch_weights(_name, _sha1, _I3D_PTH, description=f"ImageNet-inflated init, {_frames} (GluonCV PyTorch zoo)"),
                   _I3D_PTH)
_add_torch_tag(
    "i3d_resnet50_v1_custom",
    gluoncv_torch_weights("i3d_resnet50_v1_kinetics400", _I3D_TORCH["i3d_resnet50_v1_kinetics400"], _I3D_PTH, num_classes=400,
                          description="the i3d_resnet50_v1_kinetics400 PyTorch weights (Kinetics-400) to fine-tune from"),
    _I3D_PTH,
)
for _name in ("i3d_resnet50_v1_ucf101", "i3d_resnet50_v1_hmdb51"):
    _set_pth_converter(_name, _I3D_PTH)

_add_torch_tag(
    "i3d_slow_resnet101_f16s4_kinetics700",
    gluoncv_torch_weights("i3d_slow_resnet101_f16s4_kinetics700", "b5be1a2e32158748a7efc675081affd32006fe9a", "gluoncv_torch_i3d_slow",
                          description="Trained from scratch on Kinetics-700, 16 frames with step 4 (GluonCV PyTorch zoo)"),
    "gluoncv_torch_i3d_slow",
)

# --------------------------------------------------------------------------------------------
# I3D-slow: PyTorch-only names
# --------------------------------------------------------------------------------------------

# name -> (depth, clip_len, frame_step, sha1)
_SLOW_K400: dict[str, tuple[int, int, int, str]] = {
    "i3d_slow_resnet50_f32s2_kinetics400": (50, 32, 2, "078c817bf18d702891de553de61c9115e27c4afd"),
    "i3d_slow_resnet50_f16s4_kinetics400": (50, 16, 4, "a3e419f1b9cde3b57b9b19a9bd93281bb819a871"),
    "i3d_slow_resnet50_f8s8_kinetics400": (50, 8, 8, "1c3d98a1831ee477def36d6085635c2860db0b77"),
    "i3d_slow_resnet101_f32s2_kinetics400": (101, 32, 2, "db37cd518eab5f1cc394d0f44117c392d0174602"),
    "i3d_slow_resnet101_f16s4_kinetics400": (101, 16, 4, "cb6b78d9e58f7724efb63f705be7c8a12fe8f5ce"),
    "i3d_slow_resnet101_f8s8_kinetics400": (101, 8, 8, "82e399c1114016126645c5e3e67bad164ba3ae84"),
}
_SLOW_CONVERTERS = {"pth": "gluoncv_torch_i3d_slow", "params": "gluoncv_i3d_resnet"}

for _name, (_depth, _clip, _step, _sha1) in _SLOW_K400.items():
    register_model(
        _name,
        i3d_slow_resnet,
        family="i3d_slow",
        dataset="kinetics400",
        num_classes=400,
        kwargs={"depth": _depth},
        input=InputSpec(clip_len=_clip, frame_step=_step, crop_size=224, short_side=256),
        weights=(
            gluoncv_torch_weights(_name, _sha1, "gluoncv_torch_i3d_slow", default=True,
                                  description=f"Trained from scratch on Kinetics-400, {_clip} frames with step {_step} (from 64)"),
        ),
        converters=_SLOW_CONVERTERS,
        description=(
            f"Slow-only ResNet-{_depth} (SlowFast's Slow pathway alone), {_clip}x{_step} sampling, for Kinetics-400 "
            "(GluonCV PyTorch zoo only; its weights are the only tag)."
        ),
        source=_SOURCE.format("i3d_slow"),
    )

register_model(
    "i3d_slow_resnet50_f32s2_custom",
    i3d_slow_resnet,
    family="i3d_slow",
    dataset="custom",
    num_classes=400,
    kwargs={"depth": 50},
    input=InputSpec(clip_len=32, frame_step=2, crop_size=224, short_side=256),
    weights=(
        gluoncv_torch_weights(
            "i3d_slow_resnet50_f32s2_kinetics400", _SLOW_K400["i3d_slow_resnet50_f32s2_kinetics400"][3], "gluoncv_torch_i3d_slow",
            default=True, num_classes=400,
            description="the i3d_slow_resnet50_f32s2_kinetics400 weights (Kinetics-400) to fine-tune from",
        ),
    ),
    converters=_SLOW_CONVERTERS,
    description=(
        "Slow-only ResNet-50 (32x2) for fine-tuning on your own dataset (GluonCV PyTorch i3d_slow_resnet50_f32s2_custom): "
        "get_model(name, pretrained=True, num_classes=N) loads i3d_slow_resnet50_f32s2_kinetics400's weights except the "
        "classifier, which starts fresh."
    ),
    source=_SOURCE.format("i3d_slow"),
)

# --------------------------------------------------------------------------------------------
# SlowFast: PyTorch input layout (Fast clip only) -> separate names
# --------------------------------------------------------------------------------------------

#: GluonCV-torch SlowFast names -> (our name, depth, constructor settings, dataset, sha1 or None).
TORCH_SLOWFAST: dict[str, tuple[str, int, dict, str, str | None]] = {}
_4X16 = dict(alpha=8, fusion_kernel_size=5, slow_frames=4, fast_frames=32)
_8X8 = dict(alpha=4, fusion_kernel_size=7, slow_frames=8, fast_frames=32)
_8X8_101 = dict(alpha=4, fusion_kernel_size=5, slow_frames=8, fast_frames=32)
_16X8_101 = dict(alpha=4, fusion_kernel_size=5, slow_frames=16, fast_frames=64)
_16X8_50 = dict(alpha=4, fusion_kernel_size=7, slow_frames=16, fast_frames=64)
_TEMP6 = dict(num_block_temp_kernel_fast=6, num_block_temp_kernel_slow=6)
for _upstream, _depth, _cfg, _dataset, _sha1 in (
    ("slowfast_4x16_resnet50_kinetics400", 50, _4X16, "kinetics400", "1d1eadb258ccfc0c117db0ff0eaf1638d18405b3"),
    ("slowfast_8x8_resnet50_kinetics400", 50, _8X8, "kinetics400", "e94e9a57eaa2f4dde12673bc6632f9aa090d8c21"),
    ("slowfast_4x16_resnet101_kinetics400", 101, _4X16, "kinetics400", None),
    ("slowfast_8x8_resnet101_kinetics400", 101, _8X8_101, "kinetics400", "db5e9fef55b28eb55b6dc7b2cba98d0c14fc3568"),
    ("slowfast_16x8_resnet101_kinetics400", 101, _16X8_101, "kinetics400", None),
    ("slowfast_16x8_resnet101_50_50_kinetics400", 101, {**_16X8_101, **_TEMP6}, "kinetics400", None),
    ("slowfast_4x16_resnet50_custom", 50, _4X16, "custom", "1d1eadb258ccfc0c117db0ff0eaf1638d18405b3"),
    ("slowfast_16x8_resnet50_sthsthv2", 50, _16X8_50, "sthsthv2", "0520323165727d59002c6c62071bc1dc28248469"),
):
    _ours = _upstream if _dataset == "sthsthv2" else f"{_upstream}_torch"  # sthsthv2: no MXNet name to collide with
    TORCH_SLOWFAST[_upstream] = (_ours, _depth, _cfg, _dataset, _sha1)


def _slowfast_torch_input(cfg: dict) -> InputSpec:
    fast, slow, alpha = cfg["fast_frames"], cfg["slow_frames"], cfg["alpha"]
    return InputSpec(
        clip_len=fast, frame_step=2, crop_size=224, short_side=256,
        note=(
            f"GluonCV PyTorch layout: the Fast clip only, {fast} frames (every 2nd of {2 * fast}), input "
            f"(N, 3, {fast}, 224, 224); the Slow pathway takes every {alpha}th of them ({slow} frames)."
        ),
    )


def _register_slowfast_torch(upstream: str, ours: str, depth: int, cfg: dict, dataset: str, sha1: str | None) -> None:
    parent = upstream.replace("_custom", "_kinetics400")
    num_classes = 174 if dataset == "sthsthv2" else 400
    weights = ()
    if sha1:
        what = {"sthsthv2": "Something-Something-V2", "kinetics400": "Kinetics-400", "custom": "Kinetics-400"}[dataset]
        description = (f"the {parent} PyTorch weights (Kinetics-400) to fine-tune from" if dataset == "custom"
                       else f"Trained from scratch on {what}, {cfg['fast_frames']} frames with step 2 (GluonCV PyTorch zoo)")
        weights = (gluoncv_torch_weights(parent, sha1, _SLOWFAST_PTH, default=True, num_classes=num_classes, description=description),)
    mxnet_twin = upstream != ours
    what = f"SlowFast {upstream.split('_')[1]} ResNet-{depth}"
    description = f"{what} as in GluonCV's PyTorch zoo ({upstream}): input is the Fast clip only, the Slow pathway is every alpha-th frame."
    if mxnet_twin:
        description += (
            f" The same network as the MXNet-zoo name {upstream} (same weights layout), which takes Fast-then-Slow frames "
            "concatenated along T instead; hence a separate name."
        )
    if dataset == "custom":
        description += f" get_model(name, pretrained=True, num_classes=N) loads {parent}'s PyTorch weights except the classifier."
    if not sha1:
        description += " GluonCV publishes no weights for it."
    register_model(
        ours,
        slowfast_resnet,
        family="slowfast",
        dataset=dataset,
        num_classes=num_classes,
        kwargs={"depth": depth, **cfg, "input_layout": "fast"},
        input=_slowfast_torch_input(cfg),
        weights=weights,
        converters={"pth": _SLOWFAST_PTH, "params": _SLOWFAST_PTH},
        description=description,
        source=_SOURCE.format("slowfast"),
    )
    if mxnet_twin:  # point the MXNet card at its PyTorch-layout sibling
        card = update_card(upstream)
        update_card(upstream, description=card.description + f" GluonCV's PyTorch-zoo version (Fast-clip input): {ours}.")


for _upstream, (_ours, _depth, _cfg, _dataset, _sha1) in TORCH_SLOWFAST.items():
    _register_slowfast_torch(_upstream, _ours, _depth, _cfg, _dataset, _sha1)
