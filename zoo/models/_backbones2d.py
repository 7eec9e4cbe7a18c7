"""Building blocks shared by the TSN (2D) and I3D-Inception families, and GluonCV key mapping.

* ResNet v1b blocks (ResNet-18/34/50/101/152 with the stride on the 3x3 conv; the trunk is
  :class:`zoo.models._backbones_small.ResNet2d`) and the VGG-16 trunk.
* The Inception v1 (GoogLeNet-BN) and Inception v3 blocks, written once for 2D and 3D: each conv
  is specified by its 2D kernel/stride/padding and *inflated* when ``dim == 3`` the way GluonCV's
  I3D-Inception models do it: a ``kh x kw`` kernel becomes ``max(kh, kw) x kh x kw`` with "same"
  temporal padding and the spatial stride repeated in time (``1x7`` -> ``7x1x7``, ``3x3/2`` ->
  ``3x3x3/2`` with temporal padding 1).
* :func:`gluon_rules`, the shared part of the MXNet ``.params`` converters: it walks our
  module tree and names each parameter's GluonCV key, giving one rule of the key engine per key.
"""
from __future__ import annotations

import re
from collections import OrderedDict
from typing import Iterable, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..convert.keys import Rule

__all__ = [
    "ConvBN",
    "InceptionBlock",
    "SplitBranch",
    "inception_v1_block",
    "inception_v3_a",
    "inception_v3_b",
    "inception_v3_c",
    "inception_v3_d",
    "inception_v3_e",
    "INCEPTION_V1_MIXED",
    "inception_v3_layers",
    "V3_NAMES",
    "V3_GLUON_NAMES",
    "pool_nd",
    "vgg16_features",
    "gluon_rules",
    "fixed_avg_pool",
]

Pair = int | tuple[int, int]

# GluonCV's Inception convolutions use BatchNorm(epsilon=1e-3); MXNet's momentum 0.9 is PyTorch's 0.1.
INCEPTION_BN_EPS = 1e-3


def _pair(v: Pair) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def inflate(kernel: Pair, stride: int, padding: Pair, dim: int) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """Kernel, stride and padding of a 2D layer spec for ``dim`` (2 or 3) spatial axes.

    In 3D the temporal kernel is ``max(kh, kw)`` with padding ``kt // 2`` and stride ``stride``.
    """
    (kh, kw), (ph, pw) = _pair(kernel), _pair(padding)
    if dim == 2:
        return (kh, kw), (stride, stride), (ph, pw)
    if dim != 3:
        raise ValueError(f"dim must be 2 or 3, got {dim}")
    kt = max(kh, kw)
    return (kt, kh, kw), (stride,) * 3, (kt // 2, ph, pw)


class ConvBN(nn.Module):
    """``conv (no bias) -> BatchNorm -> ReLU`` in 2D or 3D; ``(N, C, [T,] H, W)`` in and out."""

    def __init__(self, in_channels: int, out_channels: int, kernel: Pair, stride: int = 1, padding: Pair = 0, *, dim: int = 2, eps: float = INCEPTION_BN_EPS) -> None:
        super().__init__()
        k, s, p = inflate(kernel, stride, padding, dim)
        conv = nn.Conv2d if dim == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d
        self.conv = conv(in_channels, out_channels, k, stride=s, padding=p, bias=False)
        self.bn = norm(out_channels, eps=eps, momentum=0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def pool_nd(kind: str, kernel: Pair, stride: int, padding: Pair = 0, *, dim: int = 2, ceil_mode: bool = False) -> nn.Module:
    """A max/avg pool from a 2D spec, inflated like the convs when ``dim == 3``.

    Average pools count padded zeros, as MXNet's (and PyTorch's) default does.
    """
    k, s, p = inflate(kernel, stride, padding, dim)
    if kind == "max":
        return (nn.MaxPool2d if dim == 2 else nn.MaxPool3d)(k, s, p, ceil_mode=ceil_mode)
    if kind == "avg":
        return ZeroPaddedAvgPool(k, s, p, ceil_mode=ceil_mode)
    raise ValueError(f"pool kind must be 'max' or 'avg', got {kind!r}")


class ZeroPaddedAvgPool(nn.Module):
    """Average pool over an explicitly zero-padded input (``count_include_pad=True`` semantics).

    Padding first lets a 3x3x3 window run over a 2-frame input, which MXNet allows and
    PyTorch's own padded ``avg_pool3d`` refuses (it checks the unpadded size against the kernel).
    PyTorch has no CPU ``avg_pool3d`` for bf16 or fp16: there the average is taken in float32 and cast
    back, so a model cast to bf16 runs as it does under ``torch.autocast``.
    """

    def __init__(self, kernel: tuple[int, ...], stride: tuple[int, ...], padding: tuple[int, ...], ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding, self.ceil_mode = kernel, stride, padding, ceil_mode
        # F.pad takes (last-dim left, last-dim right, ...)
        self._pad = tuple(q for p in reversed(padding) for q in (p, p))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self.padding):
            x = F.pad(x, self._pad)
        if len(self.kernel) == 2:
            return F.avg_pool2d(x, self.kernel, self.stride, 0, ceil_mode=self.ceil_mode)
        if x.device.type == "cpu" and x.dtype in (torch.bfloat16, torch.float16):
            return F.avg_pool3d(x.float(), self.kernel, self.stride, 0, ceil_mode=self.ceil_mode).to(x.dtype)
        return F.avg_pool3d(x, self.kernel, self.stride, 0, ceil_mode=self.ceil_mode)


class SplitBranch(nn.Module):
    """A branch that forks at its end: ``stem`` then two parallel convs concatenated (Inception-v3 E)."""

    def __init__(self, stem: nn.Sequential, split: Sequence[nn.Module]) -> None:
        super().__init__()
        self.stem = stem
        self.split = nn.ModuleList(split)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        return torch.cat([b(x) for b in self.split], dim=1)


class InceptionBlock(nn.Module):
    """Parallel branches whose outputs are concatenated along channels."""

    def __init__(self, branches: Iterable[nn.Module], out_channels: int) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([b(x) for b in self.branches], dim=1)


def _branch(dim: int, in_ch: int, convs: Sequence[tuple], pool: tuple | None = None) -> nn.Sequential:
    """A sequential branch: optional ``pool = (kind, k, s, p)``, then ``(out, k, s, p)`` convs."""
    layers: list[nn.Module] = []
    if pool is not None:
        kind, k, s, p = pool
        layers.append(pool_nd(kind, k, s, p, dim=dim))
    for out_ch, k, s, p in convs:
        layers.append(ConvBN(in_ch, out_ch, k, s, p, dim=dim))
        in_ch = out_ch
    return nn.Sequential(*layers)


# Inception v1 (GoogLeNet-BN) mixed blocks: in, 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5" (a 3x3
# here, as in BN-Inception), pool projection.
INCEPTION_V1_MIXED: dict[str, tuple[int, int, int, int, int, int, int]] = {
    "mixed_3a": (192, 64, 96, 128, 16, 32, 32),
    "mixed_3b": (256, 128, 128, 192, 32, 96, 64),
    "mixed_4a": (480, 192, 96, 208, 16, 48, 64),
    "mixed_4b": (512, 160, 112, 224, 24, 64, 64),
    "mixed_4c": (512, 128, 128, 256, 24, 64, 64),
    "mixed_4d": (512, 112, 144, 288, 32, 64, 64),
    "mixed_4e": (528, 256, 160, 320, 32, 128, 128),
    "mixed_5a": (832, 256, 160, 320, 32, 128, 128),
    "mixed_5b": (832, 384, 192, 384, 48, 128, 128),
}


def inception_v1_block(name: str, dim: int = 2) -> InceptionBlock:
    """Inception v1 block ``name`` (a key of :data:`INCEPTION_V1_MIXED`) in ``dim`` D."""
    c_in, c1, c3r, c3, c5r, c5, cp = INCEPTION_V1_MIXED[name]
    return InceptionBlock(
        [
            _branch(dim, c_in, [(c1, 1, 1, 0)]),
            _branch(dim, c_in, [(c3r, 1, 1, 0), (c3, 3, 1, 1)]),
            _branch(dim, c_in, [(c5r, 1, 1, 0), (c5, 3, 1, 1)]),
            _branch(dim, c_in, [(cp, 1, 1, 0)], pool=("max", 3, 1, 1)),
        ],
        c1 + c3 + c5 + cp,
    )


def inception_v3_a(in_ch: int, pool_features: int, dim: int = 2) -> InceptionBlock:
    """Inception v3 "A" block (35x35 grid): 1x1, 5x5, double 3x3, avg-pool projection."""
    return InceptionBlock(
        [
            _branch(dim, in_ch, [(64, 1, 1, 0)]),
            _branch(dim, in_ch, [(48, 1, 1, 0), (64, 5, 1, 2)]),
            _branch(dim, in_ch, [(64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 1, 1)]),
            _branch(dim, in_ch, [(pool_features, 1, 1, 0)], pool=("avg", 3, 1, 1)),
        ],
        64 + 64 + 96 + pool_features,
    )


def inception_v3_b(in_ch: int = 288, dim: int = 2) -> InceptionBlock:
    """Inception v3 grid reduction 35 -> 17."""
    return InceptionBlock(
        [
            _branch(dim, in_ch, [(384, 3, 2, 0)]),
            _branch(dim, in_ch, [(64, 1, 1, 0), (96, 3, 1, 1), (96, 3, 2, 0)]),
            _branch(dim, in_ch, [], pool=("max", 3, 2, 0)),
        ],
        384 + 96 + in_ch,
    )


def inception_v3_c(in_ch: int, c7: int, dim: int = 2) -> InceptionBlock:
    """Inception v3 "C" block (17x17 grid) with factorised 7x7 convs of width ``c7``."""
    return InceptionBlock(
        [
            _branch(dim, in_ch, [(192, 1, 1, 0)]),
            _branch(dim, in_ch, [(c7, 1, 1, 0), (c7, (1, 7), 1, (0, 3)), (192, (7, 1), 1, (3, 0))]),
            _branch(
                dim,
                in_ch,
                [(c7, 1, 1, 0), (c7, (7, 1), 1, (3, 0)), (c7, (1, 7), 1, (0, 3)), (c7, (7, 1), 1, (3, 0)), (192, (1, 7), 1, (0, 3))],
            ),
            _branch(dim, in_ch, [(192, 1, 1, 0)], pool=("avg", 3, 1, 1)),
        ],
        4 * 192,
    )


def inception_v3_d(in_ch: int = 768, dim: int = 2) -> InceptionBlock:
    """Inception v3 grid reduction 17 -> 8."""
    return InceptionBlock(
        [
            _branch(dim, in_ch, [(192, 1, 1, 0), (320, 3, 2, 0)]),
            _branch(dim, in_ch, [(192, 1, 1, 0), (192, (1, 7), 1, (0, 3)), (192, (7, 1), 1, (3, 0)), (192, 3, 2, 0)]),
            _branch(dim, in_ch, [], pool=("max", 3, 2, 0)),
        ],
        320 + 192 + in_ch,
    )


def inception_v3_e(in_ch: int, dim: int = 2) -> InceptionBlock:
    """Inception v3 "E" block (8x8 grid) with forked 1x3 / 3x1 outputs."""
    fork = lambda c: [_branch(dim, c, [(384, (1, 3), 1, (0, 1))]), _branch(dim, c, [(384, (3, 1), 1, (1, 0))])]  # noqa: E731
    return InceptionBlock(
        [
            _branch(dim, in_ch, [(320, 1, 1, 0)]),
            SplitBranch(_branch(dim, in_ch, [(384, 1, 1, 0)]), fork(384)),
            SplitBranch(_branch(dim, in_ch, [(448, 1, 1, 0), (384, 3, 1, 1)]), fork(384)),
            _branch(dim, in_ch, [(192, 1, 1, 0)], pool=("avg", 3, 1, 1)),
        ],
        320 + 768 + 768 + 192,
    )


V3_NAMES = ["conv1a", "conv2a", "conv2b", "pool1", "conv3b", "conv4a", "pool2", "mixed_5b", "mixed_5c", "mixed_5d", "mixed_6a", "mixed_6b", "mixed_6c", "mixed_6d", "mixed_6e", "mixed_7a", "mixed_7b", "mixed_7c"]


def inception_v3_layers(dim: int, stem_pools: tuple[nn.Module, nn.Module]) -> "OrderedDict[str, nn.Module]":
    """Inception v3 up to block 7c in ``dim`` D; ``stem_pools`` are the two stem max pools.

    In 3D the unpadded 3x3 stem convs get temporal padding 1 from the inflation, as in GluonCV's
    I3D-InceptionV3.
    """
    mods = [
        ConvBN(3, 32, 3, 2, 0, dim=dim),
        ConvBN(32, 32, 3, 1, 0, dim=dim),
        ConvBN(32, 64, 3, 1, 1, dim=dim),
        stem_pools[0],
        ConvBN(64, 80, 1, dim=dim),
        ConvBN(80, 192, 3, 1, 0, dim=dim),
        stem_pools[1],
        inception_v3_a(192, 32, dim),
        inception_v3_a(256, 64, dim),
        inception_v3_a(288, 64, dim),
        inception_v3_b(288, dim),
        inception_v3_c(768, 128, dim),
        inception_v3_c(768, 160, dim),
        inception_v3_c(768, 160, dim),
        inception_v3_c(768, 192, dim),
        inception_v3_d(768, dim),
        inception_v3_e(1280, dim),
        inception_v3_e(2048, dim),
    ]
    return OrderedDict(zip(V3_NAMES, mods))


#: GluonCV's ``features.N`` position of each Inception v3 layer (2D and I3D alike).
V3_GLUON_NAMES = {f"features.{n}": f"features.{i}" for i, n in enumerate(V3_NAMES) if not n.startswith("pool")}


# ---------------------------------------------------------------------------------------------
# ResNet v1b and VGG-16 (2D only)


class BasicBlockV1b(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut; ``(N, C, H, W)``."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut, inplace=True)


class BottleneckV1b(nn.Module):
    """1x1 -> 3x3 (strided: the "v1b" variant) -> 1x1 with a shortcut; ``(N, C, H, W)``.

    ``groups`` > 1 makes it ResNeXt's block: the 3x3 conv is grouped and the inner width is
    ``planes * width_per_group / 64 * groups`` (ResNeXt-101 32x4d: 128 at ``planes=64``); the
    output stays ``planes * 4``.
    """

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 groups: int = 1, width_per_group: int = 64) -> None:
        super().__init__()
        inner = planes * width_per_group // 64 * groups
        self.conv1 = nn.Conv2d(in_ch, inner, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(inner)
        self.conv2 = nn.Conv2d(inner, inner, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(inner)
        self.conv3 = nn.Conv2d(inner, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut, inplace=True)


RESNET_V1B_SPECS: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    18: (BasicBlockV1b, (2, 2, 2, 2)),
    34: (BasicBlockV1b, (3, 4, 6, 3)),
    50: (BottleneckV1b, (3, 4, 6, 3)),
    101: (BottleneckV1b, (3, 4, 23, 3)),
    152: (BottleneckV1b, (3, 8, 36, 3)),
}


def add_resnet_stages(
    module: nn.Module, block: type[nn.Module], layers: Sequence[int], widths: Sequence[int], in_ch: int,
    **block_kwargs: int,
) -> int:
    """Add ``layer1..layerK`` (v1b blocks; stride 2 from the second stage) to ``module``.

    A stage's first block gets a ``1x1 conv + BN`` shortcut when its stride or width changes;
    ``block_kwargs`` go to every block (ResNeXt: ``groups``, ``width_per_group``).
    Returns the output channels of the last stage.
    """
    for i, (planes, count) in enumerate(zip(widths, layers)):
        stride = 1 if i == 0 else 2
        blocks: list[nn.Module] = []
        for j in range(count):
            downsample = None
            if j == 0 and (stride != 1 or in_ch != planes * block.expansion):
                downsample = nn.Sequential(
                    nn.Conv2d(in_ch, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            blocks.append(block(in_ch, planes, stride if j == 0 else 1, downsample, **block_kwargs))
            in_ch = planes * block.expansion
        setattr(module, f"layer{i + 1}", nn.Sequential(*blocks))
    return in_ch


def vgg16_features() -> nn.Sequential:
    """VGG-16 convolutions: 13 ``3x3 conv (bias) + ReLU`` in 5 stages, each ending in a 2x2 max pool.

    The layout (conv, ReLU, ..., pool) follows torchvision's and GluonCV's ``features`` indices.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for count, width in zip((2, 2, 3, 3, 3), (64, 128, 256, 512, 512)):
        for _ in range(count):
            layers += [nn.Conv2d(in_ch, width, 3, 1, 1), nn.ReLU(inplace=True)]
            in_ch = width
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------------------------
# GluonCV key mapping


_BN_NAMES = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"}


def gluon_module_name(name: str, top: Mapping[str, str]) -> str:
    """GluonCV's name of our module ``name``.

    ``top`` renames a prefix of 1 or 2 dotted parts (e.g. ``features.mixed_3a`` -> ``features.5``,
    ``fc`` -> ``output``); then our container names disappear or become Gluon's positions:
    ``branches.`` is dropped (an Inception block *is* Gluon's concurrent container), a
    :class:`SplitBranch`'s ``stem``/``split`` are positions 0/1, and a :class:`ConvBN`'s
    ``conv``/``bn`` are positions 0/1 of Gluon's ``conv, BatchNorm, relu`` sequence.
    """
    parts = name.split(".")
    for n in (2, 1):
        head = ".".join(parts[:n])
        if len(parts) >= n and head in top:
            parts = ([top[head]] if top[head] else []) + parts[n:]
            break
    out = []
    for p in parts:
        if p == "branches":
            continue
        out.append({"stem": "0", "split": "1", "conv": "0", "bn": "1"}.get(p, p))
    return ".".join(out)


def gluon_rules(model: nn.Module, top: Mapping[str, str], aliases: Mapping[str, str] | None = None) -> list[Rule]:
    """Key rules from a GluonCV ``save_parameters`` state to ``model``, one per key of ours.

    Args:
        model: the target model (may live on the meta device: only names are used).
        top: module-name prefixes to rename (see :func:`gluon_module_name`).
        aliases: GluonCV keys that duplicate another GluonCV key (``head.1.weight`` -> ``output.weight``,
            written twice when a block is registered under two names); the engine checks they agree.
    """
    ours = model.state_dict()
    to_ours: dict[str, str] = {}
    for mod_name, module in model.named_modules():
        is_bn = isinstance(module, nn.modules.batchnorm._BatchNorm)
        if not (is_bn or isinstance(module, (nn.Conv2d, nn.Conv3d, nn.Linear))):
            continue
        gname = gluon_module_name(mod_name, top)
        for k in ("weight", "bias", "running_mean", "running_var"):
            if f"{mod_name}.{k}" in ours:  # conv without bias, Linear/Conv without running stats
                to_ours[f"{gname}.{_BN_NAMES[k] if is_bn else k}"] = f"{mod_name}.{k}"
    for alias, target in (aliases or {}).items():
        to_ours[alias] = to_ours[target]
    return [Rule(re.escape(gluon_key), our_key) for gluon_key, our_key in to_ours.items()]


def fixed_avg_pool(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """GluonCV's ``AvgPool(kernel)`` head, flattened to ``(N, C)``.

    At the training resolution the map is exactly ``kernel x kernel`` and this is the global
    average.  Larger maps are pooled with the fixed window as GluonCV does, then averaged over
    the remaining positions; maps smaller than the window (where MXNet would fail) are averaged.
    """
    if min(x.shape[-2:]) >= kernel:
        x = F.avg_pool2d(x, kernel)
    return x.mean(dim=(-2, -1))

