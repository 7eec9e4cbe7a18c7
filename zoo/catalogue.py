"""The catalogue: every built-in family and the user's manifests, registered, and look-ups over them.

Importing this module imports :mod:`zoo.models` (each family file registers its names).  The look-ups
below also read the manifests that ``ZOO_MANIFEST`` lists (each file once per process), so a team's
own names resolve like built-in ones.  Lower layers (:mod:`zoo.registry`, :mod:`zoo.manifest`) look up
only what is registered; everything above them (``get_model``, the engine, the CLI) asks here.
"""
from __future__ import annotations

from typing import Callable, Iterable

from . import models  # noqa: F401  (each family registers its names on import)
from . import registry
from .manifest import load_env_manifests
from .registry import ModelCard

__all__ = ["model_card", "get_model_list", "list_datasets", "all_cards", "get_converter"]


def model_card(name: str) -> ModelCard:
    """The :class:`~zoo.registry.ModelCard` of ``name``; raises :class:`~zoo.registry.UnknownModelError`
    naming close matches."""
    load_env_manifests()
    return registry.model_card(name)


def get_model_list(
    pattern: str | None = None,
    *,
    dataset: str | None = None,
    pretrained: bool | None = None,
    family: str | None = None,
) -> list[str]:
    """Sorted registered names.

    Args:
        pattern: fnmatch wildcard, e.g. ``"i3d_*"``.
        dataset: keep names trained on this dataset (``"kinetics400"``, ``"ucf101"``, ...).
        pretrained: ``True`` keeps names with weights, ``False`` names without.
        family: keep one architecture family (``"i3d"``, ``"slowfast"``, ...).
    """
    load_env_manifests()
    return registry.get_model_list(pattern, dataset=dataset, pretrained=pretrained, family=family)


def list_datasets() -> list[str]:
    """The datasets that registered names were trained on."""
    load_env_manifests()
    return registry.list_datasets()


def all_cards() -> Iterable[ModelCard]:
    """Every card, sorted by name."""
    load_env_manifests()
    return registry.all_cards()


def get_converter(name: str) -> Callable[..., dict]:
    """The key converter registered as ``name`` (by a family file)."""
    return registry.get_converter(name)
