"""Inference with a trained recognizer: whole videos, sliding windows over long videos, live streams,
feature vectors.

:class:`Recognizer` wraps a model with its data protocol (frames per clip, stride, crop, normalisation)
and its class names; it takes uint8 RGB frames ``(T, H, W, 3)`` as decoded by
:class:`~zoo.data.VideoReader`, PyAV or OpenCV. Videos are decoded at the protocol's short side
(resize-on-decode), so memory follows the model's input size, not the source resolution.
"""
from __future__ import annotations

import csv
import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from ..data import VideoDecodeError, VideoReader, class_names, eval_transforms, sample_clips
from ..data.lists import VIDEO_EXTENSIONS, class_names_for
from ..data.readers import output_size
from ..data.transforms import ResizeShortSide
from ..data.writers import VideoWriter  # noqa: F401  (re-exported: scripts import it from here)
from ..optimize import InferenceModel, describe_precision, serve_on
from ..registry import model_card
from .data import center_time
from .loading import LoadedModel

logger = logging.getLogger(__name__)

__all__ = ["Recognizer", "Prediction", "WindowPrediction", "LivePrediction", "VIDEO_EXTENSIONS", "collect_videos",
           "frame_source", "draw_label", "VideoWriter", "write_predictions", "BulkOutput"]


@dataclass
class Prediction:
    """Top-k classes of one video (or window): ``labels[i]`` with probability ``scores[i]``."""

    source: str
    labels: list[str]
    indices: list[int]
    scores: list[float]
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {"source": self.source, **self.extra, "labels": self.labels, "indices": self.indices,
                "scores": [round(s, 6) for s in self.scores]}


@dataclass
class WindowPrediction(Prediction):
    """A sliding-window prediction: frames ``[start_frame, end_frame]``, seconds ``[start_s, end_s]``."""


@dataclass
class LivePrediction(Prediction):
    """A prediction made on the live buffer ending at frame ``extra['frame']``."""


class Recognizer:
    """A model, its clip protocol and its class names.

    Args:
        model: takes ``(N, 3, T, H, W)`` normalised clips.
        classes: class names (index = label).
        new_length, new_step: frames per clip and the stride between them.
        num_segments: TSN segments (frames folded into ``T``).
        crop_size, short_side, mean, std: the evaluation transform.
        num_crops: 1, 3 or 10 spatial crops per clip (scores averaged).
        device: where the model runs.
        temporal_centering: subtract each pixel's mean over the clip (``data.temporal_centering``).
        timeout: seconds one clip may take to decode before it is a
            :class:`~zoo.data.VideoDecodeError` naming the video (``data.timeout``; ``None``: no limit).
        precision: ``"auto"`` (default: the CPU fast path in bf16 where the CPU has bf16 instructions
            and bf16 agrees with fp32, else fp32), ``"fp32"``, ``"bf16"`` or ``"int8"``
            (:func:`zoo.optimize_for_inference`; off the CPU the model runs as built).
        calibration_videos: videos of the user's data whose clips calibrate int8 (a few are enough).
    """

    def __init__(self, model: nn.Module, classes: Sequence[str], *, new_length: int, new_step: int = 1,
                 num_segments: int = 1, crop_size: int = 224, short_side: Optional[int] = 256,
                 mean: Sequence[float] = (0.485, 0.456, 0.406), std: Sequence[float] = (0.229, 0.224, 0.225),
                 num_crops: int = 1, device: Union[str, torch.device] = "cpu", temporal_centering: bool = False,
                 timeout: Optional[float] = None, precision: str = "auto",
                 calibration_videos: Sequence[Union[str, os.PathLike]] = ()) -> None:
        self.temporal_centering, self.timeout = temporal_centering, timeout
        self.device = torch.device(device)
        self.eager_model = model.to(self.device).eval()
        self.classes = list(classes)
        self.new_length, self.new_step, self.num_segments = int(new_length), int(new_step), int(num_segments)
        self.short_side, self.crop_size = short_side, crop_size
        self.transform = eval_transforms(crop_size, short_side, num_crops=num_crops, mean=mean, std=std)
        self.mean, self.std = torch.tensor(mean).view(3, 1, 1, 1), torch.tensor(std).view(3, 1, 1, 1)
        # two-stream models take flow: computed here from L + 1 frames per segment, as zoo.flow stores it
        self.modalities = tuple(getattr(model, "modalities", ("rgb",)))
        self.sampling = "tsn" if self.num_segments > 1 else "dense"
        self.model = self._serve(precision, calibration_videos)
        self.precision = getattr(self.model, "precision", "fp32")
        logger.info("%s runs in %s", type(model).__name__, describe_precision(self.model))

    def _serve(self, precision: str, calibration_videos: Sequence[Union[str, os.PathLike]]) -> nn.Module:
        """The model on its serving path (:func:`zoo.optimize.serve_on`), probed with this protocol's input."""
        if isinstance(self.eager_model, InferenceModel):  # already prepared by the caller
            return self.eager_model
        if "flow" in self.modalities:
            logger.info("flow input: the model runs as built (fp32, eager)")
            return self.eager_model
        calibration = None
        if precision == "int8":
            if not calibration_videos:
                raise ValueError("int8 needs calibration clips: give a few videos of your data "
                                 "(calibration_videos=[...]), or use precision 'auto', 'fp32' or 'bf16'")
            calibration = [self._video_views(video) for video in calibration_videos]
        return serve_on(self.eager_model, self.device, precision, self._probe(), calibration)

    def _probe(self) -> torch.Tensor:
        """Views ``(V, 3, T, h, w)`` of one clip of seeded random frames: the input shape this protocol feeds."""
        crop = max(self.crop_size) if isinstance(self.crop_size, (tuple, list)) else int(self.crop_size)
        side = self.short_side or crop
        frames = np.random.default_rng(0).integers(0, 256, (self.new_length * self.num_segments, side, side, 3),
                                                   dtype=np.uint8)
        return self._views([frames])

    def _video_views(self, path: Union[str, os.PathLike]) -> torch.Tensor:
        with self.open_video(path) as reader:
            return self._views(self._clips_of(reader, 1))

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, classes: Union[None, str, os.PathLike, Sequence[str]] = None,
                    num_crops: int = 1, device: Union[str, torch.device] = "cpu", precision: str = "auto",
                    calibration_videos: Sequence[Union[str, os.PathLike]] = ()) -> "Recognizer":
        """From :func:`~zoo.engine.loading.load_model`; classes from ``classes`` (list or file), else the
        checkpoint's class file, else the card's dataset (``zoo.data.class_names``), else indices.
        ``precision`` and ``calibration_videos`` as in the constructor."""
        data = loaded.cfg["data"]
        names = _resolve_classes(loaded, classes)
        return cls(loaded.model, names, new_length=data["clip_len"], new_step=data["frame_step"],
                   num_segments=data["num_segments"], crop_size=data["crop_size"], short_side=data["short_side"],
                   mean=data["mean"], std=data["std"], num_crops=num_crops, device=device,
                   temporal_centering=bool(data.get("temporal_centering")), timeout=data.get("timeout"),
                   precision=precision, calibration_videos=calibration_videos)

    @property
    def window(self) -> int:
        """Frames one clip spans in the source video."""
        return self.new_length * self.new_step * self.num_segments

    # ---------------------------------------------------------------- core
    def _views(self, clips: Sequence[np.ndarray]) -> Any:
        """uint8 clips ``(T, H, W, 3)`` -> ``(V, 3, T, h, w)`` normalised views (clips x crops); for a model
        that takes flow, its input (see :meth:`_flow_views`)."""
        if "flow" in self.modalities:
            return self._flow_views(clips)
        views = []
        for clip in clips:
            x = self.transform(torch.from_numpy(np.ascontiguousarray(clip)))
            views.append(x if x.dim() == 5 else x.unsqueeze(0))
        views = torch.cat(views).to(self.device)
        return center_time(views) if self.temporal_centering else views

    def _flow_views(self, clips: Sequence[np.ndarray]) -> Any:
        """Clips of ``S * (L + 1)`` frames -> per clip the flow ``(2, S * L, c, c)`` in ``[-1, 1]`` and the RGB
        frame in the middle of each segment's flow ``(3, S, c, c)``, batched; ``(rgb, flow)`` or one of them,
        as :class:`zoo.flow.FlowClipDataset` gives them in training (resized to the crop size, no crops)."""
        from ..flow.dataset import flow_tensor, resize_clip
        from ..flow.extract import clip_flow

        size = max(self.crop_size) if isinstance(self.crop_size, (tuple, list)) else int(self.crop_size)
        views: dict[str, list[torch.Tensor]] = {"rgb": [], "flow": []}
        for clip in clips:
            segments = clip.reshape(self.num_segments, self.new_length + 1, *clip.shape[1:])
            flow = np.concatenate([clip_flow(segment) for segment in segments])
            views["flow"].append(resize_clip(flow_tensor(flow), size))
            rgb = torch.from_numpy(np.ascontiguousarray(segments[:, self.new_length // 2])).permute(3, 0, 1, 2)
            views["rgb"].append((resize_clip(rgb.float() / 255.0, size) - self.mean) / self.std)
        batch = [torch.stack(views[m]).to(self.device) for m in self.modalities]
        return tuple(batch) if len(batch) > 1 else batch[0]

    @torch.no_grad()
    def scores(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """Softmax probabilities ``(K,)`` averaged over the clips' views."""
        logits = self.model(self._views(clips)).float()
        return logits.softmax(-1).mean(0).cpu().numpy()

    @torch.no_grad()
    def features(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """Pooled features ``(D,)`` averaged over views (the model's ``forward_features``).

        The fast path serves logits only (an int8 graph keeps nothing else): features come from the model as built."""
        return self.eager_model.forward_features(self._views(clips)).float().mean(0).cpu().numpy()

    def top_k(self, probs: np.ndarray, k: int) -> tuple[list[str], list[int], list[float]]:
        order = np.argsort(-probs)[: max(1, min(k, len(probs)))]
        names = [self.classes[i] if i < len(self.classes) else str(i) for i in order]
        return names, [int(i) for i in order], [float(probs[i]) for i in order]

    # -------------------------------------------------------------- videos
    def open_video(self, path: Union[str, os.PathLike]) -> VideoReader:
        """A reader that decodes at this protocol's short side (native size when it has none)."""
        return VideoReader(path, short_side=self.short_side, timeout=self.timeout)

    def _clips_of(self, reader: VideoReader, num_clips: int, start: int = 0, end: Optional[int] = None) -> list[np.ndarray]:
        end = len(reader) - 1 if end is None else end
        length = self.new_length + ("flow" in self.modalities)  # L flow fields need L + 1 frames
        picks = sample_clips(end - start + 1, strategy=self.sampling, mode="test", new_length=length,
                             new_step=self.new_step, num_segments=self.num_segments, num_clips=num_clips)
        per_view = self.num_segments
        flat = [[start + i for clip in picks[v: v + per_view] for i in clip] for v in range(0, len(picks), per_view)]
        return [reader.get_batch(indices) for indices in flat]

    def predict_video(self, path: Union[str, os.PathLike], k: int = 5, num_clips: int = 1) -> Prediction:
        """Top-k of a whole video (``num_clips`` evenly spaced clips, scores averaged)."""
        with self.open_video(path) as reader:
            probs = self.scores(self._clips_of(reader, num_clips))
        return Prediction(str(path), *self.top_k(probs, k))

    def video_features(self, path: Union[str, os.PathLike], num_clips: int = 1) -> np.ndarray:
        """Feature vector ``(D,)`` of a video."""
        with self.open_video(path) as reader:
            return self.features(self._clips_of(reader, num_clips))

    def sliding_windows(self, path: Union[str, os.PathLike], stride: int, k: int = 5,
                        window: Optional[int] = None) -> list[WindowPrediction]:
        """A prediction every ``stride`` frames over windows of ``window`` frames (default: one clip's span)."""
        window = window or self.window
        if stride < 1:
            raise ValueError(f"stride must be >= 1 frame, got {stride}")
        out = []
        with self.open_video(path) as reader:
            total, fps = len(reader), reader.fps or 25.0
            starts = list(range(0, max(total - window, 0) + 1, stride))
            for start in starts:
                end = min(start + window, total) - 1
                probs = self.scores(self._clips_of(reader, 1, start, end))
                extra = {"start_frame": start, "end_frame": end, "start_s": round(start / fps, 3),
                         "end_s": round((end + 1) / fps, 3)}
                out.append(WindowPrediction(str(path), *self.top_k(probs, k), extra=extra))
        return out

    # ---------------------------------------------------------------- live
    def live(self, frames: Iterable[np.ndarray], every: int, k: int = 1) -> Iterator[tuple[np.ndarray, Optional[LivePrediction]]]:
        """Rolling buffer over a frame stream: yields every frame, with a prediction every ``every`` frames
        once the buffer holds a whole clip (``None`` otherwise). The buffer keeps frames at the protocol's
        short side, whatever the source resolution."""
        buffer: deque = deque(maxlen=self.window)
        for index, frame in enumerate(frames):
            buffer.append(self._shrink(frame))
            prediction = None
            if len(buffer) == buffer.maxlen and (index + 1 - buffer.maxlen) % every == 0:
                clip = np.stack(list(buffer)[:: self.new_step][: self.new_length * self.num_segments])
                prediction = LivePrediction("live", *self.top_k(self.scores([clip]), k), extra={"frame": index})
            yield frame, prediction

    def _shrink(self, frame: np.ndarray) -> np.ndarray:
        """``(H, W, 3)`` frame scaled down to the protocol's short side (never up)."""
        if not self.short_side or min(frame.shape[:2]) <= self.short_side:
            return frame
        # the evaluation transform's own resize, so a shrunk frame gives the very same clip
        return ResizeShortSide(self.short_side)(torch.from_numpy(np.ascontiguousarray(frame))).numpy()


def _resolve_classes(loaded: LoadedModel, classes: Any) -> list[str]:
    classifier = loaded.model.get_classifier() if hasattr(loaded.model, "get_classifier") else getattr(loaded.model, "fc", None)
    width = getattr(classifier, "out_features", None)
    data = loaded.cfg["data"]
    if classes is not None:
        names = class_names_for(classes)
    else:
        names = (class_names_for(data.get("classes") or None) or loaded.classes
                 or class_names_for(None, data.get("train_list")) or _dataset_classes(loaded.name))
    if names is None or (width is not None and len(names) != width):
        if names is not None:
            logger.warning("%d class names for a %d-way classifier; printing class indices", len(names), width)
        names = [str(i) for i in range(width or 0)]
    return names


def _dataset_classes(name: str) -> Optional[list[str]]:
    try:
        return class_names(model_card(name).dataset)
    except KeyError:
        return None


# ------------------------------------------------------------------ helpers
def collect_videos(inputs: Sequence[str]) -> list[Path]:
    """Video files named by ``inputs``: files, folders (recursively, by extension) and list files
    (``.txt``/``.csv``: the first field of each line, relative to the list's folder).

    Raises:
        FileNotFoundError: an input does not exist, or a folder / list holds no video.
    """
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_EXTENSIONS)
            if not found:
                raise FileNotFoundError(f"{item}: no videos in this folder ({', '.join(VIDEO_EXTENSIONS)})")
            out += found
        elif path.suffix.lower() in (".txt", ".csv", ".lst") and path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                first = line.replace(",", " ").split()
                if first and not first[0].startswith("#"):
                    candidate = Path(first[0])
                    out.append(candidate if candidate.is_absolute() else path.parent / candidate)
            if not out:
                raise FileNotFoundError(f"{item}: the list names no videos")
        elif path.is_file():
            out.append(path)
        else:
            raise FileNotFoundError(f"{item}: no such video, folder or list file")
    return out


def frame_source(source: str, realtime: bool = False, max_frames: Optional[int] = None,
                 short_side: Optional[int] = None) -> tuple[Iterator[np.ndarray], float]:
    """``(frames, fps)`` of a webcam index (``"0"``, OpenCV), or a stream URL / file (PyAV).

    ``realtime`` paces a file at its frame rate, as a camera would deliver it; ``short_side`` decodes
    a file or stream at that short side (resize-on-decode). The container is closed when the frames
    end, when the iterator is closed, or here if the source has no video.

    Raises:
        VideoDecodeError: the source cannot be opened or has no video stream.
    """
    if source.isdigit():
        return _camera_frames(int(source), max_frames)
    import av

    try:
        container = av.open(source)
    except Exception as exc:
        raise VideoDecodeError.for_file(source, f"cannot open it ({exc})") from exc
    if not container.streams.video:
        container.close()
        raise VideoDecodeError.for_file(source, "no video stream (audio only?)")
    stream = container.streams.video[0]
    fps = float(stream.average_rate or stream.guessed_rate or 25.0)
    size = output_size((stream.codec_context.width, stream.codec_context.height), short_side=short_side)

    def frames() -> Iterator[np.ndarray]:
        started = time.monotonic()
        try:
            for index, frame in enumerate(container.decode(stream)):
                if max_frames is not None and index >= max_frames:
                    break
                if realtime:
                    delay = started + index / fps - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                yield frame.to_ndarray(format="rgb24", width=size[0], height=size[1], interpolation="BILINEAR")
        finally:
            container.close()

    return frames(), fps


def _camera_frames(index: int, max_frames: Optional[int]) -> tuple[Iterator[np.ndarray], float]:
    import cv2

    capture = cv2.VideoCapture(index)
    if not capture.isOpened():
        raise RuntimeError(f"cannot open camera {index}; is a webcam attached (try another index)?")
    fps = capture.get(cv2.CAP_PROP_FPS) or 30.0

    def frames() -> Iterator[np.ndarray]:
        count = 0
        try:
            while max_frames is None or count < max_frames:
                ok, bgr = capture.read()
                if not ok:
                    break
                count += 1
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        finally:
            capture.release()

    return frames(), fps


def draw_label(frame: np.ndarray, text: str) -> np.ndarray:
    """A copy of an RGB frame with ``text`` on a dark band at the top (OpenCV)."""
    import cv2

    out = np.ascontiguousarray(frame).copy()
    height, width = out.shape[:2]
    scale = max(0.3, width / 640.0)
    band = int(22 * scale) + 4
    out[:band] = (out[:band] * 0.35).astype(np.uint8)
    cv2.putText(out, text, (4, band - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_predictions(predictions: Sequence[Prediction], path: Union[str, os.PathLike]) -> Path:
    """JSON (a list of rows) or CSV (``source, [time span,] rank, label, index, score``) by extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps([p.row() for p in predictions], indent=2), encoding="utf-8")
        return path
    extra_keys = sorted({k for p in predictions for k in p.extra})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["source", *extra_keys, "rank", "label", "index", "score"])
        for p in predictions:
            for rank_, (label, index, score) in enumerate(zip(p.labels, p.indices, p.scores), 1):
                writer.writerow([p.source, *[p.extra.get(k, "") for k in extra_keys], rank_, label, index, f"{score:.6f}"])
    return path


class BulkOutput:
    """Resumable bulk inference into a folder: one JSON-lines part file per rank, merged at the end.

    Every finished video is one line ``{"source", "predictions": [row, ...]}`` (or ``{"source", "error"}``
    when it could not be decoded), flushed as soon as it is written, so a killed process loses at most the
    video it was on.  A rerun reads every part (whatever world size wrote it) and skips the videos that
    already have predictions; videos that failed are tried again.  :meth:`merge` writes
    ``predictions.jsonl`` (one line per video, in input order) and ``failed.jsonl``.
    """

    PREDICTIONS, FAILED = "predictions.jsonl", "failed.jsonl"

    def __init__(self, folder: Union[str, os.PathLike], rank: int = 0, world_size: int = 1) -> None:
        self.folder = Path(folder)
        self.rank, self.world_size = int(rank), int(world_size)
        self.part = self.folder / f"part-rank{self.rank:05d}.jsonl"
        self._torn_checked = False

    def read(self) -> dict[str, dict[str, Any]]:
        """The latest line of every video in all part files (a prediction outranks an error)."""
        found: dict[str, dict[str, Any]] = {}
        for part in sorted(self.folder.glob("part-rank*.jsonl")):
            with open(part, encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:  # the line a killed process was writing
                        continue
                    if "predictions" in row or "predictions" not in found.get(row["source"], {}):
                        found[row["source"]] = row
        return found

    def todo(self, videos: Sequence[Union[str, os.PathLike]]) -> list[Path]:
        """This rank's share of ``videos`` (every ``world_size``-th from ``rank``) without those already done."""
        done = {source for source, row in self.read().items() if "predictions" in row}
        return [Path(v) for v in list(videos)[self.rank:: self.world_size] if str(v) not in done]

    def record(self, source: Union[str, os.PathLike], predictions: Optional[Sequence[Prediction]] = None,
               error: Optional[str] = None) -> None:
        """Append one video's predictions (or its error) to this rank's part file, flushed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        row: dict[str, Any] = {"source": str(source)}
        if predictions is not None:
            row["predictions"] = [p.row() for p in predictions]
        else:
            row["error"] = error or "failed"
        torn = not self._torn_checked and self._ends_torn()
        self._torn_checked = True
        with open(self.part, "a", encoding="utf-8") as f:
            f.write(("\n" if torn else "") + json.dumps(row) + "\n")
            f.flush()

    def _ends_torn(self) -> bool:
        """Whether this rank's part ends in the middle of a line (its last writer was killed)."""
        if not self.part.is_file() or self.part.stat().st_size == 0:
            return False
        with open(self.part, "rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) != b"\n"

    def merge(self, videos: Optional[Sequence[Union[str, os.PathLike]]] = None) -> tuple[Path, int, int]:
        """Write ``predictions.jsonl`` and ``failed.jsonl`` from the parts.

        Returns ``(predictions path, videos with predictions, videos of ``videos`` still without one)``.
        """
        rows = self.read()
        order = [str(v) for v in videos] if videos is not None else sorted(rows)
        done = [rows[s] for s in order if "predictions" in rows.get(s, {})]
        failed = [rows[s] for s in order if s in rows and "predictions" not in rows[s]]
        target = self.folder / self.PREDICTIONS
        for path, selected in ((target, done), (self.folder / self.FAILED, failed)):
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(row) + "\n" for row in selected)
        return target, len(done), len(order) - len(done)
