"""Video Swin Transformer (Liu et al., "Video Swin Transformer", 2022).

``2x4x4`` patch embedding, four stages of window attention on 3D windows (``8x7x7`` by default)
that alternate plain and shifted windows, patch merging (``2x2`` spatial) between stages, a final
LayerNorm and global average pooling.  Windows larger than the token grid shrink to it (and stop
shifting on that axis).

``swin3d_{t,s,b}_kinetics400`` are torchvision's ``swin3d_t`` / ``swin3d_s`` / ``swin3d_b``.
"""
from __future__ import annotations

import itertools
from functools import partial
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import WeightsError
from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import published
from ..convert.keys import KEEP, Rule, convert
from ._interface import VideoClassifier
from .mvit import Mlp, _drop_path

__all__ = ["SwinTransformer3d", "WindowAttention3d", "swin3d_t", "swin3d_s", "swin3d_b", "swin3d_l"]

Thw = tuple[int, int, int]
_LayerNorm = partial(nn.LayerNorm, eps=1e-5)


def relative_position_index(window: Thw) -> torch.Tensor:
    """``(N, N)`` int64 index into the ``(2Wd-1)(2Wh-1)(2Ww-1)`` bias table, ``N = Wd*Wh*Ww``.

    Token ``i`` to token ``j`` offset ``(dt, dh, dw)`` (shifted to be >= 0) in row-major order.
    """
    wd, wh, ww = window
    coords = torch.stack(torch.meshgrid(torch.arange(wd), torch.arange(wh), torch.arange(ww), indexing="ij")).flatten(1)
    offset = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)
    offset = offset + torch.tensor([wd - 1, wh - 1, ww - 1])
    return offset[..., 0] * (2 * wh - 1) * (2 * ww - 1) + offset[..., 1] * (2 * ww - 1) + offset[..., 2]


def _to_windows(x: torch.Tensor, window: Thw) -> torch.Tensor:
    """``(B, T, H, W, C)`` (multiples of ``window``) -> ``(B * nW, Wd*Wh*Ww, C)``."""
    b, t, h, w, c = x.shape
    wd, wh, ww = window
    x = x.view(b, t // wd, wd, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 5, 2, 4, 6, 7)
    return x.reshape(-1, wd * wh * ww, c)


def _from_windows(x: torch.Tensor, window: Thw, b: int, size: Thw) -> torch.Tensor:
    """Inverse of :func:`_to_windows`: ``(B * nW, N, C) -> (B, T, H, W, C)``."""
    (t, h, w), (wd, wh, ww) = size, window
    x = x.view(b, t // wd, h // wh, w // ww, wd, wh, ww, -1).permute(0, 1, 4, 2, 5, 3, 6, 7)
    return x.reshape(b, t, h, w, -1)


def _shift_mask(size: Thw, window: Thw, shift: Thw) -> torch.Tensor:
    """``(nW, N, N)`` additive mask (0 / -100) that keeps shifted windows from mixing regions.

    The padded grid is cut into regions ``[0, -window)``, ``[-window, -shift)``, ``[-shift, end)``
    per axis (a zero shift makes the last cut the whole axis); tokens attend only within their
    region.
    """
    labels = torch.zeros(size)
    cuts = [[slice(0, -w), slice(-w, -s), slice(-s, None)] for w, s in zip(window, shift)]
    for region, (st, sh, sw) in enumerate(itertools.product(*cuts)):
        labels[st, sh, sw] = region
    labels = _to_windows(labels[None, ..., None], window).squeeze(-1)
    diff = labels[:, None, :] - labels[:, :, None]
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class WindowAttention3d(nn.Module):
    """(Shifted) 3D window multi-head self-attention on ``(B, T, H, W, C)`` with a relative position bias."""

    def __init__(self, dim: int, num_heads: int, window: Thw, shift: Thw, attn_dropout: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.window = tuple(window)
        self.shift = tuple(shift)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.attn_dropout = attn_dropout
        self.dropout = dropout
        wd, wh, ww = window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), num_heads))
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
        # An architecture constant, rebuilt at construction: not part of the weights.
        self.register_buffer("relative_position_index", relative_position_index(self.window), persistent=False)

    def _bias(self, window: Thw) -> torch.Tensor:
        """``(1, heads, N, N)``; for a window shrunk to the grid, the leading ``N x N`` block of the
        full window's index is used (as torchvision does)."""
        n = window[0] * window[1] * window[2]
        index = self.relative_position_index[:n, :n].reshape(-1)
        return self.relative_position_bias_table[index].view(n, n, -1).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, h, w, c = x.shape
        window, shift = list(self.window), list(self.shift)
        for i, size in enumerate((t, h, w)):
            if size <= window[i]:
                window[i], shift[i] = size, 0
        window_t: Thw = tuple(window)  # type: ignore[assignment]
        pad = [(wi - s % wi) % wi for wi, s in zip(window, (t, h, w))]
        x = F.pad(x, (0, 0, 0, pad[2], 0, pad[1], 0, pad[0]))
        padded: Thw = tuple(x.shape[1:4])  # type: ignore[assignment]
        if any(shift):
            x = torch.roll(x, shifts=[-s for s in shift], dims=(1, 2, 3))
        windows = _to_windows(x, window_t)
        bw, n, _ = windows.shape
        head_dim = c // self.num_heads
        q, k, v = self.qkv(windows).reshape(bw, n, 3, self.num_heads, head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        attn = (q * head_dim**-0.5) @ k.transpose(-2, -1) + self._bias(window_t)
        if any(shift):
            mask = _shift_mask(padded, window_t, tuple(shift)).to(attn)  # type: ignore[arg-type]
            attn = (attn.view(b, -1, self.num_heads, n, n) + mask[None, :, None]).view(bw, self.num_heads, n, n)
        attn = F.dropout(attn.softmax(dim=-1), self.attn_dropout, self.training)
        out = (attn @ v).transpose(1, 2).reshape(bw, n, c)
        out = F.dropout(self.proj(out), self.dropout, self.training)
        out = _from_windows(out, window_t, b, padded)
        if any(shift):
            out = torch.roll(out, shifts=shift, dims=(1, 2, 3))
        return out[:, :t, :h, :w].contiguous()


class SwinBlock3d(nn.Module):
    """``x + attn(norm1(x))`` then ``x + mlp(norm2(x))`` on ``(B, T, H, W, C)``."""

    def __init__(self, dim: int, num_heads: int, window: Thw, shift: Thw, drop_path: float = 0.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1 = _LayerNorm(dim)
        self.attn = WindowAttention3d(dim, num_heads, window, shift, dropout=dropout)
        self.norm2 = _LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim, dim, dropout)
        self.drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + _drop_path(self.attn(self.norm1(x)), self.drop_path, self.training)
        return x + _drop_path(self.mlp(self.norm2(x)), self.drop_path, self.training)


class PatchMerging3d(nn.Module):
    """``(B, T, H, W, C) -> (B, T, ceil(H/2), ceil(W/2), 2C)``: concatenate 2x2 neighbours, norm, project."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = _LayerNorm(4 * dim)
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:4]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], dim=-1)
        return self.reduction(self.norm(x))


class PatchEmbed3d(nn.Module):
    """``(N, 3, T, H, W) -> (N, T/pt, H/ps, W/ps, C)``: pad to the patch size, conv, LayerNorm."""

    def __init__(self, patch: Thw, dim: int) -> None:
        super().__init__()
        self.patch = tuple(patch)
        self.proj = nn.Conv3d(3, dim, self.patch, stride=self.patch)
        self.norm = _LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad = [(p - s % p) % p for p, s in zip(self.patch, x.shape[2:])]
        x = F.pad(x, (0, pad[2], 0, pad[1], 0, pad[0]))
        return self.norm(self.proj(x).permute(0, 2, 3, 4, 1))


class SwinTransformer3d(VideoClassifier):
    """Video Swin for ``(N, 3, T, H, W)`` -> logits ``(N, num_classes)``; ``forward_features``: ``(N, 8C)``."""

    init_std = 0.02  # a new classifier starts like the constructor's (truncated) normal

    def __init__(
        self,
        num_classes: int = 400,
        *,
        embed_dim: int = 96,
        depths: Sequence[int] = (2, 2, 6, 2),
        num_heads: Sequence[int] = (3, 6, 12, 24),
        window: Thw = (8, 7, 7),
        patch: Thw = (2, 4, 4),
        drop_path: float = 0.1,
        dropout_ratio: float = 0.0,
    ) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed3d(patch, embed_dim)
        shift: Thw = tuple(w // 2 for w in window)  # type: ignore[assignment]
        total, done = sum(depths), 0
        self.stages = nn.ModuleList()
        self.merges = nn.ModuleList()
        dim = embed_dim
        for i, (depth, heads) in enumerate(zip(depths, num_heads)):
            blocks = []
            for j in range(depth):
                rate = drop_path * done / (total - 1) if total > 1 else 0.0
                blocks.append(SwinBlock3d(dim, heads, window, shift if j % 2 else (0, 0, 0), drop_path=rate))
                done += 1
            self.stages.append(nn.Sequential(*blocks))
            if i < len(depths) - 1:
                self.merges.append(PatchMerging3d(dim))
                dim *= 2
        self.norm = _LayerNorm(dim)
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = dim
        self.fc = nn.Linear(dim, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the normalised tokens averaged over ``(T, H, W)``, ``(N, num_features)``."""
        x = self.patch_embed(x)
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.merges):
                x = self.merges[i](x)
        return self.norm(x).mean(dim=(1, 2, 3))


def swin3d_t(num_classes: int = 400, **kwargs) -> SwinTransformer3d:
    """Swin3D-T: C=96, depths (2, 2, 6, 2), heads (3, 6, 12, 24)."""
    return SwinTransformer3d(num_classes, **{"embed_dim": 96, "depths": (2, 2, 6, 2), "num_heads": (3, 6, 12, 24), **kwargs})


def swin3d_s(num_classes: int = 400, **kwargs) -> SwinTransformer3d:
    """Swin3D-S: C=96, depths (2, 2, 18, 2), heads (3, 6, 12, 24)."""
    return SwinTransformer3d(num_classes, **{"embed_dim": 96, "depths": (2, 2, 18, 2), "num_heads": (3, 6, 12, 24), **kwargs})


def swin3d_b(num_classes: int = 400, **kwargs) -> SwinTransformer3d:
    """Swin3D-B: C=128, depths (2, 2, 18, 2), heads (4, 8, 16, 32)."""
    return SwinTransformer3d(num_classes, **{"embed_dim": 128, "depths": (2, 2, 18, 2), "num_heads": (4, 8, 16, 32), **kwargs})


def swin3d_l(num_classes: int = 400, **kwargs) -> SwinTransformer3d:
    """Swin3D-L: C=192, depths (2, 2, 18, 2), heads (6, 12, 24, 48)."""
    return SwinTransformer3d(num_classes, **{"embed_dim": 192, "depths": (2, 2, 18, 2), "num_heads": (6, 12, 24, 48), **kwargs})


# ---------------------------------------------------------------------------------------------
# torchvision: features = [stage0, merge0, stage1, merge1, stage2, merge2, stage3]; MLP as
# Sequential (0: fc1, 3: fc2); the relative_position_index buffers are constants we rebuild.
def _tv_feature_key(m) -> str:
    index, rest = int(m.group(1)), m.group(2)
    if index % 2:
        return f"merges.{index // 2}.{rest}"
    rest = rest.replace(".mlp.0.", ".mlp.fc1.").replace(".mlp.3.", ".mlp.fc2.")
    return f"stages.{index // 2}.{rest}"


_TV_RULES = [
    (r"features\.\d+\.\d+\.attn\.relative_position_index", None),
    (r"features\.(\d+)\.(.+)", _tv_feature_key),
    (r"head\.(weight|bias)", r"fc.\1"),
]


@register_converter("torchvision_swin3d")
def convert_torchvision_swin3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """torchvision ``SwinTransformer3d`` state dict -> :class:`SwinTransformer3d`.

    The upstream ``relative_position_index`` buffers are dropped (ours are rebuilt); when the
    model holds real tensors they are checked to agree.
    """
    ours = {k: v for k, v in model.named_buffers() if k.endswith("relative_position_index")}
    for key, value in source.items():
        if key.endswith("relative_position_index"):
            mine = ours.get(rename_index_key(key))
            if mine is not None and not mine.is_meta and not torch.equal(mine, value.to(mine.dtype)):
                raise WeightsError(f"{key}: the checkpoint's window index differs from this model's (another window size?)")
    return convert(source, model, (*_TV_RULES, KEEP), what="torchvision Swin3D")


def rename_index_key(key: str) -> str:
    """``features.2.1.attn.relative_position_index`` -> ``stages.1.1.attn.relative_position_index``."""
    index, rest = key.split(".", 2)[1:]
    return f"stages.{int(index) // 2}.{rest}"


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_register = partial(register_model, family="swin3d", dataset="kinetics400", num_classes=400,
                    input=InputSpec(clip_len=32, frame_step=2,
                                    note=("torchvision eval: short side 256, centre crop 224, 32 frames at 15 fps, 12"
                                          " clips per video (ImageNet mean/std)")),
                    converters={"pth": "torchvision_swin3d"}, source="torchvision")
_register("swin3d_b_kinetics400", builder=swin3d_b,
          weights=(published("swin3d_b_1k-24f7c7c6.pth", "torchvision_swin3d", 79.427, 94.386, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=12, clip_len=32", default=True,
                             description=("torchvision Swin3D_B_Weights.KINETICS400_V1 (ImageNet-1K pretrained, "
                                          "ported from the authors)")),
                   published("swin3d_b_22k-7c6ae6fa.pth", "torchvision_swin3d", 81.643, 95.574, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=12, clip_len=32",
                             description=("torchvision Swin3D_B_Weights.KINETICS400_IMAGENET22K_V1 (ImageNet-22K "
                                          "pretrained)"))),
          description="Video Swin Transformer B (window 8x7x7), Kinetics-400, torchvision's weights.")
_register("swin3d_s_kinetics400", builder=swin3d_s,
          weights=(published("swin3d_s-da41c237.pth", "torchvision_swin3d", 79.521, 94.158, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=12, clip_len=32", default=True,
                             description=("torchvision Swin3D_S_Weights.KINETICS400_V1 (ImageNet-1K pretrained, "
                                          "ported from the authors)")),),
          description="Video Swin Transformer S (window 8x7x7), Kinetics-400, torchvision's weights.")
_register("swin3d_t_kinetics400", builder=swin3d_t,
          weights=(published("swin3d_t-7615ae03.pth", "torchvision_swin3d", 77.715, 93.519, repo="torchvision",
                             protocol="video-level, frame_rate=15, clips_per_video=12, clip_len=32", default=True,
                             description=("torchvision Swin3D_T_Weights.KINETICS400_V1 (ImageNet-1K pretrained, "
                                          "ported from the authors)")),),
          description="Video Swin Transformer T (window 8x7x7), Kinetics-400, torchvision's weights.")


# ---------------------------------------------------------------------------------------------
# mmaction2's Video Swin: the same network (merges after stages 0-2, a final norm), mmaction2's weights
# ---------------------------------------------------------------------------------------------

_MM_RULES = (
    Rule(r"backbone\.patch_embed\.(.+)", r"patch_embed.\1"),
    Rule(r"backbone\.layers\.\d\.blocks\.\d+\.attn\.relative_position_index", None),  # a buffer we compute
    Rule(r"backbone\.layers\.(\d)\.blocks\.(\d+)\.(.+)", r"stages.\1.\2.\3"),
    Rule(r"backbone\.layers\.(\d)\.downsample\.(.+)", r"merges.\1.\2"),
    Rule(r"backbone\.norm3\.(weight|bias)", r"norm.\1"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
)


@register_converter("mmaction2_swin3d")
def convert_mmaction2_swin3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``SwinTransformer3D`` checkpoints (``backbone.layers.i.blocks.j``, ``norm3``) -> ours."""
    return convert(source, model, _MM_RULES, what="mmaction2 Video Swin")


_register_mm = partial(register_mmaction2, family="swin3d", converter="mmaction2_swin3d")

_register_mm("swin3d_t_in1k_f32s2_kinetics400", dataset="kinetics400", builder=swin3d_t,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb_20220930-241016b2.pth",
             top1=78.9, top5=93.77, pretraining="ImageNet-1K", config="swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-T (window 8x7x7, patches 2x4x4), ImageNet-1K-initialised, 32x2 sampling, mmaction2's weights.")

_register_mm("swin3d_s_in1k_f32s2_kinetics400", dataset="kinetics400", builder=swin3d_s,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-small-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb/swin-small-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb_20220930-e91ab986.pth",
             top1=80.54, top5=94.46, pretraining="ImageNet-1K", config="swin/swin-small-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-S (window 8x7x7, patches 2x4x4), ImageNet-1K-initialised, 32x2 sampling, mmaction2's weights.")

_register_mm("swin3d_b_in1k_f32s2_kinetics400", dataset="kinetics400", builder=swin3d_b,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-base-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb/swin-base-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb_20220930-182ec6cc.pth",
             top1=80.57, top5=94.49, pretraining="ImageNet-1K", config="swin/swin-base-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-B (window 8x7x7, patches 2x4x4), ImageNet-1K-initialised, 32x2 sampling, mmaction2's weights. (mmaction2's metafile names its config with a doubled .py suffix.)")

_register_mm("swin3d_l_in22k_f32s2_kinetics400", dataset="kinetics400", builder=swin3d_l,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-large-p244-w877_in22k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb/swin-large-p244-w877_in22k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb_20220930-78ad8b11.pth",
             top1=83.46, top5=95.91, pretraining="ImageNet-22K", config="swin/swin-large-p244-w877_in22k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-L (window 8x7x7, patches 2x4x4), ImageNet-22K-initialised, 32x2 sampling, mmaction2's weights.")

_register_mm("swin3d_l_in22k_f32s2_kinetics700", dataset="kinetics700", builder=swin3d_l,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-large-p244-w877_in22k-pre_16xb8-amp-32x2x1-30e_kinetics700-rgb/swin-large-p244-w877_in22k-pre_16xb8-amp-32x2x1-30e_kinetics700-rgb_20220930-f8d74db7.pth",
             top1=75.92, top5=92.72, pretraining="ImageNet-22K", config="swin/swin-large-p244-w877_in22k-pre_16xb8-amp-32x2x1-30e_kinetics700-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-L (window 8x7x7, patches 2x4x4), ImageNet-22K-initialised, 32x2 sampling, mmaction2's weights.")

_register_mm("swin3d_s_in1k_f32s2_kinetics710", dataset="kinetics710", builder=swin3d_s,
             input=InputSpec(clip_len=32, frame_step=2, num_segments=1, crop_size=224, short_side=224, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/swin/swin-small-p244-w877_in1k-pre_32xb4-amp-32x2x1-30e_kinetics710-rgb/swin-small-p244-w877_in1k-pre_32xb4-amp-32x2x1-30e_kinetics710-rgb_20230612-8e082ff1.pth",
             top1=76.9, top5=92.96, pretraining="ImageNet-1K", config="swin/swin-small-p244-w877_in1k-pre_32xb4-amp-32x2x1-30e_kinetics710-rgb.py",
             protocol=mm_protocol("4 uniform clips of 32 frames with step 2 x 3 crops (ThreeCrop 224px after short side 224)"),
             description="Video Swin-S (window 8x7x7, patches 2x4x4), ImageNet-1K-initialised, 32x2 sampling, mmaction2's weights.")
