"""MViT: Multiscale Vision Transformers for video (Fan et al. 2021; MViTv2, Li et al. 2022).

A ``3x7x7`` stride-``(2, 4, 4)`` patch embedding, a class token, then a stack of multiscale
attention blocks.  Each block may pool its queries (which downsamples the token grid, with a
max-pooled skip connection) and its keys/values (depthwise conv + LayerNorm), and may widen the
channels.  MViTv2 adds decomposed relative position biases (``t``, ``h``, ``w``), a pooled-query
residual inside attention, and widens the channels in the attention rather than in the MLP.

``mvit_v1_b_kinetics400`` / ``mvit_v2_s_kinetics400`` are torchvision's ``mvit_v1_b`` /
``mvit_v2_s``.  Both are built for a clip size (``temporal_size x spatial_size^2``, 16x224x224 by
default): MViTv1's absolute position embedding takes only that size; MViTv2's relative position
tables are resized to other sizes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_converter, register_model
from ._published import published
from ..convert.keys import KEEP, convert
from ._gapped_conv import GappedConv3d
from ._interface import VideoClassifier

__all__ = ["MViT", "MViTBlockSpec", "mvit_v1_b", "mvit_v2_s"]

Thw = tuple[int, int, int]
_LayerNorm = partial(nn.LayerNorm, eps=1e-6)


@dataclass(frozen=True)
class MViTBlockSpec:
    """One block: widths, heads and pooling (empty ``kernel_q`` = queries not pooled)."""

    dim_in: int
    dim_out: int
    num_heads: int
    kernel_q: tuple[int, ...]
    kernel_kv: tuple[int, ...]
    stride_q: tuple[int, ...]
    stride_kv: tuple[int, ...]


def _drop_path(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """Stochastic depth per sample: zero whole residual branches with probability ``p``."""
    if not training or p == 0.0:
        return x
    keep = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(1.0 - p)
    return x * keep / (1.0 - p)


class TokenPool(nn.Module):
    """Pools the spatio-temporal tokens of ``(B, heads, 1 + T*H*W, D)``; the class token passes through.

    ``pool`` acts on ``(B*heads, D, T, H, W)``; ``norm`` (over ``D``) follows it, class token included.
    Returns the pooled tokens and their new ``(T, H, W)``.  ``has_cls = False``: the tokens are the grid
    alone (a network without a class token, Rev-MViT).
    """

    has_cls = True

    def __init__(self, pool: nn.Module, norm: nn.Module | None = None) -> None:
        super().__init__()
        self.pool = pool
        self.norm = norm

    def forward(self, x: torch.Tensor, thw: Thw) -> tuple[torch.Tensor, Thw]:
        squeeze = x.ndim == 3
        if squeeze:
            x = x.unsqueeze(1)
        tokens = x[:, :, 1:] if self.has_cls else x
        b, n, _, d = tokens.shape
        grid = tokens.transpose(2, 3).reshape(b * n, d, *thw)
        grid = self.pool(grid)
        new_thw = tuple(grid.shape[2:])
        tokens = grid.reshape(b, n, d, -1).transpose(2, 3)
        x = torch.cat([x[:, :, :1], tokens], dim=2) if self.has_cls else tokens
        if self.norm is not None:
            x = self.norm(x)
        return (x.squeeze(1) if squeeze else x), new_thw  # type: ignore[return-value]


def _pool_conv(head_dim: int, kernel: tuple[int, ...], stride: tuple[int, ...]) -> TokenPool:
    conv = GappedConv3d(head_dim, head_dim, kernel, stride=stride, padding=[k // 2 for k in kernel], groups=head_dim, bias=False)
    return TokenPool(conv, _LayerNorm(head_dim))


def _relative_table(table: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """``(2*max(q,k)-1, D)`` table -> ``(q_size, k_size, D)`` embeddings of the q-k offsets.

    Offsets are measured on the finer of the two grids; a table trained for another size is
    resized linearly.
    """
    length = 2 * max(q_size, k_size) - 1
    if table.shape[0] != length:
        table = F.interpolate(table.t().unsqueeze(0), size=length, mode="linear").squeeze(0).t()
    q_ratio = max(k_size / q_size, 1.0)
    k_ratio = max(q_size / k_size, 1.0)
    offset = torch.arange(q_size)[:, None] * q_ratio - (torch.arange(k_size)[None, :] + (1.0 - k_size)) * k_ratio
    return table[offset.long()]


def _relative_position_bias(q: torch.Tensor, q_thw: Thw, k_thw: Thw, rel_t: torch.Tensor, rel_h: torch.Tensor, rel_w: torch.Tensor) -> torch.Tensor:
    """Decomposed relative position bias ``(B, heads, Lq, Lk)`` of the non-class tokens.

    ``q``: ``(B, heads, 1 + Lq, D)`` (unscaled queries); the bias of query ``(t, h, w)`` to key
    ``(t', h', w')`` is ``q . (R_t[t, t'] + R_h[h, h'] + R_w[w, w'])``.
    """
    (qt, qh, qw), (kt, kh, kw) = q_thw, k_thw
    b, n, _, d = q.shape
    grid_q = q[:, :, 1:].reshape(b, n, qt, qh, qw, d)
    bias_t = torch.einsum("bnthwd,tkd->bnthwk", grid_q, _relative_table(rel_t, qt, kt))
    bias_h = torch.einsum("bnthwd,hkd->bnthwk", grid_q, _relative_table(rel_h, qh, kh))
    bias_w = torch.einsum("bnthwd,wkd->bnthwk", grid_q, _relative_table(rel_w, qw, kw))
    bias = bias_t[..., :, None, None] + bias_h[..., None, :, None] + bias_w[..., None, None, :]
    return bias.reshape(b, n, qt * qh * qw, kt * kh * kw)


class MultiScaleAttention(nn.Module):
    """Attention with pooled queries / keys / values.

    ``(B, 1 + T*H*W, dim) -> (B, 1 + T'*H'*W', out_dim)`` where ``(T', H', W')`` is the grid after
    query pooling.
    """

    def __init__(
        self,
        dim: int,
        out_dim: int,
        num_heads: int,
        spec: MViTBlockSpec,
        input_thw: Thw,
        *,
        rel_pos: bool,
        residual_pool: bool,
    ) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = out_dim // num_heads
        self.out_dim = out_dim
        self.scale = 1.0 / math.sqrt(self.head_dim)
        self.residual_pool = residual_pool
        self.qkv = nn.Linear(dim, 3 * out_dim)
        self.proj = nn.Linear(out_dim, out_dim)
        pool_q = math.prod(spec.kernel_q) > 1 or math.prod(spec.stride_q) > 1
        pool_kv = math.prod(spec.kernel_kv) > 1 or math.prod(spec.stride_kv) > 1
        self.pool_q = _pool_conv(self.head_dim, spec.kernel_q, spec.stride_q) if pool_q else None
        self.pool_k = _pool_conv(self.head_dim, spec.kernel_kv, spec.stride_kv) if pool_kv else None
        self.pool_v = _pool_conv(self.head_dim, spec.kernel_kv, spec.stride_kv) if pool_kv else None
        self.rel_pos_t = self.rel_pos_h = self.rel_pos_w = None
        if rel_pos:
            size = max(input_thw[1:])
            q_size = size // spec.stride_q[1] if spec.stride_q else size
            kv_size = size // spec.stride_kv[1] if spec.stride_kv else size
            spatial = 2 * max(q_size, kv_size) - 1
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_thw[0] - 1, self.head_dim))
            self.rel_pos_h = nn.Parameter(torch.zeros(spatial, self.head_dim))
            self.rel_pos_w = nn.Parameter(torch.zeros(spatial, self.head_dim))
            for p in (self.rel_pos_t, self.rel_pos_h, self.rel_pos_w):
                nn.init.trunc_normal_(p, std=0.02)

    def forward(self, x: torch.Tensor, thw: Thw) -> tuple[torch.Tensor, Thw]:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        k_thw = q_thw = thw
        if self.pool_k is not None:
            k, k_thw = self.pool_k(k, thw)
            v, _ = self.pool_v(v, thw)
        if self.pool_q is not None:
            q, q_thw = self.pool_q(q, thw)
        attn = (self.scale * q) @ k.transpose(2, 3)
        if self.rel_pos_t is not None:
            attn[:, :, 1:, 1:] += _relative_position_bias(q, q_thw, k_thw, self.rel_pos_t, self.rel_pos_h, self.rel_pos_w)
        out = attn.softmax(dim=-1) @ v
        if self.residual_pool:  # MViTv2: add the pooled queries (class token excluded)
            out[:, :, 1:] += q[:, :, 1:]
        out = out.transpose(1, 2).reshape(b, -1, self.out_dim)
        return self.proj(out), q_thw


class Mlp(nn.Module):
    """``Linear -> GELU -> Dropout -> Linear -> Dropout`` on ``(..., in_dim)``."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out_dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class MultiScaleBlock(nn.Module):
    """Pre-norm attention + MLP block, ``(B, 1 + L, dim_in) -> (B, 1 + L', dim_out)``.

    With ``proj_after_attn`` (MViTv2) the attention already outputs ``dim_out`` and the skip path
    is projected from ``norm1(x)``; otherwise (MViTv1) the MLP widens and the skip is projected
    from ``norm2(x)``.  Pooled queries pool the skip path with a max-pool.
    """

    def __init__(self, spec: MViTBlockSpec, input_thw: Thw, *, rel_pos: bool, residual_pool: bool, proj_after_attn: bool, drop_path: float = 0.0) -> None:
        super().__init__()
        self.proj_after_attn = proj_after_attn
        self.drop_path = drop_path
        attn_dim = spec.dim_out if proj_after_attn else spec.dim_in
        self.norm1 = _LayerNorm(spec.dim_in)
        self.attn = MultiScaleAttention(spec.dim_in, attn_dim, spec.num_heads, spec, input_thw, rel_pos=rel_pos, residual_pool=residual_pool)
        self.norm2 = _LayerNorm(attn_dim)
        self.mlp = Mlp(attn_dim, 4 * attn_dim, spec.dim_out)
        self.proj = nn.Linear(spec.dim_in, spec.dim_out) if spec.dim_in != spec.dim_out else None
        self.pool_skip = None
        if math.prod(spec.stride_q) > 1:
            kernel = [s + 1 if s > 1 else s for s in spec.stride_q]
            self.pool_skip = TokenPool(nn.MaxPool3d(kernel, stride=spec.stride_q, padding=[k // 2 for k in kernel]))

    def forward(self, x: torch.Tensor, thw: Thw) -> tuple[torch.Tensor, Thw]:
        x_norm = self.norm1(x)
        x_attn, new_thw = self.attn(x_norm, thw)
        if self.proj is not None and self.proj_after_attn:
            x = self.proj(x_norm)
        if self.pool_skip is not None:
            x, _ = self.pool_skip(x, thw)
        x = x + _drop_path(x_attn, self.drop_path, self.training)
        x_norm = self.norm2(x)
        if self.proj is not None and not self.proj_after_attn:
            x = self.proj(x_norm)
        return x + _drop_path(self.mlp(x_norm), self.drop_path, self.training), new_thw


class MViT(VideoClassifier):
    """MViT for clips ``(N, 3, T, H, W)`` of the size it was built for (MViTv2: any) -> logits ``(N, num_classes)``.

    ``forward_features`` gives the final class-token features ``(N, dim)``.
    """

    init_std = 0.02  # a new classifier starts like the constructor's (truncated) normal

    def __init__(
        self,
        blocks: list[MViTBlockSpec],
        num_classes: int = 400,
        *,
        temporal_size: int = 16,
        spatial_size: int = 224,
        rel_pos: bool = False,
        residual_pool: bool = False,
        proj_after_attn: bool = False,
        dropout_ratio: float = 0.5,
        drop_path: float = 0.0,
    ) -> None:
        super().__init__()
        dim = blocks[0].dim_in
        self.patch_embed = nn.Conv3d(3, dim, (3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3))
        thw: Thw = (temporal_size // 2, spatial_size // 4, spatial_size // 4)
        self.input_thw = thw
        self.cls_token = nn.Parameter(torch.zeros(dim))
        self.pos_embed_spatial = self.pos_embed_temporal = self.pos_embed_cls = None
        if not rel_pos:  # MViTv1: separable absolute position embedding
            self.pos_embed_spatial = nn.Parameter(torch.zeros(thw[1] * thw[2], dim))
            self.pos_embed_temporal = nn.Parameter(torch.zeros(thw[0], dim))
            self.pos_embed_cls = nn.Parameter(torch.zeros(dim))
        self.blocks = nn.ModuleList()
        for i, spec in enumerate(blocks):
            rate = drop_path * i / (len(blocks) - 1.0) if len(blocks) > 1 else 0.0
            self.blocks.append(MultiScaleBlock(spec, thw, rel_pos=rel_pos, residual_pool=residual_pool, proj_after_attn=proj_after_attn, drop_path=rate))
            if spec.stride_q:
                thw = tuple(s // st for s, st in zip(thw, spec.stride_q))  # type: ignore[assignment]
        self.norm = _LayerNorm(blocks[-1].dim_out)
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = blocks[-1].dim_out
        self.fc = nn.Linear(blocks[-1].dim_out, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for p in (self.cls_token, self.pos_embed_spatial, self.pos_embed_temporal, self.pos_embed_cls):
            if p is not None:
                nn.init.trunc_normal_(p, std=0.02)

    def _embed(self, x: torch.Tensor) -> tuple[torch.Tensor, Thw]:
        """``(N, 3, T, H, W) -> (N, 1 + T'*H'*W', dim)`` tokens with the class token first, and ``(T', H', W')``.

        MViTv1's absolute position embedding fixes the clip size; MViTv2 (relative positions, resized
        to the grids they meet, as mmaction2 does) also takes other sizes.
        """
        grid = self.patch_embed(x)
        thw: Thw = tuple(grid.shape[2:])  # type: ignore[assignment]
        if self.pos_embed_spatial is not None and thw != self.input_thw:
            raise ValueError(
                f"MViT was built for {self.input_thw[0] * 2}x{self.input_thw[1] * 4}x{self.input_thw[2] * 4} clips "
                f"(T x H x W); got {math.prod(thw)} patches instead of {math.prod(self.input_thw)}"
            )
        x = grid.flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], 1, -1), x], dim=1)
        if self.pos_embed_spatial is not None:
            t = self.pos_embed_temporal.shape[0]
            pos = self.pos_embed_temporal.repeat_interleave(self.pos_embed_spatial.shape[0], dim=0) + self.pos_embed_spatial.repeat(t, 1)
            x = x + torch.cat([self.pos_embed_cls[None], pos], dim=0)[None]
        return x, thw

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the class token after the last block and norm, ``(N, num_features)``."""
        x, thw = self._embed(x)
        for block in self.blocks:
            x, thw = block(x, thw)
        return self.norm(x)[:, 0]


def _block_specs(depth: int, q_pool_blocks: tuple[int, ...], *, widen_before_pool: bool, pool_q_everywhere: bool, base_dim: int = 96,
                 base_heads: int = 1, kv_stride: tuple[int, int, int] = (1, 8, 8)) -> list[MViTBlockSpec]:
    """Blocks of MViT-B / MViTv2-S/B/L: the width and heads double at each query-pooling block.

    ``widen_before_pool`` (MViTv1) widens in the block before (its MLP outputs the new width).
    Key/value pooling starts at stride ``kv_stride`` (``(1, 8, 8)``) and shrinks with every query
    stride, so the key grid stays ``T x 7 x 7`` at 224 px.
    """
    specs = []
    for i in range(depth):
        pooled = i in q_pool_blocks
        stride_q = (1, 2, 2) if pooled else ()
        if pooled:
            kv_stride = tuple(max(s // q, 1) for s, q in zip(kv_stride, stride_q))  # type: ignore[assignment]
        level = sum(1 for b in q_pool_blocks if b <= i)
        level_out = sum(1 for b in q_pool_blocks if b <= i + 1) if widen_before_pool else level
        level_in = level if widen_before_pool else sum(1 for b in q_pool_blocks if b <= i - 1)
        specs.append(MViTBlockSpec(
            dim_in=base_dim * 2**level_in,
            dim_out=base_dim * 2**level_out,
            num_heads=base_heads * 2**level,
            kernel_q=(3, 3, 3) if (pooled or pool_q_everywhere) else (),
            kernel_kv=(3, 3, 3),
            stride_q=stride_q if pooled else ((1, 1, 1) if pool_q_everywhere else ()),
            stride_kv=kv_stride,
        ))
    return specs


def mvit_v1_b(num_classes: int = 400, **kwargs) -> MViT:
    """MViT-B 16x4 (torchvision ``mvit_v1_b``); kwargs: ``temporal_size``, ``spatial_size``, ``dropout_ratio``, ``drop_path``."""
    kwargs.setdefault("drop_path", 0.2)
    specs = _block_specs(16, (1, 3, 14), widen_before_pool=True, pool_q_everywhere=False)
    return MViT(specs, num_classes, **kwargs)


def mvit_v2_s(num_classes: int = 400, **kwargs) -> MViT:
    """MViTv2-S 16x4 (torchvision ``mvit_v2_s``): relative positions, residual pooling."""
    kwargs.setdefault("drop_path", 0.2)
    specs = _block_specs(16, (1, 3, 14), widen_before_pool=False, pool_q_everywhere=True)
    return MViT(specs, num_classes, rel_pos=True, residual_pool=True, proj_after_attn=True, **kwargs)


# ---------------------------------------------------------------------------------------------
_TV_RULES = [
    (r"conv_proj\.(weight|bias)", r"patch_embed.\1"),
    (r"pos_encoding\.class_token", "cls_token"),
    (r"pos_encoding\.spatial_pos", "pos_embed_spatial"),
    (r"pos_encoding\.temporal_pos", "pos_embed_temporal"),
    (r"pos_encoding\.class_pos", "pos_embed_cls"),
    (r"blocks\.(\d+)\.attn\.project\.0\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
    (r"blocks\.(\d+)\.attn\.(pool_[qkv])\.pool\.weight", r"blocks.\1.attn.\2.pool.weight"),
    (r"blocks\.(\d+)\.attn\.(pool_[qkv])\.norm_act\.0\.(weight|bias)", r"blocks.\1.attn.\2.norm.\3"),
    (r"blocks\.(\d+)\.mlp\.0\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
    (r"blocks\.(\d+)\.mlp\.3\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    (r"blocks\.(\d+)\.project\.(weight|bias)", r"blocks.\1.proj.\2"),
    (r"head\.1\.(weight|bias)", r"fc.\1"),
]


@register_converter("torchvision_mvit")
def convert_torchvision_mvit(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """torchvision ``MViT`` (v1 and v2) state dict -> :class:`MViT`."""
    return convert(source, model, (*_TV_RULES, KEEP), what="torchvision MViT")


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_register = partial(register_model, family="mvit", dataset="kinetics400", num_classes=400,
                    input=InputSpec(frame_step=4, mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225),
                                    note=("torchvision eval: short side 256, centre crop 224, 16 frames at 7.5 fps, 5"
                                          " clips per video; the model only takes 16x224x224 clips")),
                    converters={"pth": "torchvision_mvit"}, source="torchvision")
_register("mvit_v1_b_kinetics400", builder=mvit_v1_b,
          weights=(published("mvit_v1_b-dbeb1030.pth", "torchvision_mvit", 78.477, 93.582, repo="torchvision",
                             protocol="video-level, frame_rate=7.5, clips_per_video=5, clip_len=16", default=True,
                             description="torchvision MViT_V1_B_Weights.KINETICS400_V1 (ported from PyTorchVideo)"),),
          description="MViT-B 16x4 (MViTv1), Kinetics-400, torchvision's weights.")
_register("mvit_v2_s_kinetics400", builder=mvit_v2_s,
          weights=(published("mvit_v2_s-ae3be167.pth", "torchvision_mvit", 80.757, 94.665, repo="torchvision",
                             protocol="video-level, frame_rate=7.5, clips_per_video=5, clip_len=16", default=True,
                             description="torchvision MViT_V2_S_Weights.KINETICS400_V1 (ported from SlowFast)"),),
          description="MViTv2-S 16x4, Kinetics-400, torchvision's weights.")
