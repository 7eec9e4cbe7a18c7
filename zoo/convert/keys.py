"""The key-conversion engine: every converter from a foreign state dict to ours is a rule table.

A :class:`Rule` renames the source keys its regex fully matches (the first matching rule wins):
``target`` is a ``re`` template (``\\1`` groups), a function of the match, or ``None`` to drop the
key on purpose.  Policies, the same for every converter:

* a source key no rule matches is an error (end the table with :data:`KEEP` to take keys that
  already have our names);
* two source keys that land on one of our keys (aliases) must hold equal tensors;
* ``mxnet_bn=True`` renames MXNet BatchNorm suffixes (``gamma``/``beta``/``moving_mean``/
  ``moving_var``) to PyTorch's after the rule applied;
* a tensor is reshaped to our shape only where its rule says ``reshape=True`` and the element
  count agrees;
* a classifier (the model's ``classifier_names``) may have another number of classes than the
  model; :func:`zoo.state.load_into` then fits the model's classifier to it;
* BatchNorm ``num_batches_tracked`` counters the source lacks start at 0, and those our model
  lacks are dropped.

Failures raise :class:`zoo.errors.WeightsError` naming the missing, unexpected, mis-shaped and
disagreeing keys.  The target model may live on the meta device: only its keys and shapes are read.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable, Iterable, Mapping, NamedTuple, Sequence

import torch
import torch.nn as nn

from ..errors import WeightsError

__all__ = ["Rule", "KEEP", "MXNET_BN_SUFFIXES", "convert", "key_report", "without_prefix"]

MXNET_BN_SUFFIXES: dict[str, str] = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                                     "moving_var": "running_var"}


class Rule(NamedTuple):
    """``source`` regex (``re.fullmatch``) -> ``target`` (template, function of the match, or ``None``: drop)."""

    source: str
    target: "str | Callable[[re.Match[str]], str] | None"
    reshape: bool = False


#: Keeps a key as it is (for sources whose remaining keys already are ours).
KEEP = Rule(r"(.+)", r"\1")


def without_prefix(source: Mapping[str, torch.Tensor], prefix: str) -> Mapping[str, torch.Tensor]:
    """``source`` with ``prefix`` taken off every key, when every key carries it (a training wrapper that
    holds the network as an attribute, e.g. PySlowFast's ``self.model``); otherwise ``source`` unchanged."""
    if not source or not all(key.startswith(prefix) for key in source):
        return source
    return {key[len(prefix):]: value for key, value in source.items()}


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _rename(key: str, rules: Sequence[Rule]) -> tuple[str | None, bool] | None:
    """``(our key or None to drop, reshape allowed)`` for ``key``; ``None`` when no rule matches."""
    for rule in rules:
        m = _compiled(rule.source).fullmatch(key)
        if m is None:
            continue
        if rule.target is None:
            return None, False
        try:
            target = m.expand(rule.target) if isinstance(rule.target, str) else rule.target(m)
        except (KeyError, IndexError):  # a rule function that does not know this key
            return None
        return target, rule.reshape
    return None


def key_report(missing: Iterable[str], unexpected: Iterable[str], bad: Iterable[str], disagree: Iterable[str] = ()) -> str:
    """One line naming the keys that do not fit (at most 8 of each kind)."""
    parts = []
    for title, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", bad), ("aliases disagree", disagree)):
        keys = list(keys)
        if keys:
            parts.append(f"{title}: " + ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else ""))
    return "weights do not fit the model; " + "; ".join(parts)


def convert(source: Mapping[str, torch.Tensor], model: nn.Module, rules: Sequence[Rule | tuple], *,
            mxnet_bn: bool = False, what: str = "weights") -> dict[str, torch.Tensor]:
    """Rename ``source`` into ``model``'s keys with ``rules``, check every key and shape, return ours in order.

    Args:
        source: the foreign state dict.
        model: the target (meta is fine).
        rules: ordered :class:`Rule` s (plain ``(source, target[, reshape])`` tuples are read as rules).
        mxnet_bn: rename MXNet BatchNorm suffixes after the rule applied.
        what: the source's name in error messages.

    Raises:
        WeightsError: naming unexpected source keys, missing and mis-shaped keys of ours, and
            aliases that disagree.
    """
    rules = [r if isinstance(r, Rule) else Rule(*r) for r in rules]
    ours = model.state_dict()
    out: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}  # our key -> the source key it came from
    reshapable: set[str] = set()
    unexpected: list[str] = []
    disagree: list[str] = []
    for key, value in source.items():
        renamed = _rename(key, rules)
        if renamed is None:
            unexpected.append(key)
            continue
        target, reshape = renamed
        if target is None:
            continue
        if mxnet_bn:
            head, _, last = target.rpartition(".")
            target = f"{head}.{MXNET_BN_SUFFIXES.get(last, last)}" if head else MXNET_BN_SUFFIXES.get(last, last)
        if target.endswith("num_batches_tracked") and target not in ours:
            continue
        value = torch.as_tensor(value)
        if target in out:
            if not _agree(out[target], value):
                disagree.append(f"{key} (-> {target})")
            continue
        out[target] = value
        origin[target] = key
        if reshape:
            reshapable.add(target)
    for key in ours:
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = torch.zeros((), dtype=torch.long)
    missing = [k for k in ours if k not in out]
    unexpected += [f"{k} (converted name)" for k in out if k not in ours]
    bad = []
    classes = tuple(f"{name}." for name in getattr(model, "classifier_names", ()))
    for key, mine in ours.items():
        if key not in out or out[key].shape == mine.shape:
            continue
        if key.startswith(classes) and out[key].shape[1:] == mine.shape[1:]:
            continue  # a classifier of another width: the loader fits the model's to it
        if key in reshapable and out[key].numel() == mine.numel():
            out[key] = out[key].reshape(mine.shape)
        else:
            source_key = origin.get(key, key)
            named = key if source_key == key else f"{key} (from {source_key})"
            bad.append(f"{named}: file {tuple(out[key].shape)} vs model {tuple(mine.shape)}")
    if missing or unexpected or bad or disagree:
        raise WeightsError(f"{what}: {key_report(missing, unexpected, bad, disagree)}")
    return {k: _as_dtype(out[k], ours[k].dtype) for k in ours}


def _agree(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    return a.is_meta or b.is_meta or torch.equal(a, b)  # meta tensors (identify) have no values to compare


def _as_dtype(tensor: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return tensor.to(dtype) if tensor.dtype != dtype and tensor.is_floating_point() else tensor
