"""Shared building blocks of the 3D ResNet families (I3D, I3D-slow, SlowFast, R(2+1)D, P3D, CSN, TPN, r3d/mc3).

Every tensor here is ``(N, C, T, H, W)``.  A family module builds its network from these parts and
keeps only what is its own (its stem variant, its stage pattern, its fusion); upstream parameter
names are mapped to ours in the family's converter, never by renaming modules here.

How a family plugs in
---------------------
1. **The spatio-temporal convolution** of a block is made by a *conv builder*::

       builder(in_planes, out_planes, *, stride=(st, ss, ss), kernel_t=3, dilation=1) -> nn.Module

   :func:`inflated_conv` (``kernel_t x 3 x 3``; I3D, r3d, mc3, SlowFast) is the default.  R(2+1)D
   passes a builder returning ``conv(1x3x3) -> BN -> ReLU -> conv(kt x 1 x 1)`` with its mid-planes,
   CSN one with ``groups=out_planes``.  A builder whose module already ends in its own
   normalisation and activation (e.g. P3D-B's parallel S/T branches) sets ``module.norm_included =
   True`` on it; the block then skips its own BatchNorm after that conv.
2. **Blocks**: :class:`BasicBlock3d` (two builder convs) and :class:`Bottleneck3d` (``1x1`` reduce whose
   temporal kernel is ``conv1_kernel_t``, builder conv with ``conv2_kernel_t``, ``1x1`` expand, optional
   non-local block after the residual ReLU).  "Inflation" patterns are per-block kernel choices:
   I3D ``3x1x1`` style is ``conv1_kernel_t=3, conv2_kernel_t=1``; ``3x3x3`` style the reverse.
3. **Stages**: :func:`make_stage` builds ``nn.Sequential`` of blocks, the first one with the stride
   and a ``1x1x1`` conv + BN shortcut when shape changes; ``block_kwargs`` gives each block its own
   keyword arguments (kernel choices, non-local, ...), e.g. from :func:`per_block`.
4. **Stems**: :class:`Stem3d` (``conv(kt x 7 x 7) -> BN -> ReLU -> optional max-pool``), or any
   module for exotic stems.
5. **Network**: :class:`ResNet3d` = stem + ``layer1..layerK`` (+ optional pooling after given
   stages, I3D's ``pool2``) + :class:`ClassifierHead3d`.  Its ``forward_stages`` returns every
   stage's output for feature pyramids (TPN).  Families with two pathways (SlowFast) compose stems,
   stages and the head themselves.
6. **Head**: :class:`ClassifierHead3d` pools globally and averages ``num_segments * num_crop``
   consecutive batch items (GluonCV's segmental consensus) for ``forward_features``, then applies
   dropout and ``fc`` for ``forward_head``.

BatchNorm: GluonCV MXNet uses ``eps=1e-5, momentum=0.9`` (running = 0.9 running + 0.1 batch), which is
PyTorch's ``momentum=0.1``: :func:`batch_norm3d` is that default.  ``bn_frozen``, ``frozen_stages`` and ``partial_bn``
are :class:`zoo.models._interface.VideoClassifier`'s.

Parameter names are those of the modules here: ``stem.conv.weight``, ``stem.bn.weight``,
``layer1.0.conv1.weight``, ``layer1.0.bn1.running_mean``, ``layer1.0.downsample.conv.weight``,
``layer2.1.nonlocal_block.theta.weight``, ``head.fc.weight``.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, Protocol, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ._gapped_conv import GappedConv3d, gapped_axes
from ._interface import VideoClassifier, init_conv_bn, segment_consensus

__all__ = [
    "Triple",
    "ConvBuilder",
    "NormLayer",
    "triple",
    "conv3d",
    "batch_norm3d",
    "inflated_conv",
    "ConvBNAct",
    "BasicBlock3d",
    "Bottleneck3d",
    "NonLocal3d",
    "make_stage",
    "per_block",
    "Stem3d",
    "ClassifierHead3d",
    "HeadedClassifier",
    "segment_consensus",
    "ResNet3d",
    "init_weights",
    "RESNET_DEPTHS",
]

Triple = tuple[int, int, int]
NormLayer = Callable[[int], nn.Module]

#: Blocks per stage of the standard ResNet depths.
RESNET_DEPTHS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}


class ConvBuilder(Protocol):
    """Makes a block's spatio-temporal conv: ``(N, in_planes, T, H, W) -> (N, out_planes, T/st, H/ss, W/ss)``."""

    def __call__(self, in_planes: int, out_planes: int, *, stride: Triple, kernel_t: int, dilation: int = 1) -> nn.Module: ...


def triple(value: int | Sequence[int]) -> Triple:
    """``3 -> (3, 3, 3)``; a 3-sequence is returned as a tuple."""
    if isinstance(value, int):
        return (value, value, value)
    t = tuple(int(v) for v in value)
    if len(t) != 3:
        raise ValueError(f"expected an int or 3 values (t, h, w), got {value!r}")
    return t  # type: ignore[return-value]


def conv3d(
    in_channels: int,
    out_channels: int,
    kernel: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | None = None,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    bias: bool = False,
) -> nn.Conv3d:
    """A ``Conv3d`` whose padding defaults to "same" for stride 1: ``dilation * (k - 1) // 2`` per axis.

    ``(N, in_channels, T, H, W) -> (N, out_channels, T', H', W')``.  A stride two or more past the kernel
    (SlowFast's laterals) gives a :class:`GappedConv3d`, which runs where oneDNN's AMX bf16 kernel crashes.
    """
    k, s, d = triple(kernel), triple(stride), triple(dilation)
    pad = tuple(di * (ki - 1) // 2 for ki, di in zip(k, d)) if padding is None else triple(padding)
    kind = GappedConv3d if gapped_axes(k, s, d) else nn.Conv3d
    return kind(in_channels, out_channels, k, stride=s, padding=pad, dilation=d, groups=groups, bias=bias)


def batch_norm3d(eps: float = 1e-5, momentum: float = 0.1) -> NormLayer:
    """A norm-layer factory ``channels -> nn.BatchNorm3d(channels, eps, momentum)`` (PyTorch momentum)."""
    return functools.partial(nn.BatchNorm3d, eps=eps, momentum=momentum)


_DEFAULT_NORM: NormLayer = batch_norm3d()


def inflated_conv(in_planes: int, out_planes: int, *, stride: Triple = (1, 1, 1), kernel_t: int = 3, dilation: int = 1) -> nn.Conv3d:
    """The default :class:`ConvBuilder`: ``kernel_t x 3 x 3`` conv, temporal "same" padding, spatial dilation.

    ``kernel_t=1`` is the un-inflated 2D ``1x3x3`` conv.
    """
    return conv3d(
        in_planes,
        out_planes,
        (kernel_t, 3, 3),
        stride=stride,
        padding=((kernel_t - 1) // 2, dilation, dilation),
        dilation=(1, dilation, dilation),
    )


class ConvBNAct(nn.Module):
    """``conv -> BatchNorm -> optional ReLU``; parameters ``conv.*`` and ``bn.*``.

    ``(N, in_channels, T, H, W) -> (N, out_channels, T', H', W')``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int | Sequence[int] = 1,
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] | None = None,
        *,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        act: bool = True,
        norm_layer: NormLayer = _DEFAULT_NORM,
    ) -> None:
        super().__init__()
        self.conv = conv3d(in_channels, out_channels, kernel, stride, padding, dilation, groups)
        self.bn = norm_layer(out_channels)
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


def _norm_after(conv: nn.Module, channels: int, norm_layer: NormLayer) -> nn.Module:
    return nn.Identity() if getattr(conv, "norm_included", False) else norm_layer(channels)


class BasicBlock3d(nn.Module):
    """Two builder convs with a residual: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    ``(N, in_planes, T, H, W) -> (N, planes, T/st, H/ss, W/ss)`` with ``stride = (st, ss, ss)`` on
    ``conv1``.  ``kernel_t`` is the temporal kernel of both convs (3 for r3d, 1 for mc3's 2D stages).
    """

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        *,
        stride: Triple = (1, 1, 1),
        kernel_t: int = 3,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        nonlocal_block: nn.Module | None = None,
        conv_builder: ConvBuilder = inflated_conv,
        norm_layer: NormLayer = _DEFAULT_NORM,
    ) -> None:
        super().__init__()
        self.conv1 = conv_builder(in_planes, planes, stride=triple(stride), kernel_t=kernel_t, dilation=dilation)
        self.bn1 = _norm_after(self.conv1, planes, norm_layer)
        self.conv2 = conv_builder(planes, planes, stride=(1, 1, 1), kernel_t=kernel_t, dilation=dilation)
        self.bn2 = _norm_after(self.conv2, planes, norm_layer)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.nonlocal_block = nonlocal_block

    def last_bn(self) -> nn.Module:
        return self.bn2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)) + identity)
        return out if self.nonlocal_block is None else self.nonlocal_block(out)


class Bottleneck3d(nn.Module):
    """``1x1`` reduce, builder conv, ``1x1`` expand (x4), residual, ReLU, optional non-local block.

    ``(N, in_planes, T, H, W) -> (N, planes * 4, T/st, H/ss, W/ss)``; the stride ``(st, ss, ss)`` is
    on ``conv2`` (the builder conv), as in GluonCV/mmaction/torchvision.

    Args:
        conv1_kernel_t: temporal kernel of the reduce conv (``3`` = I3D "3x1x1" inflation and
            SlowFast's ``head_conv=3``), padded to keep ``T``.
        conv2_kernel_t: temporal kernel passed to ``conv_builder`` (``3`` = "3x3x3" inflation).
        width: channels inside the block (defaults to ``planes``).
    """

    expansion = 4

    def __init__(
        self,
        in_planes: int,
        planes: int,
        *,
        stride: Triple = (1, 1, 1),
        conv1_kernel_t: int = 1,
        conv2_kernel_t: int = 1,
        dilation: int = 1,
        width: int | None = None,
        downsample: nn.Module | None = None,
        nonlocal_block: nn.Module | None = None,
        conv_builder: ConvBuilder = inflated_conv,
        norm_layer: NormLayer = _DEFAULT_NORM,
    ) -> None:
        super().__init__()
        width = width or planes
        self.conv1 = conv3d(in_planes, width, (conv1_kernel_t, 1, 1))
        self.bn1 = norm_layer(width)
        self.conv2 = conv_builder(width, width, stride=triple(stride), kernel_t=conv2_kernel_t, dilation=dilation)
        self.bn2 = _norm_after(self.conv2, width, norm_layer)
        self.conv3 = conv3d(width, planes * self.expansion, 1)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.nonlocal_block = nonlocal_block

    def last_bn(self) -> nn.Module:
        return self.bn3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.relu(self.bn3(self.conv3(out)) + identity)
        return out if self.nonlocal_block is None else self.nonlocal_block(out)


class NonLocal3d(nn.Module):
    """Non-local block (Wang et al. 2018): ``x + bn(proj(attention(x)))``.

    ``(N, C, T, H, W) -> (N, C, T, H, W)``.  ``theta``, ``phi``, ``g`` are ``1x1x1`` convs to
    ``embed_dim`` (default ``C // 2``) channels with bias; ``sub_sample`` max-pools ``phi`` and ``g``
    by ``1x2x2``.  The affinity of every pair of ``T*H*W`` positions, by ``mode``:

    * ``"embedded_gaussian"``: ``softmax(theta^T phi)``, the product scaled by ``embed_dim ** -0.5``
      where ``scale`` (GluonCV; mmaction2's ``use_scale``);
    * ``"dot_product"``: ``theta^T phi / P`` (``P`` positions of ``phi``), no softmax;
    * ``"gaussian"``: ``softmax(x^T x')`` on the input itself (``x'`` sub-sampled), no ``theta``/``phi``.

    ``bn`` starts at zero scale so a new block is an identity; ``proj_bias=False`` drops the bias of
    ``proj`` (mmaction2's, whose projection conv is followed by the norm).  ``pool_input`` moves the
    ``sub_sample`` pooling in front of ``phi`` and ``g`` (PySlowFast's order: the pool takes the block's
    input, not the projections; with biased convs the two orders differ).
    """

    def __init__(
        self,
        in_channels: int,
        embed_dim: int | None = None,
        *,
        sub_sample: bool = False,
        use_bn: bool = True,
        scale: bool = True,
        norm_layer: NormLayer = _DEFAULT_NORM,
        mode: str = "embedded_gaussian",
        proj_bias: bool = True,
        pool_input: bool = False,
    ) -> None:
        super().__init__()
        if mode not in ("embedded_gaussian", "dot_product", "gaussian"):
            raise ValueError(f"non-local mode must be 'embedded_gaussian', 'dot_product' or 'gaussian', got {mode!r}")
        self.embed_dim = embed_dim or in_channels // 2
        self.scale = scale
        self.mode = mode
        self.pool_input = pool_input
        if mode != "gaussian":
            self.theta = nn.Conv3d(in_channels, self.embed_dim, 1)
            self.phi = nn.Conv3d(in_channels, self.embed_dim, 1)
        self.g = nn.Conv3d(in_channels, self.embed_dim, 1)
        self.pool = nn.MaxPool3d((1, 2, 2)) if sub_sample else nn.Identity()
        self.proj = nn.Conv3d(self.embed_dim, in_channels, 1, bias=proj_bias)
        self.bn = norm_layer(in_channels) if use_bn else nn.Identity()
        if use_bn:
            nn.init.zeros_(self.bn.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if self.mode == "gaussian":
            theta = x.reshape(n, x.shape[1], -1)  # (N, C, THW)
            phi = self.pool(x).reshape(n, x.shape[1], -1)  # (N, C, THW')
        else:
            theta = self.theta(x).reshape(n, self.embed_dim, -1)  # (N, E, THW)
            phi = self._pooled(self.phi, x).reshape(n, self.embed_dim, -1)  # (N, E, THW')
        g = self._pooled(self.g, x).reshape(n, self.embed_dim, -1)  # (N, E, THW')
        affinity = torch.bmm(theta.transpose(1, 2), phi)  # (N, THW, THW')
        if self.mode == "dot_product":
            attn = affinity / affinity.shape[-1]
        else:
            if self.scale and self.mode == "embedded_gaussian":
                affinity = affinity * self.embed_dim**-0.5
            attn = affinity.softmax(dim=-1)
        y = torch.bmm(g, attn.transpose(1, 2)).reshape(n, self.embed_dim, *x.shape[2:])  # (N, E, T, H, W)
        return x + self.bn(self.proj(y))

    def _pooled(self, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """``conv(x)`` sub-sampled: ``(N, C, T, H, W) -> (N, E, T', H', W')``, pooled before or after ``conv``."""
        return conv(self.pool(x)) if self.pool_input else self.pool(conv(x))


def per_block(pattern: int | Sequence[int] | None, num_blocks: int) -> list[int]:
    """Expand a GluonCV/mmaction per-stage pattern (an int for every block, or one value per block)."""
    if pattern is None:
        return [0] * num_blocks
    if isinstance(pattern, int):
        return [pattern] * num_blocks
    values = [int(v) for v in pattern]
    if len(values) != num_blocks:
        raise ValueError(f"pattern {tuple(values)} has {len(values)} entries for a stage of {num_blocks} blocks")
    return values


def make_stage(
    block: Callable[..., nn.Module],
    in_planes: int,
    planes: int,
    num_blocks: int,
    *,
    stride: int | Sequence[int] = 1,
    block_kwargs: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    nonlocal_blocks: Sequence[bool] | None = None,
    nonlocal_builder: Callable[[int], nn.Module] | None = None,
    downsample_stride: int | Sequence[int] | None = None,
    norm_layer: NormLayer = _DEFAULT_NORM,
    **common: Any,
) -> nn.Sequential:
    """One ResNet stage: ``(N, in_planes, T, H, W) -> (N, planes * expansion, T/st, H/ss, W/ss)``.

    Args:
        block: :class:`BasicBlock3d`, :class:`Bottleneck3d` or any class with an ``expansion``
            attribute taking ``(in_planes, planes, *, stride, downsample, nonlocal_block,
            norm_layer, **kwargs)``.
        stride: ``(st, ss, ss)`` (or an int) of the first block.
        block_kwargs: keyword arguments for every block (a mapping) or one mapping per block
            (e.g. ``[{"conv1_kernel_t": 3}, {"conv1_kernel_t": 1}, ...]``).
        nonlocal_blocks: per block, whether ``nonlocal_builder(planes * expansion)`` follows it.
        downsample_stride: stride of the ``1x1x1`` shortcut conv, if it differs from ``stride``.
        **common: more keyword arguments for every block (``conv_builder=...``, ``dilation=...``).

    The shortcut (``downsample``: ``1x1x1`` conv + BN, no ReLU) exists when the stride is not 1
    or the channel count changes.
    """
    stride = triple(stride)
    out_planes = planes * block.expansion
    if block_kwargs is None or isinstance(block_kwargs, Mapping):
        per = [dict(block_kwargs or {}) for _ in range(num_blocks)]
    else:
        per = [dict(kw) for kw in block_kwargs]
        if len(per) != num_blocks:
            raise ValueError(f"block_kwargs has {len(per)} entries for a stage of {num_blocks} blocks")
    flags = list(nonlocal_blocks) if nonlocal_blocks is not None else [False] * num_blocks
    if len(flags) != num_blocks:
        raise ValueError(f"nonlocal_blocks has {len(flags)} entries for a stage of {num_blocks} blocks")
    if any(flags) and nonlocal_builder is None:
        raise ValueError("nonlocal_blocks asks for non-local blocks but no nonlocal_builder was given")

    downsample = None
    if stride != (1, 1, 1) or in_planes != out_planes:
        ds_stride = stride if downsample_stride is None else triple(downsample_stride)
        downsample = ConvBNAct(in_planes, out_planes, 1, ds_stride, act=False, norm_layer=norm_layer)
    blocks = []
    for i in range(num_blocks):
        blocks.append(
            block(
                in_planes if i == 0 else out_planes,
                planes,
                stride=stride if i == 0 else (1, 1, 1),
                downsample=downsample if i == 0 else None,
                nonlocal_block=nonlocal_builder(out_planes) if flags[i] else None,
                norm_layer=norm_layer,
                **{**common, **per[i]},
            )
        )
    return nn.Sequential(*blocks)


class Stem3d(nn.Module):
    """``conv(kt x kh x kw) -> BN -> ReLU -> optional max-pool``; parameters ``conv.*`` and ``bn.*``.

    ``(N, 3, T, H, W) -> (N, out_channels, T / (stride_t * pool_stride_t), H/4, W/4)`` with the
    defaults (I3D: ``5x7x7`` stride ``(2, 2, 2)``, pool ``1x3x3`` stride ``(2, 2, 2)``).  Padding
    defaults to ``((kt-1)//2, kh//2, kw//2)`` for the conv and ``(pt//2, 1, 1)`` for the pool.
    ``conv`` may be replaced by any module (R(2+1)D's factorised stem) via ``conv``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        out_channels: int = 64,
        kernel: Sequence[int] = (5, 7, 7),
        stride: Sequence[int] = (2, 2, 2),
        padding: Sequence[int] | None = None,
        *,
        pool_kernel: Sequence[int] | None = (1, 3, 3),
        pool_stride: Sequence[int] = (2, 2, 2),
        pool_padding: Sequence[int] | None = None,
        conv: nn.Module | None = None,
        norm_layer: NormLayer = _DEFAULT_NORM,
    ) -> None:
        super().__init__()
        kernel = triple(kernel)
        if padding is None:
            padding = ((kernel[0] - 1) // 2, kernel[1] // 2, kernel[2] // 2)
        self.conv = conv if conv is not None else conv3d(in_channels, out_channels, kernel, stride, padding)
        self.bn = norm_layer(out_channels)
        self.relu = nn.ReLU(inplace=True)
        if pool_kernel is None:
            self.pool: nn.Module = nn.Identity()
        else:
            pool_kernel = triple(pool_kernel)
            pad = (pool_kernel[0] // 2, 1, 1) if pool_padding is None else triple(pool_padding)
            self.pool = nn.MaxPool3d(pool_kernel, triple(pool_stride), pad)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.relu(self.bn(self.conv(x))))


class ClassifierHead3d(nn.Module):
    """Global average pool and segmental consensus (:meth:`pool`), then dropout and ``fc`` (``forward``).

    :meth:`pool`: ``(N * S * K, F, T, H, W)`` or already pooled ``(N * S * K, F)`` -> features
    ``(N, F)``; ``S = num_segments``, ``K = num_crop``, the consensus averages each group of
    ``S * K`` consecutive items.  ``forward``: features ``(N, F)`` -> logits ``(N, num_classes)``.

    ``hidden_features``: a non-linear head, ``Linear(F, hidden)`` -> ``BatchNorm1d`` -> ReLU (``hidden``)
    before the dropout and ``fc`` (mmaction2's OmniSource video head); ``None``: ``fc`` alone.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        *,
        dropout_ratio: float = 0.5,
        num_segments: int = 1,
        num_crop: int = 1,
        init_std: float = 0.01,
        hidden_features: int | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.num_segments = num_segments
        self.num_crop = num_crop
        self.init_std = init_std
        self.hidden = nn.Identity() if hidden_features is None else nn.Sequential(
            nn.Linear(in_features, hidden_features), nn.BatchNorm1d(hidden_features), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(hidden_features or in_features, num_classes)
        nn.init.normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 5:
            x = F.adaptive_avg_pool3d(x, 1).flatten(1)
        return segment_consensus(x, self.num_segments * self.num_crop)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(self.hidden(features)))


class HeadedClassifier(VideoClassifier):
    """A :class:`~zoo.models._interface.VideoClassifier` whose dropout and classifier are a
    :class:`ClassifierHead3d` named ``head`` (``head.fc``)."""

    classifier_name = "head.fc"

    @property
    def init_std(self) -> float:  # type: ignore[override]
        return self.head.init_std

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, num_features)`` -> logits ``(N, num_classes)``: dropout, ``head.fc``."""
        return self.head(features)


class ResNet3d(HeadedClassifier):
    """Stem, stages ``layer1..layerK``, optional pooling after given stages, classifier head.

    ``forward``: ``(N * S * K, 3, T, H, W) -> (N, num_classes)``; ``forward_features`` gives the
    pooled ``(N, F)`` features the head classifies, :meth:`forward_stages` the list of stage
    outputs ``[(B, C_i, T_i, H_i, W_i)]``.

    Args:
        stem: a :class:`Stem3d` (or any module).
        stages: the stages (``nn.Sequential`` from :func:`make_stage`), named ``layer1``, ...
        head: a :class:`ClassifierHead3d`.
        stage_pools: ``{stage index: module}`` applied after that stage (I3D's temporal
            ``pool2`` after ``layer1`` is ``{0: nn.MaxPool3d((2, 1, 1), (2, 1, 1))}``).
    """

    def __init__(
        self,
        stem: nn.Module,
        stages: Sequence[nn.Module],
        head: ClassifierHead3d,
        stage_pools: Mapping[int, nn.Module] | None = None,
        *,
        partial_bn: bool = False,
        bn_frozen: bool = False,
        frozen_stages: int = -1,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.num_stages = len(stages)
        for i, stage in enumerate(stages):
            self.add_module(f"layer{i + 1}", stage)
        self.stage_pools = nn.ModuleDict({str(k): v for k, v in (stage_pools or {}).items()})
        self.head = head
        self.num_features = head.in_features
        self.partial_bn = partial_bn
        self.freeze(bn_frozen, frozen_stages)

    def stages(self) -> list[nn.Module]:
        return [getattr(self, f"layer{i + 1}") for i in range(self.num_stages)]

    def forward_stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, T, H, W)`` -> every stage's output (before any ``stage_pools``)."""
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages()):
            x = stage(x)
            outs.append(x)
            if str(i) in self.stage_pools:
                x = self.stage_pools[str(i)](x)
        return outs

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N * S * K, 3, T, H, W)`` -> pooled features ``(N, num_features)`` (views averaged)."""
        return self.head.pool(self.forward_stages(x)[-1])


def init_weights(model: nn.Module, *, zero_init_residual: bool = False) -> None:
    """Kaiming-normal (fan-out) convs with zero bias, BN scale 1 / shift 0.

    Leaves ``nn.Linear`` (the head sets its own) and the zero-initialised BN of
    :class:`NonLocal3d` alone; ``zero_init_residual`` zeroes each block's last BN scale.
    """
    if any(p.is_meta for p in model.parameters()):
        return  # shapes only: nothing to initialise
    init_conv_bn(model, keep=[m.bn for m in model.modules() if isinstance(m, NonLocal3d)])
    if zero_init_residual:
        for m in model.modules():
            if isinstance(m, (BasicBlock3d, Bottleneck3d)) and isinstance(m.last_bn(), nn.BatchNorm3d):
                nn.init.zeros_(m.last_bn().weight)
