"""Random-access video readers returning uint8 RGB frames ``(T, H, W, 3)``.

``VideoReader(path, backend="auto")`` picks a backend:

* ``"decord"``: fast frame-accurate random access (tried first for files);
* ``"pyav"``: PyAV/FFmpeg, used when decord cannot open a file or fails while
  decoding (truncated files, container frame counts that are too large, ...);
* ``"frames"``: a folder of images named ``name_pattern % (start_index + i)``
  (GluonCV layout: ``img_%05d.jpg`` numbered from 1). Used automatically when
  ``path`` is a directory.

Frame indices are 0-based positions in presentation order. Out-of-range
indices never raise: they are clamped to the last *decodable* frame and a
warning is logged once per file.

PyAV decoders are closed deterministically: by :meth:`VideoReader.close` /
``with``, when a reader is dropped, and on every error path. A decoder that
is only reachable from a reference cycle is collected before the process
forks (DataLoader workers): collected in the child, where its decoder
threads do not exist, it would hang the worker.
"""
from __future__ import annotations

import bisect
import contextlib
import gc
import logging
import os
import time
import weakref
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import VideoDecodeError

logger = logging.getLogger(__name__)

PathLike = Union[str, os.PathLike]
BACKENDS = ("auto", "decord", "pyav", "frames")
DEFAULT_FPS_FOR_FRAMES = 30.0

try:  # decord is optional at import time; "auto" falls back to PyAV.
    import decord as _decord

    _decord.bridge.set_bridge("native")
except Exception:  # pragma: no cover - depends on the environment
    _decord = None


def _check_file(path: Path) -> None:
    if not path.exists():
        raise VideoDecodeError.for_file(path, "file not found (check the list file and root)")
    if path.is_file() and path.stat().st_size == 0:
        raise VideoDecodeError.for_file(path, "file is empty (0 bytes)")


def output_size(native_wh: Tuple[int, int], width: Optional[int] = None, height: Optional[int] = None,
                short_side: Optional[int] = None) -> Tuple[int, int]:
    """Size ``(width, height)`` of decoded frames for the resize options.

    ``short_side`` keeps the aspect ratio; ``width``/``height`` set the size
    (one of them alone keeps the aspect ratio too). No option: native size.
    """
    w0, h0 = native_wh
    if short_side:
        scale = short_side / min(w0, h0)
        return (short_side, int(round(h0 * scale))) if w0 <= h0 else (int(round(w0 * scale)), short_side)
    if width and height:
        return int(width), int(height)
    if width:
        return int(width), int(round(h0 * width / w0))
    if height:
        return int(round(w0 * height / h0)), int(height)
    return w0, h0


def resize_frames(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of ``(T, H, W, 3)`` uint8 frames to ``(T, height, width, 3)``."""
    if frames.shape[1] == height and frames.shape[2] == width:
        return frames
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float()
    y = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False, antialias=True)
    return y.round_().clamp_(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


class _Backend:
    """Interface of a concrete backend."""

    name = "base"
    num_frames: int
    fps: float
    duration: float

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


def _too_slow(seconds: float) -> str:
    return (f"decoding took longer than {seconds:g} s (a stuck or pathological stream; raise the timeout, "
            "data.timeout, if the video is just long)")


_OPEN_DECODERS: "weakref.WeakSet[_PyAVBackend]" = weakref.WeakSet()


def _collect_open_decoders() -> None:
    """Before a fork: free unreachable decoders here, where their threads live (see the module docstring)."""
    if len(_OPEN_DECODERS):
        gc.collect()


os.register_at_fork(before=_collect_open_decoders)


class _PyAVBackend(_Backend):
    """PyAV reader: demuxes packet timestamps once, then seeks to keyframes."""

    name = "pyav"

    def __init__(self, path: Path, size: Tuple[Optional[int], Optional[int], Optional[int]],
                 timeout: Optional[float] = None) -> None:
        import av

        self.path, self.timeout = path, timeout
        try:
            self._container = av.open(str(path))
        except Exception as exc:
            raise VideoDecodeError.for_file(path, f"PyAV cannot open it ({exc})") from exc
        _OPEN_DECODERS.add(self)
        try:  # a half-opened container is closed here, never left for the garbage collector
            self._setup(size)
        except BaseException:
            self.close()
            raise

    def _setup(self, size: Tuple[Optional[int], Optional[int], Optional[int]]) -> None:
        if not self._container.streams.video:
            raise VideoDecodeError.for_file(self.path, "no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        ctx = self._stream.codec_context
        self.out_w, self.out_h = output_size((ctx.width, ctx.height), *size)
        self._scan_packets()
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else DEFAULT_FPS_FOR_FRAMES
        duration, time_base = self._stream.duration, self._stream.time_base
        self.duration = float(duration * time_base) if duration and time_base else self.num_frames / self.fps
        self._cache: Dict[int, np.ndarray] = {}
        self._last_decodable: Optional[int] = None
        self._deadline: Optional[float] = None
        self._warned = False

    def _scan_packets(self) -> None:
        """Collect presentation timestamps and keyframe positions (no decoding)."""
        pts: List[int] = []
        key_pts: List[int] = []
        try:
            for packet in self._container.demux(self._stream):
                if packet.size == 0 or packet.pts is None:
                    continue
                pts.append(int(packet.pts))
                if packet.is_keyframe:
                    key_pts.append(int(packet.pts))
        except Exception as exc:  # truncated file: keep what was demuxed
            logger.warning("%s: demuxing stopped early (%s); using %d packets", self.path, exc, len(pts))
        # AVI has no real presentation timestamps (packed B-frames reorder the
        # decoder output): index frames by decode-output order instead.
        self._sequential = "avi" in (self._container.format.name or "")
        if self._sequential:
            key_pts = pts[:1]
        self._pts = sorted(set(pts))
        self._index_of_pts = {p: i for i, p in enumerate(self._pts)}
        self._key_indices = sorted(self._index_of_pts[p] for p in set(key_pts)) or [0]
        container_frames = int(self._stream.frames or 0)
        self.num_frames = len(self._pts) or container_frames
        if container_frames and container_frames != len(self._pts):
            logger.info("%s: container says %d frames, %d packets found", self.path, container_frames, len(self._pts))
        if self.num_frames == 0:
            raise VideoDecodeError.for_file(self.path, "no video frames found")

    def _rgb(self, frame: "object") -> np.ndarray:
        return frame.to_ndarray(format="rgb24", width=self.out_w, height=self.out_h, interpolation="BILINEAR")

    def _decode_from(self, start_index: int, wanted: List[int]) -> None:
        """Seek to the keyframe before ``start_index`` and decode until every
        index in ``wanted`` (sorted) is cached or the stream ends."""
        key = self._keyframe_of(start_index)
        todo = set(wanted)
        try:
            if self._pts and key > 0:
                self._container.seek(self._pts[key], stream=self._stream, backward=True, any_frame=False)
            else:
                self._container.seek(0)
            sequential = -1
            for frame in self._container.decode(self._stream):
                sequential += 1
                index = None
                if not self._sequential and frame.pts is not None:
                    index = self._index_of_pts.get(frame.pts)
                if index is None:
                    index = (key if key > 0 else 0) + sequential
                self._last_decodable = max(index, self._last_decodable or 0)
                if self._deadline is not None and time.monotonic() > self._deadline:
                    raise VideoDecodeError.for_file(self.path, _too_slow(self.timeout))
                if index in todo:
                    self._cache[index] = self._rgb(frame)
                    todo.discard(index)
                    if not todo:
                        return
                if index > wanted[-1]:
                    return
        except VideoDecodeError:
            raise
        except Exception as exc:
            logger.warning("%s: decoding stopped at frame %s (%s)", self.path, self._last_decodable, exc)

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        wanted = sorted({min(max(int(i), 0), self.num_frames - 1) for i in indices})
        self._cache = {}
        self._deadline = time.monotonic() + self.timeout if self.timeout else None
        pending = list(wanted)
        while pending:
            run_end = self._next_run_end(pending)
            self._decode_from(pending[0], pending[:run_end])
            pending = pending[run_end:]
        return self._assemble(indices)

    def _keyframe_of(self, index: int) -> int:
        position = bisect.bisect_right(self._key_indices, index)
        return self._key_indices[position - 1] if position else 0

    def _next_run_end(self, pending: List[int]) -> int:
        """Indices decoded in one pass: stop when a later index is past a new
        keyframe that is ahead of the previous wanted index (seek is cheaper)."""
        end = 1
        while end < len(pending) and self._keyframe_of(pending[end]) <= pending[end - 1]:
            end += 1
        return end

    def _assemble(self, indices: Sequence[int]) -> np.ndarray:
        if not self._cache:
            self._decode_from(0, list(range(self.num_frames)))
            if not self._cache:
                raise VideoDecodeError.for_file(self.path, "no frame could be decoded")
        available = sorted(self._cache)
        out = []
        for i in indices:
            i = min(max(int(i), 0), self.num_frames - 1)
            if i not in self._cache:
                earlier = [a for a in available if a <= i]
                substitute = earlier[-1] if earlier else available[0]
                self._warn_once(f"frame {i} is not decodable; using frame {substitute}")
                out.append(self._cache[substitute])
            else:
                out.append(self._cache[i])
        return np.stack(out)

    def _warn_once(self, message: str) -> None:
        if not self._warned:
            logger.warning("%s: %s (padding with the last decodable frame)", self.path, message)
            self._warned = True

    def close(self) -> None:
        # closing frees the decoder and its threads now: a decoder left to the garbage collector can
        # be collected in a forked DataLoader worker, where its threads do not exist, and hang it
        self._cache = {}
        self._container.close()
        _OPEN_DECODERS.discard(self)


class _DecordBackend(_Backend):
    """decord reader with two guards: in AVI files the final frame comes from
    PyAV (decord returns a wrong final frame for packed-B-frame MPEG-4 AVI:
    always when seeking straight to it, ~10% of reads otherwise, measured on
    sample_mpeg4.avi), and any decode error falls back to PyAV for that call."""

    name = "decord"

    def __init__(self, path: Path, size: Tuple[Optional[int], Optional[int], Optional[int]], num_threads: int,
                 timeout: Optional[float] = None) -> None:
        if _decord is None:
            raise VideoDecodeError.for_file(path, "decord is not installed")
        self.path, self.timeout = path, timeout
        self._size = size
        width, height = self._decode_size(path, size)
        try:
            self._vr = _decord.VideoReader(str(path), width=width, height=height, num_threads=num_threads)
        except Exception as exc:
            raise VideoDecodeError.for_file(path, f"decord cannot open it ({str(exc).splitlines()[0]})") from exc
        self.num_frames = len(self._vr)
        if self.num_frames == 0:
            raise VideoDecodeError.for_file(path, "no video frames found")
        self.fps = float(self._vr.get_avg_fps()) or DEFAULT_FPS_FOR_FRAMES
        self.duration = self.num_frames / self.fps
        self._fallback: Optional[_PyAVBackend] = None
        self._final_frame_from_pyav = path.suffix.lower() == ".avi"

    @staticmethod
    def _decode_size(path: Path, size: Tuple[Optional[int], Optional[int], Optional[int]]) -> Tuple[int, int]:
        width, height, short_side = size
        if not (width or height or short_side):
            return -1, -1
        if width and height and not short_side:
            return int(width), int(height)
        import av  # probe the native size from the header only

        try:
            with av.open(str(path)) as container:
                ctx = container.streams.video[0].codec_context
                return output_size((ctx.width, ctx.height), width, height, short_side)
        except Exception as exc:
            raise VideoDecodeError.for_file(path, f"cannot probe frame size ({exc})") from exc

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        last = self.num_frames - 1
        clamped = [min(max(int(i), 0), last) for i in indices]
        request = sorted(set(clamped))
        tail = None
        if self._final_frame_from_pyav and request[-1] == last:
            tail = self._pyav().get_batch([last])
            request = request[:-1]
        try:
            frames = self._vr.get_batch(request).asnumpy() if request else tail[:0]
        except Exception as exc:
            logger.warning("%s: decord failed (%s); falling back to PyAV", self.path, str(exc).splitlines()[0])
            return self._pyav().get_batch(clamped)
        if tail is not None:
            frames, request = np.concatenate([frames, tail]), request + [last]
        if request == clamped:  # common case: sorted and unique
            return frames
        position = {index: k for k, index in enumerate(request)}
        return frames[[position[i] for i in clamped]]

    def _pyav(self) -> _PyAVBackend:
        if self._fallback is None:
            self._fallback = _PyAVBackend(self.path, self._size, self.timeout)
            self._fallback.num_frames = min(self._fallback.num_frames, self.num_frames) or self.num_frames
        return self._fallback

    def close(self) -> None:
        self._vr = None
        if self._fallback is not None:
            self._fallback.close()


class _FramesBackend(_Backend):
    """A folder of image files ``name_pattern % (start_index + i)``."""

    name = "frames"

    def __init__(self, folder: Path, size: Tuple[Optional[int], Optional[int], Optional[int]], name_pattern: str,
                 start_index: int, fps: float) -> None:
        self.path = folder
        self.name_pattern = name_pattern
        self.start_index = start_index
        self.num_frames = self._count_frames()
        if self.num_frames == 0:
            first = folder / (name_pattern % start_index)
            raise VideoDecodeError.for_file(folder, f"no frames named like '{first.name}' (name_pattern={name_pattern!r})")
        self.fps = fps
        self.duration = self.num_frames / fps
        self._size = size

    def _count_frames(self) -> int:
        count = sum(1 for _ in os.scandir(self.path))
        while count > 0 and not (self.path / (self.name_pattern % (self.start_index + count - 1))).exists():
            count -= 1
        return count

    def _read(self, index: int) -> np.ndarray:
        file = self.path / (self.name_pattern % (self.start_index + index))
        try:
            return _read_image(file)
        except Exception as exc:
            raise VideoDecodeError.for_file(file, f"cannot read image ({exc})") from exc

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        clamped = [min(max(int(i), 0), self.num_frames - 1) for i in indices]
        cache = {i: self._read(i) for i in sorted(set(clamped))}
        frames = np.stack([cache[i] for i in clamped])
        width, height = output_size((frames.shape[2], frames.shape[1]), *self._size)
        return resize_frames(frames, width, height)


def _read_image(file: Path) -> np.ndarray:
    """Decode one image file to ``(H, W, 3)`` uint8 RGB (OpenCV if present, else PyAV)."""
    try:
        import cv2  # type: ignore

        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("unreadable image")
        return image[:, :, ::-1].copy()
    except ImportError:
        import av

        with av.open(str(file)) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="rgb24")


class VideoReader:
    """Random-access reader for a video file or a folder of frames.

    Args:
        path: video file, or folder of images (``backend="frames"``).
        backend: ``"auto"`` (frames for folders, else decord then PyAV),
            ``"decord"``, ``"pyav"`` or ``"frames"``.
        width, height: resize decoded frames to this size (one alone keeps
            the aspect ratio).
        short_side: resize so the shorter side has this length (keeps aspect).
        num_threads: decoder threads for decord (1 is best with many workers).
        name_pattern, start_index: frame file names for ``"frames"``
            (``name_pattern % (start_index + i)`` for 0-based frame ``i``).
        fps: nominal frame rate of a frame folder.
        timeout: seconds one :meth:`get_batch` may spend decoding before it
            raises :class:`VideoDecodeError` naming the file (PyAV stops
            between frames, other backends when the call returns); ``None``: no limit.

    Raises:
        VideoDecodeError: the file is missing, empty or not decodable.
    """

    def __init__(self, path: PathLike, backend: str = "auto", *, width: Optional[int] = None,
                 height: Optional[int] = None, short_side: Optional[int] = None, num_threads: int = 1,
                 name_pattern: str = "img_%05d.jpg", start_index: int = 1, fps: float = DEFAULT_FPS_FOR_FRAMES,
                 timeout: Optional[float] = None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {BACKENDS}")
        self.path = Path(path)
        _check_file(self.path)
        size = (width, height, short_side)
        self.timeout = timeout
        self._impl = self._open(backend, size, num_threads, name_pattern, start_index, fps)
        self._clamp_logged = False

    def _open(self, backend: str, size: tuple, num_threads: int, name_pattern: str, start_index: int, fps: float) -> _Backend:
        if backend == "frames" or (backend == "auto" and self.path.is_dir()):
            return _FramesBackend(self.path, size, name_pattern, start_index, fps)
        if self.path.is_dir():
            raise VideoDecodeError.for_file(self.path, f"is a folder; use backend='frames' instead of {backend!r}")
        if backend == "pyav":
            return _PyAVBackend(self.path, size, self.timeout)
        if backend == "decord":
            return _DecordBackend(self.path, size, num_threads, self.timeout)
        try:
            return _DecordBackend(self.path, size, num_threads, self.timeout)
        except VideoDecodeError as decord_error:
            logger.debug("%s; trying PyAV", decord_error)
            try:
                return _PyAVBackend(self.path, size, self.timeout)
            except VideoDecodeError as pyav_error:
                raise VideoDecodeError.for_file(
                    self.path, f"neither decord nor PyAV can read it ({pyav_error}); is it a video?") from pyav_error

    @property
    def backend(self) -> str:
        """Name of the backend in use (``"decord"``, ``"pyav"`` or ``"frames"``)."""
        return self._impl.name

    def __len__(self) -> int:
        return self._impl.num_frames

    @property
    def fps(self) -> float:
        """Average frame rate (frames per second)."""
        return self._impl.fps

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self._impl.duration

    def get_batch(self, indices: Sequence[int]) -> np.ndarray:
        """Frames at 0-based ``indices`` (any order, repeats allowed).

        Returns:
            uint8 array ``(T, H, W, 3)`` RGB, ``T == len(indices)``.
        """
        if len(indices) == 0:
            raise ValueError("get_batch needs at least one index")
        if not self._clamp_logged and max(indices) >= len(self):
            logger.info("%s: frame %d requested, only %d frames; clamping to the last one", self.path, max(indices), len(self))
            self._clamp_logged = True
        started = time.monotonic()
        try:
            frames = self._impl.get_batch(indices)
        except VideoDecodeError:
            raise
        except Exception as exc:
            raise VideoDecodeError.for_file(self.path, f"decoding failed ({exc})") from exc
        if self.timeout and time.monotonic() - started > self.timeout:  # backends that cannot stop mid-call
            raise VideoDecodeError.for_file(self.path, _too_slow(self.timeout))
        return frames

    def close(self) -> None:
        """Release the decoder."""
        self._impl.close()

    def __del__(self) -> None:
        # a reader dropped without close(): free its decoder now, not at some later garbage collection
        with contextlib.suppress(Exception):  # no _impl (a failed __init__), or interpreter shutdown
            self._impl.close()

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, backend={self.backend!r}, frames={len(self)}, fps={self.fps:.2f})"

