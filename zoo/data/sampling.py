"""Frame-index sampling (all indices are 0-based, into ``[0, num_frames)``).

Strategies (``sampling=`` of :class:`~zoo.data.VideoClassificationDataset`):

* ``"tsn"``: the video is cut into ``num_segments`` equal chunks and one clip
  of ``new_length`` frames (stride ``new_step``) is taken per chunk: a random
  start inside each chunk for training, the chunk centre otherwise (GluonCV
  ``VideoClsCustom`` semantics).
* ``"dense"``: one clip with a random start (training) or centred start
  (validation); the test mode spreads ``num_clips`` clips uniformly.
* ``"uniform"``: ``new_length`` frames spread evenly over the whole video
  (random jitter inside each slot for training, slot centres otherwise).

Clips that run past the end repeat the last frame (``short_video="pad"``, the
GluonCV behaviour) or wrap around to the start (``short_video="loop"``).
Randomness comes from ``torch``'s global generator, so DataLoader workers get
distinct, reproducible streams.
"""
from __future__ import annotations

from typing import List, Sequence, Tuple

import numpy as np
import torch

MODES = ("train", "val", "test")
STRATEGIES = ("tsn", "dense", "uniform")


def _randint(high: int) -> int:
    """Uniform integer in ``[0, high)`` from torch's global generator."""
    return int(torch.randint(high, (1,)).item()) if high > 1 else 0


def tsn_starts(num_frames: int, num_segments: int, skip_length: int, mode: str) -> List[int]:
    """Start frame of the clip in each TSN segment.

    Args:
        num_frames: frames in the video (or the usable range).
        num_segments: number of equal chunks.
        skip_length: frames a clip spans (``new_length * new_step``).
        mode: ``"train"`` (random inside each chunk), ``"val"``/``"test"`` (centres).
    """
    if mode == "train":
        average = (num_frames - skip_length + 1) // num_segments
        if average > 0:
            return [seg * average + _randint(average) for seg in range(num_segments)]
        if num_frames > max(num_segments, skip_length):
            picks = torch.randint(num_frames - skip_length + 1, (num_segments,)).tolist()
            return sorted(int(p) for p in picks)
        return [0] * num_segments
    limit = num_segments + skip_length - 1 if mode == "val" else skip_length - 1
    if num_frames > limit:
        tick = (num_frames - skip_length + 1) / float(num_segments)
        return [int(tick / 2.0 + tick * seg) for seg in range(num_segments)]
    return [0] * num_segments


def dense_starts(num_frames: int, skip_length: int, mode: str, num_clips: int = 1) -> List[int]:
    """Clip starts for dense sampling: random (train), centred (val) or
    ``num_clips`` evenly spaced clips (test)."""
    room = max(num_frames - skip_length, 0)
    if mode == "train":
        return [_randint(room + 1) for _ in range(num_clips)]
    if mode == "val" or num_clips == 1:
        return [room // 2] * num_clips
    return [int(round(room * k / (num_clips - 1))) for k in range(num_clips)]


def uniform_indices(num_frames: int, count: int, mode: str) -> List[int]:
    """``count`` frames spread evenly over the video (jittered when training)."""
    slot = num_frames / float(count)
    if mode == "train":
        return [min(int(slot * k + float(torch.rand(1)) * slot), num_frames - 1) for k in range(count)]
    return [min(int(slot * (k + 0.5)), num_frames - 1) for k in range(count)]


def clip_indices(start: int, new_length: int, new_step: int, num_frames: int, temporal_jitter: bool = False,
                 short_video: str = "pad") -> List[int]:
    """Frame indices of one clip starting at ``start``.

    ``temporal_jitter`` adds an independent offset in ``[0, new_step)`` to each
    frame. Past the end: ``"pad"`` repeats the last frame, ``"loop"`` wraps.
    """
    offsets = np.arange(new_length) * new_step + start
    if temporal_jitter and new_step > 1:
        offsets = offsets + torch.randint(new_step, (new_length,)).numpy()
    if short_video == "loop":
        return [int(i) % num_frames for i in offsets]
    if short_video != "pad":
        raise ValueError(f"short_video must be 'pad' or 'loop', got {short_video!r}")
    return [int(min(i, num_frames - 1)) for i in offsets]


def slowfast_positions(new_length: int, slow_stride: int, fast_stride: int) -> Tuple[List[int], List[int]]:
    """Positions (0-based, inside a ``new_length`` window) of the fast and slow
    pathway frames, GluonCV style: 1-based position ``i`` is fast when
    ``i % fast_stride == 0`` and slow when also ``i % slow_stride == 0``.

    Returns:
        ``(fast_positions, slow_positions)``; the concatenated layout is fast then slow.
    """
    if slow_stride % fast_stride != 0:
        raise ValueError(f"slow_temporal_stride ({slow_stride}) must be a multiple of fast_temporal_stride ({fast_stride})")
    fast = [i - 1 for i in range(1, new_length + 1) if i % fast_stride == 0]
    slow = [i - 1 for i in range(1, new_length + 1) if i % fast_stride == 0 and i % slow_stride == 0]
    if not fast or not slow:
        raise ValueError(f"new_length={new_length} is too short for strides slow={slow_stride}, fast={fast_stride}")
    return fast, slow


def sample_clips(num_frames: int, *, strategy: str, mode: str, new_length: int, new_step: int, num_segments: int = 1,
                 num_clips: int = 1, temporal_jitter: bool = False, short_video: str = "pad",
                 positions: Sequence[int] | None = None) -> List[List[int]]:
    """Frame indices for every clip of one sample.

    Returns:
        ``num_segments * num_clips`` lists (segment-major) of clip frame
        indices; each list has ``new_length`` entries, or ``len(positions)``
        when ``positions`` picks frames inside the window (SlowFast).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown sampling {strategy!r}; choose one of {STRATEGIES}")
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {MODES}")
    num_frames = max(int(num_frames), 1)
    if strategy == "uniform":
        frames = uniform_indices(num_frames, new_length, mode)
        return [frames for _ in range(num_segments * num_clips)]
    skip_length = new_length * new_step
    clips = []
    for seg_start in tsn_starts(num_frames, num_segments, skip_length, mode) if strategy == "tsn" else [0]:
        if strategy == "tsn":
            starts = [seg_start] if num_clips == 1 else _spread(seg_start, num_frames, num_segments, skip_length, num_clips)
        else:
            starts = dense_starts(num_frames, skip_length, mode, num_clips)
        for start in starts:
            window = clip_indices(start, new_length, new_step, num_frames, temporal_jitter, short_video)
            clips.append([window[p] for p in positions] if positions is not None else window)
    return clips


def _spread(seg_start: int, num_frames: int, num_segments: int, skip_length: int, num_clips: int) -> List[int]:
    """``num_clips`` evenly spaced starts inside the segment beginning near ``seg_start``."""
    seg_len = max(num_frames // num_segments, 1)
    base = (seg_start // seg_len) * seg_len
    room = max(seg_len - skip_length, 0)
    return [base + int(round(room * k / (num_clips - 1))) for k in range(num_clips)]
