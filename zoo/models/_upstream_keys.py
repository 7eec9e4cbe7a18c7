"""Key mapping from upstream PyTorch state dicts (torchvision, ig65m, IBM) to ours.

A family's converter describes the upstream -> zoo name mapping as an ordered list of regex rules
and calls :func:`remap_state`, which applies them, checks every key and shape against the target
model (which may live on the meta device) and raises :class:`zoo.weights.WeightsError` naming the
missing, unexpected and mis-shaped keys.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

import torch
import torch.nn as nn

__all__ = ["Rule", "rename_key", "remap_state", "DROP"]

#: A rule: ``(pattern, replacement)``; ``re.fullmatch`` on the upstream key, ``replacement`` as in
#: ``re.sub`` (``\1`` groups) or a callable of the match.  The replacement :data:`DROP` removes the key.
Rule = tuple[str, "str | Callable[[re.Match[str]], str]"]
DROP = "<drop>"


def rename_key(key: str, rules: Sequence[Rule]) -> str:
    """The first rule that fully matches ``key`` renames it; keys no rule matches are kept as they are."""
    for pattern, repl in rules:
        m = re.fullmatch(pattern, key)
        if m is None:
            continue
        if callable(repl):
            return repl(m)
        return repl if repl == DROP else m.expand(repl)
    return key


def remap_state(
    source: Mapping[str, torch.Tensor],
    model: nn.Module,
    rules: Sequence[Rule],
    *,
    reshape: Iterable[str] = (),
    what: str = "upstream",
) -> dict[str, torch.Tensor]:
    """Rename ``source`` keys with ``rules`` into ``model``'s keys and check them all.

    Args:
        source: the upstream state dict.
        model: the target model (only its ``state_dict`` keys and shapes are read; meta is fine).
        rules: ordered :data:`Rule` list.
        reshape: regexes of *our* keys whose tensors may be reshaped to our shape when the
            element count agrees (e.g. a ``1x1x1`` conv classifier that is a ``Linear`` here).
        what: the source's name in error messages.

    ``num_batches_tracked`` counters that the source lacks are set to 0, and those our model
    lacks are dropped.  Non-persistent buffers are not in ``state_dict`` and never loaded.
    """
    from ..weights import WeightsError

    ours = model.state_dict()
    reshapable = [re.compile(p) for p in reshape]
    out: dict[str, torch.Tensor] = {}
    collisions: list[str] = []
    for key, value in source.items():
        new = rename_key(key, rules)
        if new == DROP:
            continue
        if new.endswith("num_batches_tracked") and new not in ours:
            continue
        if new in out:
            collisions.append(f"{key} -> {new}")
        out[new] = value
    for key, value in ours.items():
        if key.endswith("num_batches_tracked") and key not in out:
            out[key] = torch.zeros((), dtype=torch.long)
    missing = [k for k in ours if k not in out]
    unexpected = [k for k in out if k not in ours]
    bad = []
    for key in ours:
        if key not in out or tuple(out[key].shape) == tuple(ours[key].shape):
            continue
        if out[key].numel() == ours[key].numel() and any(p.fullmatch(key) for p in reshapable):
            out[key] = out[key].reshape(ours[key].shape)
        else:
            bad.append(f"{key}: {what} {tuple(out[key].shape)} vs ours {tuple(ours[key].shape)}")
    if missing or unexpected or bad or collisions:
        parts = []
        for title, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", bad), ("mapped twice", collisions)):
            if keys:
                shown = ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")
                parts.append(f"{title}: {shown}")
        raise WeightsError(
            f"{what} weights do not fit {type(model).__name__}; " + "; ".join(parts)
            + ". Check that the model name matches the checkpoint (depth, classes, variant)."
        )
    return {k: out[k] for k in ours}
