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

from .distributed import all_gather_objects

logger = logging.getLogger(__name__)

__all__ = ["EvalResult", "predict_scores", "evaluate", "compute_metrics", "write_confusion", "write_result_json"]


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

    def summary(self) -> dict[str, Any]:
        return {"top1": self.top1, "top5": self.top5, "mean_class_accuracy": self.mean_class_accuracy,
                "num_videos": self.num_videos, "loss": self.loss}


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
def predict_scores(model: nn.Module, loader: DataLoader, device: torch.device, *, average: str = "prob",
                   amp_dtype: Optional[torch.dtype] = None, progress: bool = False, desc: str = "eval",
                   input_fn=None):
    """Scores of this rank's share, gathered over ranks: ``(indices, scores, labels)`` in dataset order.

    Every video is counted once: the loader's sampler must not pad (see
    :class:`~zoo.engine.distributed.ShardSampler`); indices come from the sampler. ``input_fn``
    (e.g. :func:`~zoo.engine.data.center_time`) is applied to each batch of clips.
    """
    from tqdm import tqdm

    model.eval()
    indices = list(iter(loader.sampler)) if loader.sampler is not None else list(range(len(loader.dataset)))
    scores, labels = [], []
    for clips, target in tqdm(loader, desc=desc, disable=not progress, leave=False, dynamic_ncols=True):
        clips = clips.to(device, non_blocking=True)
        if input_fn is not None:
            clips = input_fn(clips)
        with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
            scores.append(_views_forward(model, clips, average).cpu())
        labels.append(target)
    local = (indices, torch.cat(scores).numpy() if scores else np.zeros((0, 0), np.float32),
             torch.cat(labels).numpy() if labels else np.zeros((0,), np.int64))
    parts = all_gather_objects(local)
    all_idx = np.concatenate([np.asarray(p[0], dtype=np.int64) for p in parts])
    all_scores = np.concatenate([p[1] for p in parts if len(p[0])])
    all_labels = np.concatenate([p[2] for p in parts])
    if len(set(all_idx.tolist())) != len(all_idx):
        raise RuntimeError("evaluation saw a video twice; the sampler must shard without padding")
    order = np.argsort(all_idx)
    return all_idx[order], all_scores[order], all_labels[order]


def compute_metrics(scores: np.ndarray, labels: np.ndarray, num_classes: int, average: str = "prob") -> EvalResult:
    """Top-1/top-5, mean class accuracy, per-class accuracy and confusion matrix of ``(N, K)`` scores."""
    n = len(labels)
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


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device, num_classes: int, **kwargs) -> EvalResult:
    """:func:`predict_scores` then :func:`compute_metrics` (same result on every rank)."""
    _, scores, labels = predict_scores(model, loader, device, **kwargs)
    return compute_metrics(scores, labels, num_classes, kwargs.get("average", "prob"))


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
    ax.set_title(f"top-1 {result.top1:.1f}% ({result.num_videos} videos)")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)
    plt.close(fig)
    return csv_path, png_path


def write_result_json(result: EvalResult, class_names: Sequence[str], protocol: Mapping[str, Any], path: str | Path,
                      extra: Optional[Mapping[str, Any]] = None) -> Path:
    """The metrics, per-class accuracies and the exact protocol as JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**(extra or {}), **result.summary(), "protocol": dict(protocol),
            "per_class_accuracy": {name: (None if np.isnan(a) else a) for name, a in zip(class_names, result.per_class_accuracy)}}
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    return path
