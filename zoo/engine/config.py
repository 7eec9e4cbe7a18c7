"""Run configuration: defaults, YAML files, ``key.sub=value`` overrides, the resolved copy saved with a run.

A config is a nested dict with the sections of :data:`DEFAULTS` (``model``, ``data``, ``train``,
``test``, ``output``). :func:`load_config` starts from the defaults, merges a YAML file on top (which
may name another file under ``_base_`` to inherit from) and then applies command-line overrides::

    cfg = load_config("configs/simple3d_synthetic.yaml", ["train.lr=0.05", "model.kwargs.widths=[8,16]"])

Override values are parsed as YAML (``1e-3`` -> float, ``[8, 16]`` -> list, ``null`` -> None,
``true`` -> bool); unknown keys are an error unless they sit under a free-form mapping
(``model.kwargs``) or the override starts with ``+`` (``+train.note=x``).

The input protocol (``data.clip_len``, ``frame_step``, ``num_segments``, ``crop_size``, ``short_side``,
``mean``, ``std`` and ``sampling``) comes from the card of ``model.name`` (:func:`card_protocol`): a config
file or an override sets one of these keys only to differ from the card. The keys are the card's own names
(:class:`~zoo.registry.InputSpec`); GluonCV's ``new_length`` / ``new_step`` are read as ``clip_len`` /
``frame_step`` with a deprecation warning.
"""
from __future__ import annotations

import copy
import logging
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from ..catalogue import model_card
from ..registry import UnknownModelError
from .checkpoint import write_text_atomic

logger = logging.getLogger(__name__)

__all__ = ["DEFAULTS", "ConfigError", "card_protocol", "load_config", "merge", "parse_override", "apply_overrides",
           "save_config"]

# GluonCV's names of two card fields, still read (with a warning) in config files, overrides and saved checkpoints
DEPRECATED_DATA_KEYS = {"new_length": "clip_len", "new_step": "frame_step"}

_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)$")

# Free-form mappings: any key may be added below these.
OPEN_SECTIONS = ("model.kwargs",)

DEFAULTS: dict[str, Any] = {
    "model": {
        "name": "simple3d_synthetic",   # any registry name
        "pretrained": False,            # False, True, a hash tag, or a weights file
        "num_classes": None,            # None: the training list's class count
        "kwargs": {},                   # builder kwargs (dropout_ratio, num_segments, widths, ...)
        "sync_bn": False,               # SyncBatchNorm under DDP
        "partial_bn": False,            # freeze every BatchNorm but the first (TSN partial BN)
        "frozen_stages": -1,            # freeze the stem (0) and layer1..layerN (N); -1: none
        "freeze": [],                   # further modules to freeze, by name (model.named_modules())
    },
    "data": {
        "root": None,                   # prefix of list paths (default: the list's folder)
        "train_list": None,
        "val_list": None,
        "test_list": None,
        "classes": None,                # class-name file (default: classes.txt beside the list)
        "synthetic": None,              # {root, num_train, num_val, seed, frames, size}: generate first
        "backend": "auto",
        # the input protocol: these seven and sampling come from the card of model.name (card_protocol)
        "sampling": "dense",            # tsn | dense | uniform
        "clip_len": 16,                 # frames per clip
        "frame_step": 1,                # stride between sampled frames
        "num_segments": 1,
        "crop_size": 112,
        "short_side": 128,
        "temporal_jitter": False,
        "train_crop": "multiscale",     # multiscale | random_resized | random
        "flip": True,
        "flip_labels": True,            # mirror "left"/"right" class names with the frames
        "mean": [0.485, 0.456, 0.406],
        "std": [0.229, 0.224, 0.225],
        "batch_size": 8,                # per process
        "eval_batch_size": None,        # default: batch_size
        "num_workers": 0,
        "on_error": "skip",             # bad videos: skip (counted) or raise
        "timeout": 300,                 # seconds a video (or a worker's batch) may take to load; then an error naming it
        "temporal_centering": False,    # subtract each pixel's mean over a clip's frames (model input)
    },
    "train": {
        "epochs": 10,
        "optimizer": "sgd",             # sgd | adamw
        "lr": 0.01,                     # for the global batch (all processes, all accumulation steps)
        "momentum": 0.9,
        "nesterov": False,
        "betas": [0.9, 0.999],
        "weight_decay": 1e-4,
        "no_decay_norm_bias": True,     # no weight decay on norms and biases
        "layer_decay": None,            # transformers: lr * layer_decay ** (depth below the head), e.g. 0.75
        "schedule": "cosine",           # cosine | step | constant
        "warmup_epochs": 0.0,
        "warmup_start_factor": 0.1,
        "min_lr_factor": 0.0,           # cosine floor, as a fraction of lr
        "milestones": [],               # step schedule: epochs
        "gamma": 0.1,
        "label_smoothing": 0.0,
        "clip_grad_norm": None,
        "accumulate": 1,                # micro-batches per optimizer step
        "amp": "none",                  # none | bf16 | fp16 (fp16: CUDA only, with GradScaler)
        "seed": 0,
        "deterministic": False,
        "val_every": 1,                 # validate every N epochs (0: never)
        "stop_after_steps": None,       # stop as if killed after N optimizer steps (resume test)
        "stop_after_epochs": None,      # stop as if killed after N epochs
        "keep_epoch_checkpoints": False,
        "nonfinite": "skip",            # a NaN/inf loss or gradient: skip the step (counted) or stop
        "nonfinite_limit": 10,          # skip: stop once more steps than this were skipped in the run
        "progress": True,               # tqdm bars on rank 0
        "device": "auto",               # auto | cpu | cuda
        "threads": None,                # torch.set_num_threads
    },
    "test": {
        "num_clips": 1,
        "num_crops": 1,
        "sampling": None,               # default: data.sampling
        "average": "prob",              # average softmax probabilities (prob) or logits (logit)
        "batch_size": None,
    },
    "output": {"work_dir": "runs/train"},
}


class ConfigError(ValueError):
    """A config file or override that cannot be used."""


def card_protocol(name: str, tag: str = "") -> dict[str, Any]:
    """The ``data`` settings of a model card's :class:`~zoo.registry.InputSpec` (of its weights ``tag`` where that
    version was trained with another input): what training, testing and inference read clips with, before a
    config's overrides (``{"clip_len", "frame_step", "num_segments", "crop_size", "short_side", "mean", "std",
    "sampling", "temporal_centering"}``)."""
    try:
        card = model_card(name)
    except UnknownModelError as error:
        raise ConfigError(f"model.name: {error.args[0]}") from None
    spec = card.input_for(card.find_weights(tag) if tag else None)
    return {"clip_len": spec.clip_len, "frame_step": spec.frame_step, "num_segments": spec.num_segments,
            "crop_size": spec.crop_size, "short_side": spec.short_side, "mean": list(spec.mean), "std": list(spec.std),
            "sampling": "tsn" if spec.num_segments > 1 else "dense", "temporal_centering": spec.temporal_centering}


def rename_deprecated(cfg: Mapping[str, Any], where: str = "config") -> dict[str, Any]:
    """A copy of ``cfg`` with ``data.new_length`` / ``data.new_step`` renamed ``clip_len`` / ``frame_step``
    (warned once per key); ``data.from_card`` (the card now always applies) is dropped."""
    out = dict(cfg)
    data = out.get("data")
    if not isinstance(data, Mapping):
        return out
    data = dict(data)
    for old, new in DEPRECATED_DATA_KEYS.items():
        if old in data:
            logger.warning("%s: data.%s is deprecated, use data.%s (the model card's name)", where, old, new)
            value = data.pop(old)
            data.setdefault(new, value)
    if data.pop("from_card", None) is not None:
        logger.warning("%s: data.from_card is no longer needed: the model card's input protocol always applies", where)
    out["data"] = data
    return out


def merge(base: Mapping[str, Any], update: Mapping[str, Any], path: str = "", strict: bool = True) -> dict[str, Any]:
    """Deep merge ``update`` into a copy of ``base``; with ``strict``, unknown keys raise :class:`ConfigError`."""
    out = copy.deepcopy(dict(base))
    for key, value in update.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in out:
            if strict and not _is_open(path):
                raise ConfigError(f"unknown config key {where!r}; known keys under {path or 'the top level'}: "
                                  f"{', '.join(sorted(out))}")
            out[key] = copy.deepcopy(value)
        elif isinstance(out[key], Mapping) and isinstance(value, Mapping) and not _is_open(where):
            out[key] = merge(out[key], value, where, strict)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_open(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in OPEN_SECTIONS)


def parse_override(text: str) -> tuple[list[str], Any, bool]:
    """``"train.lr=0.1"`` -> ``(["train", "lr"], 0.1, False)``; a leading ``+`` allows a new key."""
    allow_new = text.startswith("+")
    key, sep, raw = text.lstrip("+").partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form key.sub=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    if isinstance(value, str) and _FLOAT.match(value.strip()):
        value = float(value)  # YAML 1.1 reads "1e-3" (no dot) as a string
    return key.strip().split("."), value, allow_new


def apply_overrides(cfg: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply ``key.sub=value`` overrides to a copy of ``cfg``."""
    out = copy.deepcopy(dict(cfg))
    for text in overrides:
        keys, value, allow_new = parse_override(text)
        if keys[0] == "data" and len(keys) == 2 and keys[1] in DEPRECATED_DATA_KEYS:
            logger.warning("override %s: data.%s is deprecated, use data.%s (the model card's name)",
                           text, keys[1], DEPRECATED_DATA_KEYS[keys[1]])
            keys = ["data", DEPRECATED_DATA_KEYS[keys[1]]]
        node = out
        for depth, key in enumerate(keys[:-1]):
            prefix = ".".join(keys[: depth + 1])
            if key not in node:
                if not (allow_new or _is_open(".".join(keys[:depth]))):
                    raise ConfigError(f"unknown config key {prefix!r} in override {text!r}")
                node[key] = {}
            if not isinstance(node[key], dict):
                raise ConfigError(f"{prefix!r} is a value, not a section (override {text!r})")
            node = node[key]
        last = keys[-1]
        if last not in node and not (allow_new or _is_open(".".join(keys[:-1]))):
            raise ConfigError(f"unknown config key {'.'.join(keys)!r} in override {text!r}; "
                              f"known: {', '.join(sorted(node))} (prefix with + to add a key)")
        node[last] = value
    return out


def _read_yaml(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise ConfigError(f"config inheritance loop through {path}")
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config file must hold a mapping, got {type(data).__name__}")
    data = rename_deprecated(data, str(path))
    base = data.pop("_base_", None)
    if base:
        parent = _read_yaml((path.parent / base), seen + (path,))
        data = merge(parent, data, strict=False)
    return data


def load_config(path: str | os.PathLike | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Defaults <- the input protocol of ``model.name``'s card <- YAML file (with ``_base_``) <- overrides.

    The card is the one of the final ``model.name`` (``model.name=...`` on the command line brings its own
    protocol), so a config holds only what differs from it.
    """
    overrides = list(overrides)
    file_cfg = _read_yaml(Path(path)) if path is not None else {}
    name = merge(DEFAULTS, file_cfg)["model"]["name"]
    for text in overrides:
        keys, value, _ = parse_override(text)
        name = value if keys == ["model", "name"] else name
    base = merge(DEFAULTS, {"data": card_protocol(str(name))})
    return apply_overrides(merge(base, file_cfg), overrides)


def save_config(cfg: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Write the resolved config as YAML (the run's own copy), atomically."""
    return write_text_atomic(path, yaml.safe_dump(_plain(cfg), sort_keys=False))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
