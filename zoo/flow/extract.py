"""Extract dense optical flow from videos into 8-bit images (the common two-stream storage format).

For a video of ``F`` frames, flow is computed between frames ``i`` and ``i + 1`` (``F - 1`` fields),
each ``(dx, dy)`` field is clipped to ``[-bound, bound]`` pixels and mapped linearly to ``[0, 255]``
(``0`` = ``-bound``, ``127.5`` = no motion), and written as two grey images::

    OUT/<video path without extension>/flow_x_00001.jpg  flow_y_00001.jpg  ...  flow_done.json

``flow_done.json`` (written last) marks a finished video; a re-run skips those whose marker
matches the requested settings, so an interrupted extraction resumes where it stopped.

CLI::

    python -m zoo.flow.extract LIST --out DIR [--root ROOT] [--method farneback|tvl1]
        [--bound 20] [--ext jpg|png] [--short-side N] [--workers K] [--overwrite]

``LIST`` is a list file (GluonCV ``path num_frames label`` lines or any format
:func:`zoo.data.lists.parse_list_file` reads), paths relative to ``--root`` (default: the list's folder).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np

from ..data._jobs import run_jobs
from ..data.lists import parse_list_file
from ..data.readers import VideoReader

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]

METHODS = ("farneback", "tvl1")
DONE_FILE = "flow_done.json"
NAME_PATTERN = "flow_{axis}_%05d.{ext}"
CHUNK = 64  # frames decoded at a time


def _cv2():
    try:
        import cv2  # type: ignore
    except ImportError as exc:  # pragma: no cover - opencv is a dependency of zoo.flow
        raise ImportError("zoo.flow needs OpenCV: pip install opencv-python-headless") from exc
    return cv2


def has_tvl1() -> bool:
    """Whether this OpenCV build has TV-L1 (``cv2.optflow``, from opencv-contrib)."""
    return hasattr(_cv2(), "optflow")


def compute_flow(prev_gray: np.ndarray, next_gray: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Dense flow from ``prev_gray`` to ``next_gray`` (uint8 ``(H, W)``): float32 ``(H, W, 2)`` (dx, dy) in pixels."""
    cv2 = _cv2()
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(prev_gray, next_gray, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    if method == "tvl1":
        if not has_tvl1():
            raise RuntimeError("TV-L1 needs cv2.optflow (pip install opencv-contrib-python-headless); "
                               "or use method='farneback'")
        return cv2.optflow.DualTVL1OpticalFlow_create().calc(prev_gray, next_gray, None)
    raise ValueError(f"unknown flow method {method!r}; choose one of {METHODS}")


def clip_flow(frames: np.ndarray, method: str = "farneback", bound: float = 20.0) -> np.ndarray:
    """uint8 RGB frames ``(T, H, W, 3)`` -> the quantised flow between consecutive frames, uint8 ``(T-1, H, W, 2)``."""
    cv2 = _cv2()
    gray = [cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY) for frame in frames]
    return np.stack([quantize_flow(compute_flow(a, b, method), bound) for a, b in zip(gray, gray[1:])])


def quantize_flow(flow: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Float flow ``(..., 2)`` -> uint8 ``(..., 2)``: clip to ``[-bound, bound]``, map to ``[0, 255]``."""
    scaled = (np.clip(flow, -bound, bound) + bound) * (255.0 / (2.0 * bound))
    return np.round(scaled).astype(np.uint8)


def dequantize_flow(images: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """uint8 flow images -> float32 flow in pixels (inverse of :func:`quantize_flow` up to rounding)."""
    return images.astype(np.float32) * (2.0 * bound / 255.0) - bound


def _settings(method: str, bound: float, ext: str, short_side: Optional[int]) -> dict:
    return {"method": method, "bound": float(bound), "ext": ext, "short_side": short_side}


def is_done(out_dir: PathLike, method: str = "farneback", bound: float = 20.0, ext: str = "jpg",
            short_side: Optional[int] = None) -> bool:
    """Whether ``out_dir`` holds a finished extraction with these settings."""
    marker = Path(out_dir) / DONE_FILE
    if not marker.is_file():
        return False
    try:
        done = json.loads(marker.read_text())
    except ValueError:
        return False
    return all(done.get(k) == v for k, v in _settings(method, bound, ext, short_side).items())


def extract_video_flow(video: PathLike, out_dir: PathLike, method: str = "farneback", bound: float = 20.0,
                       ext: str = "jpg", short_side: Optional[int] = None, overwrite: bool = False) -> int:
    """Extract the flow of one video (file or frame folder) into ``out_dir``.

    Returns the number of flow fields written (``frames - 1``), or 0 if skipped (already done).
    """
    cv2 = _cv2()
    if method not in METHODS:
        raise ValueError(f"unknown flow method {method!r}; choose one of {METHODS}")
    if ext not in ("jpg", "png"):
        raise ValueError(f"ext must be 'jpg' or 'png', got {ext!r}")
    out_dir = Path(out_dir)
    if not overwrite and is_done(out_dir, method, bound, ext, short_side):
        logger.debug("flow of %s already in %s; skipping", video, out_dir)
        return 0
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / DONE_FILE).unlink(missing_ok=True)
    count = 0
    prev = None
    with VideoReader(video, short_side=short_side) as reader:
        total = len(reader)
        for start in range(0, total, CHUNK):
            frames = reader.get_batch(list(range(start, min(start + CHUNK, total))))
            for frame in frames:
                gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
                if prev is not None:
                    q = quantize_flow(compute_flow(prev, gray, method), bound)
                    count += 1
                    for axis, channel in (("x", 0), ("y", 1)):
                        name = NAME_PATTERN.format(axis=axis, ext=ext) % count
                        if not cv2.imwrite(str(out_dir / name), q[..., channel]):
                            raise OSError(f"cannot write {out_dir / name}")
                prev = gray
    if count == 0:
        raise ValueError(f"{video} has fewer than 2 frames; no flow to extract")
    done = {**_settings(method, bound, ext, short_side), "num_flows": count, "video": str(video)}
    (out_dir / DONE_FILE).write_text(json.dumps(done))
    return count


def flow_folder(out_root: PathLike, relative_path: str) -> Path:
    """Where the flow of the list entry ``relative_path`` goes: ``out_root/<path without extension>``."""
    rel = Path(relative_path)
    return Path(out_root) / rel.with_suffix("") if rel.suffix else Path(out_root) / rel


def _job(args: tuple) -> int:
    video, out_dir, method, bound, ext, short_side, overwrite = args
    return extract_video_flow(video, out_dir, method, bound, ext, short_side, overwrite)


def extract_flow(videos: Union[PathLike, Sequence[str]], out_root: PathLike, root: Optional[PathLike] = None,
                 method: str = "farneback", bound: float = 20.0, ext: str = "jpg", short_side: Optional[int] = None,
                 workers: int = 1, overwrite: bool = False, progress: bool = True) -> List[Path]:
    """Extract flow for every video of a list file (or of a sequence of relative paths).

    Args:
        videos: list file path, or relative video paths.
        out_root: flow folders go to ``out_root/<relative path without extension>``.
        root: prefix of the relative paths (default: the list file's folder, or the cwd).
        method, bound, ext, short_side: see :func:`extract_video_flow`.
        workers: processes (one video each).
        overwrite: recompute videos already done.
        progress: tqdm bar.

    Returns:
        The flow folder of every video, in list order.
    """
    if isinstance(videos, (str, os.PathLike)):
        list_path = Path(videos)
        rel_paths = [r.path for r in parse_list_file(list_path)]
        root = Path(root) if root is not None else list_path.parent
    else:
        rel_paths = list(videos)
        root = Path(root) if root is not None else Path(".")
    folders = [flow_folder(out_root, p) for p in rel_paths]
    jobs = [(str(root / p), str(f), method, bound, ext, short_side, overwrite) for p, f in zip(rel_paths, folders)]
    pending = [j for j in jobs if overwrite or not is_done(j[1], method, bound, ext, short_side)]
    if len(pending) < len(jobs):
        logger.info("%d of %d videos already have flow; skipping them", len(jobs) - len(pending), len(jobs))
    run_jobs(_job, pending, workers, "optical flow", "video", progress)
    return folders


def main(argv: Optional[Iterable[str]] = None) -> int:
    """CLI entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Extract optical flow to 8-bit flow_x/flow_y images.")
    parser.add_argument("list", help="list file of videos (GluonCV 'path num_frames label' lines, ...)")
    parser.add_argument("--out", required=True, help="output root; one folder per video")
    parser.add_argument("--root", default=None, help="prefix of the list paths (default: the list's folder)")
    parser.add_argument("--method", choices=METHODS, default="farneback")
    parser.add_argument("--bound", type=float, default=20.0, help="clip flow to +-bound pixels before 8-bit mapping")
    parser.add_argument("--ext", choices=("jpg", "png"), default="jpg")
    parser.add_argument("--short-side", type=int, default=None, help="resize frames to this short side first")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--overwrite", action="store_true", help="recompute videos already done")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    folders = extract_flow(args.list, args.out, args.root, args.method, args.bound, args.ext, args.short_side,
                           args.workers, args.overwrite)
    logger.info("flow of %d videos under %s", len(folders), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
