"""Synthetic motion dataset: short real MP4 clips whose class is a motion.

Eight classes (:data:`SYNTHETIC_CLASSES`): translate left / right / up /
down, rotate clockwise / anticlockwise, grow, shrink. Every class draws from
the same shapes, colours, sizes, backgrounds and noise, and the parameters
are centred in time (mid-clip position uniform over the frame, mid-clip size
and angle random), so the distribution of a *single frame* is the same for
all classes: only motion tells them apart. A horizontal flip swaps left/right
and clockwise/anticlockwise (see :func:`zoo.data.flip_label_map`).

Clips are H.264 (libx264, yuv420p) when PyAV has it, else MPEG-4 Part 2 (a
warning says so). Rendering is bit-exact deterministic from ``seed``; encoding
is single-threaded (x264 ``threads=1``), yet x264 output occasionally differs slightly.

Layout written under ``root``::

    train/clip_00000.mp4 ...   val/clip_00000.mp4 ...
    train.txt  val.txt         GluonCV lists: "train/clip_00000.mp4 16 3"
    classes.txt                one class name per line
    synthetic.json             generation parameters (reused if unchanged)

Long videos with several motions in sequence, and their ground truth, come from
:func:`make_long_videos`: ``videos/long_000.mp4 ...``, ``classes.txt`` and ``ground_truth.json``
(a VIA 3 project: one segment per motion, from its first to its last frame).

CLI: ``python -m zoo.data.synthetic --out DIR [--num-train N --num-val M
--seed S --frames F --size H [W] --fps R --workers K --overwrite]``;
``python -m zoo.data.synthetic --out DIR --long N [--actions K --frames F --gap G]`` for long videos.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from ._jobs import run_jobs

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]

SYNTHETIC_CLASSES: Tuple[str, ...] = ("translate_left", "translate_right", "translate_up", "translate_down",
                                      "rotate_clockwise", "rotate_anticlockwise", "grow", "shrink")
FORMAT_VERSION = 1


class SyntheticSplits(NamedTuple):
    """Paths returned by :func:`make_synthetic_dataset` (unpacks as a 3-tuple)."""

    train_list: Path
    val_list: Path
    classes_file: Path

    @property
    def root(self) -> Path:
        """Dataset folder (list paths are relative to it)."""
        return self.train_list.parent

    @property
    def classes(self) -> List[str]:
        """Class names in label order."""
        return [line for line in self.classes_file.read_text().splitlines() if line]


# ----------------------------------------------------------------- shapes
def _triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (v >= -0.8) & (v <= 0.8) & (np.abs(u) <= 0.45 * (v + 0.8))


def _ell(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    box = (np.abs(u) <= 0.8) & (np.abs(v) <= 0.8)
    return box & ((u <= -0.25) | (v >= 0.35))


def _tee(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    bar = (np.abs(u) <= 0.85) & (v >= -0.85) & (v <= -0.35)
    stem = (np.abs(u) <= 0.25) & (np.abs(v) <= 0.85)
    return bar | stem


def _bar(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (np.abs(u) <= 0.95) & (np.abs(v) <= 0.3)


def _ellipse(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return (u / 0.95) ** 2 + (v / 0.45) ** 2 <= 1.0


def _arrow(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    shaft = (np.abs(v) <= 0.2) & (u >= -0.9) & (u <= 0.2)
    head = (u >= 0.1) & (u <= 0.9) & (np.abs(v) <= 0.75 * (0.9 - u))
    return shaft | head


SHAPES: Dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "triangle": _triangle, "ell": _ell, "tee": _tee, "bar": _bar, "ellipse": _ellipse, "arrow": _arrow,
}


# ----------------------------------------------------------------- rendering
def _motion(label: int, frames: int, rng: np.random.Generator, height: int, width: int):
    """Per-frame centre ``(T, 2)``, angle ``(T,)`` and half-size ``(T,)``.

    All parameters are given at mid-clip (``tc = 0``) so single frames of
    every class share one distribution; only their change over time differs.
    """
    side = min(height, width)
    name = SYNTHETIC_CLASSES[label]
    span = max(frames - 1, 1)
    tc = (np.arange(frames) - (frames - 1) / 2.0) / span  # -0.5 .. 0.5
    centre = np.array([rng.uniform(0.2, 0.8) * width, rng.uniform(0.2, 0.8) * height])
    directions = {"translate_left": (-1, 0), "translate_right": (1, 0), "translate_up": (0, -1), "translate_down": (0, 1)}
    travel = np.array(directions.get(name, (0, 0)), dtype=float) * rng.uniform(0.2, 0.35) * side
    centres = centre[None, :] + tc[:, None] * travel[None, :]
    spin = {"rotate_clockwise": 1.0, "rotate_anticlockwise": -1.0}.get(name, 0.0)  # image y points down
    angles = rng.uniform(0, 2 * math.pi) + spin * math.radians(rng.uniform(70.0, 130.0)) * tc
    growth = {"grow": 1.0, "shrink": -1.0}.get(name, 0.0)
    halves = rng.uniform(0.11, 0.19) * side * rng.uniform(1.6, 2.2) ** (growth * tc)
    jitter = rng.normal(0.0, 0.3, size=(frames, 2))  # hand-held wobble for every class
    return centres + jitter, angles, halves


def _background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Static ``(H, W, 3)`` float background: colour + gradient + blotches."""
    base = rng.uniform(20, 235, size=3)
    yy, xx = np.mgrid[0:height, 0:width] / float(max(height, width))
    theta = rng.uniform(0, 2 * math.pi)
    ramp = (np.cos(theta) * xx + np.sin(theta) * yy)[..., None] * rng.uniform(-50, 50, size=3)
    coarse = rng.normal(0, rng.uniform(4, 14), size=(height // 8 + 2, width // 8 + 2, 3))
    blotches = np.kron(coarse, np.ones((8, 8, 1)))[:height, :width]
    return base + ramp + blotches


def _foreground_colour(rng: np.random.Generator, background: np.ndarray) -> np.ndarray:
    mean = background.reshape(-1, 3).mean(0)
    for _ in range(20):
        colour = rng.uniform(0, 255, size=3)
        if np.abs(colour - mean).sum() > 150:
            return colour
    return 255.0 - mean


def render_clip(label: int, frames: int, height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """One clip of class ``label``: uint8 ``(T, H, W, 3)`` RGB."""
    background = _background(rng, height, width)
    colour = _foreground_colour(rng, background)
    shape = SHAPES[list(SHAPES)[int(rng.integers(len(SHAPES)))]]
    centres, angles, halves = _motion(label, frames, rng, height, width)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = xx[None] - centres[:, 0, None, None]
    dy = yy[None] - centres[:, 1, None, None]
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    u = (cos * dx + sin * dy) / halves[:, None, None]
    v = (-sin * dx + cos * dy) / halves[:, None, None]
    mask = shape(u, v)[..., None]
    video = np.where(mask, colour, background[None])
    video = video + rng.normal(0, rng.uniform(2, 8), size=video.shape)
    return np.clip(video, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------- encoding
def pick_codec() -> Tuple[str, str]:
    """``(codec, pix_fmt)``: libx264 if this PyAV build has it, else mpeg4."""
    import av

    if "libx264" in av.codecs_available:
        return "libx264", "yuv420p"
    logger.warning("PyAV has no libx264 encoder; writing MPEG-4 Part 2 clips instead")
    return "mpeg4", "yuv420p"


def write_video(path: PathLike, video: np.ndarray, fps: int = 15, codec: Optional[str] = None) -> Path:
    """Encode uint8 ``(T, H, W, 3)`` RGB frames to ``path`` with PyAV."""
    import av

    codec_name, pix_fmt = (codec, "yuv420p") if codec else pick_codec()
    height, width = video.shape[1:3]
    if codec_name == "libx264" and (height % 2 or width % 2):
        pix_fmt = "yuv444p"  # 4:2:0 needs even sizes
    options = {"crf": "18", "preset": "veryfast", "threads": "1"} if codec_name == "libx264" else {"qscale": "3", "threads": "1"}  # 1 thread: deterministic
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec_name, rate=fps, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for index, image in enumerate(video):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format=pix_fmt)
            frame.pts = index
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return Path(path)


def _make_one(job: Tuple[str, int, int, int, int, int, int, int]) -> str:
    path, seed, split_code, index, frames, height, width, fps = job
    rng = np.random.default_rng([seed, split_code, index])
    label = index % len(SYNTHETIC_CLASSES)
    write_video(path, render_clip(label, frames, height, width, rng), fps)
    return path


# ----------------------------------------------------------------- dataset
def make_synthetic_dataset(root: PathLike, num_train: int = 160, num_val: int = 48, seed: int = 0, frames: int = 16,
                           size: Union[int, Tuple[int, int]] = (64, 64), fps: int = 15, workers: int = 1,
                           overwrite: bool = False, progress: bool = False) -> SyntheticSplits:
    """Render the synthetic motion dataset into ``root``.

    Args:
        root: output folder (created).
        num_train, num_val: clips per split (labels cycle through the classes,
            so splits are balanced).
        seed: everything (shapes, colours, motion, noise) derives from it.
        frames: frames per clip.
        size: ``(height, width)`` or one int for square frames.
        fps: nominal frame rate.
        workers: processes used for rendering/encoding.
        overwrite: re-render even if ``root`` already holds the same dataset.
        progress: show a tqdm bar.

    Returns:
        :class:`SyntheticSplits` ``(train_list, val_list, classes_file)``.
    """
    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    root = Path(root)
    splits = SyntheticSplits(root / "train.txt", root / "val.txt", root / "classes.txt")
    params = dict(version=FORMAT_VERSION, num_train=num_train, num_val=num_val, seed=seed, frames=frames,
                  height=height, width=width, fps=fps)
    meta = root / "synthetic.json"
    if not overwrite and meta.is_file() and all(p.is_file() for p in splits):
        if json.loads(meta.read_text()) == params:
            logger.info("synthetic dataset in %s is up to date", root)
            return splits
    jobs, lists = _plan(root, params)
    run_jobs(_make_one, jobs, workers, "synthetic clips", "clip", progress, chunksize=8)
    for split, rows in lists.items():
        (root / f"{split}.txt").write_text("".join(f"{p} {frames} {label}\n" for p, label in rows))
    splits.classes_file.write_text("".join(f"{name}\n" for name in SYNTHETIC_CLASSES))
    meta.write_text(json.dumps(params))
    logger.info("wrote %d train / %d val synthetic clips to %s", num_train, num_val, root)
    return splits


class LongVideos(NamedTuple):
    """Paths written by :func:`make_long_videos`."""

    videos: List[Path]
    classes_file: Path
    ground_truth: Path


def render_long_video(labels: Sequence[int], frames: int, gap: int, height: int, width: int,
                      rng: np.random.Generator) -> Tuple[np.ndarray, List[Tuple[int, int, int]]]:
    """One long video: for each label, ``gap`` still frames (the next shape waits) then its motion of
    ``frames`` frames; ``gap`` still frames close it.

    Returns:
        uint8 ``(T, H, W, 3)`` RGB frames and ``[(first_frame, last_frame, label)]`` of the motions.
    """
    parts, spans, cursor = [], [], 0
    for label in labels:
        clip = render_clip(label, frames, height, width, rng)
        parts += [np.repeat(clip[:1], gap, axis=0), clip]
        spans.append((cursor + gap, cursor + gap + frames - 1, int(label)))
        cursor += gap + frames
    parts.append(np.repeat(parts[-1][-1:], gap, axis=0))
    return np.concatenate(parts), spans


def make_long_videos(
    root: PathLike,
    num_videos: int = 4,
    actions: int = 6,
    frames: int = 16,
    gap: int = 16,
    size: Union[int, Tuple[int, int]] = (64, 64),
    fps: int = 15,
    seed: int = 0,
    overwrite: bool = False,
) -> LongVideos:
    """Render ``num_videos`` long videos of ``actions`` motions each into ``root/videos`` and write
    their ground truth as a VIA 3 project (``root/ground_truth.json``; segment times are the start
    times of the motion's first and last frames) and the class list (``root/classes.txt``).

    Labels run through the classes in turn, so every class appears about equally often. An
    unchanged dataset in ``root`` is reused.
    """
    from .annotations import Segment, write_via_project

    height, width = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    root = Path(root)
    out = LongVideos([root / "videos" / f"long_{i:03d}.mp4" for i in range(num_videos)], root / "classes.txt",
                     root / "ground_truth.json")
    params = dict(version=FORMAT_VERSION, kind="long", num_videos=num_videos, actions=actions, frames=frames,
                  gap=gap, height=height, width=width, fps=fps, seed=seed)
    meta = root / "synthetic_long.json"
    if not overwrite and meta.is_file() and json.loads(meta.read_text()) == params and \
            all(p.is_file() for p in [*out.videos, out.classes_file, out.ground_truth]):
        logger.info("long synthetic videos in %s are up to date", root)
        return out
    (root / "videos").mkdir(parents=True, exist_ok=True)
    segments = []
    for index, path in enumerate(out.videos):
        labels = [(index * actions + i) % len(SYNTHETIC_CLASSES) for i in range(actions)]
        video, spans = render_long_video(labels, frames, gap, height, width, np.random.default_rng([seed, 7, index]))
        write_video(path, video, fps)
        segments += [Segment(path.name, round(first / fps, 3), round(last / fps, 3), SYNTHETIC_CLASSES[label])
                     for first, last, label in spans]
    out.classes_file.write_text("".join(f"{name}\n" for name in SYNTHETIC_CLASSES))
    write_via_project(segments, out.ground_truth, labels=SYNTHETIC_CLASSES, name="synthetic ground truth")
    meta.write_text(json.dumps(params))
    logger.info("wrote %d long videos (%d motions each) to %s", num_videos, actions, root / "videos")
    return out


def _plan(root: Path, params: dict) -> Tuple[List[tuple], Dict[str, List[Tuple[str, int]]]]:
    jobs, lists = [], {}
    for split_code, (split, count) in enumerate((("train", params["num_train"]), ("val", params["num_val"]))):
        (root / split).mkdir(parents=True, exist_ok=True)
        rows = []
        for index in range(count):
            relative = f"{split}/clip_{index:05d}.mp4"
            rows.append((relative, index % len(SYNTHETIC_CLASSES)))
            jobs.append((str(root / relative), params["seed"], split_code, index, params["frames"],
                         params["height"], params["width"], params["fps"]))
        lists[split] = rows
    return jobs, lists


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Render the synthetic motion dataset (H.264 MP4 + GluonCV lists).")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--num-train", type=int, default=160)
    parser.add_argument("--num-val", type=int, default=48)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frames", type=int, default=16, help="frames per clip")
    parser.add_argument("--size", type=int, nargs="+", default=[64], help="H [W] in pixels")
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--long", type=int, metavar="N", help="render N long videos of several motions and their "
                        "ground truth instead (frames per motion: --frames)")
    parser.add_argument("--actions", type=int, default=6, help="--long: motions per video")
    parser.add_argument("--gap", type=int, default=16, help="--long: still frames before each motion")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    size = (args.size[0], args.size[-1])
    if args.long:
        long = make_long_videos(args.out, args.long, args.actions, args.frames, args.gap, size, args.fps, args.seed,
                                args.overwrite)
        print(f"videos:       {long.videos[0].parent} ({len(long.videos)})\nground truth: {long.ground_truth}\n"
              f"classes:      {long.classes_file}")
        return 0
    splits = make_synthetic_dataset(args.out, args.num_train, args.num_val, args.seed, args.frames, size,
                                    args.fps, args.workers, args.overwrite, progress=True)
    print(f"train list: {splits.train_list}\nval list:   {splits.val_list}\nclasses:    {splits.classes_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
