"""Clip transforms on torch tensors (CPU or any device).

Layout convention
-----------------
Input clips are **uint8, channels-last**: ``(..., T, H, W, C)``, i.e. one clip
``(T, H, W, C)`` exactly as decoders return it, or a batch ``(N, T, H, W, C)``
(what :class:`~zoo.data.VideoClassificationDataset` yields with
``transform=None``; move it to the GPU and augment there). Every leading index
is an independent clip: random transforms draw **one set of parameters per
clip**, shared by all of its frames.

Spatial transforms keep that layout. :class:`ThreeCrop` / :class:`TenCrop`
insert a view axis: ``(..., T, H, W, C) -> (..., K, T, h, w, C)``.
:class:`ToFloatTensor` ends a pipeline: ``(..., T, H, W, C)`` uint8 ->
``(..., C, T, H, W)`` float32 in ``[0, 1]``, optionally normalised.

Transforms whose ``takes_label`` is true (:class:`RandomHorizontalFlip` with a
``label_map``) are called as ``clip, label = t(clip, label)``; :class:`Compose`
handles both kinds.
"""
from __future__ import annotations

import math
import re
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

Size = Union[int, Tuple[int, int]]
Label = Union[int, torch.Tensor, None]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pair(size: Size) -> Tuple[int, int]:
    """``(height, width)`` from an int or a pair."""
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def as_clip_tensor(clip: Union[np.ndarray, torch.Tensor]) -> torch.Tensor:
    """A torch view of a numpy clip (no copy)."""
    return torch.from_numpy(np.ascontiguousarray(clip)) if isinstance(clip, np.ndarray) else clip


def _leading(clip: torch.Tensor) -> Tuple[int, ...]:
    if clip.dim() < 4:
        raise ValueError(f"expected a clip (..., T, H, W, C), got shape {tuple(clip.shape)}")
    return tuple(clip.shape[:-4])


def resize_clip(clip: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased) resize of ``(..., T, H, W, C)`` to ``size=(h, w)``; keeps the dtype.

    uint8 clips on the CPU use torch's native channels-last uint8 kernel
    (several times faster than going through float).
    """
    h, w = size
    if clip.shape[-3] == h and clip.shape[-2] == w:
        return clip
    *lead, height, width, channels = clip.shape
    x = clip.reshape(-1, height, width, channels).permute(0, 3, 1, 2)  # channels-last NCHW view
    if clip.dtype == torch.uint8 and clip.device.type == "cpu":
        y = F.interpolate(x.contiguous(memory_format=torch.channels_last), size=(h, w), mode="bilinear",
                          align_corners=False, antialias=True)
    else:
        y = F.interpolate(x.float(), size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        if clip.dtype == torch.uint8:
            y = y.round_().clamp_(0, 255).to(torch.uint8)
    return y.permute(0, 2, 3, 1).reshape(*lead, h, w, channels)


def short_side_size(height: int, width: int, short_side: int) -> Tuple[int, int]:
    """``(h, w)`` after scaling so that ``min(h, w) == short_side``."""
    if height <= width:
        return short_side, max(int(round(width * short_side / height)), 1)
    return max(int(round(height * short_side / width)), 1), short_side


def _per_clip(clip: torch.Tensor, fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """Apply ``fn`` to every ``(T, H, W, C)`` clip of ``(..., T, H, W, C)``."""
    lead = _leading(clip)
    if not lead:
        return fn(clip)
    flat = clip.reshape(-1, *clip.shape[-4:])
    out = torch.stack([fn(c) for c in flat])
    return out.reshape(*lead, *out.shape[1:])


def _crop(clip: torch.Tensor, top: int, left: int, h: int, w: int) -> torch.Tensor:
    return clip[..., top : top + h, left : left + w, :]


class Compose:
    """Chain transforms; ``compose(clip)`` or ``compose(clip, label) -> (clip, label)``."""

    takes_label = True

    def __init__(self, transforms: Sequence[Callable]) -> None:
        self.transforms = list(transforms)

    def __call__(self, clip: torch.Tensor, label: Label = None):
        with_label = label is not None
        clip = as_clip_tensor(clip)
        for t in self.transforms:
            if getattr(t, "takes_label", False):
                clip, label = t(clip, label)
            else:
                clip = t(clip)
        return (clip, label) if with_label else clip

    def __repr__(self) -> str:
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"


class _Sized:
    """A transform to ``size=(h, w)`` (an int gives a square)."""

    def __init__(self, size: Size) -> None:
        self.size = _pair(size)


class _BoxCrop(_Sized):
    """Crops one random ``crop_box(height, width) -> (top, left, h, w)`` per clip and resizes it to ``size``."""

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        def one(c: torch.Tensor) -> torch.Tensor:
            top, left, h, w = self.crop_box(c.shape[-3], c.shape[-2])
            return resize_clip(_crop(c, top, left, h, w), self.size)

        return _per_clip(as_clip_tensor(clip), one)


class Resize(_Sized):
    """Resize every frame to ``size=(h, w)`` (an int gives a square)."""

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        return resize_clip(as_clip_tensor(clip), self.size)


class ResizeShortSide:
    """Keep-aspect resize so the shorter frame side equals ``short_side``."""

    def __init__(self, short_side: int) -> None:
        self.short_side = int(short_side)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        clip = as_clip_tensor(clip)
        return resize_clip(clip, short_side_size(clip.shape[-3], clip.shape[-2], self.short_side))


class CenterCrop(_Sized):
    """Centre crop of ``size=(h, w)`` (frames smaller than that are resized up first)."""

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        clip = _ensure_at_least(as_clip_tensor(clip), self.size)
        h, w = self.size
        top = int(math.ceil((clip.shape[-3] - h) / 2.0))
        left = int(math.ceil((clip.shape[-2] - w) / 2.0))
        return _crop(clip, top, left, h, w)


def _ensure_at_least(clip: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    height, width = clip.shape[-3], clip.shape[-2]
    if height >= size[0] and width >= size[1]:
        return clip
    scale = max(size[0] / height, size[1] / width)
    return resize_clip(clip, (max(size[0], int(math.ceil(height * scale))), max(size[1], int(math.ceil(width * scale)))))


class RandomCrop(_BoxCrop):
    """Random crop of ``size=(h, w)``; one position per clip."""

    def crop_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        h, w = self.size
        return int(torch.randint(height - h + 1, (1,))), int(torch.randint(width - w + 1, (1,))), h, w

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        return super().__call__(_ensure_at_least(as_clip_tensor(clip), self.size))


class MultiScaleCrop(_BoxCrop):
    """TSN multi-scale crop: crop side ``int(short * r)`` for ``r`` in
    ``scales`` (height and width scales at most ``max_distort`` apart), at one
    of 5 (or 13 with ``more_fix_crop``) fixed positions, then resize to ``size``."""

    def __init__(self, size: Size, scales: Sequence[float] = (1.0, 0.875, 0.75, 0.66), max_distort: int = 1,
                 fix_crop: bool = True, more_fix_crop: bool = True) -> None:
        super().__init__(size)
        self.scales = tuple(scales)
        self.max_distort = max_distort
        self.fix_crop = fix_crop
        self.more_fix_crop = more_fix_crop

    def crop_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """Random ``(top, left, h, w)`` for a frame of ``height x width``."""
        base = min(height, width)
        sides = [int(base * s) for s in self.scales]
        pairs = [(ch, cw) for i, ch in enumerate(sides) for j, cw in enumerate(sides) if abs(i - j) <= self.max_distort]
        ch, cw = pairs[int(torch.randint(len(pairs), (1,)))]
        ch, cw = max(ch, 1), max(cw, 1)
        if not self.fix_crop:
            return int(torch.randint(height - ch + 1, (1,))), int(torch.randint(width - cw + 1, (1,))), ch, cw
        offsets = self._fixed_offsets(height, width, ch, cw)
        top, left = offsets[int(torch.randint(len(offsets), (1,)))]
        return top, left, ch, cw

    def _fixed_offsets(self, height: int, width: int, ch: int, cw: int) -> List[Tuple[int, int]]:
        dy, dx = (height - ch) // 4, (width - cw) // 4
        offsets = [(0, 0), (0, 4 * dx), (4 * dy, 0), (4 * dy, 4 * dx), (2 * dy, 2 * dx)]
        if self.more_fix_crop:
            offsets += [(2 * dy, 0), (2 * dy, 4 * dx), (4 * dy, 2 * dx), (0, 2 * dx),
                        (dy, dx), (dy, 3 * dx), (3 * dy, dx), (3 * dy, 3 * dx)]
        return offsets


class RandomResizedCrop(_BoxCrop):
    """Inception-style crop: random area fraction in ``scale`` and aspect ratio
    in ``ratio`` (10 tries, then a centre crop), resized to ``size``."""

    def __init__(self, size: Size, scale: Tuple[float, float] = (0.08, 1.0), ratio: Tuple[float, float] = (3 / 4, 4 / 3)) -> None:
        super().__init__(size)
        self.scale = scale
        self.ratio = ratio

    def crop_box(self, height: int, width: int) -> Tuple[int, int, int, int]:
        """Random ``(top, left, h, w)``."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * float(torch.empty(1).uniform_(*self.scale))
            aspect = math.exp(float(torch.empty(1).uniform_(*log_ratio)))
            w = int(round(math.sqrt(target * aspect)))
            h = int(round(math.sqrt(target / aspect)))
            if 0 < w <= width and 0 < h <= height:
                return int(torch.randint(height - h + 1, (1,))), int(torch.randint(width - w + 1, (1,))), h, w
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side


class ThreeCrop(_Sized):
    """Three ``size`` crops along the longer side (start, centre, end).

    ``(..., T, H, W, C) -> (..., 3, T, h, w, C)``.
    """

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        clip = _ensure_at_least(as_clip_tensor(clip), self.size)
        h, w = self.size
        height, width = clip.shape[-3], clip.shape[-2]
        if width - w >= height - h:
            top = (height - h) // 2
            boxes = [(top, 0), (top, (width - w) // 2), (top, width - w)]
        else:
            left = (width - w) // 2
            boxes = [(0, left), ((height - h) // 2, left), (height - h, left)]
        return torch.stack([_crop(clip, t, l, h, w) for t, l in boxes], dim=-5)


class TenCrop(_Sized):
    """Centre and four corner crops plus their mirrors (GluonCV order: centre,
    top-left, bottom-left, top-right, bottom-right, then the same flipped).

    ``(..., T, H, W, C) -> (..., 10, T, h, w, C)``.
    """

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        clip = _ensure_at_least(as_clip_tensor(clip), self.size)
        h, w = self.size
        height, width = clip.shape[-3], clip.shape[-2]
        boxes = [((height - h) // 2, (width - w) // 2), (0, 0), (height - h, 0), (0, width - w), (height - h, width - w)]
        crops = [_crop(clip, t, l, h, w) for t, l in boxes]
        crops += [c.flip(-2) for c in crops]
        return torch.stack(crops, dim=-5)


class RandomHorizontalFlip:
    """Mirror whole clips with probability ``p`` (one draw per clip).

    ``label_map`` maps a class index to its mirrored class (e.g. "moving left"
    <-> "moving right", see :func:`flip_label_map`); flipped clips get the
    mapped label. Call as ``clip, label = flip(clip, label)``; ``label`` is an
    int for one clip or a ``(N,)`` tensor for a batch ``(N, T, H, W, C)``.
    """

    takes_label = True

    def __init__(self, p: float = 0.5, label_map: Optional[Mapping[int, int]] = None) -> None:
        self.p = p
        self.label_map = dict(label_map or {})

    def __call__(self, clip: torch.Tensor, label: Label = None):
        clip = as_clip_tensor(clip)
        lead = _leading(clip)
        flip = torch.rand(lead or (1,)) < self.p
        if not lead:
            if bool(flip):
                clip, label = clip.flip(-2), self._map(label)
            return clip, label
        mask = flip.to(clip.device).reshape(*lead, 1, 1, 1, 1)
        clip = torch.where(mask, clip.flip(-2), clip)
        if isinstance(label, torch.Tensor) and self.label_map:
            mapped = torch.tensor([self.label_map.get(int(v), int(v)) for v in label.reshape(-1)], device=label.device)
            label = torch.where(flip.reshape(label.shape).to(label.device), mapped.reshape(label.shape), label)
        return clip, label

    def _map(self, label: Label) -> Label:
        if label is None or not self.label_map:
            return label
        if isinstance(label, torch.Tensor):
            return torch.tensor(self.label_map.get(int(label), int(label)))
        return self.label_map.get(int(label), int(label))


class ToFloatTensor:
    """``(..., T, H, W, C)`` uint8 -> ``(..., C, T, H, W)`` float32 ``/ 255``,
    then ``(x - mean) / std`` per channel when ``mean``/``std`` are given."""

    def __init__(self, mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None, scale: float = 255.0) -> None:
        self.mean = tuple(mean) if mean is not None else None
        self.std = tuple(std) if std is not None else None
        self.scale = scale

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        clip = as_clip_tensor(clip)
        moved = clip.movedim(-1, -4)
        x = torch.empty(moved.shape, dtype=torch.float32, device=clip.device)
        x.copy_(moved)  # one pass: layout change + dtype conversion
        if self.mean is None:
            return x.div_(self.scale)
        std = self.std or (1.0,) * len(self.mean)
        scale = torch.tensor([1.0 / (self.scale * s) for s in std], device=clip.device).reshape(-1, 1, 1, 1)
        shift = torch.tensor([m / s for m, s in zip(self.mean, std)], device=clip.device).reshape(-1, 1, 1, 1)
        return x.mul_(scale).sub_(shift)


class Normalize:
    """``(x - mean) / std`` on float ``(..., C, T, H, W)``."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        self.mean = tuple(mean)
        self.std = tuple(std)

    def __call__(self, clip: torch.Tensor) -> torch.Tensor:
        shape = (-1, 1, 1, 1)
        mean = torch.tensor(self.mean, dtype=clip.dtype, device=clip.device).reshape(shape)
        std = torch.tensor(self.std, dtype=clip.dtype, device=clip.device).reshape(shape)
        return (clip - mean) / std


DEFAULT_FLIP_SWAPS: Tuple[Tuple[str, str], ...] = (("left", "right"), ("clockwise", "anticlockwise"),
                                                   ("clockwise", "counterclockwise"))


def flip_label_map(class_names: Sequence[str], swaps: Iterable[Tuple[str, str]] = DEFAULT_FLIP_SWAPS) -> Dict[int, int]:
    """Class index -> index of its mirror image under a horizontal flip.

    Words (split on non-letters) in ``swaps`` are exchanged, e.g.
    ``"Pushing something from left to right"`` <->
    ``"Pushing something from right to left"``; classes without a mirrored
    counterpart are left out (they keep their label).
    """
    partners: Dict[str, List[str]] = {}
    for a, b in swaps:
        partners.setdefault(a.lower(), []).append(b.lower())
        partners.setdefault(b.lower(), []).append(a.lower())
    index = {name.lower(): i for i, name in enumerate(class_names)}
    mapping: Dict[int, int] = {}
    for i, name in enumerate(class_names):
        for candidate in _mirrored_names(name.lower(), partners):
            if candidate in index and index[candidate] != i:
                mapping[i] = index[candidate]
                break
    return mapping


def _mirrored_names(name: str, partners: Dict[str, List[str]]) -> List[str]:
    parts = re.split(r"([^a-z]+)", name)
    options = [partners.get(p, []) for p in parts]
    if not any(options):
        return []
    max_options = max(len(o) for o in options)
    names = []
    for choice in range(max_options):
        swapped = [o[min(choice, len(o) - 1)] if o else p for p, o in zip(parts, options)]
        names.append("".join(swapped))
    return names


def train_transforms(size: Size = 224, short_side: Optional[int] = None, kind: str = "multiscale", flip: bool = True,
                     flip_map: Optional[Mapping[int, int]] = None, mean: Optional[Sequence[float]] = IMAGENET_MEAN,
                     std: Optional[Sequence[float]] = IMAGENET_STD, output: str = "float") -> Compose:
    """Training pipeline: [short-side resize] -> crop (``"multiscale"`` TSN,
    ``"random_resized"`` or ``"random"``) -> flip -> ``(C, T, H, W)`` float.

    ``output="uint8"`` stops before the float conversion: the loader then
    yields uint8 ``(N, T, h, w, C)`` batches (4x fewer bytes between worker
    processes) and the training loop normalises on its device with
    ``ToFloatTensor(mean, std)(batch.to(device))`` -> ``(N, C, T, h, w)``.
    This is the fastest layout (see ``scripts/benchmark_data.py``).
    """
    crops = {"multiscale": MultiScaleCrop, "random_resized": RandomResizedCrop, "random": RandomCrop}
    if kind not in crops:
        raise ValueError(f"unknown crop kind {kind!r}; choose one of {sorted(crops)}")
    steps: List[Callable] = [ResizeShortSide(short_side)] if short_side else []
    steps.append(crops[kind](size))
    if flip:
        steps.append(RandomHorizontalFlip(0.5, flip_map))
    return Compose(steps + _finish(output, mean, std))


def _finish(output: str, mean: Optional[Sequence[float]], std: Optional[Sequence[float]]) -> List[Callable]:
    if output not in ("float", "uint8"):
        raise ValueError(f"output must be 'float' or 'uint8', got {output!r}")
    return [ToFloatTensor(mean, std)] if output == "float" else []


def eval_transforms(size: Size = 224, short_side: Optional[int] = None, num_crops: int = 1,
                    mean: Optional[Sequence[float]] = IMAGENET_MEAN, std: Optional[Sequence[float]] = IMAGENET_STD,
                    output: str = "float") -> Compose:
    """Validation/test pipeline: [short-side resize] -> centre crop
    (``num_crops=1``), three-crop (3) or ten-crop (10) -> float.

    Output ``(C, T, h, w)`` or, with several crops, ``(K, C, T, h, w)``;
    ``output="uint8"``: ``(T, h, w, C)`` / ``(K, T, h, w, C)`` (see :func:`train_transforms`).
    """
    crop = {1: CenterCrop, 3: ThreeCrop, 10: TenCrop}.get(num_crops)
    if crop is None:
        raise ValueError(f"num_crops must be 1, 3 or 10, got {num_crops}")
    steps: List[Callable] = [ResizeShortSide(short_side)] if short_side else []
    return Compose(steps + [crop(size)] + _finish(output, mean, std))
