"""Read stored flow images as stacks, and a two-stream (RGB + flow) dataset.

Flow images (see :mod:`zoo.flow.extract`) are read with :class:`zoo.data.VideoReader`'s
``frames`` backend and mapped back from ``[0, 255]`` to ``[-1, 1]`` (flow / bound).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..data.lists import parse_list_file
from ..data.readers import VideoReader
from ..data.sampling import tsn_starts
from .extract import DONE_FILE, flow_folder

PathLike = Union[str, os.PathLike]

__all__ = ["FlowStackReader", "FlowClipDataset", "flow_tensor", "resize_clip"]


class FlowStackReader:
    """Flow images of one video (``flow_x_%05d.<ext>`` / ``flow_y_%05d.<ext>``, 1-based).

    ``len(reader)`` is the number of flow fields; indices are 0-based.  The image extension is
    taken from ``flow_done.json`` when present, else ``ext``.
    """

    def __init__(self, folder: PathLike, ext: Optional[str] = None, start_index: int = 1) -> None:
        self.folder = Path(folder)
        marker = self.folder / DONE_FILE
        if ext is None:
            ext = json.loads(marker.read_text()).get("ext", "jpg") if marker.is_file() else "jpg"
        self._x = VideoReader(self.folder, backend="frames", name_pattern=f"flow_x_%05d.{ext}", start_index=start_index)
        self._y = VideoReader(self.folder, backend="frames", name_pattern=f"flow_y_%05d.{ext}", start_index=start_index)
        if len(self._x) != len(self._y):
            raise ValueError(f"{self.folder}: {len(self._x)} flow_x but {len(self._y)} flow_y images")

    def __len__(self) -> int:
        return len(self._x)

    def read(self, indices: Sequence[int]) -> np.ndarray:
        """uint8 ``(L, H, W, 2)`` flow images at 0-based ``indices`` (clamped to the video)."""
        x = self._x.get_batch(list(indices))[..., 0]
        y = self._y.get_batch(list(indices))[..., 0]
        return np.stack([x, y], axis=-1)

    def clip(self, indices: Sequence[int]) -> torch.Tensor:
        """Float ``(2, L, H, W)`` in ``[-1, 1]`` (channel 0 = x, 1 = y): the two-stream models' layout."""
        return flow_tensor(self.read(indices))

    def stack(self, start: int, length: int) -> torch.Tensor:
        """``(2L, H, W)`` stack of ``length`` consecutive fields from ``start``: ``x0, y0, x1, y1, ...``."""
        c = self.clip(range(start, start + length))
        return c.permute(1, 0, 2, 3).reshape(2 * length, *c.shape[-2:])


def flow_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 flow images ``(L, H, W, 2)`` -> float ``(2, L, H, W)`` in ``[-1, 1]`` (flow / bound)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(3, 0, 1, 2).float() / 127.5 - 1.0


def resize_clip(clip: torch.Tensor, size: Optional[int]) -> torch.Tensor:
    """``(C, T, H, W)`` -> ``(C, T, size, size)`` (bilinear); unchanged when ``size`` is None."""
    if size is None or clip.shape[-2:] == (size, size):
        return clip
    return F.interpolate(clip, size=(size, size), mode="bilinear", align_corners=False)


class FlowClipDataset(Dataset):
    """Samples for :class:`zoo.models.two_stream.TwoStream`: ``((rgb, flow), label)``.

    Per segment (``num_segments`` TSN segments over the video's flow fields), ``flow_len``
    consecutive flow fields and the RGB frame in the middle of them::

        rgb:  (3, S, size, size)      float, normalised with mean/std
        flow: (2, S * L, size, size)  float in [-1, 1]

    With ``modalities=("flow",)`` a sample is ``(flow, label)``; with ``("rgb",)`` ``(rgb, label)``.

    Args:
        list_file: the videos' list file (any format of :func:`zoo.data.lists.parse_list_file`).
        flow_root: where :func:`zoo.flow.extract.extract_flow` wrote the flow.
        root: prefix of the list's video paths (default: the list's folder).
        mode: ``"train"`` (random position in each segment) or ``"val"``/``"test"`` (centred).
        size: resize both modalities to ``size x size`` (no crops or flips: flipping flow would
            also need its x component negated).
    """

    def __init__(self, list_file: PathLike, flow_root: PathLike, root: Optional[PathLike] = None, flow_len: int = 10,
                 num_segments: int = 1, mode: str = "train", modalities: Sequence[str] = ("rgb", "flow"),
                 size: Optional[int] = None, mean: Sequence[float] = (0.485, 0.456, 0.406),
                 std: Sequence[float] = (0.229, 0.224, 0.225)) -> None:
        self.list_file = Path(list_file)
        self.root = Path(root) if root is not None else self.list_file.parent
        self.flow_root = Path(flow_root)
        self.records = parse_list_file(self.list_file)
        self.flow_len, self.num_segments, self.mode = flow_len, num_segments, mode
        self.modalities = tuple(modalities)
        self.size = size
        self.mean = torch.tensor(mean).view(3, 1, 1, 1)
        self.std = torch.tensor(std).view(3, 1, 1, 1)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def labels(self) -> List[int]:
        return [r.label for r in self.records]

    def __getitem__(self, index: int) -> Tuple[object, int]:
        record = self.records[index]
        flow = FlowStackReader(flow_folder(self.flow_root, record.path))
        starts = tsn_starts(len(flow), self.num_segments, self.flow_len, self.mode)
        out = {}
        if "flow" in self.modalities:
            indices = [s + i for s in starts for i in range(self.flow_len)]
            out["flow"] = resize_clip(flow.clip(indices), self.size)
        if "rgb" in self.modalities:
            with VideoReader(self.root / record.path) as reader:
                frames = reader.get_batch([s + self.flow_len // 2 for s in starts])
            rgb = torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 255.0
            out["rgb"] = (resize_clip(rgb, self.size) - self.mean) / self.std
        sample = tuple(out[m] for m in self.modalities)
        return (sample if len(sample) > 1 else sample[0]), record.label
