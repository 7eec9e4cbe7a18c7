"""The training loop: one process or DDP under torchrun, AMP, accumulation, checkpoints, exact resume.

:func:`train` runs a whole job from a resolved config (see :mod:`zoo.engine.config`). Files written
to ``output.work_dir`` (by rank 0)::

    config.yaml          the resolved config
    last.pth             checkpoint after every epoch (and where a run stopped early)
    best.pth             checkpoint with the best validation top-1
    epoch_NNN.pth        every epoch's checkpoint, with train.keep_epoch_checkpoints
    log.jsonl, log.csv   one row of metrics per epoch
    summary.json         final metrics, bad videos skipped

Crash consistency: ``last.pth`` is the commit point. It carries every log row so far, so an epoch's
checkpoint and its log row land in one atomic rename; ``best.pth``, ``epoch_NNN.pth`` and the log
files are then derived from it, idempotently, right away and again when a run starts (``--resume
auto``), so a kill -9 at any instant loses nothing that was committed and duplicates nothing.

Non-finite steps: a step whose loss or gradient is NaN/inf is never applied (``train.nonfinite``:
``skip`` counts and skips it, stopping after ``train.nonfinite_limit`` such steps; ``stop`` stops at
the first), and a model with non-finite weights is never saved.

Determinism: every sample's clip sampling and augmentation is seeded from ``(seed, epoch, index)``
(:class:`~zoo.engine.data.SeededDataset`), the sampler's order from ``(seed, epoch)``, and the global
RNGs of every rank are saved in checkpoints, so a run stopped and resumed ends with the same weights
as one that ran through (bitwise with ``train.deterministic=true``).
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import random
import time
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
import torch
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from .checkpoint import (link_or_copy, load_checkpoint, remove_stale_temp_files, rng_state, save_checkpoint,
                         set_rng_state, write_text_atomic)
from .config import save_config
from .data import SeededDataset, build_dataset, eval_loader, input_fn, prepare_data, train_loader
from .distributed import DistInfo, all_gather_objects, all_reduce_max, barrier, init_distributed
from .evaluate import evaluate
from .modeling import build_model
from .optim import build_optimizer, build_scheduler
from .precision import guard_bf16_convolutions

logger = logging.getLogger(__name__)

__all__ = ["train", "seed_everything", "amp_settings", "CHECKPOINT_FORMAT", "NonFiniteTrainingError"]

CHECKPOINT_FORMAT = "zoo-train-checkpoint/1"
LOG_FIELDS = ["epoch", "step", "lr", "train_loss", "train_top1", "val_top1", "val_top5", "val_mean_class_accuracy",
              "val_loss", "epoch_seconds", "bad_videos", "skipped_steps"]


class NonFiniteTrainingError(RuntimeError):
    """Training produced a NaN/inf loss, gradient or weight and was stopped (nothing non-finite is saved)."""


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


def _write_logs(work_dir: Path, rows: list[Mapping[str, Any]]) -> None:
    """Rewrite ``log.jsonl`` and ``log.csv`` from all rows so far (atomically, so a kill leaves the old
    or the new file)."""
    write_text_atomic(work_dir / "log.jsonl", "".join(json.dumps(dict(row)) + "\n" for row in rows))
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=LOG_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in LOG_FIELDS})
    write_text_atomic(work_dir / "log.csv", out.getvalue())


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
        self.log_rows: list[dict[str, Any]] = []  # one per finished epoch, committed with last.pth
        self.skipped_steps = 0    # non-finite steps skipped, over the whole run
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
        # a network whose forward leaves some parameters out (X-CLIP's text encoder) needs DDP to look for them
        net = DistributedDataParallel(model, device_ids=[info.local_rank] if info.device.type == "cuda" else None,
                                      find_unused_parameters=not getattr(model, "forward_uses_every_parameter", True))
    accumulate = max(1, int(t["accumulate"]))
    steps_per_epoch = len(loader) // accumulate
    if steps_per_epoch < 1:
        raise ValueError(f"{len(train_set)} training videos over {info.world_size} process(es) give {len(loader)} "
                         f"batches of {cfg['data']['batch_size']}: fewer than train.accumulate={accumulate}; "
                         "lower data.batch_size or train.accumulate")
    optimizer = build_optimizer(model, t)
    scheduler = build_scheduler(optimizer, t, steps_per_epoch)
    amp_dtype, use_scaler = amp_settings(t["amp"], info.device)
    _nonfinite_policy(t)  # a typo fails now, not at the first bad step
    if amp_dtype == torch.bfloat16 and info.device.type == "cpu":
        guard_bf16_convolutions(model)
    scaler = torch.amp.GradScaler(info.device.type, enabled=use_scaler)
    criterion = nn.CrossEntropyLoss(label_smoothing=float(t["label_smoothing"]))

    if info.is_main:
        run.work_dir.mkdir(parents=True, exist_ok=True)
        remove_stale_temp_files(run.work_dir)
        save_config(cfg, run.work_dir / "config.yaml")
    resume_path = _resume_path(resume, run.work_dir)
    if resume_path is not None:
        _restore(resume_path, run, model, optimizer, scheduler, scaler)
        if info.is_main and resume_path.resolve() == (run.work_dir / "last.pth").resolve():
            _derive_outputs(run)  # finish what a killed run committed but had not yet derived
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
            _commit(run, model, optimizer, scheduler, scaler, loader)
            logger.info("stopped at epoch %d step %d as asked (train.stop_after_*)", run.epoch, run.step_in_epoch)
            break
        row: dict[str, Any] = {"epoch": run.epoch + 1, "step": run.global_step, "lr": optimizer.param_groups[0]["lr"],
                               **stats}
        every = int(t["val_every"])
        if val_loader is not None and ((run.epoch + 1) % every == 0 or run.epoch + 1 == int(t["epochs"])):
            result = evaluate(net, val_loader, info.device, num_classes, amp_dtype=amp_dtype, input_fn=run.input_fn,
                              progress=bool(t["progress"]) and info.is_main, desc=f"val {run.epoch + 1}")
            last_val = result.summary()
            row.update({f"val_{k}": v for k, v in last_val.items() if k != "num_videos"})
            if result.top1 > run.best_top1:
                run.best_top1, run.best_epoch = result.top1, run.epoch + 1
        row["bad_videos"] = len(_bad_files(train_set))
        row["epoch_seconds"] = round(time.time() - started, 2)
        run.epoch += 1
        run.step_in_epoch = 0
        run.log_rows.append(row)
        _commit(run, model, optimizer, scheduler, scaler, loader)
        logger.info("epoch %d: %s", run.epoch, ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                                          for k, v in row.items() if k != "epoch"))
        if t.get("stop_after_epochs") and run.epoch >= int(t["stop_after_epochs"]) and run.epoch < int(t["epochs"]):
            stopped = True
            logger.info("stopped after epoch %d as asked (train.stop_after_epochs)", run.epoch)
            break

    bad_files = _bad_files(train_set)
    bad = len(bad_files)
    summary = {"model": cfg["model"]["name"], "num_classes": num_classes, "epochs_done": run.epoch,
               "global_step": run.global_step, "stopped_early": stopped, "best_val_top1": run.best_top1,
               "best_epoch": run.best_epoch, "last_val": last_val, "bad_videos_skipped": bad, "bad_files": bad_files,
               "nonfinite_steps_skipped": run.skipped_steps,
               "work_dir": str(run.work_dir), "world_size": info.world_size,
               "checkpoint": str(run.work_dir / "last.pth")}
    if info.is_main:
        write_text_atomic(run.work_dir / "summary.json", json.dumps(summary, indent=2))
        if bad:
            logger.warning("%d bad training video(s) were skipped: %s", bad, ", ".join(bad_files[:10]))
    barrier()
    return summary


def _train_epoch(run: _Run, net: nn.Module, model: nn.Module, loader, optimizer, scheduler, scaler, criterion,
                 amp_dtype: Optional[torch.dtype], accumulate: int, steps_per_epoch: int) -> tuple[dict, bool]:
    """One (possibly resumed) epoch; returns mean loss/accuracy over ranks and whether to stop."""
    t, info = run.t, run.info
    net.train()
    device = info.device
    stop_steps = t.get("stop_after_steps")
    total_micro = (steps_per_epoch - run.step_in_epoch) * accumulate
    sums = torch.zeros(3, dtype=torch.float64)  # loss * n, correct, n (finite steps only)
    step_sums = torch.zeros(3, dtype=torch.float64)
    skipped = 0
    bar = tqdm(total=steps_per_epoch, initial=run.step_in_epoch, desc=f"epoch {run.epoch + 1}/{t['epochs']}",
               disable=not (t["progress"] and info.is_main), leave=False, dynamic_ncols=True)
    optimizer.zero_grad(set_to_none=True)
    loss_finite = True
    buffers: dict[str, torch.Tensor] = {}
    for micro, (clips, labels) in enumerate(loader):
        if micro >= total_micro:
            break
        if micro % accumulate == 0:
            buffers = _snapshot_buffers(model)  # BatchNorm statistics to put back if the step is dropped
            loss_finite, step_sums = True, torch.zeros(3, dtype=torch.float64)
        clips, labels = _stack_segments(clips.to(device, non_blocking=True)), labels.to(device, non_blocking=True)
        if run.input_fn is not None:
            clips = run.input_fn(clips)
        boundary = (micro + 1) % accumulate == 0
        sync = contextlib.nullcontext() if (boundary or not isinstance(net, DistributedDataParallel)) else net.no_sync()
        with sync:
            with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                logits = net(clips)
            loss = criterion(logits.float(), labels)  # fp32 outside autocast, whatever the model computed in
            auxiliary = model.auxiliary_loss(labels) if hasattr(model, "auxiliary_loss") else None
            if auxiliary is not None:  # deep supervision the network defines (TPN's auxiliary head)
                loss = loss + auxiliary
            scaler.scale(loss / accumulate).backward()
        n = labels.shape[0]
        loss_finite = loss_finite and bool(torch.isfinite(loss.detach()))
        step_sums += torch.tensor([float(loss.detach()) * n, float((logits.argmax(1) == labels).sum()), n],
                                  dtype=torch.float64)
        if not boundary:
            continue
        unscaled = bool(t.get("clip_grad_norm")) and scaler.is_enabled()
        if unscaled:
            scaler.unscale_(optimizer)  # clipping needs the true gradients
        applied = _step_is_finite(model, loss_finite, check_grads=not scaler.is_enabled(), distributed=info.distributed)
        if applied:
            if t.get("clip_grad_norm"):
                nn.utils.clip_grad_norm_(model.parameters(), float(t["clip_grad_norm"]))
            scaler.step(optimizer)  # with a scaler (fp16), steps with inf gradients are skipped by design
            scaler.update()
            sums += step_sums
        else:
            skipped += 1
            _drop_step(run, model, buffers, loss_finite)
            if unscaled:
                scaler.update()  # closes the unscale_ above (the scale shrinks on inf gradients)
        optimizer.zero_grad(set_to_none=True)
        with warnings.catch_warnings():  # a dropped first step: torch warns of a schedule stepped before the optimizer
            warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
            scheduler.step()  # a dropped step still uses its slot: the schedule and data order stay as planned
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
    count = float(sums[2])
    if count == 0:  # every step skipped
        return {"train_loss": None, "train_top1": None, "skipped_steps": skipped}, False
    return {"train_loss": float(sums[0]) / count, "train_top1": float(sums[1]) / count * 100,
            "skipped_steps": skipped}, False


def _stack_segments(clips: torch.Tensor) -> torch.Tensor:
    """TSN-style samples ``(N, S, C, T, H, W)`` (one clip per segment) -> ``(N, C, S * T, H, W)``, the
    segments stacked along time as the models take them (the cards' input layout)."""
    if clips.dim() != 6:
        return clips
    n, s, c, t, h, w = clips.shape
    return clips.permute(0, 2, 1, 3, 4, 5).reshape(n, c, s * t, h, w)


def _nonfinite_policy(t: Mapping[str, Any]) -> str:
    policy = str(t.get("nonfinite", "skip")).lower()
    if policy not in ("skip", "stop"):
        raise ValueError(f"train.nonfinite must be skip or stop, got {t.get('nonfinite')!r}")
    return policy


def _snapshot_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: b.detach().clone() for name, b in model.named_buffers() if b.is_floating_point()}


def _step_is_finite(model: nn.Module, loss_finite: bool, check_grads: bool, distributed: bool) -> bool:
    """Whether the step's loss (and, without a GradScaler, every gradient) is finite, on every rank."""
    finite = loss_finite
    if finite and check_grads:
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        finite = bool(torch.stack([torch.isfinite(g).all() for g in grads]).all()) if grads else True
    if distributed:
        finite = not bool(all_reduce_max(torch.tensor([0 if finite else 1], dtype=torch.int32)).item())
    return finite


def _drop_step(run: _Run, model: nn.Module, buffers: Mapping[str, torch.Tensor], loss_finite: bool) -> None:
    """Undo a non-finite step's side effects (BatchNorm statistics), log it, and stop when asked or too many."""
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name in buffers:
                b.copy_(buffers[name])
    run.skipped_steps += 1
    what = "loss" if not loss_finite else "gradient"
    where = f"epoch {run.epoch + 1} step {run.step_in_epoch + 1} (global step {run.global_step + 1})"
    limit = int(run.t.get("nonfinite_limit") or 0)
    if _nonfinite_policy(run.t) == "stop":
        raise NonFiniteTrainingError(f"non-finite {what} at {where}: training stopped (train.nonfinite=stop); "
                                     "last.pth holds the last good epoch; lower train.lr, set train.clip_grad_norm "
                                     "or train.amp=none")
    if run.skipped_steps > limit:
        raise NonFiniteTrainingError(f"non-finite {what} at {where}: {run.skipped_steps} steps skipped, more than "
                                     f"train.nonfinite_limit={limit}; training stopped; lower train.lr, set "
                                     "train.clip_grad_norm or train.amp=none")
    logger.warning("non-finite %s at %s: step skipped (%d of at most %d)", what, where, run.skipped_steps, limit)


def _bad_files(dataset) -> list[str]:
    """Bad videos met by any rank."""
    flags = all_reduce_max(dataset._bad_flags.to(torch.int32))
    return [str(dataset.video_path(int(i))) for i in torch.nonzero(flags).flatten()]


def _resume_path(resume: Optional[str], work_dir: Path) -> Optional[Path]:
    if not resume:
        return None
    if resume == "auto":
        path = work_dir / "last.pth"
        return path if path.is_file() else None
    return Path(resume)


def _commit(run: _Run, model, optimizer, scheduler, scaler, loader) -> None:
    """Save ``last.pth`` (the commit point, carrying the log rows), then derive the other outputs."""
    _save(run, "last.pth", model, optimizer, scheduler, scaler, loader)
    if run.info.is_main:
        _derive_outputs(run)


def _derive_outputs(run: _Run) -> None:
    """Bring ``log.*``, ``best.pth`` and ``epoch_NNN.pth`` in line with ``last.pth``; safe to repeat."""
    last = run.work_dir / "last.pth"
    _write_logs(run.work_dir, run.log_rows)
    if run.step_in_epoch != 0 or run.epoch == 0:
        return  # a mid-epoch checkpoint: nothing new to derive
    if run.best_epoch == run.epoch:
        _link_if_changed(last, run.work_dir / "best.pth")
    if run.t["keep_epoch_checkpoints"]:
        epoch_copy = run.work_dir / f"epoch_{run.epoch:03d}.pth"
        if not epoch_copy.is_file():
            link_or_copy(last, epoch_copy)


def _read_log_rows(work_dir: Path, epochs: int) -> list[dict[str, Any]]:
    """Rows of an existing ``log.jsonl`` up to ``epochs`` (checkpoints of older runs carry no rows)."""
    path = work_dir / "log.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if int(row.get("epoch", 0)) <= epochs]


def _link_if_changed(source: Path, target: Path) -> None:
    if target.is_file() and os.path.samefile(source, target):
        return
    link_or_copy(source, target)


def _save(run: _Run, name: str, model, optimizer, scheduler, scaler, loader) -> None:
    """Rank 0 writes; every rank's RNG state goes in (gathered). Non-finite weights are never written."""
    rngs = all_gather_objects(rng_state())
    if not run.info.is_main:
        return
    weights = _unwrap(model).state_dict()
    bad = [k for k, v in weights.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise NonFiniteTrainingError(f"{len(bad)} weight tensor(s) became non-finite ({', '.join(bad[:3])}, ...); "
                                     f"{name} was not written; lower train.lr, set train.clip_grad_norm or "
                                     "train.amp=none")
    state = {"format": CHECKPOINT_FORMAT, "model": weights, "optimizer": optimizer.state_dict(),
             "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(), "epoch": run.epoch,
             "step_in_epoch": run.step_in_epoch, "global_step": run.global_step, "best_top1": run.best_top1,
             "best_epoch": run.best_epoch, "log": run.log_rows, "skipped_steps": run.skipped_steps,
             "world_size": run.info.world_size, "rng": rngs, "sampler": loader.sampler.state_dict(),
             "arch": run.cfg["model"]["name"], "config": run.cfg}
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
    run.log_rows = list(state["log"]) if "log" in state else _read_log_rows(run.work_dir, run.epoch)
    run.skipped_steps = int(state.get("skipped_steps", 0))
    rngs = state["rng"]
    set_rng_state(rngs[run.info.rank] if run.info.rank < len(rngs) else rngs[0])
    logger.info("resumed from %s: epoch %d, step %d", path, run.epoch, run.step_in_epoch)
