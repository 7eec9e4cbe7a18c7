"""The catalogue: every built-in family and the user's manifests, registered, and look-ups over them.

Importing this module imports :mod:`zoo.models` (each family file registers its names); ids
``hf-hub:owner/repo`` look up a Hugging Face Hub repo instead (:mod:`zoo.hub_repos`).  The look-ups
below also read the manifests that ``ZOO_MANIFEST`` lists (each file once per process), so a team's
own names resolve like built-in ones.  Lower layers (:mod:`zoo.registry`, :mod:`zoo.manifest`) look up
only what is registered; everything above them (``get_model``, the engine, the CLI) asks here.
"""
from __future__ import annotations

import functools
from typing import Callable, ParamSpec, TypeVar

from . import models  # noqa: F401  (each family registers its names on import)
from . import hub_repos, registry
from .manifest import load_env_manifests

__all__ = ["model_card", "get_model_list", "list_datasets", "all_cards", "get_converter"]

P = ParamSpec("P")
R = TypeVar("R")


def _after_manifests(lookup: Callable[P, R]) -> Callable[P, R]:
    """``lookup`` (a registry look-up, same signature and docstring) run after ``ZOO_MANIFEST``'s files."""

    @functools.wraps(lookup)
    def look_up(*args: P.args, **kwargs: P.kwargs) -> R:
        load_env_manifests()
        return lookup(*args, **kwargs)

    return look_up




@_after_manifests
def model_card(name: str) -> registry.ModelCard:
    """The card of a registered name, or of a Hugging Face Hub repo (``hf-hub:owner/repo[@revision]``,
    read from its ``config.json``; see :mod:`zoo.hub_repos`)."""
    return hub_repos.hub_card(name) if hub_repos.is_hub_id(name) else registry.model_card(name)


get_model_list = _after_manifests(registry.get_model_list)
list_datasets = _after_manifests(registry.list_datasets)
all_cards = _after_manifests(registry.all_cards)
get_converter = registry.get_converter  # converters come from family files only
