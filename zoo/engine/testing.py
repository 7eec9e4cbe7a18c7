"""``test_recognizer.py`` as a function: multi-view evaluation of a list file, reports, reproduced results.

Reproduced results (``write_reproduced``) go to ``csv_tables/reproduced/``:

* ``<model>__<tag>.json``: one file per model name + weights tag (``model``, ``tag``, ``top1``,
  ``top5``, ``mean_class_accuracy``, ``num_videos`` (scored), ``num_skipped``, ``skipped``, ``dataset``,
  ``list_file``, ``protocol``
  {views, num_clips, num_crops, new_length, new_step, num_segments, crop_size, short_side, sampling,
  average}, ``command``, ``date``);
* ``reproduced.csv``: the same, one row per ``(model, tag)`` (rewritten on every update), columns
  :data:`REPRODUCED_FIELDS`.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch.utils.data import default_collate

from ..data import ListFileError, VideoDecodeError
from ..optimize import describe_precision, serve_on
from .data import build_dataset, class_names_of, eval_loader, input_fn
from .distributed import DistInfo
from .evaluate import EvalResult, evaluate, write_confusion, write_result_json
from .loading import LoadedModel
from .trainer import amp_settings

logger = logging.getLogger(__name__)

__all__ = ["run_test", "test_protocol", "write_reproduced", "REPRODUCED_FIELDS"]

REPRODUCED_FIELDS = ["model", "tag", "top1", "top5", "mean_class_accuracy", "num_videos", "dataset", "views",
                     "num_clips", "num_crops", "new_length", "new_step", "num_segments", "crop_size", "short_side",
                     "list_file", "command", "date"]


def test_protocol(cfg: Mapping[str, Any], list_file: str) -> dict[str, Any]:
    """The exact evaluation protocol a config describes."""
    data, test = cfg["data"], cfg["test"]
    return {"num_clips": int(test["num_clips"]), "num_crops": int(test["num_crops"]),
            "views": int(test["num_clips"]) * int(test["num_crops"]) * int(data["num_segments"]),
            "new_length": int(data["clip_len"]), "new_step": int(data["frame_step"]),
            "num_segments": int(data["num_segments"]), "crop_size": data["crop_size"], "short_side": data["short_side"],
            "sampling": test.get("sampling") or data["sampling"], "average": test["average"],
            "mean": list(data["mean"]), "std": list(data["std"]),
            "temporal_centering": bool(data.get("temporal_centering")), "list_file": str(list_file)}


def run_test(loaded: LoadedModel, cfg: dict, info: DistInfo, out_dir: Optional[str | Path] = None,
             progress: bool = False, precision: Optional[str] = None) -> tuple[EvalResult, dict[str, Any], list[str]]:
    """Evaluate ``loaded.model`` on ``cfg.data.test_list`` with ``test.num_clips x test.num_crops`` views.

    Every rank evaluates its shard; results are gathered so each video counts once. A video that cannot
    be decoded is in no metric: it is listed in ``result.skipped`` (and ``result.json``). Rank 0 writes
    ``result.json``, ``confusion.csv`` and ``confusion.png`` into ``out_dir``.

    ``precision`` (``"auto"``, ``"fp32"``, ``"bf16"``, ``"int8"``) serves the model on the CPU fast path
    (:func:`zoo.optimize.serve_on`), probed and calibrated on the list's first clips (the same on every
    rank); ``None`` runs it as built, with the config's ``train.amp``.  The protocol records which ran.

    Returns:
        ``(result, protocol, class_names)``.

    Raises:
        ListFileError: the list has no labels (``path start end`` lines), so there is nothing to score.
    """
    num_classes = getattr(getattr(loaded.model, "fc", None), "out_features", None)
    dataset = build_dataset(cfg, "test", num_classes)
    unlabelled = [r for r in dataset.records if not r.labelled]
    if unlabelled:
        raise ListFileError.at(dataset.list_file, unlabelled[0].line,
                               f"{len(unlabelled)} of {len(dataset)} lines have no label ('path start end'); metrics "
                               "need a label per video (classify unlabelled videos with scripts/inference.py)")
    names = class_names_of(cfg, cfg["data"]["test_list"]) or loaded.classes or dataset.classes
    model = loaded.model.to(info.device).eval()
    amp_dtype, _ = amp_settings(cfg["train"].get("amp", "none"), info.device) if cfg["train"].get("amp") != "fp16" else (torch.float16, False)
    if precision is not None:
        clips = _first_clips(dataset, input_fn(cfg))
        model = serve_on(model, info.device, precision, clips[0] if clips else None, clips)
        amp_dtype = None
        logger.info("%s runs in %s", loaded.name, describe_precision(model))
    loader = eval_loader(dataset, cfg, info, cfg["test"].get("batch_size"))
    result = evaluate(model, loader, info.device, len(names), average=cfg["test"]["average"], amp_dtype=amp_dtype,
                      progress=progress, desc="test", input_fn=input_fn(cfg))
    protocol = test_protocol(cfg, cfg["data"]["test_list"])
    protocol["precision"] = getattr(model, "precision", "fp32") if precision is not None else "as built"
    if info.is_main and out_dir is not None:
        out = Path(out_dir)
        write_confusion(result, names, out)
        write_result_json(result, names, protocol, out / "result.json",
                          extra={"model": loaded.name, "tag": loaded.tag, "world_size": info.world_size})
    if result.skipped:
        logger.warning("%d test video(s) could not be decoded and are in no metric: %s", result.num_skipped,
                       ", ".join(s["path"] for s in result.skipped[:10]))
    return result, protocol, names


def _first_clips(dataset, transform, count: int = 4) -> list:
    """Input batches ``(V, C, T, H, W)`` of the first ``count`` decodable videos (probe and calibration)."""
    load = getattr(dataset, "load_sample", dataset.__getitem__)
    clips = []
    for index in range(len(dataset)):
        if len(clips) == count:
            break
        try:
            batch = default_collate([load(index)[0]])
        except VideoDecodeError:
            continue
        if isinstance(batch, torch.Tensor) and batch.dim() == 6:  # (1, views, C, T, H, W)
            batch = batch.flatten(0, 1)
        clips.append(transform(batch) if transform is not None else batch)
    return clips


def write_reproduced(result: EvalResult, protocol: Mapping[str, Any], model: str, tag: str, dataset: str,
                     out_dir: str | Path = "csv_tables/reproduced", command: Optional[str] = None) -> Path:
    """Record a reproduced accuracy for the tables (see the module docstring for the format)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    row = {"model": model, "tag": tag, "top1": round(result.top1, 2), "top5": round(result.top5, 2),
           "mean_class_accuracy": round(result.mean_class_accuracy, 2), "num_videos": result.num_videos,
           "dataset": dataset, **{k: protocol[k] for k in ("views", "num_clips", "num_crops", "new_length", "new_step",
                                                            "num_segments", "crop_size", "short_side")},
           "list_file": protocol["list_file"],
           "command": command or " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv]),
           "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    path = out_dir / f"{model}__{tag}.json"
    body = {**row, "num_skipped": result.num_skipped, "skipped": result.skipped, "protocol": dict(protocol)}
    path.write_text(json.dumps(body, indent=2), encoding="utf-8")
    rows = []
    for other in sorted(out_dir.glob("*__*.json")):
        body = json.loads(other.read_text(encoding="utf-8"))
        rows.append({k: body.get(k, "") for k in REPRODUCED_FIELDS})
    with open(out_dir / "reproduced.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=REPRODUCED_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return path
