"""MViT checkpoints of PySlowFast (MViTv1 B-24, MViTv2 S/B/L) and pytorchvideo (MViT-B), on zoo's MViT.

The network is :class:`zoo.models.mvit.MViT` (torchvision ported its MViTs from these two code bases):

* MViT-B (v1): 16 blocks, widths 96-768, query pooling at blocks 1, 3, 14, absolute separable
  position embeddings (pytorchvideo ``mvit_base_16x4`` / ``mvit_base_32x3``);
* MViT-B-24 (v1, PySlowFast's 32x3 Kinetics models): 24 blocks, query pooling at 2, 5, 21;
* MViTv2-S/B/L: decomposed relative positions, residual pooling, queries pooled in every block and
  the width changed in the attention; S: 16 blocks (1, 3, 14); B: 24 (2, 5, 21); L: 48 blocks from
  width 144 with 2 heads (2, 8, 44), at 40x312x312.

Rev-MViT-B (PySlowFast ``projects/rev``) is MViT-B's 16 blocks (widened in the attention, no class token,
no bias in ``qkv``) run in a reversible order (:class:`ReversibleMViT`): no new weights, another forward.

Every model is built for one clip size (its ``temporal_size x spatial_size^2``; MViTv2 also takes
others, its relative positions resized).  Key layouts, each a
rule table of :func:`convert_fair_mvit`: pytorchvideo (``patch_embed.patch_model``,
``cls_positional_encoding.*``, separate ``attn.q/k/v``, ``norm_embed``, ``head.proj``) and PySlowFast
(``patch_embed.proj``, ``cls_token``, ``attn.qkv``, ``attn.pool_q`` + ``attn.norm_q``, ``head.projection``).

mmaction2's MViTv2 checkpoints (its ``MViT`` backbone, ``backbone.*`` / ``cls_head.fc_cls``) are the same
network: PySlowFast's S/B/L weights it converted, and MViTv2-S models it trained itself (one after
MaskFeat pre-training, which widens the channels in the MLP, ``widen_in_attention=False``); their
rule table is :data:`MMACTION2_MVIT_RULES`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping

import torch
import torch.nn as nn

from ..convert.keys import KEEP, Rule, convert
from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, KINETICS_NORM, mm_protocol, register_mmaction2
from ._published import fair_file
from .mvit import MultiScaleBlock, MViT, Thw, TokenPool, _block_specs, _LayerNorm

__all__ = ["mvit_b", "mvit_b24", "mvit_v2", "rev_mvit_b", "ReversibleMViT", "convert_fair_mvit",
           "convert_mmaction2_mvit"]


def mvit_b(num_classes: int = 400, *, temporal_size: int = 16, spatial_size: int = 224, pool_norm_eps: float = 1e-6,
           **kwargs) -> MViT:
    """MViT-B (v1), 16 blocks, for ``(N, 3, temporal_size, spatial_size, spatial_size)`` clips.

    ``pool_norm_eps``: epsilon of the LayerNorms after the query/key/value pooling (pytorchvideo
    builds them with PyTorch's default ``1e-5``; PySlowFast and torchvision with ``1e-6``).
    """
    specs = _block_specs(16, (1, 3, 14), widen_before_pool=True, pool_q_everywhere=False)
    model = MViT(specs, num_classes, temporal_size=temporal_size, spatial_size=spatial_size, **kwargs)
    for module in model.modules():
        if isinstance(module, TokenPool) and module.norm is not None:
            module.norm.eps = pool_norm_eps
    return model


def mvit_b24(num_classes: int = 400, *, temporal_size: int = 32, spatial_size: int = 224, **kwargs) -> MViT:
    """MViT-B-24 (v1, PySlowFast's ``MVIT_B_32x3_CONV``): 24 blocks, query pooling at 2, 5, 21.

    Its config gives no pooling kernel, so each pooling kernel follows its stride (``s + 1`` where
    ``s > 1``, else 1): queries ``1x3x3``, keys/values ``1x9x9`` at stride 8 down to none at stride 1.
    """
    specs = [replace(spec, kernel_q=_kernel_of(spec.stride_q), kernel_kv=_kernel_of(spec.stride_kv))
             for spec in _block_specs(24, (2, 5, 21), widen_before_pool=True, pool_q_everywhere=False)]
    return MViT(specs, num_classes, temporal_size=temporal_size, spatial_size=spatial_size, **kwargs)


def _kernel_of(stride: tuple[int, ...]) -> tuple[int, ...]:
    """PySlowFast's pooling kernel for a stride when none is configured (``()`` stays ``()``)."""
    return tuple(s + 1 if s > 1 else s for s in stride)


#: MViTv2 sizes: depth, query-pooling blocks, first width, first heads
_V2_SIZES = {"s": (16, (1, 3, 14), 96, 1), "b": (24, (2, 5, 21), 96, 1), "l": (48, (2, 8, 44), 144, 2)}


def mvit_v2(num_classes: int = 400, *, size: str = "s", temporal_size: int = 16, spatial_size: int = 224,
            depth: int | None = None, pool_blocks: tuple[int, ...] | None = None, embed_dim: int | None = None,
            widen_in_attention: bool = True, **kwargs) -> MViT:
    """MViTv2-``size`` (``"s"``, ``"b"``, ``"l"``) for ``(N, 3, temporal_size, spatial_size, spatial_size)`` clips.

    ``depth``, ``pool_blocks`` (the query-pooling blocks) and ``embed_dim`` (the first width) override
    the size's values: a reduced network of the same design, as a test builds it on both sides.
    ``widen_in_attention=False`` widens the channels in the MLP of the block before each query pooling
    (as MViTv1 does; mmaction2's ``dim_mul_in_attention=False``, its MaskFeat fine-tune).
    """
    size_depth, size_pool, size_dim, heads = _V2_SIZES[size]
    depth, q_pool, dim = depth or size_depth, tuple(pool_blocks or size_pool), embed_dim or size_dim
    specs = _block_specs(depth, q_pool, widen_before_pool=not widen_in_attention, pool_q_everywhere=True,
                         base_dim=dim, base_heads=heads)
    return MViT(specs, num_classes, temporal_size=temporal_size, spatial_size=spatial_size, rel_pos=True,
                residual_pool=True, proj_after_attn=widen_in_attention, **kwargs)


class ReversibleMViT(MViT):
    """Rev-MViT (Mangalam et al., "Reversible Vision Transformers", CVPR 2022): ``(N, 3, T, H, W)`` -> logits.

    The blocks are :class:`~zoo.models.mvit.MultiScaleBlock` s (``F`` = ``norm1`` + ``attn``, ``G`` =
    ``norm2`` + ``mlp``) in two kinds of step, over tokens without a class token:

    * reversible (every block not in ``transitions``): two streams, ``(x1, x2) -> (y1, y2)`` with
      ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)``; a run of them starts from ``(x, x)``;
    * stage transition (the query-pooling blocks): the two streams averaged into one ``x``, then
      ``r + F(x)`` followed by ``+ G``, where the skip ``r`` is ``proj(x)`` pooled by the attention's own
      query pooling (conv + norm, per head).

    The features are the two last streams side by side, normalised and averaged over the tokens:
    ``(N, 2 * dim)``.  The first and last blocks are reversible, and so is one between two transitions.
    """

    def __init__(self, blocks, num_classes: int = 400, *, transitions: tuple[int, ...], **kwargs) -> None:
        if 0 in transitions or len(blocks) - 1 in transitions or any(i + 1 in transitions for i in transitions):
            raise ValueError(f"Rev-MViT needs reversible first and last blocks and one between two stage "
                             f"transitions; got transitions at {transitions} of {len(blocks)} blocks")
        super().__init__(blocks, num_classes, proj_after_attn=True, **kwargs)
        self.transitions = tuple(transitions)
        self.cls_token = self.pos_embed_cls = None  # no class token
        for module in self.modules():
            if isinstance(module, TokenPool):
                module.has_cls = False
        for block in self.blocks:
            block.pool_skip = None  # the transition's skip is pooled by the attention's query pooling
        self.num_features = 2 * blocks[-1].dim_out
        self.norm = _LayerNorm(self.num_features)
        self.fc = nn.Linear(self.num_features, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=self.init_std)
        nn.init.zeros_(self.fc.bias)

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Thw]:
        """``(N, 3, T, H, W) -> (N, T'*H'*W', dim)`` patch tokens plus the separable position embedding, and
        the token grid (always the one it was built for)."""
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        if x.shape[1] != math.prod(self.input_thw):
            t, h, w = self.input_thw
            raise ValueError(f"Rev-MViT was built for {t * 2}x{h * 4}x{w * 4} clips (T x H x W); "
                             f"got {x.shape[1]} patches instead of {t * h * w}")
        t = self.pos_embed_temporal.shape[0]
        pos = self.pos_embed_temporal.repeat_interleave(self.pos_embed_spatial.shape[0], dim=0) + \
            self.pos_embed_spatial.repeat(t, 1)
        return x + pos[None], self.input_thw

    @staticmethod
    def _reversible(block: MultiScaleBlock, x1: torch.Tensor, x2: torch.Tensor, thw: Thw) -> tuple[torch.Tensor, torch.Tensor]:
        """``(y1, y2)`` with ``y1 = x1 + F(x2)``, ``y2 = x2 + G(y1)``, each ``(N, L, dim)``."""
        y1 = x1 + block.attn(block.norm1(x2), thw)[0]
        return y1, x2 + block.mlp(block.norm2(y1))

    @staticmethod
    def _transition(block: MultiScaleBlock, x: torch.Tensor, thw: Thw) -> tuple[torch.Tensor, Thw]:
        """``(N, L, dim_in) -> (N, L', dim_out)``: pooled queries, the skip pooled the same way."""
        skip = block.proj(x) if block.proj is not None else x
        n, length, dim = skip.shape
        heads = block.attn.num_heads
        skip, _ = block.attn.pool_q(skip.reshape(n, length, heads, dim // heads).transpose(1, 2), thw)
        skip = skip.transpose(1, 2).reshape(n, -1, dim)
        out, new_thw = block.attn(block.norm1(x), thw)
        x = skip + out
        return x + block.mlp(block.norm2(x)), new_thw

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, 2 * dim)``: both streams, normalised, averaged over the tokens."""
        x, thw = self._embed(x)
        streams = None
        for i, block in enumerate(self.blocks):
            if i in self.transitions:
                x, thw = self._transition(block, (streams[0] + streams[1]) / 2, thw)
                streams = None
            else:
                streams = self._reversible(block, *(streams or (x, x)), thw)
        return self.norm(torch.cat(streams, dim=-1)).mean(dim=1)


def rev_mvit_b(num_classes: int = 400, *, temporal_size: int = 16, spatial_size: int = 224, depth: int = 16,
               pool_blocks: tuple[int, ...] = (1, 3, 14), embed_dim: int = 96, **kwargs) -> ReversibleMViT:
    """Rev-MViT-B (PySlowFast ``REV_MVIT_B_16x4_CONV``) for ``(N, 3, temporal_size, spatial_size, spatial_size)`` clips.

    MViT-B's blocks widened in the attention at the query-pooling blocks ``pool_blocks``, which are
    the stage transitions; ``depth`` and ``embed_dim`` reduce it for tests.
    """
    specs = _block_specs(depth, tuple(pool_blocks), widen_before_pool=False, pool_q_everywhere=False, base_dim=embed_dim)
    return ReversibleMViT(specs, num_classes, transitions=tuple(pool_blocks), temporal_size=temporal_size,
                          spatial_size=spatial_size, **kwargs)


_COMMON_RULES = [
    Rule(r"blocks\.(\d+)\.attn\.(pool_[qkv])\.weight", r"blocks.\1.attn.\2.pool.weight"),
    Rule(r"blocks\.(\d+)\.attn\.norm_([qkv])\.(weight|bias)", r"blocks.\1.attn.pool_\2.norm.\3"),
]

PYTORCHVIDEO_MVIT_RULES = [
    Rule(r"patch_embed\.patch_model\.(weight|bias)", r"patch_embed.\1"),
    Rule(r"cls_positional_encoding\.cls_token", "cls_token", reshape=True),
    Rule(r"cls_positional_encoding\.pos_embed_(spatial|temporal)", r"pos_embed_\1", reshape=True),
    Rule(r"cls_positional_encoding\.pos_embed_class", "pos_embed_cls", reshape=True),
    *_COMMON_RULES,
    Rule(r"norm_embed\.(weight|bias)", r"norm.\1"),
    Rule(r"head\.proj\.(weight|bias)", r"fc.\1"),
    Rule(r"blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2|proj)\.(weight|bias)", r"\g<0>"),
]

PYSLOWFAST_MVIT_RULES = [
    Rule(r"patch_embed\.proj\.(weight|bias)", r"patch_embed.\1"),
    Rule(r"cls_token", "cls_token", reshape=True),
    Rule(r"pos_embed_(spatial|temporal)", r"pos_embed_\1", reshape=True),
    Rule(r"pos_embed_class", "pos_embed_cls", reshape=True),
    *_COMMON_RULES,
    Rule(r"head\.projection\.(weight|bias)", r"fc.\1"),
    KEEP,
]


def _merge_qkv(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """pytorchvideo's separate ``attn.q/k/v`` linears -> one ``attn.qkv`` (rows ``[q; k; v]``)."""
    out = {}
    for key, value in state.items():
        head, sep, tail = key.partition(".attn.q.")
        if sep:
            parts = [state[f"{head}.attn.{x}.{tail}"] for x in "qkv"]
            out[f"{head}.attn.qkv.{tail}"] = torch.cat(parts, dim=0)
        elif ".attn.k." not in key and ".attn.v." not in key:
            out[key] = value
    return out


#: PySlowFast's Rev-MViT: ``rev_backbone.layers.{i}.F`` (norm + attention) and ``.G`` (norm + MLP).
PYSLOWFAST_REV_MVIT_RULES = [
    Rule(r"patch_embed\.proj\.(weight|bias)", r"patch_embed.\1"),
    Rule(r"pos_embed_(spatial|temporal)", r"pos_embed_\1", reshape=True),
    Rule(r"rev_backbone\.layers\.(\d+)\.F\.norm\.(weight|bias)", r"blocks.\1.norm1.\2"),
    Rule(r"rev_backbone\.layers\.(\d+)\.F\.attn\.(pool_[qkv])\.weight", r"blocks.\1.attn.\2.pool.weight"),
    Rule(r"rev_backbone\.layers\.(\d+)\.F\.attn\.norm_([qkv])\.(weight|bias)", r"blocks.\1.attn.pool_\2.norm.\3"),
    Rule(r"rev_backbone\.layers\.(\d+)\.F\.attn\.(qkv|proj)\.(weight|bias)", r"blocks.\1.attn.\2.\3"),
    Rule(r"rev_backbone\.layers\.(\d+)\.G\.norm\.(weight|bias)", r"blocks.\1.norm2.\2"),
    Rule(r"rev_backbone\.layers\.(\d+)\.G\.mlp\.(fc1|fc2)\.(weight|bias)", r"blocks.\1.mlp.\2.\3"),
    Rule(r"rev_backbone\.layers\.(\d+)\.res_proj\.(weight|bias)", r"blocks.\1.proj.\2"),
    Rule(r"norm\.(weight|bias)", r"norm.\1"),
    Rule(r"head\.projection\.(weight|bias)", r"fc.\1"),
]


def _zero_qkv_bias(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rev-MViT's ``qkv`` has no bias (``QKV_BIAS: False``): ours is a zero bias, the same function."""
    out = dict(state)
    for key, value in state.items():
        if key.endswith(".F.attn.qkv.weight") and key[:-len("weight")] + "bias" not in state:
            out[key[:-len("weight")] + "bias"] = value.new_zeros(value.shape[0])
    return out


@register_converter("fair_mvit")
def convert_fair_mvit(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """pytorchvideo or PySlowFast MViT (v1, v2, Rev-MViT) weights -> our :class:`MViT` / :class:`ReversibleMViT`."""
    if "patch_embed.patch_model.weight" in state:
        return convert(_merge_qkv(state), model, PYTORCHVIDEO_MVIT_RULES, what="pytorchvideo MViT")
    if any(k.startswith("rev_backbone.") for k in state):
        return convert(_zero_qkv_bias(state), model, PYSLOWFAST_REV_MVIT_RULES, what="PySlowFast Rev-MViT")
    return convert(state, model, PYSLOWFAST_MVIT_RULES, what="PySlowFast MViT")


_K = "Kinetics-{classes} val, {views} (the short side resized to {side}, frames sampled at offsets that cover the video)"
_SSV2 = "Something-Something V2 val, 3 views (1 clip x 3 crops of {side}px)"
_SOURCES = {
    "pyslowfast": "PySlowFast (facebookresearch/SlowFast, slowfast/models/video_model_builder.py MViT)",
    "pytorchvideo": "pytorchvideo 0.1.5 (pytorchvideo/models/vision_transformers.py, models/hub/vision_transformers.py)",
}
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_FAIR = ((0.45, 0.45, 0.45), (0.225, 0.225, 0.225))


def _register(name: str, builder, frames: int, step: int, *, repo: str, path: str, top1: float, top5: float,
              dataset: str = "kinetics400", size: str | None = None, crop: int = 224, views: str = "5 views (5 clips x 1 crop)",
              norm=_FAIR, pretraining: str = "Scratch", description: str = "") -> None:
    num_classes = {"kinetics400": 400, "kinetics600": 600, "sthsthv2": 174}[dataset]
    if dataset == "sthsthv2":
        protocol = _SSV2.format(side=crop)
        note = f"{frames} frames spread uniformly over the video; channels in BGR order (PySlowFast REVERSE_INPUT_CHANNEL)"
    else:
        protocol = _K.format(classes=dataset[8:], views=views, side=crop)
        note = f"the model takes only {frames}x{crop}x{crop} clips"
    spec = InputSpec(clip_len=frames, frame_step=step, crop_size=crop, short_side=crop, mean=norm[0], std=norm[1], note=note)
    kwargs = {"temporal_size": frames, "spatial_size": crop, **({"size": size} if size else {}),
              **({"pool_norm_eps": 1e-5} if repo == "pytorchvideo" else {})}
    weights = fair_file(name, path, "fair_mvit", top1, top5, repo=repo, protocol=protocol, pretraining=pretraining,
                        default=True)
    register_model(name, builder, family="mvit", dataset=dataset, num_classes=num_classes, kwargs=kwargs, input=spec,
                   weights=[weights], converters={"pth": "fair_mvit"}, source=_SOURCES[repo],
                   description=description or f"{name.split('_')[0].upper()} {frames}x{step} trained on {dataset} by {repo}.")


_V2 = "model_zoo/mvitv2/pysf_video_models/"
# pytorchvideo's model zoo
_register("mvit_b_16x4_kinetics400_pytorchvideo", mvit_b, 16, 4, repo="pytorchvideo", path="kinetics/MVIT_B_16x4.pyth",
          top1=78.85, top5=93.85, description="MViT-B 16x4 (MViTv1) of pytorchvideo's model zoo, Kinetics-400.")
_register("mvit_b_32x3_kinetics400_pytorchvideo", mvit_b, 32, 3, repo="pytorchvideo",
          path="kinetics/MVIT_B_32x3_f294077834.pyth", top1=80.30, top5=94.69,
          description="MViT-B 32x3 (MViTv1) of pytorchvideo's model zoo, Kinetics-400.")
# PySlowFast's MODEL_ZOO.md (MViTv1) and projects/mvitv2
_register("mvit_b24_32x3_kinetics400", mvit_b24, 32, 3, repo="pyslowfast", path="model_zoo/mvit/k400.pyth",
          top1=80.4, top5=94.8, description="MViT-B-24 32x3 (MViTv1, 24 blocks), Kinetics-400, PySlowFast.")
_register("mvit_b24_32x3_kinetics600", mvit_b24, 32, 3, repo="pyslowfast", path="model_zoo/mvit/k600.pyth",
          dataset="kinetics600", top1=83.9, top5=96.5,
          description="MViT-B-24 32x3 (MViTv1, 24 blocks), Kinetics-600, PySlowFast.")
_register("mvit_v2_s_16x4_kinetics400", mvit_v2, 16, 4, repo="pyslowfast", size="s", top1=81.0, top5=94.6,
          path=_V2 + "MViTv2_S_16x4_k400_f302660347.pyth", description="MViTv2-S 16x4, Kinetics-400, PySlowFast.")
_register("mvit_v2_b_32x3_kinetics400", mvit_v2, 32, 3, repo="pyslowfast", size="b", top1=82.9, top5=95.7,
          path=_V2 + "MViTv2_B_32x3_k400_f304025456.pyth", description="MViTv2-B 32x3, Kinetics-400, PySlowFast.")
_register("mvit_v2_l_40x3_kinetics400", mvit_v2, 40, 3, repo="pyslowfast", size="l", top1=86.1, top5=97.0, crop=312,
          views="15 views (5 clips x 3 crops)", norm=_IMAGENET, pretraining="ImageNet-21K",
          path=_V2 + "MViTv2_L_40x3_k400_f306903192.pyth", description="MViTv2-L 40x3 at 312px, Kinetics-400, PySlowFast.")
_register("rev_mvit_b_16x4_kinetics400", rev_mvit_b, 16, 4, repo="pyslowfast", top1=78.4, top5=93.4,
          path="rev/REV_MVIT_B_16x4.pyth",
          description="Rev-MViT-B 16x4 (reversible MViT-B, projects/rev), Kinetics-400, PySlowFast.")
_register("mvit_v2_s_16x4_sthsthv2", mvit_v2, 16, 4, repo="pyslowfast", size="s", top1=68.2, top5=91.4,
          dataset="sthsthv2", pretraining="Kinetics-400", path=_V2 + "MViTv2_S_16x4_ssv2_f308341823.pyth",
          description="MViTv2-S 16x4, Something-Something V2, PySlowFast.")
_register("mvit_v2_b_32x3_sthsthv2", mvit_v2, 32, 3, repo="pyslowfast", size="b", top1=70.5, top5=92.7,
          dataset="sthsthv2", pretraining="Kinetics-400", path=_V2 + "MViTv2_B_32x3_ssv2_f305803282.pyth",
          description="MViTv2-B 32x3, Something-Something V2, PySlowFast.")
_register("mvit_v2_l_40x3_sthsthv2", mvit_v2, 40, 3, repo="pyslowfast", size="l", top1=73.3, top5=94.1, crop=312,
          dataset="sthsthv2", norm=_IMAGENET, pretraining="ImageNet-21K, Kinetics-400",
          path=_V2 + "MViTv2_L_40x3_ssv2_f309603968.pyth", description="MViTv2-L 40x3 at 312px, SSv2, PySlowFast.")


# ---------------------------------------------------------------------------------------------
# mmaction2's MViTv2: the same network, its key layout and its weights
# ---------------------------------------------------------------------------------------------

#: mmaction2 ``MViT`` + ``MViTHead`` -> :class:`MViT` (query/key/value pooled in every block, as ours).
MMACTION2_MVIT_RULES = [
    Rule(r"backbone\.patch_embed\.projection\.(weight|bias)", r"patch_embed.\1"),
    Rule(r"backbone\.cls_token", "cls_token", reshape=True),
    Rule(r"backbone\.(blocks\.\d+\.attn\.pool_[qkv]\.weight)", lambda m: m.group(1)[:-len("weight")] + "pool.weight"),
    Rule(r"backbone\.blocks\.(\d+)\.attn\.norm_([qkv])\.(weight|bias)", r"blocks.\1.attn.pool_\2.norm.\3"),
    Rule(r"backbone\.(blocks\.\d+\.(?:norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2|proj)\.(?:weight|bias))", r"\1"),
    Rule(r"backbone\.(blocks\.\d+\.attn\.rel_pos_[thw])", r"\1"),
    Rule(r"backbone\.norm3\.(weight|bias)", r"norm.\1"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
]


@register_converter("mmaction2_mvit")
def convert_mmaction2_mvit(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 MViTv2 checkpoints (``backbone.blocks.N``, ``norm3``, ``cls_head.fc_cls``) -> our :class:`MViT`."""
    return convert(state, model, MMACTION2_MVIT_RULES, what="mmaction2 MViT")




def _register_mm(name: str, size: str, frames: int, step: int | None, *, url: str, top1: float, top5: float,
                 config: str, pretraining: str, description: str, crop: int = 224, built: int = 224,
                 dataset: str = "kinetics400", clips: int = 5, three_crop: bool = False, norm=KINETICS_NORM,
                 widen_in_attention: bool = True, protocol_note: str = "") -> None:
    """One mmaction2 MViTv2 file; ``step=None``: uniform sampling (one frame per segment, SSv2)."""
    if step is None:
        test = f"1 clip of {frames} frames (one per segment) x 3 crops (ThreeCrop {crop}px after short side {crop})"
        note = f"{frames} frames, one from each of {frames} equal segments of the video (uniform sampling)"
    else:
        crops = "3 crops (ThreeCrop" if three_crop else "1 crop (CenterCrop"
        test = f"{clips} clips of {frames} frames with step {step} x {crops} {crop}px after short side {crop})"
        note = ""
    kwargs = {"size": size, "temporal_size": frames, "spatial_size": built,
              **({} if widen_in_attention else {"widen_in_attention": False})}
    register_mmaction2(name, builder=mvit_v2, family="mvit", converter="mmaction2_mvit", dataset=dataset, kwargs=kwargs,
                       input=InputSpec(clip_len=frames, frame_step=step or 1, num_segments=1, crop_size=crop,
                                       short_side=crop, note=note, **norm),
                       url=url, top1=top1, top5=top5, pretraining=pretraining, config="mvit/" + config,
                       protocol=mm_protocol(test, "the README table") + protocol_note, description=description)


_MM = "https://download.openmmlab.com/mmaction/v1.0/recognition/mvit/"
_METAFILE_81 = ("; mmaction2's metafile lists this file at 81.1/94.7, MViTv2-S's figures copied onto B and L: "
                "the README's table is followed")
# PySlowFast's MViTv2 weights in mmaction2's layout (its "converted" folder), tested on mmaction2's data
_register_mm("mvit_v2_s_converted_f16s4_kinetics400", "s", 16, 4, top1=81.1, top5=94.7,
             url=_MM + "converted/mvit-small-p244_16x4x1_kinetics400-rgb_20221021-9ebaaeed.pth",
             config="mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py", pretraining="Scratch",
             description="MViTv2-S 16x4, Kinetics-400: PySlowFast's weights converted by mmaction2.")
_register_mm("mvit_v2_b_converted_f32s3_kinetics400", "b", 32, 3, top1=82.6, top5=95.8, protocol_note=_METAFILE_81,
             url=_MM + "converted/mvit-base-p244_32x3x1_kinetics400-rgb_20221021-f392cd2d.pth",
             config="mvit-base-p244_32x3x1_kinetics400-rgb.py", pretraining="Scratch",
             description="MViTv2-B 32x3, Kinetics-400: PySlowFast's weights converted by mmaction2.")
_register_mm("mvit_v2_l_converted_f40s3_kinetics400", "l", 40, 3, top1=85.4, top5=96.2, crop=312, built=312,
             three_crop=True, protocol_note=_METAFILE_81,
             url=_MM + "converted/mvit-large-p244_40x3x1_kinetics400-rgb_20221021-11fe1f97.pth",
             config="mvit-large-p244_40x3x1_kinetics400-rgb.py", pretraining="ImageNet-21K",
             description="MViTv2-L 40x3 at 312 px, Kinetics-400: PySlowFast's weights converted by mmaction2.")
_register_mm("mvit_v2_s_converted_u16_sthsthv2", "s", 16, None, top1=68.1, top5=91.0, dataset="sthsthv2",
             norm=IMAGENET_NORM,
             url=_MM + "converted/mvit-small-p244_u16_sthv2-rgb_20221021-65ecae7d.pth",
             config="mvit-small-p244_k400-pre_16xb16-u16-100e_sthv2-rgb.py", pretraining="Kinetics-400",
             description="MViTv2-S, 16 frames uniformly sampled, Something-Something V2: PySlowFast's weights converted "
                         "by mmaction2.")
_register_mm("mvit_v2_b_converted_u32_sthsthv2", "b", 32, None, top1=70.8, top5=92.7, dataset="sthsthv2",
             url=_MM + "converted/mvit-base-p244_u32_sthv2-rgb_20221021-d5de5da6.pth",
             config="mvit-base-p244_u32_sthv2-rgb.py", pretraining="Kinetics-400",
             description="MViTv2-B, 32 frames uniformly sampled, Something-Something V2: PySlowFast's weights converted "
                         "by mmaction2.")
_register_mm("mvit_v2_l_converted_u40_sthsthv2", "l", 40, None, top1=73.2, top5=94.0, dataset="sthsthv2", built=312,
             protocol_note=("; the network is built for 312 px (as trained) and mmaction2's test pipeline feeds it "
                            "224 px crops, its relative positions resized"),
             url=_MM + "converted/mvit-large-p244_u40_sthv2-rgb_20221021-61696e07.pth",
             config="mvit-large-p244_u40_sthv2-rgb.py", pretraining="ImageNet-21K, Kinetics-400",
             description="MViTv2-L, 40 frames uniformly sampled, Something-Something V2: PySlowFast's weights converted "
                         "by mmaction2 (built for 312 px, tested at 224 px).")
# MViTv2-S trained by mmaction2
_register_mm("mvit_v2_s_scratch_f16s4_kinetics400", "s", 16, 4, top1=80.6, top5=94.7,
             url=_MM + "mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb/"
                       "mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb_20230201-23284ff3.pth",
             config="mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py", pretraining="Scratch",
             description="MViTv2-S 16x4, Kinetics-400, trained from scratch by mmaction2 (200 epochs, repeated "
                         "augmentation).")
_register_mm("mvit_v2_s_maskfeat_f16s4_kinetics400", "s", 16, 4, top1=81.8, top5=95.2, widen_in_attention=False,
             clips=10,
             url=_MM + "mvit-small-p244_k400-maskfeat-pre_8xb32-16x4x1-100e_kinetics400-rgb/"
                       "mvit-small-p244_k400-maskfeat-pre_8xb32-16x4x1-100e_kinetics400-rgb_20230201-5bced1d0.pth",
             config="mvit-small-p244_k400-maskfeat-pre_8xb32-16x4x1-100e_kinetics400-rgb.py",
             pretraining="MaskFeat self-supervised, Kinetics-400 (mmselfsup)",
             description="MViTv2-S 16x4, Kinetics-400, MaskFeat-pretrained (mmselfsup) and fine-tuned by mmaction2; "
                         "its channels widen in the MLP (widen_in_attention=False).")
_register_mm("mvit_v2_s_k400_u16_sthsthv2", "s", 16, None, top1=68.2, top5=91.3, dataset="sthsthv2",
             norm=IMAGENET_NORM,
             protocol_note=("; mmaction2's metafile names the Kinetics-400 config for this file: the README's "
                            "Something-Something V2 config is followed"),
             url=_MM + "mvit-small-p244_k400-pre_16xb16-u16-100e_sthv2-rgb/"
                       "mvit-small-p244_k400-pre_16xb16-u16-100e_sthv2-rgb_20230201-4065c1b9.pth",
             config="mvit-small-p244_k400-pre_16xb16-u16-100e_sthv2-rgb.py", pretraining="Kinetics-400",
             description="MViTv2-S, 16 frames uniformly sampled, Something-Something V2, fine-tuned by mmaction2 from "
                         "the converted Kinetics-400 weights.")
