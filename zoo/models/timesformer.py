"""TimeSformer: divided space-time attention (Bertasius, Wang and Torresani, ICML 2021).

A ViT-B/16 applied to each frame (a Conv2d patch embedding), a class token, learned spatial and
temporal position embeddings, then blocks that attend over time (each patch position across the
frames) and then over space (each frame's patches), the class token joining every frame's spatial
attention and averaging the results (:class:`~._video_transformer.DividedSpaceTimeBlock`).

Three published configurations of the same network: base (8 frames, 224 px), HR (16 frames, 448 px)
and large (96 frames, 224 px; 64 on SSv2), each on Kinetics-400, Kinetics-600 and SSv2 — Facebook
Research's weights converted to transformers' layout on the Hugging Face Hub (``facebook/``), licence
CC-BY-NC-4.0 as the Hub repos state.  Other clip sizes work: the position tables are resized (nearest
neighbour, as transformers does).
"""
from __future__ import annotations

from functools import partial
from typing import Any, Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model
from ._mmaction2 import mm_norm, mm_protocol, register_mmaction2
from ._published import hf_file, hub_input, hub_kwargs
from ._video_transformer import (Block, DividedSpaceTimeBlock, PatchEmbed2d, VideoTransformer, drop_path_rates,
                                 hf_encoder_rules, resize_grid)

__all__ = ["TimeSformer", "timesformer", "convert_hf_timesformer", "convert_mmaction2_timesformer", "HUB_ARCHITECTURE"]

LICENSE = "CC-BY-NC-4.0 (facebook/timesformer-* on the Hugging Face Hub)"
ATTENTION_TYPES = ("divided_space_time", "joint_space_time", "space_only")


class TimeSformer(VideoTransformer):
    """TimeSformer: ``(N, 3, T, H, W)`` clips -> ``(N, num_classes)`` logits; features are the normalised class token.

    ``attention_type``: ``"divided_space_time"`` (published), ``"joint_space_time"`` (one attention
    over all ``T*S`` tokens) or ``"space_only"`` (each frame on its own with its own class token, no
    temporal position table; the frames' class tokens are averaged before the final norm).
    ``num_frames`` and ``img_size`` size the position tables.
    """

    def __init__(self, num_classes: int = 400, *, dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_ratio: float = 4.0, patch_size: int = 16, num_frames: int = 8, img_size: int = 224,
                 qkv_bias: bool = True, eps: float = 1e-6, act: str = "gelu",
                 attention_type: str = "divided_space_time", drop_path: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        if attention_type not in ATTENTION_TYPES:
            raise ValueError(f"attention_type {attention_type!r}: use one of {', '.join(ATTENTION_TYPES)}")
        self.attention_type = attention_type
        self.grid = img_size // patch_size
        self.patch_embed = PatchEmbed2d(dim, patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.grid ** 2 + 1, dim))
        self.time_embed = nn.Parameter(torch.zeros(1, num_frames, dim)) if attention_type != "space_only" else None
        block = DividedSpaceTimeBlock if attention_type == "divided_space_time" else Block
        self.blocks = nn.ModuleList(block(dim, num_heads, mlp_ratio, qkv_bias=qkv_bias, eps=eps, act=act, drop_path=r)
                                    for r in drop_path_rates(drop_path, depth))
        self.norm = nn.LayerNorm(dim, eps=eps)
        self._make_head(dim, num_classes, dropout)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, dim)``."""
        tokens = self.patch_embed(x)  # (N, T, S, D)
        n, t, s, d = tokens.shape
        grid = (x.shape[-2] // self.patch_embed.patch_size, x.shape[-1] // self.patch_embed.patch_size)
        pos = resize_grid(self.pos_embed, (self.grid, self.grid), grid, extra_tokens=1)
        tokens = tokens + pos[:, None, 1:]
        cls = self.cls_token + pos[:, :1]
        if self.time_embed is None:  # space only: frames are separate sequences; their class tokens averaged
            x = torch.cat([cls.expand(n * t, -1, -1), tokens.reshape(n * t, s, d)], dim=1)
            for block in self.blocks:
                x = block(x)
            return self.norm(x[:, 0].reshape(n, t, d).mean(dim=1))
        tokens = tokens + resize_grid(self.time_embed, (self.time_embed.shape[1],), (t,))[:, :, None]
        x = torch.cat([cls.expand(n, -1, -1), tokens.reshape(n, t * s, d)], dim=1)
        for block in self.blocks:
            x = block(x, t) if isinstance(block, DividedSpaceTimeBlock) else block(x)
        return self.norm(x)[:, 0]


def timesformer(num_classes: int = 400, **kwargs: Any) -> TimeSformer:
    """TimeSformer (ViT-B/16 by default); ``kwargs`` go to :class:`TimeSformer`."""
    return TimeSformer(num_classes, **kwargs)


# --- converter: the Hub's (transformers') key layout -> ours -------------------------------------------------

_LAYER = r"(?:timesformer\.)?encoder\.layer\.(\d+)\."
_RULES = [
    Rule(r"(?:timesformer\.)?embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    Rule(r"(?:timesformer\.)?embeddings\.cls_token", "cls_token"),
    Rule(r"(?:timesformer\.)?embeddings\.position_embeddings", "pos_embed"),
    Rule(r"(?:timesformer\.)?embeddings\.time_embeddings", "time_embed"),
    Rule(_LAYER + r"temporal_layernorm\.(weight|bias)", r"blocks.\1.temporal_norm.\2"),
    Rule(_LAYER + r"temporal_attention\.attention\.qkv\.(weight|bias)", r"blocks.\1.temporal_attn.qkv.\2"),
    Rule(_LAYER + r"temporal_attention\.output\.dense\.(weight|bias)", r"blocks.\1.temporal_attn.proj.\2"),
    Rule(_LAYER + r"temporal_dense\.(weight|bias)", r"blocks.\1.temporal_fc.\2"),
    *hf_encoder_rules(r"(?:timesformer\.)?"),
    Rule(r"(?:timesformer\.)?layernorm\.(weight|bias)", r"norm.\1"),
    Rule(r"classifier\.(weight|bias)", r"head.\1"),
]


@register_converter("hf_timesformer")
def convert_hf_timesformer(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A Hub/transformers ``TimesformerForVideoClassification`` state dict -> ours (``qkv`` already fused there)."""
    return convert(state, model, _RULES, what="Hugging Face TimeSformer weights")


# --- the Hub architecture --------------------------------------------------------------------------------------

def config_to_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """A transformers ``TimesformerConfig`` (``config.json`` as a dict) -> :class:`TimeSformer` keyword arguments."""
    common = hub_kwargs(config, dim=768, depth=12, heads=12, eps=1e-6, act="gelu")
    return {
        **common,
        "mlp_ratio": config.get("intermediate_size", 4 * common["dim"]) / common["dim"],
        "patch_size": config.get("patch_size", 16),
        "num_frames": config.get("num_frames", 8),
        "img_size": config.get("image_size", 224),
        "attention_type": config.get("attention_type", "divided_space_time"),
    }


HUB_ARCHITECTURE = register_hub_architecture(HubArchitecture(
    name="TimesformerForVideoClassification", family="timesformer", builder=TimeSformer,
    config_to_kwargs=config_to_kwargs, converter="hf_timesformer",
    input_from_config=partial(hub_input, frames_key="num_frames", default_frames=8)))


# --- registered names ------------------------------------------------------------------------------------------

_REPORTED = "facebookresearch/TimeSformer README (re-trained models)"
_MEAN_NOTE = ("mean/std 0.5 as the Hub repos' preprocessor_config.json (the original training used 0.45/0.225); "
              "1 clip x 3 crops")


def _input(frames: int, step: int, size: int) -> InputSpec:
    sampling = f"{frames} frames every {step}th" if step > 1 else f"{frames} frames spread uniformly (one per segment)"
    return InputSpec(clip_len=frames, frame_step=step, crop_size=size, short_side=size, mean=(0.5, 0.5, 0.5),
                     std=(0.5, 0.5, 0.5), note=f"TimeSformer eval: {sampling}, short side {size}, {_MEAN_NOTE}")


_register = partial(register_model, family="timesformer", builder=timesformer,
                    converters={"safetensors": "hf_timesformer", "pth": "hf_timesformer"}, source="facebook on the Hugging Face Hub")
_hf = partial(hf_file, file="pytorch_model.bin", converter="hf_timesformer", reported_by=_REPORTED, license=LICENSE, default=True,
              pretraining="ImageNet-21K ViT-B/16")
_BASE = dict(num_frames=8, img_size=224)
_HR = dict(num_frames=16, img_size=448)
_LARGE = dict(num_frames=96, img_size=224)

_register("timesformer_base_kinetics400", kwargs=_BASE, dataset="kinetics400", num_classes=400, input=_input(8, 32, 224),
          weights=(_hf("facebook/timesformer-base-finetuned-k400", "main", top1=77.9, top5=93.2, protocol="8x32, 1x3 views"),),
          description="TimeSformer (divided space-time attention, ViT-B/16), 8x224, Kinetics-400.")
_register("timesformer_hr_kinetics400", kwargs=_HR, dataset="kinetics400", num_classes=400, input=_input(16, 16, 448),
          weights=(_hf("facebook/timesformer-hr-finetuned-k400", "main", top1=79.6, top5=94.0, protocol="16x16, 1x3 views"),),
          description="TimeSformer-HR (divided space-time attention, ViT-B/16), 16x448, Kinetics-400.")
_register("timesformer_large_kinetics400", kwargs=_LARGE, dataset="kinetics400", num_classes=400, input=_input(96, 4, 224),
          weights=(_hf("facebook/timesformer-large-finetuned-k400", "main", top1=80.6, top5=94.7, protocol="96x4, 1x3 views"),),
          description="TimeSformer-L (divided space-time attention, ViT-B/16), 96x224, Kinetics-400.")
_register("timesformer_base_kinetics600", kwargs=_BASE, dataset="kinetics600", num_classes=600, input=_input(8, 32, 224),
          weights=(_hf("facebook/timesformer-base-finetuned-k600", "c18539a0f8e7969c56a9c13c823ded04ea207ca1", top1=79.1, top5=94.4, protocol="8x32, 1x3 views"),),
          description="TimeSformer (divided space-time attention, ViT-B/16), 8x224, Kinetics-600.")
_register("timesformer_hr_kinetics600", kwargs=_HR, dataset="kinetics600", num_classes=600, input=_input(16, 16, 448),
          weights=(_hf("facebook/timesformer-hr-finetuned-k600", "main", top1=81.8, top5=95.8, protocol="16x16, 1x3 views"),),
          description="TimeSformer-HR (divided space-time attention, ViT-B/16), 16x448, Kinetics-600.")
_register("timesformer_large_kinetics600", kwargs=_LARGE, dataset="kinetics600", num_classes=600, input=_input(96, 4, 224),
          weights=(_hf("facebook/timesformer-large-finetuned-k600", "main", top1=82.2, top5=95.6, protocol="96x4, 1x3 views"),),
          description="TimeSformer-L (divided space-time attention, ViT-B/16), 96x224, Kinetics-600.")
_register("timesformer_base_sthsthv2", kwargs=_BASE, dataset="sthsthv2", num_classes=174, input=_input(8, 1, 224),
          weights=(_hf("facebook/timesformer-base-finetuned-ssv2", "main", top1=59.1, top5=85.6, protocol="8 frames, 1x3 views"),),
          description="TimeSformer (divided space-time attention, ViT-B/16), 8x224, Something-Something V2.")
_register("timesformer_hr_sthsthv2", kwargs=_HR, dataset="sthsthv2", num_classes=174, input=_input(16, 1, 448),
          weights=(_hf("facebook/timesformer-hr-finetuned-ssv2", "main", top1=61.8, top5=86.9, protocol="16 frames, 1x3 views"),),
          description="TimeSformer-HR (divided space-time attention, ViT-B/16), 16x448, Something-Something V2.")
_register("timesformer_large_sthsthv2", kwargs=dict(num_frames=64, img_size=224), dataset="sthsthv2", num_classes=174,
          input=_input(64, 1, 224),
          weights=(_hf("facebook/timesformer-large-finetuned-ssv2", "main", top1=62.0, top5=87.5, protocol="64 frames, 1x3 views"),),
          description="TimeSformer-L (divided space-time attention, ViT-B/16), 64x224, Something-Something V2.")


# --- mmaction2's TimeSformer: the same network, its key layout and its weights ---------------------------------

_MM_LAYER = r"backbone\.transformer_layers\.layers\.(\d+)\."


def mmaction2_rules(divided: bool) -> list[Rule]:
    """mmaction2 ``TimeSformer`` (mmcv ``BaseTransformerLayer`` s of ``nn.MultiheadAttention``) -> ours.

    Divided space-time layers (``divided``) hold the temporal attention, with its norm and
    ``temporal_fc``, as ``attentions.0``, the spatial one as ``attentions.1`` and the MLP's norm in
    ``ffns.0``; joint and space-only layers have one attention and their norms in ``norms.0/1``.
    """
    first = "temporal_attn" if divided else "attn"
    return [
        Rule(r"backbone\.patch_embed\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
        Rule(r"backbone\.(cls_token|pos_embed|time_embed)", r"\1"),
        Rule(_MM_LAYER + r"attentions\.0\.norm\.(weight|bias)", r"blocks.\1.temporal_norm.\2"),
        Rule(_MM_LAYER + r"attentions\.0\.temporal_fc\.(weight|bias)", r"blocks.\1.temporal_fc.\2"),
        Rule(_MM_LAYER + r"attentions\.0\.attn\.in_proj_(weight|bias)", rf"blocks.\1.{first}.qkv.\2"),
        Rule(_MM_LAYER + r"attentions\.0\.attn\.out_proj\.(weight|bias)", rf"blocks.\1.{first}.proj.\2"),
        Rule(_MM_LAYER + r"attentions\.1\.norm\.(weight|bias)", r"blocks.\1.norm1.\2"),
        Rule(_MM_LAYER + r"attentions\.1\.attn\.in_proj_(weight|bias)", r"blocks.\1.attn.qkv.\2"),
        Rule(_MM_LAYER + r"attentions\.1\.attn\.out_proj\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
        Rule(_MM_LAYER + r"ffns\.0\.norm\.(weight|bias)", r"blocks.\1.norm2.\2"),
        Rule(_MM_LAYER + r"norms\.0\.(weight|bias)", r"blocks.\1.norm1.\2"),
        Rule(_MM_LAYER + r"norms\.1\.(weight|bias)", r"blocks.\1.norm2.\2"),
        Rule(_MM_LAYER + r"ffns\.0\.layers\.0\.0\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
        Rule(_MM_LAYER + r"ffns\.0\.layers\.1\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
        Rule(r"backbone\.norm\.(weight|bias)", r"norm.\1"),
        Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.\1"),
    ]


@register_converter("mmaction2_timesformer")
def convert_mmaction2_timesformer(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 TimeSformer checkpoints (divided, joint or space-only attention) -> :class:`TimeSformer`."""
    divided = any(".attentions.1." in key for key in state)
    return convert(state, model, mmaction2_rules(divided), what="mmaction2 TimeSformer")


_MM = "https://download.openmmlab.com/mmaction/v1.0/recognition/timesformer/"
_MM_INPUT = InputSpec(clip_len=8, frame_step=32, num_segments=1, crop_size=224, short_side=224,
                      **mm_norm((127.5, 127.5, 127.5), (127.5, 127.5, 127.5)))
_MM_PROTOCOL = mm_protocol("1 clip of 8 frames with step 32 x 3 crops (ThreeCrop 224px after short side 224)")
_register_mm = partial(register_mmaction2, family="timesformer", builder=timesformer, dataset="kinetics400",
                       num_classes=400, input=_MM_INPUT, converter="mmaction2_timesformer", protocol=_MM_PROTOCOL,
                       pretraining="ImageNet-21K ViT-B/16")

_register_mm("timesformer_divst_f8s32_kinetics400",
             kwargs={"attention_type": "divided_space_time"},
             description="TimeSformer (divided space-time attention, ViT-B/16), 8x32 at 224 px, Kinetics-400, trained by "
                         "mmaction2.",
             url=_MM + "timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb/"
                       "timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb_20220815-a4d0d01f.pth",
             top1=77.69, top5=93.45,
             config="timesformer/timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb.py")
_register_mm("timesformer_jointst_f8s32_kinetics400",
             kwargs={"attention_type": "joint_space_time"},
             description="TimeSformer with joint space-time attention (one attention over all 8x196 patches, ViT-B/16), "
                         "8x32 at 224 px, Kinetics-400, trained by mmaction2.",
             url=_MM + "timesformer_jointST_8xb8-8x32x1-15e_kinetics400-rgb/"
                       "timesformer_jointST_8xb8-8x32x1-15e_kinetics400-rgb_20220815-8022d1c0.pth",
             top1=76.95, top5=93.28,
             config="timesformer/timesformer_jointST_8xb8-8x32x1-15e_kinetics400-rgb.py")
_register_mm("timesformer_spaceonly_f8s32_kinetics400",
             kwargs={"attention_type": "space_only"},
             description="TimeSformer with space-only attention (a ViT-B/16 per frame, class tokens averaged over the "
                         "8 frames), 8x32 at 224 px, Kinetics-400, trained by mmaction2.",
             url=_MM + "timesformer_spaceOnly_8xb8-8x32x1-15e_kinetics400-rgb/"
                       "timesformer_spaceOnly_8xb8-8x32x1-15e_kinetics400-rgb_20220815-78f05367.pth",
             top1=76.93, top5=92.88,
             config="timesformer/timesformer_spaceOnly_8xb8-8x32x1-15e_kinetics400-rgb.py")
