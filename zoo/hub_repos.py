"""Any Hugging Face Hub repo of an architecture zoo builds, by id: ``hf-hub:owner/repo`` or ``hf-hub:owner/repo@revision``.

A repo's ``config.json`` names its architecture (``architectures[0]``, e.g.
``"VideoMAEForVideoClassification"``); the family that registered that name with
:func:`zoo.registry.register_hub_architecture` turns the config into builder arguments, an input
spec (with ``preprocessor_config.json``) and a converter for the weights
(``model.safetensors``, else ``pytorch_model.bin``, read with ``weights_only=True``).  The card made
here carries the repo's label names (``id2label``) as ``class_names``.

The revision (default ``main``) is resolved once to a commit through the Hub's API
(``/api/models/{repo}/revision/{revision}``), which also lists the repo's files with the SHA-256 of
each LFS file; every file is then fetched at that commit through :func:`zoo.hub.fetch` (same cache,
locks, resume, retries and checks as any weights file).  The answer is kept in
``$ZOO_HOME/hf-repos`` so that an id resolves offline (``ZOO_OFFLINE`` / ``HF_HUB_OFFLINE``) after one
online use, or from the Hugging Face cache where the Hub's own tools fetched the repo.
"""
from __future__ import annotations

import json
import logging
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from . import hf_files, hub
from .errors import UnknownModelError, WeightsError
from .models._published import hf_file
from .registry import HubArchitecture, InputSpec, ModelCard, WeightsEntry, hub_architecture

__all__ = ["PREFIX", "is_hub_id", "parse_hub_id", "RepoSnapshot", "resolve", "fetch_file", "hub_card", "companion_file"]

logger = logging.getLogger(__name__)

PREFIX = "hf-hub:"
WEIGHTS_FILES = ("model.safetensors", "pytorch_model.bin")
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")


def is_hub_id(name: str) -> bool:
    """Whether ``name`` is an ``hf-hub:`` id rather than a registered name."""
    return isinstance(name, str) and name.startswith(PREFIX)


def parse_hub_id(name: str) -> tuple[str, str]:
    """``"hf-hub:owner/repo@rev"`` -> ``("owner/repo", "rev")`` (revision ``"main"`` when not given)."""
    repo_id, _, revision = name[len(PREFIX):].partition("@")
    if not _REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise UnknownModelError(f"{name!r} is not a Hub id; write hf-hub:OWNER/REPO or hf-hub:OWNER/REPO@REVISION")
    return repo_id, revision or "main"


@dataclass(frozen=True)
class RepoSnapshot:
    """A repo at one commit: its files (name -> ``{"sha256": ..., "size": ...}`` where LFS) and licence."""

    repo_id: str
    commit: str
    files: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    license: str = ""

    def entry(self, file: str, converter: str | None = None, **fields: Any) -> WeightsEntry:
        """The weights entry of one of its files, checked by the SHA-256 the Hub listed for it."""
        info = self.files.get(file, {})
        return hf_file(self.repo_id, self.commit, file, converter=converter, sha256=info.get("sha256", ""),
                       size=info.get("size"), license=self.license, **fields)


def _memo_path(repo_id: str, revision: str) -> Path:
    safe = urllib.parse.quote(f"{repo_id.replace('/', '--')}@{revision}", safe="@-_.")
    return hub.zoo_home() / "hf-repos" / f"{safe}.json"


def resolve(repo_id: str, revision: str = "main") -> RepoSnapshot:
    """The commit ``revision`` of ``repo_id`` points at and its files: from the Hub's API, or offline
    from the last answer kept, else from the Hugging Face cache."""
    memo = _memo_path(repo_id, revision)
    if hub.offline() or (hf_files.is_commit(revision) and memo.is_file()):  # a commit's files never change
        return _offline_snapshot(repo_id, revision, memo)
    api = f"{hub.repo_url('hf')}api/models/{repo_id}/revision/{urllib.parse.quote(revision, safe='')}?blobs=true"
    memo.parent.mkdir(parents=True, exist_ok=True)
    try:
        hub.download(api, memo.with_name(memo.name + ".new"))
    except hub.DownloadError as err:
        raise WeightsError(f"hf-hub:{repo_id}@{revision}: the Hub did not list the repo ({err}); check the id "
                           "and revision, or HF_ENDPOINT") from None
    memo.with_name(memo.name + ".new").replace(memo)
    return _snapshot_from_api(repo_id, memo)


def _snapshot_from_api(repo_id: str, memo: Path) -> RepoSnapshot:
    try:
        info = json.loads(memo.read_text())
        commit = info["sha"]
    except (OSError, ValueError, KeyError, TypeError):
        raise WeightsError(f"{memo}: not an answer of the Hub's model API; check HF_ENDPOINT") from None
    files = {s["rfilename"]: {"sha256": (s.get("lfs") or {}).get("sha256", ""),
                              "size": (s.get("lfs") or {}).get("size", s.get("size"))}
             for s in info.get("siblings", []) if isinstance(s, dict) and "rfilename" in s}
    card_data = info.get("cardData") or {}
    license = card_data.get("license", "") if isinstance(card_data, dict) else ""
    return RepoSnapshot(repo_id, commit, MappingProxyType(files), license if isinstance(license, str) else "")


def _offline_snapshot(repo_id: str, revision: str, memo: Path) -> RepoSnapshot:
    if memo.is_file():
        return _snapshot_from_api(repo_id, memo)
    commit = hf_files.cached_commit(repo_id, revision)
    folder = hf_files.find_in_cache(hf_files.HubFile(repo_id, commit, "config.json")) if commit else None
    if commit is None or folder is None:
        raise hub.OfflineError(
            f"hf-hub:{repo_id}@{revision} was never fetched here (nothing in {memo.parent} or the Hugging Face "
            f"cache {hf_files.cache_root()}) and the network is off (ZOO_OFFLINE / HF_HUB_OFFLINE); "
            "go online once to fetch it")
    snapshot = hf_files.cache_root() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit
    files = {p.name: {} for p in snapshot.iterdir()}
    return RepoSnapshot(repo_id, commit, MappingProxyType(files))


def fetch_file(snapshot: RepoSnapshot, file: str) -> Path:
    """The local path of one file of the repo at its commit (downloaded once, checked, cached)."""
    entry = snapshot.entry(file)
    return hub.fetch(entry.file, entry.checksum, entry.url, entry.repo, size=entry.size)


def _read_json(snapshot: RepoSnapshot, file: str) -> dict[str, Any]:
    path = fetch_file(snapshot, file)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"hf-hub:{snapshot.repo_id}: {file} is not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise WeightsError(f"hf-hub:{snapshot.repo_id}: {file} is not a JSON object")
    return data


def _architecture(name: str, config: Mapping[str, Any]) -> HubArchitecture:
    names = config.get("architectures") or []
    if not names:
        raise WeightsError(f"{name}: its config.json names no architecture ('architectures'); zoo builds repos "
                           "that transformers can load with their class name")
    try:
        return hub_architecture(names[0])
    except KeyError as err:
        raise UnknownModelError(f"{name}: {err.args[0]}") from None


def _class_names(config: Mapping[str, Any], num_classes: int) -> tuple[str, ...]:
    """The labels of ``id2label`` in index order (none when it does not cover every class, or holds only
    transformers' placeholders ``LABEL_0``, ``LABEL_1``, ...)."""
    labels = {str(k): str(v) for k, v in (config.get("id2label") or {}).items()}
    names = tuple(labels.get(str(i), "") for i in range(num_classes))
    placeholders = all(name == f"LABEL_{i}" for i, name in enumerate(names))
    return names if all(names) and not placeholders else ()


def _weights_file(name: str, snapshot: RepoSnapshot) -> str:
    for file in WEIGHTS_FILES:
        if file in snapshot.files:
            return file
    raise WeightsError(f"{name}: the repo holds neither {' nor '.join(WEIGHTS_FILES)} (sharded or other formats "
                       "are not read); files: " + ", ".join(sorted(snapshot.files)))


_CARDS: dict[tuple[str, str, str], ModelCard] = {}


def hub_card(name: str) -> ModelCard:
    """The model card of the Hub repo ``name`` (``hf-hub:owner/repo[@revision]``), made once per process."""
    key = (name, hub.repo_url("hf"), str(hub.zoo_home()))
    if key not in _CARDS:
        _CARDS[key] = _make_card(name)
    return _CARDS[key]


def _make_card(name: str) -> ModelCard:
    repo_id, revision = parse_hub_id(name)
    snapshot = resolve(repo_id, revision)
    config = _read_json(snapshot, "config.json")
    preprocessor = _read_json(snapshot, "preprocessor_config.json") if "preprocessor_config.json" in snapshot.files else {}
    arch = _architecture(name, config)
    kwargs = dict(arch.config_to_kwargs(config))
    num_classes = int(kwargs.pop("num_classes", len(config.get("id2label") or {}) or 1))
    weights = snapshot.entry(_weights_file(name, snapshot), converter=arch.converter, num_classes=num_classes,
                             default=True, description=f"{repo_id} at commit {snapshot.commit}")
    logger.info("%s: %s at commit %s (%d classes)", name, config["architectures"][0], snapshot.commit, num_classes)
    return ModelCard(
        name=name, family=arch.family, builder=arch.builder, kwargs=MappingProxyType(kwargs), dataset="",
        num_classes=num_classes,
        input=arch.input_from_config(config, preprocessor) if arch.input_from_config else InputSpec(),
        weights=(weights,), converters=MappingProxyType({"safetensors": arch.converter, "pth": arch.converter}),
        source=f"{hf_files.DEFAULT_ENDPOINT}{repo_id}", class_names=_class_names(config, num_classes),
        description=f"{config['architectures'][0]} from the Hugging Face Hub repo {repo_id}",
    )


def companion_file(card: ModelCard, file: str) -> Path:
    """A file beside a Hub model's weights (a tokenizer): of the repo of an ``hf-hub:`` id, or of the Hub
    repo and revision that a registered name's default weights come from."""
    name = card.name
    if is_hub_id(name):
        return fetch_file(resolve(*parse_hub_id(name)), file)
    entry = card.default_weights()
    hub_file = hf_files.parse_resolve_url(entry.url) if entry is not None and entry.repo == "hf" else None
    if hub_file is None:
        raise WeightsError(f"{name}: its weights do not come from the Hugging Face Hub, so zoo cannot fetch its {file}; "
                           "give the file's path")
    beside = hf_file(hub_file.repo_id, hub_file.revision, file, converter=None)
    return hub.fetch(beside.file, beside.checksum, beside.url, beside.repo)
