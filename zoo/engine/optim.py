"""Optimizers (SGD, AdamW) and per-step learning-rate schedules (linear warm-up, then cosine or step)."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn as nn

__all__ = ["build_optimizer", "WarmupSchedule", "build_scheduler"]

_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


def _param_groups(model: nn.Module, weight_decay: float, no_decay_norm_bias: bool,
                  layer_decay: float | None = None, lr: float = 0.0) -> list[dict[str, Any]]:
    """Parameter groups: with and without weight decay (norms, biases and a transformer's tokens and
    position tables), each split by depth with ``layer_decay`` (see :func:`_layer_scale`)."""
    tokens = set(model.no_weight_decay_names()) if hasattr(model, "no_weight_decay_names") else set()
    scale = _layer_scale(model, layer_decay)
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {(True, 1.0): []}
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            skip = no_decay_norm_bias and (isinstance(module, _NORMS) or name == "bias" or name in tokens)
            groups.setdefault((not skip, scale(f"{module_name}.{name}" if module_name else name)), []).append(p)
    out = []
    for (decays, factor), params in groups.items():
        if params or (decays and factor == 1.0):
            group: dict[str, Any] = {"params": params, "weight_decay": weight_decay if decays else 0.0}
            if layer_decay is not None:
                group["lr"] = lr * factor
            out.append(group)
    return out


def _layer_scale(model: nn.Module, layer_decay: float | None) -> Callable[[str], float]:
    """Layer-wise learning-rate decay (BEiT's, which VideoMAE's fine-tuning uses): a parameter at depth
    ``i`` of ``L + 2`` (0: embeddings, ``1..L``: the blocks, ``L + 1``: the head; ``model.layer_id``)
    learns at ``lr * layer_decay ** (L + 1 - i)``."""
    if layer_decay is None:
        return lambda name: 1.0
    if not 0.0 < layer_decay <= 1.0:
        raise ValueError(f"train.layer_decay must be in (0, 1], got {layer_decay}")
    if not hasattr(model, "layer_id"):
        raise ValueError(f"train.layer_decay needs a transformer that tells each parameter's depth (layer_id); "
                         f"{type(model).__name__} does not: leave layer_decay unset")
    top = max(model.layer_id(name) for name, _ in model.named_parameters())
    return lambda name: layer_decay ** (top - model.layer_id(name))


def build_optimizer(model: nn.Module, train: Mapping[str, Any]) -> torch.optim.Optimizer:
    """``train.optimizer``: ``sgd`` (momentum, nesterov) or ``adamw`` (betas), over trainable parameters;
    ``train.layer_decay`` (e.g. 0.75) lowers the learning rate layer by layer below the head."""
    lr = float(train["lr"])
    layer_decay = train.get("layer_decay")
    groups = _param_groups(model, float(train["weight_decay"]), bool(train["no_decay_norm_bias"]),
                           None if layer_decay is None else float(layer_decay), lr)
    kind = str(train["optimizer"]).lower()
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(train["momentum"]), nesterov=bool(train["nesterov"]))
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(float(b) for b in train["betas"]))
    raise ValueError(f"train.optimizer must be 'sgd' or 'adamw', got {train['optimizer']!r}")


class WarmupSchedule:
    """LR factor per optimizer step: linear warm-up from ``start_factor``, then cosine to ``min_factor``,
    step decay by ``gamma`` at ``milestones`` (in steps), or constant. Plain attributes only, so the
    scheduler's ``state_dict`` stays ``weights_only``-loadable."""

    def __init__(self, total_steps: int, warmup_steps: int, kind: str = "cosine", start_factor: float = 0.1,
                 min_factor: float = 0.0, milestones: Sequence[int] = (), gamma: float = 0.1) -> None:
        if kind not in ("cosine", "step", "constant"):
            raise ValueError(f"train.schedule must be cosine, step or constant, got {kind!r}")
        self.total_steps, self.warmup_steps, self.kind = int(total_steps), int(warmup_steps), kind
        self.start_factor, self.min_factor = float(start_factor), float(min_factor)
        self.milestones, self.gamma = [int(m) for m in milestones], float(gamma)

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.start_factor + (1.0 - self.start_factor) * step / self.warmup_steps
        if self.kind == "cosine":
            span = max(1, self.total_steps - self.warmup_steps)
            progress = min(1.0, (step - self.warmup_steps) / span)
            return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))
        if self.kind == "step":
            return self.gamma ** sum(step >= m for m in self.milestones)
        return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, train: Mapping[str, Any], steps_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step :class:`~torch.optim.lr_scheduler.LambdaLR` over ``train.epochs``."""
    schedule = WarmupSchedule(
        total_steps=int(train["epochs"]) * steps_per_epoch,
        warmup_steps=round(float(train["warmup_epochs"]) * steps_per_epoch),
        kind=str(train["schedule"]), start_factor=float(train["warmup_start_factor"]),
        min_factor=float(train["min_lr_factor"]), milestones=[int(m * steps_per_epoch) for m in train["milestones"]],
        gamma=float(train["gamma"]))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
