"""Writing videos frame by frame (PyAV)."""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np


class VideoWriter:
    """Encode RGB frames to a video file with PyAV (H.264 when available, else MPEG-4).

    Frames are uint8 ``(H, W, 3)``; an odd height or width loses its last row or column (4:2:0
    needs even sizes). Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: Union[str, os.PathLike], fps: float) -> None:
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._av = av
        self.container = av.open(str(self.path), "w")
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        self.stream = self.container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000))
        self.stream.pix_fmt = "yuv420p"
        self.frames = 0
        self._open = False

    def write(self, frame: np.ndarray) -> None:
        """Append one ``(H, W, 3)`` uint8 RGB frame."""
        if not self._open:
            height, width = frame.shape[:2]
            self.stream.width, self.stream.height = width - width % 2, height - height % 2
            self._open = True
        frame = frame[: self.stream.height, : self.stream.width]
        for packet in self.stream.encode(self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
            self.container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and close the file."""
        if self._open:
            for packet in self.stream.encode():
                self.container.mux(packet)
        self.container.close()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
