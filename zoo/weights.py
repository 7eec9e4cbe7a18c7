"""Reading weights files and loading them into registered models (``get_model``).

Formats: safetensors (ours), ``.pth``/``.pt`` through ``torch.load(weights_only=True)`` (never a
full unpickle), and MXNet ``.params`` through zoo's own NumPy reader.  Files whose keys are not
ours go through the converter named in the card; converted weights are cached as safetensors,
keyed by the source file's SHA-1.
"""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
import torch.nn as nn

from . import hub, pins
from .convert.quantize import int8_twin, quantize_int8
from .errors import WeightsError
from .state import build_and_load, format_of, read_weights, skip_init
from .catalogue import all_cards, get_converter, get_model_list, model_card
from .registry import ModelCard, WeightsEntry

__all__ = ["get_model", "get_int8_model", "read_weights", "identify", "write_lock", "WeightsError"]

logger = logging.getLogger(__name__)

_HEX = re.compile(r"^[0-9a-fA-F]{4,64}$")


def get_model(name: str, pretrained: bool | str | os.PathLike = False, num_classes: int | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered model, optionally with weights.

    Args:
        name: a registered name (see :func:`zoo.get_model_list`).
        pretrained: ``False`` (random init), ``True`` (the default weights), a hash prefix of 4+
            hex characters (one weights version), or a path to a local weights file
            (``.safetensors``, ``.pth``/``.pt``, ``.params``).
        num_classes: classifier width; when it differs from the weights', every other weight is
            kept and the classifier starts fresh (the dropped keys are logged).
        **kwargs: passed to the builder (``dropout_ratio``, ``num_segments``, ...).

    Returns:
        The model, in train mode (call ``.eval()`` for inference).
    """
    card = model_card(name)
    build_kwargs = {**card.kwargs, **kwargs}
    if pretrained is False or pretrained is None:
        model = card.builder(num_classes=num_classes or card.num_classes, **build_kwargs)
        model.zoo_name = card.name  # type: ignore[attr-defined]
        return model
    try:
        state, source, weights_classes = _resolve_state(card, pretrained, build_kwargs)
        model = build_and_load(card, state, num_classes or weights_classes, build_kwargs, source)
    except WeightsError as err:
        local = isinstance(pretrained, (str, os.PathLike)) and Path(pretrained).expanduser().is_file()
        raise (_fits_elsewhere(card, Path(pretrained).expanduser()) if local else None) or err from None
    model.zoo_weights = source  # type: ignore[attr-defined]
    model.zoo_name = card.name  # type: ignore[attr-defined]
    return model


def _resolve_state(card: ModelCard, pretrained: bool | str | os.PathLike, build_kwargs: dict) -> tuple[dict[str, torch.Tensor], str, int]:
    """The state dict that ``pretrained`` names, where it came from, and its classifier width."""
    if pretrained is True:
        entry = card.default_weights()
        if entry is None:
            raise WeightsError(_no_weights_message(card))
        return _entry_state(card, entry, build_kwargs), f"{card.name}:{entry.tag}", entry.num_classes or card.num_classes
    if isinstance(pretrained, (str, os.PathLike)):
        text = os.fspath(pretrained)
        path = Path(text).expanduser()
        if path.exists():
            state = _local_state(card, path, build_kwargs)
            return state, str(path), _classifier_width(card, state)
        if _HEX.match(text) and os.sep not in text:
            if not card.weights:
                raise WeightsError(_no_weights_message(card))
            entry = card.find_weights(text)
            return _entry_state(card, entry, build_kwargs), f"{card.name}:{entry.tag}", entry.num_classes or card.num_classes
        if any(text.endswith(ext) for ext in hub.WEIGHT_EXTENSIONS) or os.sep in text:
            raise FileNotFoundError(f"weights file {text!r} does not exist")
        tags = ", ".join(w.tag for w in card.weights) or "none"
        raise WeightsError(f"pretrained={text!r} is neither a weights tag of {card.name} ({tags}) nor an existing file")
    raise TypeError(f"pretrained must be a bool, a hash tag or a path, not {type(pretrained).__name__}")


def identify(state: Mapping[str, torch.Tensor], fmt: str | None = None) -> list[str]:
    """Registered names whose converter (or own key set) accepts ``state``'s keys and shapes, sorted.

    ``fmt`` (``"params"``, ``"pth"``, ``"safetensors"``), the format the state was read from, limits
    each card to its converters for that format.  Every candidate is built on the meta device and
    ``state`` is compared as meta tensors, so no weights are allocated or copied.
    """
    meta = {k: torch.empty(v.shape, dtype=v.dtype, device="meta") for k, v in state.items()}
    verdicts: dict[tuple, bool] = {}
    fits = []
    for card in all_cards():
        if card.int8:  # quantised on build, from its fp32 twin's weights: the twin is the candidate
            continue
        num_classes = _classifier_width(card, state)
        build = (card.builder, repr(sorted(card.kwargs.items())), num_classes)
        model = _meta_model(card, num_classes, build)
        if model is None:
            continue
        converters = {None, *(c for f, c in card.converters.items() if fmt in (None, f)),
                      *(w.converter for w in card.weights if fmt in (None, w.format))}
        if any(verdicts.setdefault((build, c), _accepts(meta, model, c)) for c in converters):
            fits.append(card.name)
    return fits


#: (builder, kwargs, num_classes) -> meta model (None: not buildable on meta); building is most of identify's time.
_META_MODELS: dict[tuple, nn.Module | None] = {}


def _meta_model(card: ModelCard, num_classes: int, build: tuple) -> nn.Module | None:
    if build in _META_MODELS:
        return _META_MODELS[build]
    try:
        with torch.device("meta"), skip_init():
            model = card.builder(num_classes=num_classes, **card.kwargs)
    except Exception as err:  # a builder that cannot run on meta is no candidate
        logger.debug("identify: %s not built on meta (%s)", card.name, err)
        model = None
    _META_MODELS[build] = model
    return model


def _accepts(meta_state: Mapping[str, torch.Tensor], model: nn.Module, converter: str | None) -> bool:
    """Whether ``converter`` (``None``: the keys as they are) maps ``meta_state`` exactly onto ``model``."""
    try:
        state = get_converter(converter)(meta_state, model) if converter else meta_state
    except (WeightsError, TypeError, KeyError, ValueError, IndexError):
        return False
    ours = model.state_dict()
    wanted = {k for k in ours if not k.endswith("num_batches_tracked")}
    given = {k for k in state if not k.endswith("num_batches_tracked")}
    return wanted == given and all(state[k].shape == ours[k].shape for k in wanted)


def _fits_elsewhere(card: ModelCard, path: Path) -> WeightsError | None:
    """An error naming the registered names ``path``'s weights fit, when ``card`` is not one of them."""
    fits = identify(read_weights(path), format_of(path))
    if not fits or card.name in fits:
        return None
    return WeightsError(f"{path} does not fit {card.name}; these weights fit {', '.join(fits)} "
                        f"(get_model({fits[0]!r}, pretrained=...))")


def _no_weights_message(card: ModelCard) -> str:

    with_weights = get_model_list(pretrained=True)
    import difflib

    close = difflib.get_close_matches(card.name, with_weights, n=3, cutoff=0.3)
    hint = f" The closest names with weights: {', '.join(close)}." if close else ""
    return f"{card.name} has no published weights; use pretrained=False or a local weights file.{hint}"


_NOTED_LICENCES: set[str] = set()


def _note_licence(card: ModelCard, entry: WeightsEntry) -> None:
    """Log once per name that its weights are for non-commercial use only (e.g. CC-BY-NC)."""
    text = entry.license.lower()
    if ("-nc" in text or "non-commercial" in text) and card.name not in _NOTED_LICENCES:
        _NOTED_LICENCES.add(card.name)
        logger.warning("%s: weights licensed %s", card.name, entry.license)


def _entry_state(card: ModelCard, entry: WeightsEntry, build_kwargs: dict) -> dict[str, torch.Tensor]:
    _note_licence(card, entry)
    if entry.converter is None and entry.format == "safetensors":
        return _fetch_and_read(entry)
    converted = hub.zoo_home() / "converted" / (Path(entry.file).stem + ".safetensors")
    cached = _read_converted(converted, entry.checksum)
    if cached is not None:
        return cached
    state = _convert(card, _fetch_and_read(entry), entry.converter, build_kwargs, entry.num_classes)
    _write_converted(converted, state, entry.checksum)
    return state


def _fetch_and_read(entry: WeightsEntry) -> dict[str, torch.Tensor]:
    """Fetch and read an entry's file; a file purged (by another process) before the read is fetched again."""
    for _ in range(3):
        path = hub.fetch(entry.file, entry.checksum, entry.url, entry.repo, size=entry.size)
        try:
            return read_weights(path, entry.format)
        except (WeightsError, OSError):
            if path.exists():
                raise
    raise WeightsError(f"{entry.file} was deleted from the cache three times while loading it; is a purge running?")


def _read_converted(path: Path, source_sha1: str) -> dict[str, torch.Tensor] | None:
    if not path.exists():
        return None
    from safetensors import safe_open

    try:
        with safe_open(str(path), "pt") as f:
            if (f.metadata() or {}).get("source_sha1") != source_sha1:
                return None
        return read_weights(path)
    except Exception as err:  # a damaged cache file is rebuilt, never trusted
        logger.warning("ignoring unreadable converted cache %s (%s)", path, err)
        return None


def _write_converted(path: Path, state: Mapping[str, torch.Tensor], source_sha1: str) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp), metadata={"source_sha1": source_sha1})
    os.replace(tmp, path)


def _local_state(card: ModelCard, path: Path, build_kwargs: dict) -> dict[str, torch.Tensor]:
    fmt = format_of(path)
    state = read_weights(path, fmt)
    if fmt == "safetensors" and "params" not in card.converters and "safetensors" not in card.converters:
        return state
    converter = card.converters.get(fmt)
    if converter is None or _looks_native(card, state, build_kwargs):
        return state
    return _convert(card, state, converter, build_kwargs, None)


def _looks_native(card: ModelCard, state: Mapping[str, Any], build_kwargs: dict) -> bool:
    """Whether ``state`` already has our key names (e.g. a checkpoint zoo itself wrote)."""
    with torch.device("meta"):
        ours = card.builder(num_classes=card.num_classes, **build_kwargs).state_dict()
    wanted = {k for k in ours if not k.endswith("num_batches_tracked")}
    return wanted <= set(state)


def _convert(card: ModelCard, state: dict, converter: str | None, build_kwargs: dict, num_classes: int | None) -> dict[str, torch.Tensor]:
    if converter is None:
        return state
    with torch.device("meta"):
        model = card.builder(num_classes=num_classes or _classifier_width(card, state, default=card.num_classes), **build_kwargs)
    return get_converter(converter)(state, model)


def _classifier_width(card: ModelCard, state: Mapping[str, torch.Tensor], default: int | None = None) -> int:
    """Classifier width of a state dict: rows of the last 2-D weight whose name looks like a head."""
    heads = [k for k, v in state.items() if k.endswith("weight") and getattr(v, "ndim", 0) == 2]
    named = [k for k in heads if re.search(r"(^|\.)classifier\.weight$", k)]
    heads = named or heads  # Hugging Face files: keys sorted by name, so the last 2-D weight is not the classifier
    if heads:
        return int(state[heads[-1]].shape[0])
    return default or card.num_classes


def write_lock(names: Iterable[str], out: str | os.PathLike, progress: bool | None = None) -> dict[str, dict[str, Any]]:
    """Pin the default weights of ``names`` (``NAME:TAG`` picks a version) into the lock file ``out``.

    Each file is fetched (downloaded once if needed, checked against its source's digest and any
    pin already in ``out``) and its full SHA-256 recorded.  Returns the entries written.
    """
    out = Path(out)
    pinned = pins.read_lock(out)
    entries = {}
    for spec in names:
        name, _, tag = spec.partition(":")
        card = model_card(name)
        entry = card.find_weights(tag) if tag else card.default_weights()
        if entry is None:
            raise pins.LockFileError(f"{name} has no published weights to pin")
        path = hub.fetch(entry.file, entry.checksum, entry.url, entry.repo, progress=progress)
        got = hub.sha256sum(path)
        old = pinned.get(entry.file)
        if old and old["sha256"] != got:
            raise hub.ChecksumError(f"{entry.file}: sha256 {got} differs from its pin {old['sha256']} in {out}")
        source = hub.resolve_url(entry.url, entry.repo, entry.file)
        entries[entry.file] = {"sha256": got, "revision": "", "source": source, "model": name}
    pins.update(out, entries)
    return entries


def get_int8_model(name: str, calibration_inputs: Iterable[torch.Tensor], pretrained: bool | str = True,
                   backend: str = "x86", **kwargs: Any) -> nn.Module:
    """``quantize_int8(get_model(fp32 twin of name, pretrained, **kwargs).eval(), calibration_inputs)``."""
    fp32 = get_model(int8_twin(name), pretrained=pretrained, **kwargs).eval()
    return quantize_int8(fp32, calibration_inputs, backend=backend)
