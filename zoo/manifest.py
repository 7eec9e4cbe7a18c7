"""User manifests (a team's own weights) and publishing weights into a hub folder.

A manifest is JSON (or YAML) of this shape::

    {"models": [{"name": "my_r2plus1d", "arch": "r2plus1d_resnet18_kinetics400",
                 "num_classes": 5, "kwargs": {},
                 "weights": [{"sha1": "<40 hex>", "file": "my_r2plus1d-<sha1[:8]>.safetensors",
                              "url": "<optional absolute URL; default ZOO_REPO_URL + file>"}]}]}

``arch`` is any registered name: the new name is built with that name's builder and kwargs,
updated by ``kwargs``.  ``ZOO_MANIFEST`` (an ``os.pathsep``-separated list) is read on first use.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn as nn

from . import hub
from .registry import WeightsEntry, _CARDS, model_card, register_model

__all__ = ["register_manifest", "load_env_manifests", "publish", "ManifestError"]

logger = logging.getLogger(__name__)

_LOADED_ENV: set[str] = set()


class ManifestError(ValueError):
    """A manifest that cannot be read or names something that does not exist."""


def _read(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as err:
        raise ManifestError(f"cannot read manifest {path}: {err}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as err:
        raise ManifestError(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'} ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ManifestError(f'{path}: expected an object with a "models" list')
    return data


def register_manifest(path: str | os.PathLike) -> list[str]:
    """Register every model of a manifest file; returns the names registered.

    A name that is already registered from a manifest is replaced (so a manifest can be
    re-read after ``publish``); a name of zoo's own registry cannot be overridden.
    """
    path = Path(path).expanduser()
    data = _read(path)
    names = []
    for i, entry in enumerate(data["models"]):
        where = f"{path}: models[{i}]"
        try:
            name, arch = entry["name"], entry["arch"]
        except (KeyError, TypeError):
            raise ManifestError(f'{where}: each model needs "name" and "arch"') from None
        existing = _CARDS.get(name)
        if existing is not None and not existing.source.startswith("manifest"):
            raise ManifestError(f"{where}: {name!r} is a built-in zoo name; choose another name")
        base = model_card(arch)
        weights = tuple(_weights_entry(w, f"{where}.weights[{j}]") for j, w in enumerate(entry.get("weights", [])))
        register_model(
            name,
            base.builder,
            family=base.family,
            num_classes=int(entry.get("num_classes", base.num_classes)),
            dataset=entry.get("dataset", "custom"),
            kwargs={**base.kwargs, **entry.get("kwargs", {})},
            input=base.input,
            weights=weights,
            converters=base.converters,
            replace_existing=True,
            source=f"manifest {path}",
            description=entry.get("description", f"{arch} weights from {path.name}"),
        )
        names.append(name)
    logger.info("registered %d model(s) from %s", len(names), path)
    return names


def _weights_entry(w: Mapping[str, Any], where: str) -> WeightsEntry:
    sha1 = str(w.get("sha1", "")).lower()
    file = w.get("file", "")
    if len(sha1) != 40 or not file:
        raise ManifestError(f'{where}: needs "sha1" (40 hex) and "file"')
    fmt = "safetensors" if file.endswith(".safetensors") else "pth" if file.endswith((".pth", ".pt")) else None
    if fmt is None:
        raise ManifestError(f"{where}: {file!r} must end in .safetensors or .pth")
    return WeightsEntry(sha1=sha1, file=file, url=w.get("url", ""), repo="zoo", format=fmt, default=bool(w.get("default", False)))


def load_env_manifests() -> None:
    """Register the manifests listed in ``ZOO_MANIFEST`` (each file once per process)."""
    value = os.environ.get("ZOO_MANIFEST", "")
    for item in filter(None, value.split(os.pathsep)):
        if item in _LOADED_ENV:
            continue
        _LOADED_ENV.add(item)
        register_manifest(item)


def publish(
    source: nn.Module | Mapping[str, torch.Tensor] | str | os.PathLike,
    name: str,
    arch: str,
    hub_dir: str | os.PathLike | None = None,
    num_classes: int | None = None,
    kwargs: Mapping[str, Any] | None = None,
    manifest: str | os.PathLike | None = None,
    url: str | None = None,
    dataset: str = "custom",
) -> WeightsEntry:
    """Write ``{name}-{sha1[:8]}.safetensors`` into a hub folder and add it to the manifest.

    Args:
        source: a module, a state dict, or a checkpoint file (``.pth`` read safely, or
            ``.safetensors``); a training checkpoint's ``"model"``/``"state_dict"`` is used.
        name: the new model name; ``arch``: the registered name it is built from.
        hub_dir: folder a static server or bucket serves (default ``$ZOO_HOME/hub``).
        manifest: manifest file to create or update (default ``hub_dir/manifest.json``).
        url: absolute URL of the file, when the hub is not served at ``ZOO_REPO_URL``.

    Returns:
        The new weights entry.  The new name is registered in this process too.
    """
    from safetensors.torch import save_file

    from .weights import read_weights

    base = model_card(arch)
    if isinstance(source, nn.Module):
        state = source.state_dict()
    elif isinstance(source, Mapping):
        state = dict(source)
    else:
        state = read_weights(source)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    hub_dir = Path(hub_dir) if hub_dir else hub.default_hub_dir()
    hub_dir.mkdir(parents=True, exist_ok=True)
    tmp = hub_dir / f".{name}.{os.getpid()}.tmp"
    # metadata-free file: the same weights always give the same bytes and the same hash
    save_file(state, str(tmp))
    sha1 = hub.sha1sum(tmp)
    file = f"{name}-{sha1[:8]}.safetensors"
    os.replace(tmp, hub_dir / file)
    entry_json = {"sha1": sha1, "file": file, **({"url": url} if url else {})}
    manifest = Path(manifest) if manifest else hub_dir / "manifest.json"
    _update_manifest(manifest, name, arch, num_classes or _rows_of_head(state) or base.num_classes, dict(kwargs or {}), entry_json, dataset)
    register_manifest(manifest)
    logger.info("published %s (%s) to %s", name, sha1[:8], hub_dir)
    return model_card(name).default_weights()  # type: ignore[return-value]


def _rows_of_head(state: Mapping[str, torch.Tensor]) -> int | None:
    heads = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    return int(heads[-1].shape[0]) if heads else None


def _update_manifest(path: Path, name: str, arch: str, num_classes: int, kwargs: dict, weights: dict, dataset: str) -> None:
    data = _read(path) if path.exists() else {"models": []}
    models = [m for m in data["models"] if m.get("name") != name]
    old = next((m for m in data["models"] if m.get("name") == name), None)
    previous = [w for w in (old or {}).get("weights", []) if w.get("sha1") != weights["sha1"]]
    for w in previous:
        w.pop("default", None)
    models.append(
        {"name": name, "arch": arch, "num_classes": num_classes, "dataset": dataset, "kwargs": kwargs, "weights": [{**weights, "default": True}, *previous]}
    )
    data["models"] = models
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)




