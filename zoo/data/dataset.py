"""Map-style video classification dataset (GluonCV ``VideoClsCustom`` options).

Output of ``dataset[i]`` is ``(clip, label)`` with ``label`` an ``int``
(-1 for unlabelled test lists) and ``clip``:

* with a float transform (ending in :class:`~zoo.data.transforms.ToFloatTensor`):
  ``(C, T, H, W)`` float32 when there is one view, else ``(V, C, T, H, W)``
  with ``V = num_segments * num_clips * num_crops`` ordered segment/clip-major,
  crop-minor (``v = clip * num_crops + crop``). A model averages the scores
  of the ``V`` views (``logits.view(N, V, -1).mean(1)``).
* with ``transform=None``: raw uint8 ``(T, H, W, C)`` (or ``(V, T, H, W, C)``)
  so a batch can be augmented on the GPU with the same transforms.
* ``T = clip_len``; SlowFast ``slowfast_output="concat"``: ``T = T_fast +
  T_slow``, fast frames first then slow frames (GluonCV MXNet SlowFast
  layout); ``slowfast_output="pair"``: ``clip`` is ``[slow, fast]`` (two
  tensors, PySlowFast order).

Bad samples: ``on_error="raise"`` raises :class:`~zoo.data.VideoDecodeError`
naming the file. ``on_error="skip"`` logs each bad file once, replaces the
sample with another one and flags the file in a shared-memory tensor, so
``dataset.num_bad`` and ``dataset.bad_files`` read in the main process count
failures seen by **all DataLoader workers** (fork or spawn). A training script
reports ``train_set.num_bad`` / ``train_set.bad_files`` after each epoch.
Replacing is for training only: evaluation must not count another video in
a bad one's place, so :func:`zoo.engine.data.eval_loader` reads samples with
:meth:`load_sample` and leaves a bad video out of every metric, listed.

Videos shorter than a clip are padded with their last frame
(``short_video="pad"``, GluonCV behaviour) or looped (``short_video="loop"``);
they never raise.
"""
from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import torch
from torch.utils.data import Dataset

from .errors import VideoDecodeError
from .lists import VideoRecord, class_names_for, parse_list_file, scan_class_folders
from .readers import VideoReader
from .sampling import sample_clips, slowfast_positions

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]


def _deprecated_alias(old: str, old_value: Optional[int], new: str, new_value: int) -> int:
    """The value of a renamed argument: ``old_value`` (with a warning) when the old name was given."""
    if old_value is None:
        return new_value
    warnings.warn(f"VideoClassificationDataset({old}=...) is deprecated, use {new}=... (the model card's name)",
                  FutureWarning, stacklevel=3)
    return old_value


class VideoClassificationDataset(Dataset):
    """Video clips and labels from a list file or a ``root/<class>/<video>`` tree.

    Args:
        list_file: list file (formats in :mod:`zoo.data.lists`); ``None`` scans
            ``root`` for class folders, and so does a folder given here (it becomes the root).
        root: prefix of the list paths (default: the list file's folder).
        classes: class names (list or file, one per line); default: a
            ``classes.txt`` beside the list file, or the folder names.
        list_format: ``"auto"``, ``"gluoncv"``, ``"range"`` or ``"csv"``.
        mode: ``"train"`` (random sampling), ``"val"`` (centred) or ``"test"``
            (deterministic multi-view).
        sampling: ``"tsn"``, ``"dense"`` or ``"uniform"`` (see :mod:`zoo.data.sampling`).
        clip_len, frame_step: frames per clip and the stride between them (the names of
            :class:`~zoo.registry.InputSpec`; GluonCV's ``new_length`` / ``new_step`` still work, deprecated).
        num_segments: TSN segments (one clip per segment).
        num_clips: temporal clips per video (test-time multi-view).
        num_crops: spatial crops made by ``transform`` (1, 3 or 10); checked.
        temporal_jitter: random per-frame offset in ``[0, frame_step)``.
        slowfast, slow_temporal_stride, fast_temporal_stride, slowfast_output:
            SlowFast sampling inside a ``clip_len`` window (``"concat"`` or ``"pair"``).
        video_ext: appended to list paths that have no extension and do not exist as is.
        name_pattern, frames_start_index: frame-folder file names.
        backend: reader backend (``"auto"``, ``"decord"``, ``"pyav"``, ``"frames"``).
        decode_width, decode_height, decode_short_side: resize while decoding (memory then
            follows the model's input size, not the source resolution).
        timeout: seconds one video may take to decode before it is a
            :class:`~zoo.data.VideoDecodeError` naming it (``None``: no limit).
        transform: callable on ``(T, H, W, C)`` uint8 tensors (all clips of a
            sample are folded into ``T`` so they share random parameters).
        on_error: ``"raise"`` or ``"skip"``.
        max_retries: replacement samples tried per bad sample with ``"skip"``.
        short_video: ``"pad"`` or ``"loop"``.
        num_classes: class count for label checks when no names are given.
    """

    def __init__(self, list_file: Optional[PathLike] = None, root: Optional[PathLike] = None, *,
                 classes: Union[None, PathLike, Sequence[str]] = None, list_format: str = "auto", mode: str = "train",
                 sampling: str = "tsn", clip_len: int = 1, frame_step: int = 1, num_segments: int = 1,
                 num_clips: int = 1, num_crops: int = 1, temporal_jitter: bool = False, slowfast: bool = False,
                 slow_temporal_stride: int = 16, fast_temporal_stride: int = 2, slowfast_output: str = "concat",
                 video_ext: str = "mp4", name_pattern: str = "img_%05d.jpg", frames_start_index: int = 1,
                 backend: str = "auto", decode_width: Optional[int] = None, decode_height: Optional[int] = None,
                 decode_short_side: Optional[int] = None, transform: Optional[Callable] = None, on_error: str = "raise",
                 max_retries: int = 10, short_video: str = "pad", num_classes: Optional[int] = None,
                 timeout: Optional[float] = None, new_length: Optional[int] = None,
                 new_step: Optional[int] = None) -> None:
        clip_len = _deprecated_alias("new_length", new_length, "clip_len", clip_len)
        frame_step = _deprecated_alias("new_step", new_step, "frame_step", frame_step)
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        if slowfast and (temporal_jitter or frame_step != 1):
            raise ValueError("slowfast sampling needs temporal_jitter=False and frame_step=1 (as in GluonCV)")
        if slowfast_output not in ("concat", "pair"):
            raise ValueError(f"slowfast_output must be 'concat' or 'pair', got {slowfast_output!r}")
        if num_crops not in (1, 3, 10):
            raise ValueError(f"num_crops must be 1, 3 or 10, got {num_crops}")
        if num_crops > 1 and transform is None:
            raise ValueError("num_crops > 1 needs a cropping transform, e.g. eval_transforms(size, num_crops=3)")
        if list_file is not None and Path(list_file).is_dir():
            root, list_file = list_file, None  # a folder-per-class dataset passed where a list was expected
        self.list_file = Path(list_file) if list_file is not None else None
        self.root = Path(root) if root is not None else (self.list_file.parent if self.list_file else Path("."))
        self.classes, self.records = self._load(classes, list_format, num_classes)
        self.mode, self.sampling = mode, sampling
        self.clip_len, self.frame_step = clip_len, frame_step
        self.num_segments, self.num_clips, self.num_crops = num_segments, num_clips, num_crops
        self.temporal_jitter, self.short_video = temporal_jitter, short_video
        self.slowfast, self.slowfast_output = slowfast, slowfast_output
        self.fast_positions: Optional[List[int]] = None
        self.slow_positions: Optional[List[int]] = None
        if slowfast:
            self.fast_positions, self.slow_positions = slowfast_positions(clip_len, slow_temporal_stride, fast_temporal_stride)
        self.video_ext, self.name_pattern, self.frames_start_index = video_ext, name_pattern, frames_start_index
        self.backend = backend
        self.decode_size = dict(width=decode_width, height=decode_height, short_side=decode_short_side)
        self.timeout = timeout
        self.transform = transform
        self.on_error, self.max_retries = on_error, max_retries
        # one byte per sample, in shared memory: survives DataLoader workers
        self._bad_flags = torch.zeros(len(self.records), dtype=torch.uint8).share_memory_()

    # ------------------------------------------------------------------ setup
    def _load(self, classes: Any, list_format: str, num_classes: Optional[int]) -> Tuple[List[str], List[VideoRecord]]:
        names = class_names_for(classes, self.list_file)
        if self.list_file is None:
            records, folder_classes = scan_class_folders(self.root)
            return names or folder_classes, records
        records = parse_list_file(self.list_file, list_format, names, num_classes if names is None else len(names))
        if names is None:
            count = num_classes or (max(r.label for r in records) + 1)
            names = [str(i) for i in range(count)]
        return names, records

    # ------------------------------------------------------------- properties
    def __len__(self) -> int:
        return len(self.records)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def labels(self) -> List[int]:
        """Label of every sample (for samplers / class balancing)."""
        return [r.label for r in self.records]

    @property
    def num_bad(self) -> int:
        """Distinct bad samples met so far, in any process (``on_error="skip"``)."""
        return int(self._bad_flags.sum())

    @property
    def bad_files(self) -> List[str]:
        """Paths of the bad samples met so far, in any process."""
        return [str(self.video_path(int(i))) for i in torch.nonzero(self._bad_flags).flatten()]

    def video_path(self, index: int) -> Path:
        """File or frame folder of sample ``index`` (``video_ext`` added if needed)."""
        path = self.root / self.records[index].path
        if not path.exists() and not path.suffix and self.video_ext:
            candidate = path.with_name(f"{path.name}.{self.video_ext.lstrip('.')}")
            if candidate.exists() or not path.exists():
                return candidate
        return path

    # ---------------------------------------------------------------- access
    def __getitem__(self, index: int) -> Tuple[Any, int]:
        if self.on_error == "raise":
            return self.load_sample(index)
        tried = [index]
        for attempt in range(self.max_retries + 1):
            try:
                return self.load_sample(tried[-1])
            except VideoDecodeError as error:
                self._mark_bad(tried[-1], error)
                tried.append(self._replacement(index, attempt + 1))
        raise VideoDecodeError(
            f"{self.max_retries + 1} samples in a row could not be decoded (first: {self.video_path(index)}); "
            "check the dataset with `python -m zoo.data.check_videos`", path=str(self.video_path(index)))

    def _replacement(self, index: int, attempt: int) -> int:
        n = len(self.records)
        for step in range(attempt, attempt + n):
            candidate = (index + step * 7919) % n
            if not self._bad_flags[candidate]:
                return candidate
        return (index + attempt) % n

    def _mark_bad(self, index: int, error: Exception) -> None:
        if not self._bad_flags[index]:
            self._bad_flags[index] = 1
            logger.warning("skipping bad sample %d: %s", index, error)

    def load_sample(self, index: int) -> Tuple[Any, int]:
        """Decode, sample and transform sample ``index`` (no error handling)."""
        record = self.records[index]
        path = self.video_path(index)
        with VideoReader(path, self.backend, name_pattern=self.name_pattern, start_index=self.frames_start_index,
                         timeout=self.timeout, **self.decode_size) as reader:
            frames, clip_len = self._read_frames(reader, record)
        clip = torch.from_numpy(frames)
        label = record.label
        if self.transform is not None:
            if getattr(self.transform, "takes_label", False):
                clip, label = self.transform(clip, label)
            else:
                clip = self.transform(clip)
        return self._arrange(clip, clip_len), int(label)

    def _read_frames(self, reader: VideoReader, record: VideoRecord):
        """``(S * T, H, W, C)`` uint8 frames of all clips, and ``T``."""
        total = len(reader)
        start = min(record.start, total - 1)
        end = min(record.end if record.end is not None else total - 1, total - 1)
        positions = self.fast_positions + self.slow_positions if self.slowfast else None
        clips = sample_clips(end - start + 1, strategy=self.sampling, mode=self.mode, new_length=self.clip_len,
                             new_step=self.frame_step, num_segments=self.num_segments, num_clips=self.num_clips,
                             temporal_jitter=self.temporal_jitter, short_video=self.short_video, positions=positions)
        flat = [start + i for clip in clips for i in clip]
        return reader.get_batch(flat), len(clips[0])

    def _arrange(self, clip: torch.Tensor, clip_len: int) -> Any:
        """Unfold the ``S`` clips folded into T (see the module docstring for shapes).

        Input: ``([K,] S*T, H, W, C)`` uint8 or ``([K,] C, S*T, H, W)`` float.
        """
        channels_last = clip.dtype == torch.uint8
        crops = 1
        for size in clip.shape[:-4]:
            crops *= int(size)
        if crops != self.num_crops:
            raise ValueError(f"transform produced {crops} crops per clip but num_crops={self.num_crops}")
        x = clip.reshape(crops, *clip.shape[-4:])
        if channels_last:
            k, total, h, w, c = x.shape
            x = x.reshape(k, total // clip_len, clip_len, h, w, c).permute(1, 0, 2, 3, 4, 5)
            x, t_dim = x.reshape(-1, clip_len, h, w, c), 1
        else:
            k, c, total, h, w = x.shape
            x = x.reshape(k, c, total // clip_len, clip_len, h, w).permute(2, 0, 1, 3, 4, 5)
            x, t_dim = x.reshape(-1, c, clip_len, h, w), 2
        if self.slowfast and self.slowfast_output == "pair":
            fast_len = len(self.fast_positions or [])
            fast, slow = x.narrow(t_dim, 0, fast_len), x.narrow(t_dim, fast_len, clip_len - fast_len)
            return [self._squeeze(slow), self._squeeze(fast)]
        return self._squeeze(x)

    @staticmethod
    def _squeeze(x: torch.Tensor) -> torch.Tensor:
        return x[0].contiguous() if x.shape[0] == 1 else x.contiguous()

    def __repr__(self) -> str:
        return (f"VideoClassificationDataset({len(self)} samples, {self.num_classes} classes, mode={self.mode!r}, "
                f"sampling={self.sampling!r}, clip_len={self.clip_len}, frame_step={self.frame_step}, "
                f"num_segments={self.num_segments})")
