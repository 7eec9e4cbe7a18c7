"""Model registry: names bound to builders and model cards.

A *builder* is a plain function in a family module (``zoo/models/<family>.py``) that returns an
``nn.Module``.  A *model card* binds a public name to a builder, the keyword arguments to call it
with, the dataset it was trained on, its input specification and its published weights.  The
registry knows nothing about any particular architecture; the hub knows nothing about models.

The registry only stores and looks up what was registered: :mod:`zoo.catalogue` is what registers the
built-in families and the user's manifests before a look-up.
"""
from __future__ import annotations

import difflib
import fnmatch
import json
import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Mapping, Sequence

import torch.nn as nn

from .errors import UnknownModelError, UnknownTagError

__all__ = ["Accuracy", "InputSpec", "WeightsEntry", "ModelCard", "UnknownModelError", "UnknownTagError",
           "register_model", "register_converter", "get_converter", "model_card", "get_model_list", "list_datasets",
           "all_cards", "close_names", "HubArchitecture", "register_hub_architecture", "hub_architecture"]

KINETICS_MEAN = (0.485, 0.456, 0.406)
KINETICS_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """What one view of a clip looks like when it enters the model.

    Attributes:
        clip_len: frames per clip (``T`` of ``(N, C, T, H, W)``).
        frame_step: stride between sampled frames in the source video.
        num_segments: TSN segments per video (2D models fold them into the batch).
        crop_size: spatial size ``H = W`` of the crop fed to the network.
        short_side: short side the frames are resized to before cropping.
        mean, std: per-channel normalisation of ``[0, 1]`` RGB values.
        layout: axis order the model's ``forward`` takes, e.g. ``"NCTHW"``.
        note: free text (e.g. SlowFast's fast-then-slow frame layout).
        channels: ``C`` (3 for RGB, 2 for stacked optical flow x/y).
        temporal_centering: each pixel's mean over the clip's frames is subtracted before the model
            (``data.temporal_centering`` of the training config).
    """

    clip_len: int = 16
    frame_step: int = 1
    num_segments: int = 1
    crop_size: int = 224
    short_side: int = 256
    mean: tuple[float, float, float] = KINETICS_MEAN
    std: tuple[float, float, float] = KINETICS_STD
    layout: str = "NCTHW"
    note: str = ""
    channels: int = 3
    temporal_centering: bool = False

    def example_shape(self, batch: int = 1) -> tuple[int, ...]:
        """Shape of a batch of one view, ``(N, C, T, H, W)`` (``T = clip_len * num_segments``)."""
        return (batch, self.channels, self.clip_len * self.num_segments, self.crop_size, self.crop_size)


@dataclass(frozen=True)
class Accuracy:
    """A published (or reproduced) accuracy and who reported it; ``mean_ap``: mean average precision
    (%) of a multi-label set (Charades), where top-1 means nothing."""

    top1: float | None
    top5: float | None = None
    reported_by: str = ""
    protocol: str = ""
    mean_ap: float | None = None


@dataclass(frozen=True)
class WeightsEntry:
    """One weights file of a model.

    Attributes:
        sha1: full 40-hex SHA-1 of the weights file (for zip archives: of the file inside).
        file: cache file name, ``{name}-{sha1[:8]}.{ext}``.
        url: absolute URL, or a path relative to the base URL of ``repo``.
        repo: which base URL a relative ``url`` joins (see :func:`zoo.hub.repo_url`).
        format: ``"safetensors"``, ``"pth"`` or ``"params"`` (MXNet), the format of ``file``.
        converter: name of a registered converter from the file's keys to ours, or ``None``.
        accuracy: published accuracy for these weights.
        num_classes: classifier width of the weights (defaults to the card's).
        license: licence of the weights.
        description: how these weights were trained (pretraining, segments, ...).
        default: whether ``pretrained=True`` picks this entry.
        sha256: SHA-256 where the upstream publishes that instead of a SHA-1: the full digest, or
            the 8+ hex prefix that torch.hub-style file names carry (``r3d_18-b3b3357e.pth``).  An
            entry with ``sha1=""`` is verified by this digest (prefix) alone; an upstream entry with
            neither (PySlowFast and pytorchvideo publish no hashes) has an empty tag, and only the pin
            that its first download records in ``ZOO_LOCK`` checks its bytes (one such entry per name).
        pretraining: what training started from (``"ImageNet"``, ``"Scratch"``, ``"ImageNet, K400"``).
        recipe: link to the training script or config that produced the weights.
        size: exact size of the file in bytes where known (a download of another size is refused).
        input: the input these weights were trained with, where it differs from the card's
            (e.g. 1 segment instead of 3); :meth:`ModelCard.input_for` picks it.
        revision: the Hugging Face Hub revision of a Hub file (a commit, or a branch where the commit
            is not recorded); it names the version where no digest is recorded.
    """

    sha1: str
    file: str
    url: str = ""
    repo: str = "zoo"
    format: str = "safetensors"
    converter: str | None = None
    accuracy: Accuracy | None = None
    num_classes: int | None = None
    license: str = ""
    description: str = ""
    default: bool = False
    sha256: str = ""
    pretraining: str = ""
    recipe: str = ""
    size: int | None = None
    input: InputSpec | None = None
    revision: str = ""

    @property
    def tag(self) -> str:
        """Short hash that names this version: ``sha1[:8]`` (``sha256[:8]`` when no SHA-1 is known, the Hub
        revision's first 8 characters when neither is)."""
        return (self.sha1 or self.sha256 or self.revision)[:8]

    @property
    def checksum(self) -> str:
        """The digest the hub verifies: the full SHA-1; ``"sha1:<prefix>"`` where upstream published only
        a prefix of it (GluonCV's alternate hashtags); else ``"sha256:<hex>"`` (full or a prefix)."""
        if len(self.sha1) == 40:
            return self.sha1
        return f"sha1:{self.sha1}" if self.sha1 else f"sha256:{self.sha256}"


@dataclass(frozen=True)
class ModelCard:
    """Everything known about one registered model name.

    ``builder`` is called as ``builder(num_classes=..., **kwargs)``.  ``class_names`` are the
    classifier's labels in index order where the weights carry them (published models).
    """

    name: str
    family: str
    builder: Callable[..., nn.Module] = field(repr=False, compare=False)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    dataset: str = ""
    num_classes: int = 400
    input: InputSpec = InputSpec()
    weights: tuple[WeightsEntry, ...] = ()
    converters: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    description: str = ""
    params_m: float | None = None
    gflops: float | None = None
    train_command: str = ""
    reproduced: Accuracy | None = None
    int8: str = ""
    class_names: tuple[str, ...] = ()

    @property
    def has_weights(self) -> bool:
        return bool(self.weights)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the card (the builder as ``module.function``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "builder":
                value = f"{value.__module__}.{value.__name__}"
            elif isinstance(value, Mapping):
                value = dict(value)
            elif f.name == "weights":
                value = [{**asdict(w), "tag": w.tag} for w in value]
            elif is_dataclass(value):
                value = asdict(value)
            out[f.name] = value
        return out

    def default_weights(self) -> WeightsEntry | None:
        """The entry that ``pretrained=True`` loads: the one marked default, else the first."""
        return next((entry for entry in self.weights if entry.default), self.weights[0] if self.weights else None)

    def input_for(self, entry: WeightsEntry | None) -> InputSpec:
        """The input ``entry``'s weights were trained with: its own where it states one, else the card's."""
        return entry.input if entry is not None and entry.input is not None else self.input

    def find_weights(self, tag: str) -> WeightsEntry:
        """The entry whose sha1 starts with ``tag`` (4+ hex characters)."""
        tag = tag.lower()
        if not re.fullmatch(r"[0-9a-f]{4,64}", tag):
            raise UnknownTagError(f"weights tag {tag!r} of {self.name!r}: give 4 or more hex characters of the hash")
        matches = [w for w in self.weights if w.sha1.startswith(tag) or (w.sha256 and w.sha256.startswith(tag))
                   or (not w.sha1 and not w.sha256 and w.revision.startswith(tag))]
        if len(matches) == 1:
            return matches[0]
        known = ", ".join(w.tag for w in self.weights) or "none"
        if not matches:
            raise UnknownTagError(f"{self.name!r} has no weights with tag {tag!r}; tags: {known}")
        raise UnknownTagError(f"tag {tag!r} of {self.name!r} is ambiguous: it matches "
                              f"{', '.join(w.tag for w in matches)}; give more hex characters")


_CARDS: dict[str, ModelCard] = {}
_CONVERTERS: dict[str, Callable[..., dict]] = {}
#: Parameters (M) and GFLOPs per view, counted from the models themselves (``python scripts/make_tables.py``).
_COUNTED: dict[str, dict[str, float | None]] = json.loads(Path(__file__).with_name("model_stats.json").read_text())


def register_model(name: str, builder: Callable[..., nn.Module] | None = None, *, family: str, num_classes: int,
                   dataset: str = "", kwargs: Mapping[str, Any] | None = None, input: InputSpec | None = None,
                   weights: Sequence[WeightsEntry] = (), converters: Mapping[str, str] | None = None,
                   replace_existing: bool = False, **card_fields: Any):
    """Register ``name`` as ``builder(num_classes=num_classes, **kwargs)`` with its card.

    Usable directly (``register_model("x", build_x, family=...)``) or as a decorator
    (``@register_model("x", family=...)``).  ``converters`` maps a source format
    (``"params"``, ``"pth"``) to the converter that turns such a file's keys into ours; it is
    used for local files given as ``pretrained="/path/file.params"``.  ``params_m``/``gflops`` come
    from ``zoo/model_stats.json`` where it counts the name; a card may not state other figures.
    """

    def _register(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _CARDS and not replace_existing:
            raise ValueError(f"model name {name!r} is already registered")
        card = ModelCard(name=name, family=family, builder=fn, kwargs=MappingProxyType(dict(kwargs or {})),
                         dataset=dataset, num_classes=num_classes, input=input or InputSpec(), weights=tuple(weights),
                         converters=MappingProxyType(dict(converters or {})),
                         **{**card_fields, **_counted_figures(name, card_fields)})
        _check_card(card)
        _CARDS[name] = card
        return fn

    if builder is None:
        return _register
    _register(builder)
    return builder


def _counted_figures(name: str, card_fields: Mapping[str, Any]) -> dict[str, float | None]:
    """``params_m``/``gflops`` of ``name`` as counted in ``model_stats.json``; raises if the card states others."""
    counted = _COUNTED.get(name)
    if counted is None or counted.get("params_m") is None:
        return {}
    for key in ("params_m", "gflops"):
        if card_fields.get(key) is not None and card_fields[key] != counted.get(key):
            raise ValueError(f"{name}: {key}={card_fields[key]} disagrees with the counted {counted.get(key)} in "
                             "zoo/model_stats.json; leave it out of the card (python scripts/make_tables.py counts it)")
    return {"params_m": counted.get("params_m"), "gflops": counted.get("gflops")}


def _check_card(card: ModelCard) -> None:
    for w in card.weights:
        if not w.sha1 and not w.sha256 and w.repo != "zoo":
            continue  # the upstream publishes no hash: the first download pins its sha256 (ZOO_LOCK)
        if not w.sha1 and _is_hex(w.sha256) and 8 <= len(w.sha256) <= 64:
            continue  # known only by a SHA-256 (prefix), e.g. torchvision's file names
        if w.repo == "hf" and not w.sha1 and not w.sha256:
            continue  # a Hub file whose digest is not pinned yet: the Hub's ETag (its SHA-256) is checked on download
        if _is_hex(w.sha1) and 8 <= len(w.sha1) < 40:
            continue  # only a SHA-1 prefix is published (GluonCV's alternate hashtags)
        if len(w.sha1) != 40 or not _is_hex(w.sha1):
            raise ValueError(
                f"{card.name}: weights sha1 must be 40 lowercase hex characters (or empty with an 8-64 hex "
                f"sha256), got sha1={w.sha1!r} sha256={w.sha256!r}"
            )
    tags = [w.tag for w in card.weights if w.tag]
    if len(set(tags)) != len(tags) or sum(not w.tag for w in card.weights) > 1:
        raise ValueError(f"{card.name}: duplicate weights tags {tags}")


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


def register_converter(name: str, fn: Callable[..., dict] | None = None):
    """Register a key converter ``fn(source_state_dict, model) -> state_dict`` under ``name``."""

    def _register(f: Callable[..., dict]) -> Callable[..., dict]:
        _CONVERTERS[name] = f
        return f

    return _register if fn is None else _register(fn)


def get_converter(name: str) -> Callable[..., dict]:
    try:
        return _CONVERTERS[name]
    except KeyError:
        raise KeyError(f"no converter named {name!r}; known: {', '.join(sorted(_CONVERTERS))}") from None


@dataclass(frozen=True)
class HubArchitecture:
    """How a Hugging Face Hub repo of architecture ``name`` (its ``config.json`` ``architectures[0]``,
    e.g. ``"VideoMAEForVideoClassification"``) becomes a zoo model.

    Attributes:
        name: the transformers class name.
        family: the zoo family file that owns it.
        builder: the family's builder.
        config_to_kwargs: ``config.json`` (as a dict) -> builder keyword arguments (``num_classes`` included).
        converter: the registered converter from the Hub's key layout to ours.
        input_from_config: ``(config, preprocessor_config or {}) -> InputSpec``.
    """

    name: str
    family: str
    builder: Callable[..., nn.Module] = field(repr=False)
    config_to_kwargs: Callable[[Mapping[str, Any]], dict] = field(repr=False)
    converter: str
    input_from_config: Callable[[Mapping[str, Any], Mapping[str, Any]], InputSpec] | None = field(
        default=None, repr=False)


_HUB_ARCHITECTURES: dict[str, HubArchitecture] = {}


def register_hub_architecture(arch: HubArchitecture) -> HubArchitecture:
    """Declare that Hub repos whose ``config.json`` names ``arch.name`` can be built by zoo."""
    _HUB_ARCHITECTURES[arch.name] = arch
    return arch


def hub_architecture(name: str) -> HubArchitecture:
    """The registered :class:`HubArchitecture` ``name``; :class:`KeyError` naming the known ones if absent."""
    try:
        return _HUB_ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(sorted(_HUB_ARCHITECTURES)) or "none"
        raise KeyError(f"zoo cannot build Hub architecture {name!r}; it builds: {known}") from None


def close_names(name: str, n: int = 5) -> list[str]:
    """Up to ``n`` registered names closest to ``name``."""
    names = list(_CARDS)
    close = difflib.get_close_matches(name, names, n=n, cutoff=0.5)
    if len(close) < n:  # also names that contain the query or share its first word
        head = name.split("_")[0]
        extra = [m for m in sorted(names) if (name in m or m.startswith(head + "_")) and m not in close]
        close += extra[: n - len(close)]
    return close


def model_card(name: str) -> ModelCard:
    """The :class:`ModelCard` of ``name``; raises :class:`UnknownModelError` with suggestions."""
    card = _CARDS.get(name) or _CARDS.get(name.lower())
    if card is not None:
        return card
    close = close_names(name.lower())
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise UnknownModelError(f"unknown model {name!r}{hint} (zoo.get_model_list() lists all names)")


def get_model_list(pattern: str | None = None, *, dataset: str | None = None, pretrained: bool | None = None,
                   family: str | None = None) -> list[str]:
    """Sorted registered names.

    Args:
        pattern: fnmatch wildcard, e.g. ``"i3d_*"``.
        dataset: keep names trained on this dataset (``"kinetics400"``, ``"ucf101"``, ...).
        pretrained: ``True`` keeps names with weights, ``False`` names without.
        family: keep one architecture family (``"i3d"``, ``"slowfast"``, ...).
    """
    return sorted(name for name, card in _CARDS.items()
                  if (not pattern or fnmatch.fnmatchcase(name, pattern)) and (not dataset or card.dataset == dataset)
                  and (pretrained is None or card.has_weights == pretrained) and (not family or card.family == family))


def list_datasets() -> list[str]:
    return sorted({c.dataset for c in _CARDS.values() if c.dataset})


def all_cards() -> Iterable[ModelCard]:
    return [_CARDS[n] for n in sorted(_CARDS)]
