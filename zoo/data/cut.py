"""Cut annotated segments of long videos into clips, with class and list files.

One clip per :class:`~zoo.data.annotations.Segment`, exact to the frame: a clip's first frame is
the frame on screen at the segment's start time, its last the frame on screen at its end time
(the last frame whose timestamp is at most that time). Optionally "no action" clips come from the
unannotated spans, at least ``min_gap`` seconds from any segment. The split into train and
validation goes *by source video*: no video gives clips to both.

Written under ``out_dir``::

    clips/<video stem>/<stem>_<start ms>_<end ms>_<label>.mp4
    classes.txt            one class name per line (index = label)
    train.txt  val.txt     GluonCV lists "clips/... num_frames label"

A rerun skips the clips already cut (a clip is written under a temporary name and renamed once
complete) and decodes only the videos that still miss clips.

CLI: ``zoo cut ANNOTATIONS --videos DIR --out DIR [--labels FILE --negatives N ...]``.
"""
from __future__ import annotations

import logging
import math
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

from .annotations import TIME_TOLERANCE, Segment, find_video, video_duration
from .errors import ListFileError, VideoDecodeError
from .lists import write_list_file
from .writers import VideoWriter

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
NO_ACTION = "no_action"


class CutSplits(NamedTuple):
    """Paths written by :func:`cut_clips` (unpacks as a 3-tuple) and how many clips were cut."""

    train_list: Path
    val_list: Path
    classes_file: Path
    cut: int = 0
    skipped: int = 0


@dataclass(frozen=True)
class _Clip:
    segment: Segment
    path: Path
    relative: str
    label: int


def negative_segments(
    segments: Sequence[Segment],
    durations: Dict[str, float],
    per_video: int,
    length: float,
    min_gap: float = 1.0,
    label: str = NO_ACTION,
    seed: int = 0,
) -> List[Segment]:
    """Up to ``per_video`` "no action" segments of ``length`` seconds per video, none closer than
    ``min_gap`` seconds to an annotated segment nor overlapping another.

    The free spans (the video minus every segment widened by ``min_gap``) are tiled with slots of
    ``length`` seconds; ``per_video`` slots are drawn at random (``seed``).
    """
    if length <= 0:
        raise ValueError(f"negative clips need a length > 0 seconds, got {length}")
    out = []
    for index, video in enumerate(sorted(durations)):
        busy = sorted((s.start - min_gap, s.end + min_gap) for s in segments if s.video == video)
        slots, cursor = [], 0.0
        for start, end in [*busy, (durations[video], math.inf)]:
            free_end = min(start, durations[video])
            count = int((free_end - cursor + TIME_TOLERANCE) // length)
            slots += [cursor + i * length for i in range(count)]
            cursor = max(cursor, end)
        rng = random.Random(f"{seed}:{index}:{video}")
        for start in sorted(rng.sample(slots, min(per_video, len(slots)))):
            # the last frame is the one on screen just before the slot ends
            out.append(Segment(video, round(start, 3), round(start + length - 2 * TIME_TOLERANCE, 3), label))
        if len(slots) < per_video:
            logger.debug("%s: room for %d of %d no-action clips of %.2f s", video, len(slots), per_video, length)
    return out


def split_by_video(videos: Sequence[str], val_fraction: float, seed: int = 0) -> Tuple[List[str], List[str]]:
    """``(train videos, val videos)``: a random ``val_fraction`` of the videos (at least one when
    there are two or more and the fraction is > 0) for validation; no video in both."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    ordered = sorted(set(videos))
    random.Random(seed).shuffle(ordered)
    count = round(val_fraction * len(ordered))
    if val_fraction > 0 and len(ordered) >= 2:
        count = min(max(count, 1), len(ordered) - 1)
    return sorted(ordered[count:]), sorted(ordered[:count])


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def clip_name(segment: Segment) -> str:
    """``<video stem>/<stem>_<start ms>_<end ms>_<label>.mp4`` (file-system safe)."""
    stem = _safe(Path(segment.video).stem)
    ms = f"{round(segment.start * 1000):08d}_{round(segment.end * 1000):08d}"
    return f"{stem}/{stem}_{ms}_{_safe(segment.label)}.mp4"


def cut_clips(
    segments: Sequence[Segment],
    video_root: PathLike,
    out_dir: PathLike,
    labels: Optional[Sequence[str]] = None,
    negatives_per_video: int = 0,
    negative_label: str = NO_ACTION,
    negative_length: Optional[float] = None,
    min_gap: float = 1.0,
    val_fraction: float = 0.2,
    seed: int = 0,
    progress: bool = True,
) -> CutSplits:
    """Cut ``segments`` into clips and write the class list and the train/val lists.

    Args:
        segments: from :func:`~zoo.data.annotations.read_annotations` (checked).
        video_root: the folder the segments' videos are in.
        out_dir: where clips and lists go (created).
        labels: class names in label order (default: the segments' labels, sorted); the
            negative label is appended when it is not among them.
        negatives_per_video: "no action" clips drawn from each video's unannotated spans.
        negative_label: their class name.
        negative_length: their length in seconds (default: the median segment length).
        min_gap: seconds between a "no action" clip and any segment.
        val_fraction: share of the *videos* whose clips form the validation list.
        seed: drives the split and the choice of "no action" spans.
        progress: show a tqdm bar.

    Returns:
        :class:`CutSplits` ``(train_list, val_list, classes_file, cut, skipped)``.
    """
    video_root, out_dir = Path(video_root), Path(out_dir)
    classes = list(labels) if labels is not None else sorted({s.label for s in segments})
    if not segments:
        raise ValueError("no segments to cut; annotate some first")
    files = {video: _video_file(video_root, video, segments) for video in sorted({s.video for s in segments})}
    all_segments = list(segments)
    if negatives_per_video > 0:
        durations = {video: video_duration(path) for video, path in files.items()}
        lengths = sorted(s.length for s in segments)
        length = negative_length or lengths[len(lengths) // 2]
        negatives = negative_segments(segments, durations, negatives_per_video, length, min_gap, negative_label, seed)
        if len(negatives) < negatives_per_video * len(files):
            logger.warning("only %d of %d %r clips of %.2f s fit in the unannotated spans (%.2f s from any segment); "
                           "lower --min-gap or --negative-length for more", len(negatives),
                           negatives_per_video * len(files), negative_label, length, min_gap)
        all_segments += negatives
        if negative_label not in classes:
            classes.append(negative_label)
    index = {name: i for i, name in enumerate(classes)}
    missing = sorted({s.label for s in all_segments} - set(index))
    if missing:
        raise ValueError(f"labels {missing} are not in the class list; add them or pass labels=None")
    clips = [_Clip(s, out_dir / "clips" / clip_name(s), f"clips/{clip_name(s)}", index[s.label]) for s in all_segments]
    frames, cut, skipped = _cut_all(clips, files, progress)
    train_videos, val_videos = split_by_video(list(files), val_fraction, seed)
    rows = {split: [(c.relative, frames[c.relative], c.label) for c in clips if c.segment.video in videos]
            for split, videos in (("train", set(train_videos)), ("val", set(val_videos)))}
    out_dir.mkdir(parents=True, exist_ok=True)
    classes_file = out_dir / "classes.txt"
    classes_file.write_text("".join(f"{name}\n" for name in classes), encoding="utf-8")
    train, val = (write_list_file(out_dir / f"{split}.txt", rows[split]) for split in ("train", "val"))
    logger.info("%d clips (%d cut, %d already there): %d train from %d videos, %d val from %d videos", len(clips), cut,
                skipped, len(rows["train"]), len(train_videos), len(rows["val"]), len(val_videos))
    return CutSplits(train, val, classes_file, cut, skipped)


def _video_file(video_root: Path, video: str, segments: Sequence[Segment]) -> Path:
    found = find_video(video_root, video)
    if found is None:
        where = next(s.where for s in segments if s.video == video)
        raise ListFileError(f"{where + ': ' if where else ''}video {video!r} is not in {video_root}", path=where or None)
    return found


def _cut_all(clips: Sequence[_Clip], files: Dict[str, Path], progress: bool) -> Tuple[Dict[str, int], int, int]:
    """Cut what is missing; ``({relative path: frame count}, cut, skipped)``."""
    from tqdm import tqdm

    from .readers import VideoReader

    frames: Dict[str, int] = {}
    cut = skipped = 0
    with tqdm(total=len(clips), desc="cutting clips", unit="clip", disable=not progress) as bar:
        for video, source in files.items():
            todo = [c for c in clips if c.segment.video == video and not c.path.is_file()]
            done = [c for c in clips if c.segment.video == video and c.path.is_file()]
            for clip in done:
                with VideoReader(clip.path, backend="pyav") as reader:
                    frames[clip.relative] = len(reader)
            skipped += len(done)
            bar.update(len(done))
            if todo:
                for clip, count in cut_video(source, todo, bar):
                    frames[clip.relative] = count
                cut += len(todo)
    return frames, cut, skipped


def _frame_times(container, stream):
    """``(frame, seconds)`` of every decoded frame, times counted from the stream's start."""
    offset = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
    rate = float(stream.average_rate or 25)
    for number, frame in enumerate(container.decode(stream)):
        seconds = frame.time - offset if frame.time is not None else number / rate
        yield frame, seconds


def cut_video(source: Path, clips: Sequence[_Clip], bar=None) -> List[Tuple[_Clip, int]]:
    """Decode ``source`` once and write every clip of it; ``[(clip, frame count)]``.

    Frame ``i`` (shown from ``t_i`` until ``t_{i+1}``) goes into a clip ``[start, end]`` when
    ``t_{i+1} > start`` (it is on screen at or after the start) and ``t_i <= end``.
    """
    import av

    writers: Dict[_Clip, VideoWriter] = {}
    finished: List[Tuple[_Clip, int]] = []
    pending = sorted(clips, key=lambda c: c.segment.start)

    def finish(clip: _Clip) -> None:
        writer = writers.pop(clip)
        writer.close()
        if not writer.frames:  # the segment lies between two frames' times: it shows no frame of its own
            writer.path.unlink(missing_ok=True)
            pending.append(clip)
            return
        os.replace(writer.path, clip.path)
        finished.append((clip, writer.frames))
        if bar is not None:
            bar.update()

    try:
        with av.open(str(source)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            fps = stream.average_rate or 25
            previous: Optional[Tuple[object, float]] = None
            for frame, seconds in _frame_times(container, stream):
                if previous is not None:
                    _place(previous, seconds, pending, writers, fps, finish)
                previous = (frame, seconds)
            if previous is not None:
                _place(previous, math.inf, pending, writers, fps, finish)
    except (av.error.FFmpegError, OSError) as err:
        for writer in writers.values():
            writer.close()
            writer.path.unlink(missing_ok=True)
        raise VideoDecodeError.for_file(source, str(err)) from None
    for clip in list(writers):
        finish(clip)
    for clip in pending:
        logger.warning("%s: the segment %.3f-%.3f s has no frame in the video; no clip", source, clip.segment.start,
                       clip.segment.end)
    return finished


def _place(item: Tuple[object, float], next_seconds: float, pending: List[_Clip], writers: Dict, fps,
           finish) -> None:
    """Write one decoded frame into every clip it belongs to; open and close clips as time passes."""
    frame, seconds = item
    while pending and next_seconds > pending[0].segment.start + TIME_TOLERANCE:
        clip = pending.pop(0)
        clip.path.parent.mkdir(parents=True, exist_ok=True)
        writers[clip] = VideoWriter(clip.path.with_name(clip.path.stem + ".part.mp4"), fps)
    image = None
    for clip in list(writers):
        if seconds <= clip.segment.end + TIME_TOLERANCE:
            image = frame.to_ndarray(format="rgb24") if image is None else image
            writers[clip].write(image)
        else:
            finish(clip)
