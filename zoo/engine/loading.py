"""Models for evaluation and inference: a registry name (with its published weights), a weights file,
or a training checkpoint (whose saved config gives the architecture, kwargs and data protocol)."""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

import torch.nn as nn

from ..catalogue import model_card
from ..data import class_names
from ..hub import sha1sum
from ..weights import WeightsError, get_model
from .checkpoint import load_checkpoint
from .cli_errors import UsageError
from .config import DEFAULTS, card_protocol, merge, parse_override, rename_deprecated

logger = logging.getLogger(__name__)

__all__ = ["LoadedModel", "load_model"]


@dataclass
class LoadedModel:
    """A model ready for ``eval()``, what it is, and the config (data protocol) to feed it with."""

    model: nn.Module
    name: str           # registry name the model was built from
    tag: str            # weights version: the hub tag, ``file-<sha1[:8]>`` of a local file, or ``random``
    cfg: dict           # a full config (defaults <- card input spec <- checkpoint config)
    classes: Optional[list[str]] = None


def _file_tag(path: Path) -> str:
    return f"file-{sha1sum(path)[:8]}"


def _read_checkpoint(path: str) -> dict[str, Any]:
    """A training checkpoint's dict; anything torch cannot read safely is a :class:`WeightsError` in one line."""
    try:
        state = load_checkpoint(path)
    except FileNotFoundError:
        raise
    except Exception as exc:
        # torch's own message advises weights_only=False, which would run the file's code: not repeated
        raise WeightsError(f"cannot read checkpoint {path}: not a PyTorch checkpoint of tensors and plain values "
                           f"({type(exc).__name__}); give a best.pth / last.pth written by "
                           "scripts/train_recognizer.py (or published weights with --model NAME --weights FILE)") from exc
    if not isinstance(state, dict):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a training checkpoint (a dict with its config)")
    return state


def load_model(name: Optional[str] = None, pretrained: Any = True, checkpoint: Optional[str] = None,
               kwargs: Optional[Mapping[str, Any]] = None, num_classes: Optional[int] = None,
               labels: Optional[Sequence[str]] = None) -> LoadedModel:
    """Build a model for evaluation.

    Args:
        name: registry name (needed unless ``checkpoint`` is given).
        pretrained: ``True`` (default weights), a tag, a weights file, or ``False``.
        checkpoint: a ``train_recognizer.py`` checkpoint (``last.pth`` / ``best.pth``).
        kwargs: builder kwargs on top of the card's (and the checkpoint's).
        labels: label names for a zero-shot model (X-CLIP); without them a zero-shot model with a
            tokenizer classifies into its card's classes (its dataset's names).
    """
    cfg = copy.deepcopy(DEFAULTS)
    if checkpoint is not None:
        state = _read_checkpoint(checkpoint)
        saved = state.get("config")
        if not isinstance(saved, dict):
            raise ValueError(f"{checkpoint} has no saved config; load it as weights with --model NAME --weights FILE")
        saved = rename_deprecated(saved, str(checkpoint))
        cfg = merge(cfg, saved, strict=False)
        name = name or saved["model"]["name"]
        build_kwargs = {**dict(saved["model"].get("kwargs") or {}), **dict(kwargs or {})}
        model = get_model(name, pretrained=str(checkpoint), num_classes=num_classes, **build_kwargs)
        tag = _file_tag(Path(checkpoint))
    else:
        if not name:
            raise ValueError("give a model name (--model) or a training checkpoint (--checkpoint)")
        build_kwargs = dict(kwargs or {})
        model = get_model(name, pretrained=pretrained, num_classes=num_classes, **build_kwargs)
        card = model_card(name)
        entry = None
        if pretrained is True and card.default_weights() is not None:
            entry = card.default_weights()
        elif isinstance(pretrained, str) and pretrained and not Path(pretrained).is_file():
            entry = card.find_weights(pretrained)
        tag = entry.tag if entry else _file_tag(Path(pretrained)) if isinstance(pretrained, str) and pretrained else "random"
        cfg["data"].update(card_protocol(name, entry.tag if entry else ""))
    cfg["model"].update(name=name, kwargs=build_kwargs)
    classes = _set_zero_shot_labels(model, name, labels) or list(model_card(name).class_names) or None
    return LoadedModel(model=model, name=name, tag=tag, cfg=cfg, classes=classes)


def _set_zero_shot_labels(model: nn.Module, name: str, labels: Optional[Sequence[str]]) -> Optional[list[str]]:
    """Make a zero-shot model's classifier ``labels`` (else its card's class names); the names set, or None."""
    if not hasattr(model, "set_labels"):
        if labels:
            raise UsageError(f"label names are for zero-shot models (X-CLIP); {name} classifies into its own "
                             "classes (name them with --classes FILE)")
        return None
    if not labels:
        if getattr(model, "tokenizer", None) is None:
            return None
        card = model_card(name)
        labels = list(card.class_names)
        if not labels and card.dataset:
            try:
                labels = class_names(card.dataset)
            except KeyError:
                labels = []
        if not labels:
            raise UsageError(f"{name} is a zero-shot model without classes of its own: give the label names to "
                             'classify into (--labels "name1,name2,..." or --labels-file FILE)')
    model.set_labels(list(labels))
    return list(labels)


def split_model_kwargs(overrides: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Pull ``model.kwargs.<key>=value`` out of overrides (they shape the model, so they are needed
    before it is built); returns ``(kwargs, other overrides)``."""
    kwargs, rest = {}, []
    for text in overrides:
        keys, value, _ = parse_override(text)
        if keys[:2] == ["model", "kwargs"] and len(keys) == 3:
            kwargs[keys[2]] = value
        else:
            rest.append(text)
    return kwargs, rest
