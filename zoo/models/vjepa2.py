"""V-JEPA 2: self-supervised video encoders and their attentive-probe classifiers (Assran et al., Meta 2025).

The encoder is a ViT on ``2x16x16`` tubelets with no position table: every attention rotates its
queries and keys by the tokens' ``(t, h, w)`` positions (3D rotary embedding,
:class:`~._video_transformer.Rotary3d`), so any clip size works.  The classifier on top is an
attentive probe: three self-attention blocks over the encoder's tokens, then one learned query that
cross-attends to them (no output projection), then a linear layer.

Names: the four encoders Meta published (``vjepa2_vit{l,h,g}_fpc64_256``, ``vjepa2_vitg_fpc64_384``:
the file holds the encoder; the probe and the classifier start fresh, so give ``num_classes``) and
the four probe classifiers (SSv2 and Diving48 on ViT-L/256 and ViT-g/384), as transformers 5 has them
(``VJEPA2ForVideoClassification``) on the Hugging Face Hub, licence MIT.
"""
from __future__ import annotations

import logging
from functools import partial
from typing import Any, Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model
from ._published import hf_file, hub_input, hub_kwargs
from ._video_transformer import (Block, CrossAttention, Mlp, TubeletEmbed, VideoTransformer, drop_path_rates, fuse_qkv,
                                 init_vit_weights)

__all__ = ["VJEPA2", "AttentivePooler", "vjepa2", "convert_hf_vjepa2", "VJEPA2_SIZES", "HUB_ARCHITECTURE"]

logger = logging.getLogger(__name__)

#: encoder sizes: (width, depth, heads, mlp_ratio)
VJEPA2_SIZES = {"l": (1024, 24, 16, 4.0), "h": (1280, 32, 16, 4.0), "g": (1408, 40, 22, 48 / 11)}
LICENSE = "MIT (facebook/vjepa2-* on the Hugging Face Hub)"


class AttentivePooler(nn.Module):
    """V-JEPA 2's attentive probe: ``(N, L, dim)`` tokens -> ``(N, dim)``.

    ``depth`` self-attention :class:`Block` s over the tokens, then a learned query attends to them:
    ``q + cross_attn(q, cross_norm1(tokens))`` (no output projection), then ``+ cross_mlp(cross_norm2(.))``.
    """

    def __init__(self, dim: int, num_heads: int, depth: int = 3, *, mlp_ratio: float = 4.0, eps: float = 1e-6,
                 act: str = "gelu") -> None:
        super().__init__()
        self.config = dict(dim=dim, num_heads=num_heads, depth=depth, mlp_ratio=mlp_ratio, eps=eps, act=act)
        self.query_tokens = nn.Parameter(torch.zeros(1, 1, dim))
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_ratio, eps=eps, act=act) for _ in range(depth))
        self.cross_norm1 = nn.LayerNorm(dim, eps=eps)
        self.cross_attn = CrossAttention(dim, num_heads, out_proj=False)
        self.cross_norm2 = nn.LayerNorm(dim, eps=eps)
        self.cross_mlp = Mlp(dim, int(dim * mlp_ratio), act)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            tokens = block(tokens)
        query = self.query_tokens.repeat(tokens.shape[0], 1, 1)  # not a view: module hooks (FLOP counting) see a plain tensor
        query = query + self.cross_attn(query, self.cross_norm1(tokens))
        query = query + self.cross_mlp(self.cross_norm2(query))
        return query[:, 0]


class VJEPA2(VideoTransformer):
    """V-JEPA 2 encoder + attentive probe: ``(N, 3, T, H, W)`` clips -> ``(N, num_classes)`` logits.

    Features are the probe's pooled query ``(N, dim)``; :meth:`encode` gives the encoder's tokens.
    """

    def __init__(self, num_classes: int = 174, *, dim: int = 1024, depth: int = 24, num_heads: int = 16,
                 mlp_ratio: float = 4.0, patch_size: int = 16, tubelet_size: int = 2, qkv_bias: bool = True,
                 eps: float = 1e-6, act: str = "gelu", pooler_depth: int = 3, drop_path: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.patch_embed = TubeletEmbed(dim, patch_size, tubelet_size)
        self.blocks = nn.ModuleList(Block(dim, num_heads, qkv_bias=qkv_bias, eps=eps, act=act, drop_path=r, rotary=True,
                                          mlp_hidden=int(dim * mlp_ratio)) for r in drop_path_rates(drop_path, depth))
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.pooler = AttentivePooler(dim, num_heads, pooler_depth, eps=eps, act=act)
        self._make_head(dim, num_classes, dropout)
        self.init_weights()

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the encoder's normalised tokens ``(N, T/2 * H/16 * W/16, dim)``."""
        if x.shape[2] < self.patch_embed.tubelet_size:  # a single frame is repeated into one tubelet
            x = x.repeat(1, 1, self.patch_embed.tubelet_size, 1, 1)
        grid = self.patch_embed.grid_for(x.shape)
        tokens = self.patch_embed(x)
        for block in self.blocks:
            tokens = block(tokens, grid)
        return self.norm(tokens)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, dim)``."""
        return self.pooler(self.encode(x))

    def no_weight_decay_names(self) -> set[str]:
        return super().no_weight_decay_names() | {"query_tokens"}


def vjepa2(num_classes: int = 174, size: str = "l", **kwargs: Any) -> VJEPA2:
    """V-JEPA 2 ViT-``size`` (``"l"``, ``"h"``, ``"g"``) with an attentive probe; ``kwargs`` go to :class:`VJEPA2`."""
    dim, depth, heads, ratio = VJEPA2_SIZES[size]
    return VJEPA2(num_classes, **{"dim": dim, "depth": depth, "num_heads": heads, "mlp_ratio": ratio, **kwargs})


# --- converter: the Hub's (transformers') key layout -> ours -------------------------------------------------

_LAYER = r"(?:vjepa2\.)?encoder\.layer\.(\d+)\."
_POOL = r"pooler\.self_attention_layers\.(\d+)\."
_CROSS = r"pooler\.cross_attention_layer\."
_RULES = [
    Rule(r"(?:vjepa2\.)?encoder\.embeddings\.patch_embeddings\.proj\.(weight|bias)", r"patch_embed.proj.\1"),
    Rule(_LAYER + r"norm(1|2)\.(weight|bias)", r"blocks.\1.norm\2.\3"),
    Rule(_LAYER + r"attention\.(?:attention\.)?qkv\.(weight|bias)", r"blocks.\1.attn.qkv.\2"),
    Rule(_LAYER + r"attention\.(?:attention\.)?proj\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    Rule(_LAYER + r"mlp\.(fc1|fc2)\.(weight|bias)", r"blocks.\1.mlp.\2.\3"),
    Rule(r"(?:vjepa2\.)?encoder\.layernorm\.(weight|bias)", r"norm.\1"),
    Rule(r"(?:vjepa2\.)?predictor\..*", None),  # the pre-training predictor: not part of the classifier
    Rule(r"pooler\.query_tokens", "pooler.query_tokens"),
    Rule(_POOL + r"layer_norm(1|2)\.(weight|bias)", r"pooler.blocks.\1.norm\2.\3"),
    Rule(_POOL + r"self_attn\.qkv\.(weight|bias)", r"pooler.blocks.\1.attn.qkv.\2"),
    Rule(_POOL + r"self_attn\.out_proj\.(weight|bias)", r"pooler.blocks.\1.attn.proj.\2"),
    Rule(_POOL + r"mlp\.(fc1|fc2)\.(weight|bias)", r"pooler.blocks.\1.mlp.\2.\3"),
    Rule(_CROSS + r"layer_norm(1|2)\.(weight|bias)", r"pooler.cross_norm\1.\2"),
    Rule(_CROSS + r"cross_attn\.(q|k|v)_proj\.(weight|bias)", r"pooler.cross_attn.\1.\2"),
    Rule(_CROSS + r"mlp\.(fc1|fc2)\.(weight|bias)", r"pooler.cross_mlp.\1.\2"),
    Rule(r"classifier\.(weight|bias)", r"head.\1"),
]


def _fresh_probe(model: nn.Module) -> dict[str, torch.Tensor]:
    """A newly initialised attentive probe and classifier of ``model``'s sizes (for an encoder-only file)."""
    probe = nn.Module()
    probe.pooler = AttentivePooler(**model.pooler.config)
    probe.head = nn.Linear(model.head.in_features, model.head.out_features)
    init_vit_weights(probe)
    nn.init.trunc_normal_(probe.pooler.query_tokens, std=0.02)
    return dict(probe.state_dict())


@register_converter("hf_vjepa2")
def convert_hf_vjepa2(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A Hub/transformers ``VJEPA2ForVideoClassification`` (or encoder-only ``VJEPA2Model``) state dict -> ours.

    The encoder's and the probe's query/key/value projections are fused into ``qkv``; the predictor
    is dropped.  A file without a probe (a pre-trained encoder) gets a fresh probe and classifier.
    """
    fused = fuse_qkv(state, "attention.query", "attention.key", "attention.value", "attention.qkv")
    fused = fuse_qkv(fused, "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.qkv")
    fresh: dict[str, torch.Tensor] = {}
    if not any(k.startswith("pooler.") for k in fused):
        logger.info("V-JEPA 2 encoder weights: the attentive probe and the classifier start fresh (train them)")
        fresh = _fresh_probe(model)
    return {**convert(fused, _EncoderOnly(model) if fresh else model, _RULES, what="Hugging Face V-JEPA 2 weights"),
            **fresh}


class _EncoderOnly(nn.Module):
    """A view of a :class:`VJEPA2` whose state dict is the encoder's alone (what an encoder file must fill)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def state_dict(self, *args, **kwargs):  # type: ignore[override]
        return {k: v for k, v in self.model.state_dict().items() if not k.startswith(("pooler.", "head."))}


# --- the Hub architecture --------------------------------------------------------------------------------------

def config_to_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """A transformers ``VJEPA2Config`` (``config.json`` as a dict) -> :class:`VJEPA2` keyword arguments."""
    return {
        **hub_kwargs(config, dim=1024, depth=24, heads=16, eps=1e-6, act="gelu"),
        "mlp_ratio": config.get("mlp_ratio", 4.0),
        "patch_size": config.get("patch_size", 16),
        "tubelet_size": config.get("tubelet_size", 2),
        "pooler_depth": config.get("num_pooler_layers", 3),
    }


HUB_ARCHITECTURE = register_hub_architecture(HubArchitecture(
    name="VJEPA2ForVideoClassification", family="vjepa2", builder=VJEPA2, config_to_kwargs=config_to_kwargs,
    converter="hf_vjepa2", input_from_config=partial(hub_input, frames_key="frames_per_clip", default_frames=64,
                                                     default_size=256)))


# --- registered names ------------------------------------------------------------------------------------------

def _input(frames: int, size: int, sampling: str) -> InputSpec:
    return InputSpec(clip_len=frames, crop_size=size, short_side=size * 256 // 224,
                     note=f"V-JEPA 2 eval: {sampling}; short side {size * 256 // 224}, centre {size} (ImageNet mean/std)")


_REPORTED = "facebookresearch/vjepa2 README (attentive probe)"
_register = partial(register_model, family="vjepa2", builder=vjepa2, converters={"safetensors": "hf_vjepa2", "pth": "hf_vjepa2"},
                    source="facebook on the Hugging Face Hub")
_hf = partial(hf_file, converter="hf_vjepa2", license=LICENSE, default=True,
              pretraining="V-JEPA 2 self-supervised (VideoMix22M)")

_register("vjepa2_vitl_fpc16_256_sthsthv2", kwargs={"size": "l"}, dataset="sthsthv2", num_classes=174,
          input=_input(16, 256, "16 frames spread over the video, 2 clips x 3 crops"),
          weights=(_hf("facebook/vjepa2-vitl-fpc16-256-ssv2", "main", top1=73.7, reported_by=_REPORTED,
                       protocol="16x2x3"),),
          description="V-JEPA 2 ViT-L/16 (256 px) with its SSv2 attentive probe, 16 frames.")
_register("vjepa2_vitg_fpc64_384_sthsthv2", kwargs={"size": "g"}, dataset="sthsthv2", num_classes=174,
          input=_input(64, 384, "64 frames spread over the video, 2 clips x 3 crops"),
          weights=(_hf("facebook/vjepa2-vitg-fpc64-384-ssv2", "main", top1=77.3, reported_by=_REPORTED,
                       protocol="64x2x3"),),
          description="V-JEPA 2 ViT-g/16 (384 px) with its SSv2 attentive probe, 64 frames.")
_register("vjepa2_vitl_fpc32_256_diving48", kwargs={"size": "l"}, dataset="diving48", num_classes=48,
          input=_input(32, 256, "32 frames spread over the video, 4 clips x 3 crops"),
          weights=(_hf("facebook/vjepa2-vitl-fpc32-256-diving48", "main", top1=89.0, reported_by=_REPORTED,
                       protocol="32x4x3"),),
          description="V-JEPA 2 ViT-L/16 (256 px) with its Diving48 attentive probe, 32 frames.")
_register("vjepa2_vitg_fpc32_384_diving48", kwargs={"size": "g"}, dataset="diving48", num_classes=48,
          input=_input(32, 384, "32 frames spread over the video, 4 clips x 3 crops"),
          weights=(_hf("facebook/vjepa2-vitg-fpc32-384-diving48", "main", top1=90.2, reported_by=_REPORTED,
                       protocol="32x4x3"),),
          description="V-JEPA 2 ViT-g/16 (384 px) with its Diving48 attentive probe, 32 frames.")

_ENCODER = ("V-JEPA 2 {size} encoder ({px} px, pre-trained on 64-frame clips); the attentive probe and the "
            "classifier start fresh: give num_classes and train them (the encoder frozen or not).")
_register("vjepa2_vitl_fpc64_256", kwargs={"size": "l"}, num_classes=400, input=_input(64, 256, "64 frames"),
          weights=(_hf("facebook/vjepa2-vitl-fpc64-256", "main", num_classes=400),),
          description=_ENCODER.format(size="ViT-L/16", px=256))
_register("vjepa2_vith_fpc64_256", kwargs={"size": "h"}, num_classes=400, input=_input(64, 256, "64 frames"),
          weights=(_hf("facebook/vjepa2-vith-fpc64-256", "main", num_classes=400),),
          description=_ENCODER.format(size="ViT-H/16", px=256))
_register("vjepa2_vitg_fpc64_256", kwargs={"size": "g"}, num_classes=400, input=_input(64, 256, "64 frames"),
          weights=(_hf("facebook/vjepa2-vitg-fpc64-256", "main", num_classes=400),),
          description=_ENCODER.format(size="ViT-g/16", px=256))
_register("vjepa2_vitg_fpc64_384", kwargs={"size": "g"}, num_classes=400, input=_input(64, 384, "64 frames"),
          weights=(_hf("facebook/vjepa2-vitg-fpc64-384", "main", num_classes=400),),
          description=_ENCODER.format(size="ViT-g/16", px=384))
