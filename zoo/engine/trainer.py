"""The training loop: one process or DDP under torchrun, AMP, accumulation, checkpoints, exact resume.

:func:`train` runs a whole job from a resolved config (see :mod:`zoo.engine.config`). Files written
to ``output.work_dir`` (by rank 0)::

    config.yaml          the resolved config
    last.pth             checkpoint after every epoch (and where a run stopped early)
    best.pth             checkpoint with the best validation top-1
    epoch_NNN.pth        every epoch's checkpoint, with train.keep_epoch_checkpoints
    log.jsonl, log.csv   one row of metrics per epoch
    summary.json         final metrics, bad videos skipped

Determinism: every sample's clip sampling and augmentation is seeded from ``(seed, epoch, index)``
(:class:`~zoo.engine.data.SeededDataset`), the sampler's order from ``(seed, epoch)``, and the global
RNGs of every rank are saved in checkpoints, so a run stopped and resumed ends with the same weights
as one that ran through (bitwise with ``train.deterministic=true``).
"""
from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel

from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .config import save_config
from .data import SeededDataset, build_dataset, eval_loader, input_fn, prepare_data, train_loader
from .distributed import DistInfo, all_gather_objects, all_reduce_max, barrier, init_distributed
from .evaluate import evaluate
from .modeling import apply_freeze, build_model
from .optim import build_optimizer, build_scheduler

logger = logging.getLogger(__name__)

__all__ = ["train", "seed_everything", "amp_settings", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "zoo-train-checkpoint/1"
LOG_FIELDS = ["epoch", "step", "lr", "train_loss", "train_top1", "val_top1", "val_top5", "val_mean_class_accuracy",
              "val_loss", "epoch_seconds", "bad_videos"]


def seed_everything(seed: int, deterministic: bool = False) -> None:
    """Seed torch, numpy and python; with ``deterministic`` also force deterministic kernels."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def amp_settings(amp: str, device: torch.device) -> tuple[Optional[torch.dtype], bool]:
    """``(autocast dtype or None, use GradScaler)`` for ``train.amp``."""
    amp = str(amp or "none").lower()
    if amp in ("none", "false", "fp32", "off"):
        return None, False
    if amp == "bf16":
        return torch.bfloat16, False
    if amp == "fp16":
        if device.type != "cuda":
            raise ValueError("train.amp=fp16 needs a CUDA device (GradScaler); use train.amp=bf16 on CPU")
        return torch.float16, True
    raise ValueError(f"train.amp must be none, bf16 or fp16, got {amp!r}")


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


class _Logger:
    """Per-epoch JSONL + CSV rows (rank 0 only)."""

    def __init__(self, work_dir: Path, enabled: bool) -> None:
        self.jsonl, self.csv, self.enabled = work_dir / "log.jsonl", work_dir / "log.csv", enabled

    def write(self, row: Mapping[str, Any]) -> None:
        if not self.enabled:
            return
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(row)) + "\n")
        new = not self.csv.is_file()
        with open(self.csv, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=LOG_FIELDS, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})


class _Run:
    """State shared by the loop's pieces."""

    def __init__(self, cfg: dict, info: DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.t = cfg["train"]
        self.work_dir = Path(cfg["output"]["work_dir"])
        self.epoch = 0            # current epoch (0-based)
        self.step_in_epoch = 0    # optimizer steps done in the current epoch
        self.global_step = 0
        self.best_top1 = -1.0
        self.best_epoch = -1
        self.input_fn = input_fn(cfg)


def train(cfg: dict, resume: Optional[str] = None) -> dict[str, Any]:
    """Run a training job; returns the summary (also written to ``summary.json``).

    Args:
        cfg: a resolved config (:func:`~zoo.engine.config.load_config`).
        resume: a checkpoint to continue from, or ``"auto"`` for ``work_dir/last.pth`` if it exists.
    """
    t = cfg["train"]
    info = init_distributed(t["device"])
    if t.get("threads"):
        torch.set_num_threads(int(t["threads"]))
    seed_everything(int(t["seed"]) + info.rank, bool(t["deterministic"]))
    run = _Run(cfg, info)
    if info.is_main:
        prepare_data(cfg)
    barrier()
    prepare_data(cfg)  # the other ranks read the lists rank 0 wrote (already up to date)
    train_set = build_dataset(cfg, "train")
    seeded = SeededDataset(train_set, int(t["seed"]))
    loader = train_loader(seeded, cfg, info)
    val_loader = None
    if cfg["data"].get("val_list") and int(t["val_every"]) > 0:
        val_loader = eval_loader(build_dataset(cfg, "val", train_set.num_classes), cfg, info)
    num_classes = int(cfg["model"].get("num_classes") or train_set.num_classes)

    model = build_model(cfg["model"], num_classes).to(info.device)
    if info.distributed and cfg["model"].get("sync_bn"):
        if info.device.type != "cuda":
            raise ValueError("model.sync_bn=true needs CUDA devices (PyTorch's SyncBatchNorm has no CPU kernel); "
                             "set model.sync_bn=false for CPU (gloo) runs")
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    net: nn.Module = model
    if info.distributed:
        net = DistributedDataParallel(model, device_ids=[info.local_rank] if info.device.type == "cuda" else None)
    accumulate = max(1, int(t["accumulate"]))
    steps_per_epoch = len(loader) // accumulate
    if steps_per_epoch < 1:
        raise ValueError(f"{len(train_set)} training videos over {info.world_size} process(es) give {len(loader)} "
                         f"batches of {cfg['data']['batch_size']}: fewer than train.accumulate={accumulate}; "
                         "lower data.batch_size or train.accumulate")
    optimizer = build_optimizer(model, t)
    scheduler = build_scheduler(optimizer, t, steps_per_epoch)
    amp_dtype, use_scaler = amp_settings(t["amp"], info.device)
    scaler = torch.amp.GradScaler(info.device.type, enabled=use_scaler)
    criterion = nn.CrossEntropyLoss(label_smoothing=float(t["label_smoothing"]))
    log = _Logger(run.work_dir, info.is_main)

    if info.is_main:
        run.work_dir.mkdir(parents=True, exist_ok=True)
        save_config(cfg, run.work_dir / "config.yaml")
    resume_path = _resume_path(resume, run.work_dir)
    if resume_path is not None:
        _restore(resume_path, run, model, optimizer, scheduler, scaler)
    logger.info("training %s (%d classes) on %d videos, %d process(es), %d steps/epoch, from epoch %d step %d",
                cfg["model"]["name"], num_classes, len(train_set), info.world_size, steps_per_epoch, run.epoch,
                run.step_in_epoch)

    stopped = False
    last_val: dict[str, Any] = {}
    while run.epoch < int(t["epochs"]):
        started = time.time()
        skip = run.step_in_epoch * accumulate * int(cfg["data"]["batch_size"])
        loader.sampler.set_epoch(run.epoch, skip=skip)
        seeded.set_epoch(run.epoch)
        stats, stopped = _train_epoch(run, net, model, loader, optimizer, scheduler, scaler, criterion, amp_dtype,
                                      accumulate, steps_per_epoch)
        if stopped:
            _save(run, "last.pth", model, optimizer, scheduler, scaler, loader)
            logger.info("stopped at epoch %d step %d as asked (train.stop_after_*)", run.epoch, run.step_in_epoch)
            break
        row: dict[str, Any] = {"epoch": run.epoch + 1, "step": run.global_step, "lr": optimizer.param_groups[0]["lr"],
                               **stats}
        is_best = False
        every = int(t["val_every"])
        if val_loader is not None and ((run.epoch + 1) % every == 0 or run.epoch + 1 == int(t["epochs"])):
            result = evaluate(net, val_loader, info.device, num_classes, amp_dtype=amp_dtype, input_fn=run.input_fn,
                              progress=bool(t["progress"]) and info.is_main, desc=f"val {run.epoch + 1}")
            last_val = result.summary()
            row.update({f"val_{k}": v for k, v in last_val.items() if k != "num_videos"})
            if result.top1 > run.best_top1:
                run.best_top1, run.best_epoch, is_best = result.top1, run.epoch + 1, True
        row["bad_videos"] = _bad_count(train_set)
        row["epoch_seconds"] = round(time.time() - started, 2)
        run.epoch += 1
        run.step_in_epoch = 0
        _save(run, "last.pth", model, optimizer, scheduler, scaler, loader)
        if is_best:
            _save(run, "best.pth", model, optimizer, scheduler, scaler, loader)
        if t["keep_epoch_checkpoints"]:
            _save(run, f"epoch_{run.epoch:03d}.pth", model, optimizer, scheduler, scaler, loader)
        log.write(row)
        logger.info("epoch %d: %s", run.epoch, ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in row.items() if k != "epoch"))
        if t.get("stop_after_epochs") and run.epoch >= int(t["stop_after_epochs"]) and run.epoch < int(t["epochs"]):
            stopped = True
            logger.info("stopped after epoch %d as asked (train.stop_after_epochs)", run.epoch)
            break

    bad = _bad_count(train_set)
    bad_files = _bad_files(train_set)
    summary = {"model": cfg["model"]["name"], "num_classes": num_classes, "epochs_done": run.epoch,
               "global_step": run.global_step, "stopped_early": stopped, "best_val_top1": run.best_top1,
               "best_epoch": run.best_epoch, "last_val": last_val, "bad_videos_skipped": bad, "bad_files": bad_files,
               "work_dir": str(run.work_dir), "world_size": info.world_size,
               "checkpoint": str(run.work_dir / "last.pth")}
    if info.is_main:
        (run.work_dir / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
        if bad:
            logger.warning("%d bad training video(s) were skipped: %s", bad, ", ".join(bad_files[:10]))
    barrier()
    return summary


def _train_epoch(run: _Run, net: nn.Module, model: nn.Module, loader, optimizer, scheduler, scaler, criterion,
                 amp_dtype: Optional[torch.dtype], accumulate: int, steps_per_epoch: int) -> tuple[dict, bool]:
    """One (possibly resumed) epoch; returns mean loss/accuracy over ranks and whether to stop."""
    from tqdm import tqdm

    t, info = run.t, run.info
    net.train()
    apply_freeze(model)
    device = info.device
    stop_steps = t.get("stop_after_steps")
    total_micro = (steps_per_epoch - run.step_in_epoch) * accumulate
    sums = torch.zeros(3, dtype=torch.float64)  # loss * n, correct, n
    bar = tqdm(total=steps_per_epoch, initial=run.step_in_epoch, desc=f"epoch {run.epoch + 1}/{t['epochs']}",
               disable=not (t["progress"] and info.is_main), leave=False, dynamic_ncols=True)
    optimizer.zero_grad(set_to_none=True)
    for micro, (clips, labels) in enumerate(loader):
        if micro >= total_micro:
            break
        clips, labels = clips.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        if run.input_fn is not None:
            clips = run.input_fn(clips)
        boundary = (micro + 1) % accumulate == 0
        sync = contextlib.nullcontext() if (boundary or not isinstance(net, DistributedDataParallel)) else net.no_sync()
        with sync:
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = net(clips)
                loss = criterion(logits.float(), labels)
            scaler.scale(loss / accumulate).backward()
        n = labels.shape[0]
        sums += torch.tensor([float(loss.detach()) * n, float((logits.argmax(1) == labels).sum()), n], dtype=torch.float64)
        if not boundary:
            continue
        if t.get("clip_grad_norm"):
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), float(t["clip_grad_norm"]))
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        run.global_step += 1
        run.step_in_epoch += 1
        bar.update()
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}", lr=f"{optimizer.param_groups[0]['lr']:.2e}")
        if stop_steps and run.global_step >= int(stop_steps):
            bar.close()
            return {}, True
    bar.close()
    if info.distributed:
        torch.distributed.all_reduce(sums)
    count = max(float(sums[2]), 1.0)
    return {"train_loss": float(sums[0]) / count, "train_top1": float(sums[1]) / count * 100}, False


def _bad_count(dataset) -> int:
    return int(all_reduce_max(dataset._bad_flags.to(torch.int32)).sum())


def _bad_files(dataset) -> list[str]:
    flags = all_reduce_max(dataset._bad_flags.to(torch.int32))
    return [str(dataset.video_path(int(i))) for i in torch.nonzero(flags).flatten()]


def _resume_path(resume: Optional[str], work_dir: Path) -> Optional[Path]:
    if not resume:
        return None
    if resume == "auto":
        path = work_dir / "last.pth"
        return path if path.is_file() else None
    return Path(resume)


def _save(run: _Run, name: str, model, optimizer, scheduler, scaler, loader) -> None:
    """Rank 0 writes; every rank's RNG state goes in (gathered)."""
    rngs = all_gather_objects(rng_state())
    if not run.info.is_main:
        return
    state = {
        "format": CHECKPOINT_FORMAT,
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict(),
        "epoch": run.epoch, "step_in_epoch": run.step_in_epoch, "global_step": run.global_step,
        "best_top1": run.best_top1, "best_epoch": run.best_epoch,
        "world_size": run.info.world_size,
        "rng": rngs,
        "sampler": loader.sampler.state_dict(),
        "arch": run.cfg["model"]["name"],
        "config": run.cfg,
    }
    save_checkpoint(state, run.work_dir / name)


def _restore(path: Path, run: _Run, model, optimizer, scheduler, scaler) -> None:
    state = load_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a zoo training checkpoint (format {state.get('format')!r}); to start from "
                         "weights only, use model.pretrained=<file>")
    if state["world_size"] != run.info.world_size:
        logger.warning("%s was written by %d process(es), resuming with %d: the data order and RNG streams differ",
                       path, state["world_size"], run.info.world_size)
    _unwrap(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    scaler.load_state_dict(state["scaler"])
    run.epoch, run.step_in_epoch, run.global_step = state["epoch"], state["step_in_epoch"], state["global_step"]
    run.best_top1, run.best_epoch = state["best_top1"], state["best_epoch"]
    rngs = state["rng"]
    set_rng_state(rngs[run.info.rank] if run.info.rank < len(rngs) else rngs[0])
    logger.info("resumed from %s: epoch %d, step %d", path, run.epoch, run.step_in_epoch)
