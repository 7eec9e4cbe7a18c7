"""VideoMAE: masked-autoencoder pre-trained ViTs fine-tuned for action recognition (Tong et al. 2022).

A plain ViT on ``2x16x16`` tubelets with fixed sine-cosine position embeddings and joint space-time
attention (:mod:`._video_transformer`); the fine-tuned classifiers average the tokens and normalise
them (``fc_norm``) before the linear head.  The weights are MCG-NJU's, converted to transformers'
layout on the Hugging Face Hub; they are licensed CC-BY-NC-4.0 (non-commercial use only).

mmaction2 publishes VideoMAE ViT-B/L and VideoMAE V2 ViT-S/B (distilled from ViT-g) Kinetics-400
classifiers in its own layout (:func:`convert_mmaction2_videomae`): the same network with LayerNorm
epsilon 1e-6 throughout.  At 224 px (all published files) the position tables agree; on other frame
sizes mmaction2 resizes its 224-px table bicubically where zoo computes the table for the new length.

Any Hub repo of architecture ``VideoMAEForVideoClassification`` (thousands of community fine-tunes)
is built from its ``config.json`` through :data:`HUB_ARCHITECTURE`.
"""
from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any, Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import hf_file, hub_input, hub_kwargs
from ._video_transformer import (Block, TubeletEmbed, VideoTransformer, drop_path_rates, fuse_qkv, hf_encoder_rules,
                                 sinusoid_table)

__all__ = ["VideoMAE", "videomae", "convert_hf_videomae", "convert_mmaction2_videomae", "VIDEOMAE_SIZES", "HUB_ARCHITECTURE"]

logger = logging.getLogger(__name__)

#: ViT sizes: (width, depth, heads).
VIDEOMAE_SIZES = {"s": (384, 12, 6), "b": (768, 12, 12), "l": (1024, 24, 16), "h": (1280, 32, 16)}
LICENSE = "CC-BY-NC-4.0 (MCG-NJU VideoMAE weights; non-commercial use only)"
_warned_licence = False


class VideoMAE(VideoTransformer):
    """VideoMAE's ViT classifier: ``(N, 3, T, H, W)`` clips -> ``(N, num_classes)`` logits.

    Tokens: ``(N, T/tubelet * H/16 * W/16, dim)`` plus a sine-cosine table of that length (any
    clip size works; the published models saw 16x224x224).  Features: the mean token through
    ``fc_norm`` (``use_mean_pooling``), else the first token through ``norm``.
    """

    def __init__(self, num_classes: int = 400, *, dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, patch_size: int = 16, tubelet_size: int = 2, qkv_bias: bool = True,
                 eps: float = 1e-12, act: str = "gelu", use_mean_pooling: bool = True, fc_norm_eps: float = 1e-5,
                 drop_path: float = 0.0, dropout: float = 0.0, mlp_hidden: int | None = None) -> None:
        super().__init__()
        self.patch_embed = TubeletEmbed(dim, patch_size, tubelet_size)
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_ratio, qkv_bias=qkv_bias, eps=eps, act=act, drop_path=r,
                                          mlp_hidden=mlp_hidden) for r in drop_path_rates(drop_path, depth))
        self.use_mean_pooling = use_mean_pooling
        self.norm = nn.Identity() if use_mean_pooling else nn.LayerNorm(dim, eps=eps)
        self.fc_norm = nn.LayerNorm(dim, eps=fc_norm_eps) if use_mean_pooling else nn.Identity()
        self._make_head(dim, num_classes, dropout)
        self._positions: dict[tuple, torch.Tensor] = {}
        self.init_weights()

    def _position_table(self, length: int, like: torch.Tensor) -> torch.Tensor:
        key = (length, like.device, like.dtype)
        if key not in self._positions:
            self._positions[key] = sinusoid_table(length, like.shape[-1]).to(like.device, like.dtype)
        return self._positions[key]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, dim)``."""
        tokens = self.patch_embed(x)
        tokens = tokens + self._position_table(tokens.shape[1], tokens)
        for block in self.blocks:
            tokens = block(tokens)
        if self.use_mean_pooling:
            return self.fc_norm(tokens.mean(dim=1))
        return self.norm(tokens)[:, 0]


def videomae(num_classes: int = 400, size: str = "b", **kwargs: Any) -> VideoMAE:
    """VideoMAE ViT-``size`` (``"s"``, ``"b"``, ``"l"``, ``"h"``); ``kwargs`` go to :class:`VideoMAE`."""
    dim, depth, heads = VIDEOMAE_SIZES[size]
    return VideoMAE(num_classes, **{"dim": dim, "depth": depth, "num_heads": heads, **kwargs})


# --- converter: the Hub's (transformers') key layout -> ours -------------------------------------------------

_RULES = [
    Rule(r"(?:videomae\.)?embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    *hf_encoder_rules(r"(?:videomae\.)?"),
    Rule(r"(?:videomae\.)?layernorm\.(weight|bias)", r"norm.\1"),
    Rule(r"fc_norm\.(weight|bias)", r"fc_norm.\1"),
    Rule(r"classifier\.(weight|bias)", r"head.\1"),
]


def note_noncommercial(what: str) -> None:
    """Log once per process that VideoMAE weights are for non-commercial use."""
    global _warned_licence
    if not _warned_licence:
        _warned_licence = True
        logger.warning("%s: VideoMAE weights are licensed %s", what, LICENSE)


@register_converter("hf_videomae")
def convert_hf_videomae(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A Hub/transformers ``VideoMAEForVideoClassification`` state dict -> ours.

    The Hub files hold the query and value biases as ``q_bias``/``v_bias`` (the key has none);
    transformers 5 writes them as ``query.bias``/``value.bias``; both are read, and the key's zero bias
    is filled in as the fused ``qkv`` projection takes it.
    """
    note_noncommercial("converting VideoMAE weights")
    renamed = {re.sub(r"attention\.attention\.([qv])_bias$", lambda m: f"attention.attention.{'query' if m.group(1) == 'q' else 'value'}.bias", k): v
               for k, v in state.items()}
    fused = fuse_qkv(renamed, "attention.attention.query", "attention.attention.key", "attention.attention.value",
                     "attention.attention.qkv")
    return convert(fused, model, _RULES, what="Hugging Face VideoMAE weights")


# --- the Hub architecture: any VideoMAEForVideoClassification repo -------------------------------------------

def config_to_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """A transformers ``VideoMAEConfig`` (``config.json`` as a dict) -> :class:`VideoMAE` keyword arguments."""
    patch = config.get("patch_size", 16)
    return {
        **hub_kwargs(config, dim=768, depth=12, heads=12, eps=1e-12, act="gelu"),
        "mlp_hidden": config.get("intermediate_size", 3072),
        "patch_size": patch[0] if isinstance(patch, (list, tuple)) else patch,
        "tubelet_size": config.get("tubelet_size", 2),
        "use_mean_pooling": config.get("use_mean_pooling", True),
    }


def input_from_config(config: Mapping[str, Any], preprocessor: Mapping[str, Any]) -> InputSpec:
    """The clip a ``VideoMAEForVideoClassification`` repo takes, from its config and preprocessor config."""
    return hub_input(config, preprocessor, frames_key="num_frames")


HUB_ARCHITECTURE = register_hub_architecture(HubArchitecture(
    name="VideoMAEForVideoClassification", family="videomae", builder=VideoMAE, config_to_kwargs=config_to_kwargs,
    converter="hf_videomae", input_from_config=input_from_config))


# --- registered names ----------------------------------------------------------------------------------------

_K400_INPUT = InputSpec(clip_len=16, frame_step=4, short_side=224, crop_size=224,
                        note=("VideoMAE eval: 16 frames every 4th, short side 224, 3 crops x 5 clips of 224 px "
                              "(ImageNet mean/std, the repos' preprocessor_config.json)"))
_SSV2_INPUT = InputSpec(clip_len=16, short_side=224, crop_size=224,
                        note=("VideoMAE eval: 16 frames spread uniformly over the video (one per segment), short side "
                              "224, 3 crops x 2 clips of 224 px (ImageNet mean/std)"))
_REPORTED = "VideoMAE paper (Tong et al. 2022) / MCG-NJU model card"
_register = partial(register_model, family="videomae", builder=videomae, converters={"safetensors": "hf_videomae", "pth": "hf_videomae"},
                    source="MCG-NJU on the Hugging Face Hub")
_hf = partial(hf_file, converter="hf_videomae", reported_by=_REPORTED, license=LICENSE, default=True)
_K400 = dict(dataset="kinetics400", num_classes=400, input=_K400_INPUT)
_SSV2 = dict(dataset="sthsthv2", num_classes=174, input=_SSV2_INPUT)

_register("videomae_vit_s_kinetics400", kwargs={"size": "s"}, **_K400,
          weights=(_hf("MCG-NJU/videomae-small-finetuned-kinetics", "main", "pytorch_model.bin", top1=79.0, top5=93.8,
                       protocol="16x4, 5 clips x 3 crops", pretraining="VideoMAE self-supervised, K400 (1600 ep)"),),
          description="VideoMAE ViT-S/16, 16x224, self-supervised then fine-tuned on Kinetics-400 (MCG-NJU).")
_register("videomae_vit_b_kinetics400", kwargs={"size": "b"}, **_K400,
          weights=(_hf("MCG-NJU/videomae-base-finetuned-kinetics", "ded4e48b8b503c08f6edd9405b26d406f288824b",
                       top1=80.9, top5=94.7, protocol="16x4, 5 clips x 3 crops",
                       pretraining="VideoMAE self-supervised, K400 (1600 ep)"),),
          description="VideoMAE ViT-B/16, 16x224, self-supervised then fine-tuned on Kinetics-400 (MCG-NJU).")
_register("videomae_vit_l_kinetics400", kwargs={"size": "l"}, **_K400,
          weights=(_hf("MCG-NJU/videomae-large-finetuned-kinetics", "0f6adcd5f6902900aa0281f9daacfe52bb3c4ad4",
                       top1=84.7, top5=96.5, protocol="16x4, 5 clips x 3 crops",
                       pretraining="VideoMAE self-supervised, K400 (1600 ep)"),),
          description="VideoMAE ViT-L/16, 16x224, self-supervised then fine-tuned on Kinetics-400 (MCG-NJU).")
_register("videomae_vit_h_kinetics400", kwargs={"size": "h"}, **_K400,
          weights=(_hf("MCG-NJU/videomae-huge-finetuned-kinetics", "main", "pytorch_model.bin", top1=86.6, top5=97.1,
                       protocol="16x4, 5 clips x 3 crops", pretraining="VideoMAE self-supervised, K400 (1600 ep)"),),
          description="VideoMAE ViT-H/16, 16x224, self-supervised then fine-tuned on Kinetics-400 (MCG-NJU).")
_register("videomae_vit_s_sthsthv2", kwargs={"size": "s"}, **_SSV2,
          weights=(_hf("MCG-NJU/videomae-small-finetuned-ssv2", "main", "pytorch_model.bin", top1=66.8, top5=90.3,
                       protocol="16 frames, 2 clips x 3 crops", pretraining="VideoMAE self-supervised, SSv2 (2400 ep)"),),
          description="VideoMAE ViT-S/16, 16x224, self-supervised then fine-tuned on Something-Something V2 (MCG-NJU).")
_register("videomae_vit_b_sthsthv2", kwargs={"size": "b"}, **_SSV2,
          weights=(_hf("MCG-NJU/videomae-base-finetuned-ssv2", "main", "pytorch_model.bin", top1=70.6, top5=92.6,
                       protocol="16 frames, 2 clips x 3 crops", pretraining="VideoMAE self-supervised, SSv2 (2400 ep)"),),
          description="VideoMAE ViT-B/16, 16x224, self-supervised then fine-tuned on Something-Something V2 (MCG-NJU).")


# --- mmaction2's VideoMAE and VideoMAE V2 (its ``VisionTransformer``): the same network, its key layout -------

_MM_RULES = [
    Rule(r"backbone\.patch_embed\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    Rule(r"backbone\.pos_embed", None),  # the fixed sine-cosine table, which we compute
    Rule(r"backbone\.blocks\.(\d+)\.attn\.(qkv|proj)\.(weight|bias)", r"blocks.\1.attn.\2.\3"),
    Rule(r"backbone\.blocks\.(\d+)\.(norm1|norm2)\.(weight|bias)", r"blocks.\1.\2.\3"),
    Rule(r"backbone\.blocks\.(\d+)\.mlp\.layers\.0\.0\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
    Rule(r"backbone\.blocks\.(\d+)\.mlp\.layers\.1\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    Rule(r"backbone\.(norm|fc_norm)\.(weight|bias)", r"\1.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.\1"),
]


def _mm_fuse_qv_bias(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """mmaction2's ``attn.q_bias`` / ``attn.v_bias`` (the key has none) -> one ``attn.qkv.bias`` ``[q; 0; v]``."""
    out = {}
    for key, value in state.items():
        head, sep, _ = key.rpartition(".attn.q_bias")
        if sep:
            out[f"{head}.attn.qkv.bias"] = torch.cat([value, torch.zeros_like(value), state[f"{head}.attn.v_bias"]])
        elif not key.endswith(".attn.v_bias"):
            out[key] = value
    return out


@register_converter("mmaction2_videomae")
def convert_mmaction2_videomae(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 VideoMAE / VideoMAE V2 checkpoints (``backbone.blocks.N``, ``cls_head.fc_cls``) -> :class:`VideoMAE`."""
    return convert(_mm_fuse_qv_bias(state), model, _MM_RULES, what="mmaction2 VideoMAE")


_MM_INPUT = InputSpec(clip_len=16, frame_step=4, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM)
_MM_PROTOCOL = mm_protocol("5 clips of 16 frames with step 4 x 3 crops (ThreeCrop 224px after short side 224; the README "
                           "says short side 320 for the test videos)", "the README table")
_MM_EPS = {"eps": 1e-6, "fc_norm_eps": 1e-6}
_register_mm = partial(register_mmaction2, family="videomae", builder=videomae, dataset="kinetics400", num_classes=400,
                       input=_MM_INPUT, converter="mmaction2_videomae")
_MM = "https://download.openmmlab.com/mmaction/v1.0/recognition/"
_V2_CONFIG = "videomaev2/vit-{size}-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400.py"

_register_mm("videomae_vit_b_f16s4_kinetics400",
             kwargs={"size": "b", **_MM_EPS},
             description="VideoMAE ViT-B/16, 16x4 at 224 px, Kinetics-400: MCG-NJU's fine-tuned weights converted by "
                         "mmaction2 (licence of the original weights: CC-BY-NC-4.0).",
             url=_MM + "videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400_20221013-860a3cd3.pth",
             top1=81.3, top5=95.0,
             protocol=_MM_PROTOCOL + " and the metafile (they agree)",
             config="videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py",
             pretraining="VideoMAE self-supervised, Kinetics-400")
_register_mm("videomae_vit_l_f16s4_kinetics400",
             kwargs={"size": "l", **_MM_EPS},
             description="VideoMAE ViT-L/16, 16x4 at 224 px, Kinetics-400: MCG-NJU's fine-tuned weights converted by "
                         "mmaction2 (licence of the original weights: CC-BY-NC-4.0).",
             url=_MM + "videomae/vit-large-p16_videomae-k400-pre_16x4x1_kinetics-400_20221013-229dbb03.pth",
             top1=85.3, top5=96.7,
             protocol=_MM_PROTOCOL + " and the metafile (they agree)",
             config="videomae/vit-large-p16_videomae-k400-pre_16x4x1_kinetics-400.py",
             pretraining="VideoMAE self-supervised, Kinetics-400")
_register_mm("videomaev2_vit_s_distilled_f16s4_kinetics400",
             kwargs={"size": "s", **_MM_EPS},
             description="VideoMAE V2 ViT-S/16 distilled from ViT-g (Kinetics-710), 16x4 at 224 px, Kinetics-400: "
                         "OpenGVLab's weights converted by mmaction2 (the README's file).",
             url=_MM + "videomaev2/vit-small-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400/"
                       "vit-small-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400_20230510-25c748fd.pth",
             top1=83.6, top5=96.3,
             config=_V2_CONFIG.format(size="small"),
             protocol=_MM_PROTOCOL + "; the file is the README's: mmaction2's metafile gives this "
                                     "entry the ViT-B file's URL",
             pretraining="VideoMAE V2 ViT-g, distilled on Kinetics-710")
_register_mm("videomaev2_vit_b_distilled_f16s4_kinetics400",
             kwargs={"size": "b", **_MM_EPS},
             description="VideoMAE V2 ViT-B/16 distilled from ViT-g (Kinetics-710), 16x4 at 224 px, Kinetics-400: "
                         "OpenGVLab's weights converted by mmaction2.",
             url=_MM + "videomaev2/vit-base-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400/"
                       "vit-base-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400_20230510-3e7f93b2.pth",
             top1=86.6, top5=97.3,
             config=_V2_CONFIG.format(size="base"),
             protocol=_MM_PROTOCOL + " and the metafile (they agree)",
             pretraining="VideoMAE V2 ViT-g, distilled on Kinetics-710")
