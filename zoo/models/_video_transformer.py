"""The one video-transformer toolkit every transformer family builds from.

Pieces (each ``(B, L, D)`` token sequences unless stated):

* :class:`TubeletEmbed` (Conv3d, ``(N, C, T, H, W) -> (N, T'*H'*W', D)`` in ``(t, h, w)`` order) and
  :class:`PatchEmbed2d` (Conv2d on each frame, ``(N, C, T, H, W) -> (N, T, H'*W', D)``).
* :class:`Attention`: fused ``qkv`` projection, ``torch.nn.functional.scaled_dot_product_attention``,
  optional 3D rotary position embedding (:class:`Rotary3d`); :class:`CrossAttention` for learned
  queries attending to tokens.
* :class:`Block`: pre-LayerNorm joint attention + :class:`Mlp` with stochastic depth;
  :class:`DividedSpaceTimeBlock`: TimeSformer's temporal-then-spatial attention;
  :class:`FactorisedEncoder`: ViViT's model 2 (a spatial transformer per frame, then a temporal one).
* Position embeddings: :func:`sinusoid_table` (fixed) and :func:`resize_grid` (learned tables
  resized to another token grid).
* :class:`VideoTransformer`: the classifier base (model interface, ``head`` classifier,
  ViT initialisation, the names that take no weight decay, the depth of a parameter for
  layer-wise learning-rate decay).
* :func:`fuse_qkv` and :func:`hf_encoder_rules`: the converters' shared parts (separate query/key/value
  projections fused; the Hugging Face layer layout into ours).
"""
from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..convert.keys import Rule
from ._interface import VideoClassifier
from .mvit import _drop_path

__all__ = [
    "ACTIVATIONS", "make_activation", "TubeletEmbed", "PatchEmbed2d", "Mlp", "Attention", "CrossAttention",
    "Rotary3d", "Block", "DividedSpaceTimeBlock", "FactorisedEncoder", "sinusoid_table", "resize_grid",
    "VideoTransformer", "drop_path_rates", "fuse_qkv", "init_vit_weights", "hf_encoder_rules",
]


class QuickGELU(nn.Module):
    """CLIP's ``x * sigmoid(1.702 x)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


#: Activation names (transformers' ``hidden_act`` spellings) -> module factory.
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "gelu": nn.GELU,
    "gelu_fast": lambda: nn.GELU(approximate="tanh"),
    "gelu_new": lambda: nn.GELU(approximate="tanh"),
    "gelu_pytorch_tanh": lambda: nn.GELU(approximate="tanh"),
    "quick_gelu": QuickGELU,
    "relu": nn.ReLU,
    "silu": nn.SiLU,
}


def make_activation(name: str) -> nn.Module:
    """The activation module called ``name`` (see :data:`ACTIVATIONS`)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATIONS))}") from None


class TubeletEmbed(nn.Module):
    """Non-overlapping ``tubelet x patch x patch`` Conv3d: ``(N, C, T, H, W) -> (N, T'*H'*W', dim)``.

    Tokens are in ``(t, h, w)`` order; :attr:`grid` holds ``(T', H', W')`` of the last call.
    """

    def __init__(self, dim: int, patch_size: int = 16, tubelet_size: int = 2, in_chans: int = 3, bias: bool = True) -> None:
        super().__init__()
        self.patch_size, self.tubelet_size = patch_size, tubelet_size
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, dim, kernel, stride=kernel, bias=bias)

    def grid_for(self, shape: Sequence[int]) -> tuple[int, int, int]:
        """Token grid ``(T', H', W')`` of an input of ``shape`` ``(N, C, T, H, W)``."""
        return shape[2] // self.tubelet_size, shape[3] // self.patch_size, shape[4] // self.patch_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)


class PatchEmbed2d(nn.Module):
    """A Conv2d patch embedding on each frame: ``(N, C, T, H, W) -> (N, T, H'*W', dim)``."""

    def __init__(self, dim: int, patch_size: int = 16, in_chans: int = 3, bias: bool = True) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Conv2d(in_chans, dim, patch_size, stride=patch_size, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        frames = x.transpose(1, 2).reshape(n * t, c, h, w)
        tokens = self.proj(frames).flatten(2).transpose(1, 2)  # (N*T, S, D)
        return tokens.reshape(n, t, -1, tokens.shape[-1])


class Mlp(nn.Module):
    """``fc1 -> activation -> dropout -> fc2 -> dropout`` on ``(..., dim)``."""

    def __init__(self, dim: int, hidden: int, act: str = "gelu", dropout: float = 0.0, out_dim: int | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_activation(act)
        self.fc2 = nn.Linear(hidden, out_dim or dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Rotary3d(nn.Module):
    """3D rotary position embedding (V-JEPA's): each head's channels split into ``t``, ``h``, ``w`` parts.

    Each part has ``2 * (head_dim // 3 // 2)`` channels; the remaining channels stay unrotated.  A part
    of ``d`` channels rotates channel pairs ``(2i, 2i+1)`` by the token's position along its axis
    times the frequencies ``10000 ** (-j / (d / 2))`` laid out as ``[f_0 .. f_{d/2-1}, f_0 .. f_{d/2-1}]``
    over the channels (the published layout, kept for weight compatibility).
    """

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.part = 2 * ((head_dim // 3) // 2)

    def _tables(self, grid: tuple[int, int, int], device, dtype) -> tuple[torch.Tensor, torch.Tensor]:
        """``cos, sin`` of shape ``(L, 3 * part)`` for the ``(t, h, w)``-ordered tokens of ``grid``."""
        t, h, w = grid
        axes = torch.meshgrid(torch.arange(t, device=device), torch.arange(h, device=device),
                              torch.arange(w, device=device), indexing="ij")
        half = self.part // 2
        omega = 1.0 / 10000 ** (torch.arange(half, device=device, dtype=dtype) / half)
        freqs = [a.reshape(-1, 1).to(dtype) * omega for a in axes]  # 3 x (L, half)
        angles = torch.cat([torch.cat([f, f], dim=-1) for f in freqs], dim=-1)
        return angles.cos(), angles.sin()

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """Rotate ``(B, heads, L, head_dim)`` queries or keys of the ``(t, h, w)``-ordered tokens of ``grid``."""
        cos, sin = self._tables(grid, x.device, x.dtype)
        width = 3 * self.part
        rot, rest = x[..., :width], x[..., width:]
        pairs = rot.unflatten(-1, (-1, 2))
        turned = torch.stack((-pairs[..., 1], pairs[..., 0]), dim=-1).flatten(-2)
        return torch.cat([rot * cos + turned * sin, rest], dim=-1)


class Attention(nn.Module):
    """Multi-head self-attention, ``(B, L, dim) -> (B, L, dim)``, one fused ``qkv`` projection.

    ``rotary=True`` rotates queries and keys by their token positions (:class:`Rotary3d`); ``forward``
    then needs the token ``grid`` ``(T', H', W')``.  ``causal=True``: each token attends to itself and
    the tokens before it (a text encoder's mask).
    """

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True, attn_drop: float = 0.0,
                 proj_drop: float = 0.0, rotary: bool = False, causal: bool = False) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not a multiple of num_heads {num_heads}")
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.attn_drop = attn_drop
        self.proj_drop = nn.Dropout(proj_drop)
        self.rotary = Rotary3d(dim // num_heads) if rotary else None
        self.causal = causal

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int] | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        if self.rotary is not None:
            if grid is None:
                raise ValueError("an attention with rotary position embedding needs the token grid (T, H, W)")
            q, k = self.rotary(q, grid), self.rotary(k, grid)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0,
                                             is_causal=self.causal)
        return self.proj_drop(self.proj(out.transpose(1, 2).reshape(b, n, d)))


class CrossAttention(nn.Module):
    """Queries ``(B, Lq, dim)`` attend to tokens ``(B, L, dim)`` -> ``(B, Lq, dim)``.

    Separate ``q``/``k``/``v`` projections (the queries and the tokens differ); ``out_proj=False``
    leaves the heads' output unprojected (V-JEPA 2's pooler).
    """

    def __init__(self, dim: int, num_heads: int, bias: bool = True, out_proj: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=bias)
        self.k = nn.Linear(dim, dim, bias=bias)
        self.v = nn.Linear(dim, dim, bias=bias)
        self.proj = nn.Linear(dim, dim) if out_proj else nn.Identity()

    def forward(self, queries: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, lq, d = queries.shape
        heads = (self.num_heads, d // self.num_heads)
        q = self.q(queries).unflatten(-1, heads).transpose(1, 2)
        k = self.k(tokens).unflatten(-1, heads).transpose(1, 2)
        v = self.v(tokens).unflatten(-1, heads).transpose(1, 2)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(b, lq, d))


class Block(nn.Module):
    """Pre-LayerNorm transformer block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))`` on ``(B, L, dim)``.

    Args:
        dim, num_heads: width and heads.
        mlp_ratio: MLP hidden width over ``dim`` (or ``mlp_hidden``, an exact width).
        qkv_bias: biases on the query/key/value projection.
        eps: LayerNorm epsilon.
        act: activation name (:data:`ACTIVATIONS`: ``"gelu"``, ``"gelu_fast"``, ``"quick_gelu"``, ...).
        drop_path: stochastic-depth rate of both residual branches.
        rotary: 3D rotary position embedding in the attention (:class:`Rotary3d`).
        causal: causal self-attention (text encoders).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, *, qkv_bias: bool = True, eps: float = 1e-6,
                 act: str = "gelu", drop_path: float = 0.0, dropout: float = 0.0, attn_drop: float = 0.0,
                 rotary: bool = False, causal: bool = False, mlp_hidden: int | None = None) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop=attn_drop, proj_drop=dropout, rotary=rotary,
                              causal=causal)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, mlp_hidden or int(dim * mlp_ratio), act, dropout)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, grid: tuple[int, int, int] | None = None) -> torch.Tensor:
        """``(B, L, dim)`` -> ``(B, L, dim)``; ``grid`` is the token grid a rotary attention needs."""
        x = x + _drop_path(self.attn(self.norm1(x), grid), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class DividedSpaceTimeBlock(nn.Module):
    """TimeSformer's block: temporal attention, then spatial attention, then the MLP.

    Input/output ``(N, 1 + T*S, dim)``: a class token, then ``T`` frames of ``S`` patch tokens
    (frame-major).  Temporal attention runs over the ``T`` tokens of each patch position (its output
    goes through ``temporal_fc``); spatial attention over each frame's ``S`` tokens with a copy of the
    class token, whose ``T`` results are averaged.
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, *, qkv_bias: bool = True, eps: float = 1e-6,
                 act: str = "gelu", drop_path: float = 0.0, dropout: float = 0.0, attn_drop: float = 0.0) -> None:
        super().__init__()
        self.temporal_norm = nn.LayerNorm(dim, eps=eps)
        self.temporal_attn = Attention(dim, num_heads, qkv_bias, attn_drop=attn_drop, proj_drop=dropout)
        self.temporal_fc = nn.Linear(dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias, attn_drop=attn_drop, proj_drop=dropout)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act, dropout)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor, num_frames: int) -> torch.Tensor:
        n, length, d = x.shape
        t, s = num_frames, (length - 1) // num_frames
        cls, tokens = x[:, :1], x[:, 1:]
        by_position = tokens.reshape(n, t, s, d).transpose(1, 2).reshape(n * s, t, d)
        temporal = _drop_path(self.temporal_attn(self.temporal_norm(by_position)), self.drop_path, self.training)
        tokens = tokens + self.temporal_fc(temporal.reshape(n, s, t, d).transpose(1, 2).reshape(n, t * s, d))
        frames = torch.cat([cls.repeat_interleave(t, dim=0), tokens.reshape(n * t, s, d)], dim=1)
        spatial = _drop_path(self.attn(self.norm1(frames)), self.drop_path, self.training)
        cls = cls + spatial[:, :1].reshape(n, t, d).mean(dim=1, keepdim=True)
        tokens = tokens + spatial[:, 1:].reshape(n, t * s, d)
        x = torch.cat([cls, tokens], dim=1)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class FactorisedEncoder(nn.Module):
    """ViViT's factorised encoder (model 2): ``(N, T, S, dim)`` tokens -> ``(N, dim)`` features.

    A spatial transformer (``spatial_depth`` :class:`Block` s) over each time step's ``S`` tokens with
    its own class token; the ``T`` class tokens, with a learned temporal position embedding and a
    temporal class token, go through a temporal transformer (``temporal_depth`` blocks); the final
    LayerNorm of the temporal class token is the feature.  Position embeddings of the ``S`` tokens
    are the caller's.
    """

    def __init__(self, dim: int, num_heads: int, spatial_depth: int, temporal_depth: int, num_frames: int, *,
                 mlp_ratio: float = 4.0, eps: float = 1e-6, act: str = "gelu", drop_path: float = 0.0) -> None:
        super().__init__()
        rates = drop_path_rates(drop_path, spatial_depth + temporal_depth)
        block = dict(mlp_ratio=mlp_ratio, eps=eps, act=act)
        self.spatial_cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.spatial = nn.ModuleList(Block(dim, num_heads, drop_path=r, **block) for r in rates[:spatial_depth])
        self.spatial_norm = nn.LayerNorm(dim, eps=eps)
        self.temporal_cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.temporal_pos = nn.Parameter(torch.zeros(1, num_frames + 1, dim))
        self.temporal = nn.ModuleList(Block(dim, num_heads, drop_path=r, **block) for r in rates[spatial_depth:])
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n, t, s, d = tokens.shape
        x = torch.cat([self.spatial_cls.expand(n * t, -1, -1), tokens.reshape(n * t, s, d)], dim=1)
        for block in self.spatial:
            x = block(x)
        frames = self.spatial_norm(x[:, 0]).reshape(n, t, d)
        x = torch.cat([self.temporal_cls.expand(n, -1, -1), frames], dim=1)
        x = x + resize_grid(self.temporal_pos, (self.temporal_pos.shape[1] - 1,), (t,), extra_tokens=1)
        for block in self.temporal:
            x = block(x)
        return self.norm(x[:, 0])


def drop_path_rates(rate: float, depth: int) -> list[float]:
    """Stochastic-depth rates rising linearly from 0 to ``rate`` over ``depth`` blocks."""
    return [rate * i / (depth - 1) if depth > 1 else 0.0 for i in range(depth)]


def sinusoid_table(length: int, dim: int) -> torch.Tensor:
    """The fixed sine-cosine position table ``(1, length, dim)``: channel ``2i`` is ``sin(p / 10000^(2i/dim))``,
    ``2i+1`` its cosine (computed in float64, as published, then cast to float32)."""
    position = torch.arange(length, dtype=torch.float64)[:, None]
    exponent = (2 * (torch.arange(dim) // 2)).to(torch.float64) / dim
    angles = position / torch.pow(10000.0, exponent)
    table = torch.where(torch.arange(dim) % 2 == 0, angles.sin(), angles.cos())
    return table.to(torch.float32).unsqueeze(0)


def resize_grid(table: torch.Tensor, old: Sequence[int], new: Sequence[int], *, extra_tokens: int = 0,
                mode: str = "nearest") -> torch.Tensor:
    """A learned position table ``(1, extra + prod(old), D)`` resized to the grid ``new`` (1, 2 or 3 axes).

    The first ``extra_tokens`` rows (class tokens) are kept; the grid part is interpolated with
    ``mode`` (``"nearest"``, ``"bicubic"``, ...).  Returned unchanged when ``old == new``.
    """
    if tuple(old) == tuple(new):
        return table
    extra, grid = table[:, :extra_tokens], table[:, extra_tokens:]
    d = grid.shape[-1]
    grid = grid.reshape(1, *old, d)
    if mode == "nearest":  # explicit indices: what F.interpolate picks, and exported to ONNX as the same gather
        for axis, (size_in, size_out) in enumerate(zip(old, new), start=1):
            index = torch.floor(torch.arange(size_out, dtype=torch.float32) * (size_in / size_out)).long()
            grid = grid.index_select(axis, index.clamp(max=size_in - 1).to(grid.device))
        return torch.cat([extra, grid.reshape(1, -1, d)], dim=1)
    grid = F.interpolate(grid.movedim(-1, 1), size=tuple(new), mode=mode, align_corners=False)
    return torch.cat([extra, grid.movedim(1, -1).reshape(1, -1, d)], dim=1)


def init_vit_weights(model: nn.Module, std: float = 0.02) -> None:
    """ViT initialisation: truncated-normal(std) linear and patch-embedding weights, zero biases, unit LayerNorms."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv3d)):
            nn.init.trunc_normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm) and m.elementwise_affine:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class VideoTransformer(VideoClassifier):
    """Base of the transformer families: ``head`` classifier behind dropout, ViT initialisation.

    A subclass builds its layers, sets ``num_features``, calls :meth:`init_weights` and defines
    ``forward_features(x: (N, C, T, H, W)) -> (N, num_features)``.  :attr:`blocks_name` names its
    ``nn.ModuleList`` of blocks (for :meth:`layer_id`).
    """

    classifier_name = "head"
    init_std = 0.02
    blocks_name = "blocks"

    def _make_head(self, num_features: int, num_classes: int, dropout: float) -> None:
        self.num_features = num_features
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_features, num_classes)

    def init_weights(self) -> None:
        """Truncated-normal(0.02) weights and every ``nn.Parameter`` token/position table, zero biases."""
        init_vit_weights(self, self.init_std)
        for name, p in self.named_parameters(recurse=True):
            if p.ndim == 3 and name.rpartition(".")[2] in self.no_weight_decay_names():
                nn.init.trunc_normal_(p, std=self.init_std)

    def no_weight_decay_names(self) -> set[str]:
        """Parameter names (last component) that take no weight decay: tokens and position tables."""
        return {"cls_token", "pos_embed", "time_embed", "query_tokens", "spatial_cls", "temporal_cls", "temporal_pos"}

    def layer_id(self, name: str) -> int:
        """Depth of parameter ``name`` for layer-wise learning-rate decay: 0 for the embeddings and tokens,
        ``i + 1`` inside block ``i``, ``num_blocks + 1`` for everything after the blocks (norms, head)."""
        blocks = self.get_submodule(self.blocks_name)
        match = re.match(rf"{re.escape(self.blocks_name)}\.(\d+)\.", name)
        if match:
            return int(match.group(1)) + 1
        if name.split(".")[0] in {"patch_embed", *self.no_weight_decay_names()}:
            return 0
        return len(blocks) + 1


def fuse_qkv(state: Mapping[str, torch.Tensor], query: str, key: str, value: str, fused: str) -> dict[str, torch.Tensor]:
    """Fuse separate projections ``{prefix}{query}.weight`` (``key``, ``value``) into ``{prefix}{fused}.weight``.

    Biases are fused the same way; a projection without a bias where the others have one (VideoMAE's
    key) gets a zero bias.  ``query``/``key``/``value``/``fused`` are key fragments such as
    ``"attention.attention.query"``.  Other keys pass through in order.
    """
    out: dict[str, torch.Tensor] = {}
    pattern = re.compile(rf"(.*){re.escape(query)}\.(weight|bias)")
    for name, tensor in state.items():
        match = pattern.fullmatch(name)
        if match is None:
            if not re.fullmatch(rf".*(?:{re.escape(key)}|{re.escape(value)})\.(?:weight|bias)", name):
                out[name] = tensor
            continue
        prefix, kind = match.groups()
        parts = [state.get(f"{prefix}{p}.{kind}") for p in (query, key, value)]
        if kind == "bias":
            parts = [torch.zeros_like(tensor) if p is None else p for p in parts]
        elif any(p is None for p in parts):
            continue  # left for the rule table to report as missing
        out[f"{prefix}{fused}.{kind}"] = torch.cat(parts, dim=0)
    return out


def hf_encoder_rules(prefix: str) -> list[Rule]:
    """Rules for the transformer layers of the Hugging Face ViT-style layouts, into our :class:`Block` names.

    ``prefix`` is a regex for the part before the layer list (e.g. ``r"(?:videomae\\.)?"``).  Both
    the Hub files' layout (``encoder.layer.N.attention.attention.*``, ``intermediate.dense``,
    ``output.dense``) and transformers 5's (``layers.N.attention.{q,k,v,o}_proj``, ``mlp.fc1/fc2``)
    are read; query/key/value must already be fused into ``...qkv`` (:func:`fuse_qkv`).
    """
    layer = rf"{prefix}(?:encoder\.layer|layers)\.(\d+)\."
    return [
        Rule(layer + r"attention\.(?:attention\.)?qkv\.(weight|bias)", r"blocks.\1.attn.qkv.\2"),
        Rule(layer + r"attention\.(?:output\.dense|o_proj)\.(weight|bias)", r"blocks.\1.attn.proj.\2"),
        Rule(layer + r"layernorm_before\.(weight|bias)", r"blocks.\1.norm1.\2"),
        Rule(layer + r"layernorm_after\.(weight|bias)", r"blocks.\1.norm2.\2"),
        Rule(layer + r"(?:intermediate\.dense|mlp\.fc1)\.(weight|bias)", r"blocks.\1.mlp.fc1.\2"),
        Rule(layer + r"(?:output\.dense|mlp\.fc2)\.(weight|bias)", r"blocks.\1.mlp.fc2.\2"),
    ]
