"""Multi-view evaluation: per-video scores over all ranks, accuracies, confusion matrix, reports."""
from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from .distributed import all_gather_objects

logger = logging.getLogger(__name__)

__all__ = ["EvalResult", "evaluate", "compute_metrics", "write_confusion", "write_result_json"]


@dataclass
class EvalResult:
    """Metrics of one evaluation (accuracies in percent)."""

    top1: float
    top5: float
    mean_class_accuracy: float
    per_class_accuracy: list[float]
    confusion: np.ndarray                   # (C, C): rows true class, columns predicted
    num_videos: int
    loss: float
    scores: np.ndarray = field(repr=False)  # (N, C) averaged view scores, dataset order
    labels: np.ndarray = field(repr=False)  # (N,)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"path", "reason"} of videos left out

    @property
    def num_skipped(self) -> int:
        """Videos that could not be decoded and are in no metric."""
        return len(self.skipped)

    def summary(self) -> dict[str, Any]:
        return {"top1": self.top1, "top5": self.top5, "mean_class_accuracy": self.mean_class_accuracy,
                "num_videos": self.num_videos, "loss": self.loss}

    def describe(self) -> str:
        """One line: ``top-1 x% on N of M videos, K skipped: a.mp4 (reason), ...``."""
        total = self.num_videos + self.num_skipped
        text = (f"top-1 {self.top1:.2f}%  top-5 {self.top5:.2f}%  mean class {self.mean_class_accuracy:.2f}% "
                f"on {self.num_videos} of {total} videos")
        if self.skipped:
            shown = ", ".join(f"{Path(s['path']).name} ({s['reason']})" for s in self.skipped[:5])
            more = f", and {self.num_skipped - 5} more (see result.json)" if self.num_skipped > 5 else ""
            text += f", {self.num_skipped} skipped: {shown}{more}"
        return text


def _views_forward(model: nn.Module, clips: torch.Tensor, average: str) -> torch.Tensor:
    """``clips`` ``(B, C, T, H, W)`` or ``(B, V, C, T, H, W)`` -> view-averaged scores ``(B, K)``
    (softmax probabilities for ``average="prob"``, logits for ``"logit"``)."""
    views = 1
    if clips.dim() == 6:
        views = clips.shape[1]
        clips = clips.flatten(0, 1)
    logits = model(clips).float()
    scores = logits.softmax(-1) if average == "prob" else logits
    return scores.view(-1, views, scores.shape[-1]).mean(1)


@torch.no_grad()
def _gather_scores(model: nn.Module, loader: DataLoader, device: torch.device, *, average: str,
                   amp_dtype: Optional[torch.dtype], progress: bool, desc: str, input_fn):
    """Scores of this rank's share, gathered over ranks: ``(indices, scores (N, K), labels (N,), skipped)`` in
    dataset order, ``skipped`` the ``{"path", "reason"}`` of every rank's videos that could not be decoded.

    Every video is counted once: the loader's sampler must not pad (see
    :class:`~zoo.engine.distributed.ShardSampler`); indices come from the sampler, or from the batches of
    an :func:`~zoo.engine.data.eval_loader`. ``input_fn`` (e.g. :func:`~zoo.engine.data.center_time`) is
    applied to each batch of clips.
    """
    model.eval()
    sampler_order = list(iter(loader.sampler)) if loader.sampler is not None else list(range(len(loader.dataset)))
    indices, scores, labels, skipped = [], [], [], []
    for batch in tqdm(loader, total=len(loader), desc=desc, disable=not progress, leave=False,
                      dynamic_ncols=True):
        if len(batch) == 4:  # an eval_loader batch: (clips, labels, indices, skipped)
            clips, target, batch_indices, batch_skipped = batch
            indices += batch_indices.tolist()
            skipped += batch_skipped
            if clips is None:
                continue
        else:
            clips, target = batch
            indices += sampler_order[len(indices): len(indices) + len(target)]
        clips = clips.to(device, non_blocking=True)
        if input_fn is not None:
            clips = input_fn(clips)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            scores.append(_views_forward(model, clips, average).cpu())
        labels.append(target)
    local = (indices, torch.cat(scores).numpy() if scores else np.zeros((0, 0), np.float32),
             torch.cat(labels).numpy() if labels else np.zeros((0,), np.int64), skipped)
    parts = all_gather_objects(local)
    all_idx = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
    with_scores = [p[1] for p in parts if len(p[0])]
    all_scores = np.concatenate(with_scores) if with_scores else np.zeros((0, 0), np.float32)
    all_labels = np.concatenate([p[2] for p in parts])
    if len(set(all_idx.tolist())) != len(all_idx):
        raise RuntimeError("evaluation saw a video twice; the sampler must shard without padding")
    order = np.argsort(all_idx)
    all_skipped = sorted((s for p in parts for s in p[3]), key=lambda s: s["path"])
    return all_idx[order], all_scores[order], all_labels[order], all_skipped


def compute_metrics(scores: np.ndarray, labels: np.ndarray, num_classes: int, average: str = "prob") -> EvalResult:
    """Top-1/top-5, mean class accuracy, per-class accuracy and confusion matrix of ``(N, K)`` scores.

    Raises:
        ValueError: a label is outside ``0..num_classes-1`` (an unlabelled list has label -1).
    """
    n = len(labels)
    if n and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must lie in 0..{num_classes - 1} to compute metrics, found {int(labels.min())}.."
                         f"{int(labels.max())}; an unlabelled list can be classified with scripts/inference.py")
    if n == 0:
        scores = np.zeros((0, num_classes), np.float32)
    pred = scores.argmax(1)
    k = min(5, scores.shape[1])
    topk = np.argsort(-scores, axis=1)[:, :k]
    top5 = float((topk == labels[:, None]).any(1).mean() * 100) if n else 0.0
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, pred), 1)
    totals = confusion.sum(1)
    per_class = [float(confusion[c, c] / totals[c] * 100) if totals[c] else float("nan") for c in range(num_classes)]
    present = [a for a, t in zip(per_class, totals) if t]
    probs = scores if average == "prob" else torch.from_numpy(scores).softmax(-1).numpy()
    loss = float(-np.log(np.clip(probs[np.arange(n), labels], 1e-12, None)).mean()) if n else 0.0
    return EvalResult(top1=float((pred == labels).mean() * 100) if n else 0.0, top5=top5,
                      mean_class_accuracy=float(np.mean(present)) if present else 0.0, per_class_accuracy=per_class,
                      confusion=confusion, num_videos=n, loss=loss, scores=scores, labels=labels)


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device, num_classes: int, *, average: str = "prob",
             amp_dtype: Optional[torch.dtype] = None, progress: bool = False, desc: str = "eval",
             input_fn=None) -> EvalResult:
    """Scores of every video (:func:`_gather_scores`) then :func:`compute_metrics` (same result on every rank).

    Videos that could not be decoded are in no metric: ``result.skipped`` lists them and
    ``result.num_videos`` counts only the scored ones.
    """
    _, scores, labels, skipped = _gather_scores(model, loader, device, average=average, amp_dtype=amp_dtype,
                                                progress=progress, desc=desc, input_fn=input_fn)
    # a list may name fewer classes than the model predicts (random weights on a folder list): count every output
    result = compute_metrics(scores, labels, max(num_classes, scores.shape[1] if scores.ndim == 2 else 0), average)
    result.skipped = skipped
    return result


def write_confusion(result: EvalResult, class_names: Sequence[str], out_dir: str | Path, stem: str = "confusion") -> tuple[Path, Path]:
    """``confusion.csv`` (counts; rows true, columns predicted) and ``confusion.png`` (row-normalised)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.png"
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["true \\ predicted", *class_names])
        for name, row in zip(class_names, result.confusion):
            writer.writerow([name, *row.tolist()])
    c = len(class_names)
    rows = result.confusion.sum(1, keepdims=True)
    norm = np.divide(result.confusion, np.maximum(rows, 1))
    side = min(4 + 0.35 * c, 40)
    fig, ax = plt.subplots(figsize=(side, side))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    if c <= 60:
        ax.set_xticks(range(c), class_names, rotation=90, fontsize=8)
        ax.set_yticks(range(c), class_names, fontsize=8)
    if c <= 20:
        for i in range(c):
            for j in range(c):
                if result.confusion[i, j]:
                    ax.text(j, i, str(result.confusion[i, j]), ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    skipped = f", {result.num_skipped} skipped" if result.num_skipped else ""
    ax.set_title(f"top-1 {result.top1:.1f}% ({result.num_videos} videos{skipped})")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return csv_path, png_path


def write_result_json(result: EvalResult, class_names: Sequence[str], protocol: Mapping[str, Any], path: str | Path,
                      extra: Optional[Mapping[str, Any]] = None) -> Path:
    """The metrics, per-class accuracies and the exact protocol as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**(extra or {}), **result.summary(), "num_skipped": result.num_skipped, "skipped": result.skipped,
            "protocol": dict(protocol),
            "per_class_accuracy": {name: (None if np.isnan(a) else a) for name, a in zip(class_names, result.per_class_accuracy)}}
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    return path
