"""ViViT: a Video Vision Transformer (Arnab et al., ICCV 2021), the unfactorised model (model 1).

``2x16x16`` tubelets (a Conv3d), a class token and a learned position embedding over all
``T/2 * 14 * 14`` tokens, then a plain ViT-B with joint space-time attention
(:mod:`._video_transformer`); the normalised class token is the feature.  The factorised encoder
(model 2) is :class:`~._video_transformer.FactorisedEncoder` of the shared module; no such weights
are on the Hub.

``vivit_b_16x2_kinetics400`` is ``google/vivit-b-16x2-kinetics400`` (Google Research's Scenic
checkpoint converted to transformers), licence MIT as the Hub repo states.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model
from ._published import hf_file, hub_input, hub_kwargs
from ._video_transformer import Block, TubeletEmbed, VideoTransformer, drop_path_rates, fuse_qkv, hf_encoder_rules, resize_grid

__all__ = ["ViViT", "vivit", "convert_hf_vivit", "HUB_ARCHITECTURE"]


class ViViT(VideoTransformer):
    """ViViT model 1: ``(N, 3, T, H, W)`` clips -> ``(N, num_classes)`` logits.

    The position table is sized for ``num_frames x img_size^2``; other clip sizes resize it
    (trilinear over the ``(t, h, w)`` grid).
    """

    def __init__(self, num_classes: int = 400, *, dim: int = 768, depth: int = 12, num_heads: int = 12,
                 mlp_hidden: int = 3072, tubelet: Sequence[int] = (2, 16, 16), num_frames: int = 32,
                 img_size: int = 224, qkv_bias: bool = True, eps: float = 1e-6, act: str = "gelu_fast",
                 drop_path: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        t, p, _ = tubelet
        self.patch_embed = TubeletEmbed(dim, p, t)
        self.grid = (num_frames // t, img_size // p, img_size // p)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + self.grid[0] * self.grid[1] * self.grid[2], dim))
        self.blocks = nn.ModuleList(Block(dim, num_heads, qkv_bias=qkv_bias, eps=eps, act=act, drop_path=r,
                                          mlp_hidden=mlp_hidden) for r in drop_path_rates(drop_path, depth))
        self.norm = nn.LayerNorm(dim, eps=eps)
        self._make_head(dim, num_classes, dropout)
        self.init_weights()

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, dim)``."""
        tokens = self.patch_embed(x)
        pos = resize_grid(self.pos_embed, self.grid, self.patch_embed.grid_for(x.shape), extra_tokens=1, mode="trilinear")
        x = torch.cat([self.cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1) + pos
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 0]


def vivit(num_classes: int = 400, **kwargs: Any) -> ViViT:
    """ViViT-B/16x2 (model 1) by default; ``kwargs`` go to :class:`ViViT`."""
    return ViViT(num_classes, **kwargs)


# --- converter: the Hub's (transformers') key layout -> ours -------------------------------------------------

_RULES = [
    Rule(r"(?:vivit\.)?embeddings\.patch_embeddings\.projection\.(weight|bias)", r"patch_embed.proj.\1"),
    Rule(r"(?:vivit\.)?embeddings\.cls_token", "cls_token"),
    Rule(r"(?:vivit\.)?embeddings\.position_embeddings", "pos_embed"),
    *hf_encoder_rules(r"(?:vivit\.)?"),
    Rule(r"(?:vivit\.)?layernorm\.(weight|bias)", r"norm.\1"),
    Rule(r"(?:vivit\.)?pooler\..*", None),  # transformers' pooler (dense + tanh): not part of the classifier
    Rule(r"classifier\.(weight|bias)", r"head.\1"),
]


@register_converter("hf_vivit")
def convert_hf_vivit(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """A Hub/transformers ``VivitForVideoClassification`` state dict -> ours.

    Reads the Hub files' layout (``encoder.layer.N.attention.attention.{query,key,value}``) and
    transformers 5's (``layers.N.attention.{q,k,v}_proj``); the projections are fused into ``qkv``.
    """
    fused = fuse_qkv(state, "attention.attention.query", "attention.attention.key", "attention.attention.value",
                     "attention.attention.qkv")
    fused = fuse_qkv(fused, "attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.qkv")
    return convert(fused, model, _RULES, what="Hugging Face ViViT weights")


# --- the Hub architecture --------------------------------------------------------------------------------------

def config_to_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """A transformers ``VivitConfig`` (``config.json`` as a dict) -> :class:`ViViT` keyword arguments."""
    size = config.get("image_size", 224)
    return {
        **hub_kwargs(config, dim=768, depth=12, heads=12, eps=1e-6, act="gelu_fast"),
        "mlp_hidden": config.get("intermediate_size", 3072),
        "tubelet": tuple(config.get("tubelet_size", (2, 16, 16))),
        "num_frames": config.get("num_frames", 32),
        "img_size": size[0] if isinstance(size, (list, tuple)) else size,
    }


HUB_ARCHITECTURE = register_hub_architecture(HubArchitecture(
    name="VivitForVideoClassification", family="vivit", builder=ViViT, config_to_kwargs=config_to_kwargs,
    converter="hf_vivit", input_from_config=partial(hub_input, frames_key="num_frames", default_frames=32)))


# --- registered names ------------------------------------------------------------------------------------------

register_model(
    "vivit_b_16x2_kinetics400", vivit, family="vivit", dataset="kinetics400", num_classes=400,
    input=InputSpec(clip_len=32, frame_step=2, short_side=256, crop_size=224, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
                    note=("ViViT eval: 32 frames every 2nd, short side 256, centre 224, 4 clips x 3 crops; pixels scaled "
                          "to [-1, 1] as Scenic trained (transformers' ViViT processor normalises a second time)")),
    converters={"safetensors": "hf_vivit", "pth": "hf_vivit"}, source="google on the Hugging Face Hub",
    weights=(hf_file("google/vivit-b-16x2-kinetics400", "main", "pytorch_model.bin", converter="hf_vivit",
                     top1=79.9, reported_by="google-research/scenic ViViT README", protocol="32 frames, 4x3 views",
                     license="MIT (google/vivit-b-16x2-kinetics400 on the Hugging Face Hub)", default=True,
                     pretraining="ImageNet-21K ViT-B/16"),),
    description="ViViT-B/16x2 (unfactorised spatio-temporal attention, model 1), 32x224, Kinetics-400 (Google).")
