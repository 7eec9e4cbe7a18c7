"""UniFormer (Li et al., "UniFormer: Unified Transformer for Efficient Spatiotemporal Representation Learning", ICLR 2022).

A four-stage pyramid over ``(N, 3, T, H, W)`` clips.  Each stage starts with a patch embedding (a
strided Conv3d, then a LayerNorm over the channels): ``3x4x4`` with stride ``2x4x4`` into stage 1
(time halved), ``1x2x2`` with stride ``1x2x2`` into stages 2-4.  Every block first adds a depthwise
``3x3x3`` convolution of its input (the *dynamic position encoding*), then:

* stages 1-2, **local** blocks (:class:`LocalBlock`): BatchNorm, ``1x1x1`` conv, a depthwise
  ``5x5x5`` conv (the local relation aggregator: each position mixes its neighbourhood), ``1x1x1``
  conv; then BatchNorm and an MLP of ``1x1x1`` convs;
* stages 3-4, **global** blocks (:class:`GlobalBlock`): a pre-LayerNorm transformer block (joint
  space-time self-attention over all ``T*H*W`` tokens, heads of 64 channels, and an MLP).

A final BatchNorm, the average over ``(T, H, W)`` and a linear classifier (mmaction2's ``I3DHead``)
give the logits.  UniFormer-S has ``(3, 4, 8, 3)`` blocks per stage, UniFormer-B ``(5, 8, 20, 7)``,
both of widths ``(64, 128, 320, 512)``.  Any ``T`` and ``H = W`` a multiple of 32 work (no position
tables).

The weights are mmaction2's port of the authors' Kinetics-400 models (ImageNet-1K pretraining); the
key layout is mmaction2's with ``backbone.`` dropped and ``cls_head.fc_cls`` as ``head``.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert
from ..registry import InputSpec, register_converter
from ._mmaction2 import KINETICS_NORM, register_mmaction2
from ._video_transformer import Block, VideoTransformer, drop_path_rates
from .mvit import _drop_path

__all__ = ["UniFormer", "uniformer_s", "uniformer_b", "LocalBlock", "GlobalBlock", "convert_mmaction2_uniformer"]

#: Blocks per stage and stage widths of the published variants.
VARIANTS = {"s": ((3, 4, 8, 3), (64, 128, 320, 512)), "b": ((5, 8, 20, 7), (64, 128, 320, 512))}


class PatchEmbed(nn.Module):
    """Strided Conv3d, then LayerNorm over the channels: ``(N, C_in, T, H, W) -> (N, C_out, T', H', W')``."""

    def __init__(self, in_chans: int, dim: int, kernel: tuple[int, int, int], stride: tuple[int, int, int],
                 padding: tuple[int, int, int] = (0, 0, 0)) -> None:
        super().__init__()
        self.proj = nn.Conv3d(in_chans, dim, kernel, stride, padding)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)  # norm over C


class ConvMlp(nn.Module):
    """``1x1x1 conv -> GELU -> dropout -> 1x1x1 conv -> dropout`` on ``(N, C, T, H, W)``."""

    def __init__(self, dim: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Conv3d(dim, hidden, 1)
        self.act = nn.GELU()
        self.fc2 = nn.Conv3d(hidden, dim, 1)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


def _position_conv(dim: int) -> nn.Conv3d:
    """The dynamic position encoding: a depthwise ``3x3x3`` convolution whose output is added to its input."""
    return nn.Conv3d(dim, dim, 3, padding=1, groups=dim)


class LocalBlock(nn.Module):
    """UniFormer's local block (mmaction2's ``CBlock``): ``(N, C, T, H, W) -> (N, C, T, H, W)``.

    ``x + pos(x)``, then ``x + conv2(dw5x5x5(conv1(bn1(x))))``, then ``x + mlp(bn2(x))``.
    """

    def __init__(self, dim: int, mlp_ratio: float = 4.0, drop_path: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.pos_embed = _position_conv(dim)
        self.norm1 = nn.BatchNorm3d(dim)
        self.conv1 = nn.Conv3d(dim, dim, 1)
        self.attn = nn.Conv3d(dim, dim, 5, padding=2, groups=dim)
        self.conv2 = nn.Conv3d(dim, dim, 1)
        self.norm2 = nn.BatchNorm3d(dim)
        self.mlp = ConvMlp(dim, int(dim * mlp_ratio), dropout)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        x = x + _drop_path(self.conv2(self.attn(self.conv1(self.norm1(x)))), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class GlobalBlock(Block):
    """UniFormer's global block (mmaction2's ``SABlock``): ``(N, C, T, H, W) -> (N, C, T, H, W)``.

    ``x + pos(x)``, then the shared pre-LayerNorm transformer :class:`~._video_transformer.Block` on the
    ``T*H*W`` tokens in ``(t, h, w)`` order.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, drop_path: float = 0.0,
                 dropout: float = 0.0) -> None:
        super().__init__(dim, num_heads, mlp_ratio, qkv_bias=True, eps=1e-5, act="gelu", drop_path=drop_path,
                         dropout=dropout)
        self.pos_embed = _position_conv(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = x + self.pos_embed(x)
        n, c, t, h, w = x.shape
        tokens = super().forward(x.flatten(2).transpose(1, 2))  # (N, T*H*W, C)
        return tokens.transpose(1, 2).reshape(n, c, t, h, w)


class UniFormer(VideoTransformer):
    """UniFormer (see the module docstring): ``(N, 3, T, H, W)`` -> ``(N, num_classes)``.

    Args:
        num_classes: classifier width.
        depths: blocks in each of the four stages (local, local, global, global).
        dims: the four stage widths.
        head_dim: channels per attention head in the global stages.
        mlp_ratio: MLP hidden width over the stage width.
        drop_path: stochastic depth, rising linearly to this rate over all blocks.
        dropout: dropout before the classifier (0 in mmaction2's configs).
    """

    def __init__(self, num_classes: int, *, depths: Sequence[int] = VARIANTS["s"][0],
                 dims: Sequence[int] = VARIANTS["s"][1], head_dim: int = 64, mlp_ratio: float = 4.0,
                 drop_path: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        if len(depths) != 4 or len(dims) != 4:
            raise ValueError(f"UniFormer has four stages: got depths {tuple(depths)} and dims {tuple(dims)}")
        if any(d % head_dim for d in dims[2:]):
            raise ValueError(f"the global stages' widths {tuple(dims[2:])} must be multiples of head_dim {head_dim}")
        self.depths = tuple(depths)
        self.patch_embed1 = PatchEmbed(3, dims[0], (3, 4, 4), (2, 4, 4), (1, 0, 0))
        self.patch_embed2 = PatchEmbed(dims[0], dims[1], (1, 2, 2), (1, 2, 2))
        self.patch_embed3 = PatchEmbed(dims[1], dims[2], (1, 2, 2), (1, 2, 2))
        self.patch_embed4 = PatchEmbed(dims[2], dims[3], (1, 2, 2), (1, 2, 2))
        rates = iter(drop_path_rates(drop_path, sum(depths)))
        self.blocks1 = nn.ModuleList(LocalBlock(dims[0], mlp_ratio, next(rates)) for _ in range(depths[0]))
        self.blocks2 = nn.ModuleList(LocalBlock(dims[1], mlp_ratio, next(rates)) for _ in range(depths[1]))
        self.blocks3 = nn.ModuleList(GlobalBlock(dims[2], dims[2] // head_dim, mlp_ratio, next(rates))
                                     for _ in range(depths[2]))
        self.blocks4 = nn.ModuleList(GlobalBlock(dims[3], dims[3] // head_dim, mlp_ratio, next(rates))
                                     for _ in range(depths[3]))
        self.norm = nn.BatchNorm3d(dims[3])
        self._make_head(dims[3], num_classes, dropout)
        self.init_weights()

    def stages(self) -> list[tuple[nn.Module, nn.ModuleList]]:
        """``(patch embedding, blocks)`` of each of the four stages."""
        return [(getattr(self, f"patch_embed{i}"), getattr(self, f"blocks{i}")) for i in range(1, 5)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the normalised last stage averaged over ``(T/2, H/32, W/32)``: ``(N, dims[3])``."""
        if x.shape[-1] % 32 or x.shape[-2] % 32:
            raise ValueError(f"UniFormer takes frames whose sides are multiples of 32, got {x.shape[-2]}x{x.shape[-1]}; "
                             "resize or crop the clips")
        for embed, blocks in self.stages():
            x = embed(x)
            for block in blocks:
                x = block(x)
        return self.norm(x).mean(dim=(2, 3, 4))

    def layer_id(self, name: str) -> int:
        """Depth of parameter ``name`` for layer-wise learning-rate decay: the blocks of the four stages are
        numbered ``1..sum(depths)`` in order, a stage's patch embedding shares the depth of the block
        before it (0 for the first), the final norm and the head come last."""
        before = 0
        for stage, depth in enumerate(self.depths, start=1):
            if name.startswith(f"patch_embed{stage}."):
                return before
            if name.startswith(f"blocks{stage}."):
                return before + int(name.split(".")[1]) + 1
            before += depth
        return before + 1


def uniformer_s(num_classes: int, **kwargs) -> UniFormer:
    """UniFormer-S: ``(3, 4, 8, 3)`` blocks of widths ``(64, 128, 320, 512)``; kwargs go to :class:`UniFormer`."""
    depths, dims = VARIANTS["s"]
    return UniFormer(num_classes, **{"depths": depths, "dims": dims, **kwargs})


def uniformer_b(num_classes: int, **kwargs) -> UniFormer:
    """UniFormer-B: ``(5, 8, 20, 7)`` blocks of widths ``(64, 128, 320, 512)``; kwargs go to :class:`UniFormer`."""
    depths, dims = VARIANTS["b"]
    return UniFormer(num_classes, **{"depths": depths, "dims": dims, **kwargs})


# --------------------------------------------------------------------------------------------
# mmaction2's key layout (``backbone.*``, ``cls_head.fc_cls``) -> ours: the same names
# --------------------------------------------------------------------------------------------

_MM_RULES = (
    Rule(r"backbone\.(.+)", r"\1"),  # the backbone's names are ours; a key we lack is reported by the engine
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"head.\1"),
)


@register_converter("mmaction2_uniformer")
def convert_mmaction2_uniformer(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``UniFormer`` checkpoints (``backbone.*``, ``cls_head.fc_cls``) -> ours."""
    return convert(source, model, _MM_RULES, what="mmaction2 UniFormer")


# --------------------------------------------------------------------------------------------
# Names: mmaction2's weights, one call per published file
# --------------------------------------------------------------------------------------------

_PROTOCOL = ("mmaction2 test: 4 uniform clips of {frames} frames with step 4 x 1 crop (CenterCrop 224px after short "
             "side 224), scores averaged (average_clips='prob'); top-1/top-5 from the README's own columns (the "
             "authors' Kinetics-400 list, 19787 videos; agrees with the metafile), beside which the README gives "
             "{reference} for the original repo and {mm} on mmaction2's Kinetics-400 copy. The README's "
             "'short-side 320' is the resolution of the stored videos, not the test resize")
_NOTE = "{frames} frames 4 apart; the network halves time in its first patch embedding"

_register_mm = partial(register_mmaction2, family="uniformer", converter="mmaction2_uniformer")

_register_mm("uniformer_s_in1k_f16s4_kinetics400",
             builder=uniformer_s,
             dataset="kinetics400",
             num_classes=400,
             kwargs={"drop_path": 0.1},
             input=InputSpec(clip_len=16, frame_step=4, num_segments=1, crop_size=224, short_side=224,
                             **KINETICS_NORM, note=_NOTE.format(frames=16)),
             description="UniFormer-S (local blocks 3+4, global blocks 8+3), ImageNet-1K-initialised, 16x4 sampling; "
                         "mmaction2's port of the Sense-X/UniFormer weights.",
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/uniformer-small_imagenet1k-pre_16x4x1_kinetics400-rgb_20221219-c630a037.pth",
             top1=80.9, top5=94.6,
             config="uniformer/uniformer-small_imagenet1k-pre_16x4x1_kinetics400-rgb.py",
             pretraining="ImageNet-1K",
             protocol=_PROTOCOL.format(frames=16, reference="80.8/94.7", mm="80.9/94.6"))

_register_mm("uniformer_b_in1k_f16s4_kinetics400",
             builder=uniformer_b,
             dataset="kinetics400",
             num_classes=400,
             kwargs={"drop_path": 0.3},
             input=InputSpec(clip_len=16, frame_step=4, num_segments=1, crop_size=224, short_side=224,
                             **KINETICS_NORM, note=_NOTE.format(frames=16)),
             description="UniFormer-B (local blocks 5+8, global blocks 20+7), ImageNet-1K-initialised, 16x4 sampling; "
                         "mmaction2's port of the Sense-X/UniFormer weights.",
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/uniformer-base_imagenet1k-pre_16x4x1_kinetics400-rgb_20221219-157c2e66.pth",
             top1=82.0, top5=95.0,
             config="uniformer/uniformer-base_imagenet1k-pre_16x4x1_kinetics400-rgb.py",
             pretraining="ImageNet-1K",
             protocol=_PROTOCOL.format(frames=16, reference="82.0/95.1", mm="82.0/95.0"))

_register_mm("uniformer_b_in1k_f32s4_kinetics400",
             builder=uniformer_b,
             dataset="kinetics400",
             num_classes=400,
             kwargs={"drop_path": 0.3},
             input=InputSpec(clip_len=32, frame_step=4, num_segments=1, crop_size=224, short_side=224,
                             **KINETICS_NORM, note=_NOTE.format(frames=32)),
             description="UniFormer-B (local blocks 5+8, global blocks 20+7), ImageNet-1K-initialised, 32x4 sampling; "
                         "mmaction2's port of the Sense-X/UniFormer weights. (The README's FLOPs column, in "
                         "multiply-adds, gives 59G for this model, below its 16-frame 96.7G; counted here: 258G "
                         "multiply-adds, the card's 516.5 GFLOPs.)",
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/uniformer-base_imagenet1k-pre_32x4x1_kinetics400-rgb_20221219-b776322c.pth",
             top1=83.1, top5=95.3,
             config="uniformer/uniformer-base_imagenet1k-pre_32x4x1_kinetics400-rgb.py",
             pretraining="ImageNet-1K",
             protocol=_PROTOCOL.format(frames=32, reference="82.9/95.4", mm="83.0/95.3"))
