"""Shared helpers for the zoo.data tests (fabricated videos, shared sample data)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from _shared import SHARED, require

VIDEOS = SHARED / "data" / "videos"
REAL_VIDEOS = ("arm_wrestling.mp4", "sample_h264.mp4", "sample_mpeg4.avi")


def real_video(name: str) -> Path:
    """Path of a shared sample video, or skip the test when it is absent."""
    return require(VIDEOS / name)


def numbered_frames(count: int, height: int = 48, width: int = 64) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 frames whose brightness encodes the index
    (``10 * i``) plus a moving bar, so a decoded frame tells its index."""
    frames = np.zeros((count, height, width, 3), np.uint8)
    for i in range(count):
        frames[i] = (10 * i) % 250
        frames[i, :, (3 * i) % width] = 255
    return frames


def frame_index_of(frame: np.ndarray) -> int:
    """Recover the index of a :func:`numbered_frames` frame after lossy coding."""
    return int(round(float(np.median(frame)) / 10.0))


def write_video(path: Path, frames: np.ndarray, fps: int = 25, codec: str = "libx264", pix_fmt: str = "yuv420p",
                options: Optional[dict] = None, container_options: Optional[dict] = None,
                pts: Optional[Sequence[int]] = None, time_base: Fraction = Fraction(1, 1000)) -> Path:
    """Encode frames with PyAV; ``pts`` (in ``time_base``) gives variable frame timing."""
    import av

    with av.open(str(path), "w", options=container_options or {}) as out:
        stream = out.add_stream(codec, rate=fps, options=options or {})
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        if pts is not None:
            stream.codec_context.time_base = time_base
        for i, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = int(pts[i]), time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def write_jpeg_folder(folder: Path, frames: np.ndarray, pattern: str = "img_%05d.jpg", start: int = 1) -> Path:
    """Write frames as JPEG files ``pattern % (start + i)`` (PyAV mjpeg encoder)."""
    import av

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(frames):
        with av.open(str(folder / (pattern % (start + i))), "w", format="image2") as out:
            stream = out.add_stream("mjpeg", rate=1, options={"qscale": "2"})
            stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuvj444p"
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return folder
