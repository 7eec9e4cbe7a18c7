"""User manifests (a team's own weights) and publishing weights into a hub folder.

A manifest is JSON (or YAML) of this shape::

    {"models": [{"name": "my_r2plus1d", "arch": "r2plus1d_resnet18_kinetics400",
                 "num_classes": 5, "kwargs": {},
                 "input": {"clip_len": 8, "frame_step": 2, "crop_size": 112, "temporal_centering": true},
                 "classes": ["a", "b", "c", "d", "e"],
                 "weights": [{"sha1": "<40 hex>", "file": "my_r2plus1d-<sha1[:8]>.safetensors",
                              "url": "<optional; absolute, or relative to the manifest's folder>"}]}]}

``arch`` is any registered name: the new name is built with that name's builder and kwargs,
updated by ``kwargs``; its input spec is the base's, updated by ``input`` (any
:class:`~zoo.registry.InputSpec` field), and ``classes`` names the classifier's outputs in order.
``ZOO_MANIFEST`` (an ``os.pathsep``-separated list) is read on first use.
A weights file without an absolute ``url`` is found beside the manifest (or at ``ZOO_REPO_URL``,
when that is set, as a mirror); ``file`` is a plain file name, never a path.
"""
from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn
import yaml
from safetensors.torch import save_file

from . import hub
from .data.lists import class_names_for
from .errors import WeightsError
from .registry import InputSpec, WeightsEntry, _CARDS, model_card, register_model
from .state import build_probe, classifier_width, load_into, read_weights, unwrap_checkpoint

__all__ = ["register_manifest", "load_env_manifests", "publish", "ManifestError"]

logger = logging.getLogger(__name__)

_LOADED_ENV: set[str] = set()
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,127}$")


class ManifestError(ValueError):
    """A manifest that cannot be read or names something that does not exist."""


def _read(path: Path) -> dict:
    is_yaml = path.suffix.lower() in (".yaml", ".yml")
    try:
        text = path.read_text()
    except OSError as err:
        raise ManifestError(f"cannot read manifest {path}: {err}") from None
    try:
        data = yaml.safe_load(text) if is_yaml else json.loads(text)
    except Exception as err:
        raise ManifestError(f"{path}: not valid {'YAML' if is_yaml else 'JSON'} ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ManifestError(f'{path}: expected an object with a "models" list')
    return data


def register_manifest(path: str | os.PathLike) -> list[str]:
    """Register every model of a manifest file (or ``http(s)://`` URL); returns the names registered.

    A name that is already registered from a manifest is replaced (so a manifest can be
    re-read after ``publish``); a name of zoo's own registry cannot be overridden.  Weights
    files without an absolute URL are found beside the manifest.
    """
    text = os.fspath(path)
    if text.startswith(("http://", "https://")):
        return _register_remote(text)
    path = Path(text).expanduser()
    return _register(path, _read(path), "zoo@" + path.resolve().parent.as_uri() + "/")


def _register_remote(url: str) -> list[str]:
    """Register a manifest served over HTTP; its relative URLs resolve against its own URL."""
    if hub._offline():
        raise ManifestError(f"cannot read manifest {url}: ZOO_OFFLINE is set; use a local copy of it")
    with tempfile.TemporaryDirectory() as tmp:
        local = Path(tmp) / (Path(url.split("?")[0]).name or "manifest.json")
        hub.download(url, local, progress=False)
        data = _read(local)
    return _register(Path(url.split("?")[0]), data, "zoo@" + url.rsplit("/", 1)[0] + "/", label=url)


def _register(path: Path, data: dict, repo: str, label: str | None = None) -> list[str]:
    """Register the models of a manifest read from ``label`` (default ``path``); ``repo`` serves their files."""
    label = label or str(path)
    names = []
    for i, entry in enumerate(data["models"]):
        where = f"{label}: models[{i}]"
        try:
            name, arch = entry["name"], entry["arch"]
        except (KeyError, TypeError):
            raise ManifestError(f'{where}: each model needs "name" and "arch"') from None
        _check_model_name(name, where)
        base = model_card(arch)
        weights = tuple(_weights_entry(w, f"{where}.weights[{j}]", repo) for j, w in enumerate(entry.get("weights", [])))
        num_classes = int(entry.get("num_classes", base.num_classes))
        register_model(name, base.builder, family=base.family, num_classes=num_classes,
                       dataset=entry.get("dataset", "custom"), kwargs={**base.kwargs, **entry.get("kwargs", {})},
                       input=_input_spec(base.input, entry.get("input") or {}, where), weights=weights,
                       converters=base.converters, replace_existing=True, source=f"manifest {label}",
                       description=entry.get("description", f"{arch} weights from {path.name}"),
                       class_names=_class_names(entry.get("classes") or (), num_classes, where))
        names.append(name)
    logger.info("registered %d model(s) from %s", len(names), label)
    return names


_SPEC_FIELDS = {f.name: f for f in fields(InputSpec)}


def _input_spec(base: InputSpec, changes: Any, where: str) -> InputSpec:
    """``base`` updated by a manifest's ``input`` object (InputSpec field names)."""
    if not isinstance(changes, Mapping):
        raise ManifestError(f'{where}: "input" must be an object of input-spec fields')
    unknown = sorted(set(changes) - set(_SPEC_FIELDS))
    if unknown:
        raise ManifestError(f'{where}: unknown "input" field(s) {unknown}; known: {", ".join(_SPEC_FIELDS)}')
    values = {k: tuple(float(x) for x in v) if k in ("mean", "std") else v for k, v in changes.items()}
    return replace(base, **values)


def _class_names(names: Any, num_classes: int, where: str) -> tuple[str, ...]:
    """A manifest's ``classes``: one name per classifier output (or none)."""
    if not isinstance(names, Sequence) or isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ManifestError(f'{where}: "classes" must be a list of class names')
    if names and len(names) != num_classes:
        raise ManifestError(f'{where}: {len(names)} "classes" for num_classes={num_classes}; give one name per class')
    return tuple(names)


def _check_model_name(name: Any, where: str) -> None:
    """A model name becomes part of file names: letters, digits and ``_.+-`` only, no leading dot; and it is not
    one of zoo's own names."""
    if not isinstance(name, str) or not _PLAIN_NAME.match(name) or ".." in name:
        raise ManifestError(f"{where}: model name {name!r} must be letters, digits and _ . + - (no folders or '..'); "
                            "choose another name")
    existing = _CARDS.get(name)
    if existing is not None and not existing.source.startswith("manifest"):
        raise ManifestError(f"{where}: {name!r} is a built-in zoo name; choose another name")


def _weights_entry(w: Mapping[str, Any], where: str, repo: str = "zoo") -> WeightsEntry:
    sha1 = str(w.get("sha1", "")).lower()
    file = w.get("file", "")
    if len(sha1) != 40 or not file:
        raise ManifestError(f'{where}: needs "sha1" (40 hex) and "file"')
    try:
        hub.check_file_name(file)
    except hub.UnsafePathError as err:
        raise ManifestError(f"{where}: {err}") from None
    fmt = "safetensors" if file.endswith(".safetensors") else "pth" if file.endswith((".pth", ".pt")) else None
    if fmt is None:
        raise ManifestError(f"{where}: {file!r} must end in .safetensors or .pth")
    size = w.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size <= 0):
        raise ManifestError(f'{where}: "size" must be a positive number of bytes, got {size!r}')
    return WeightsEntry(sha1=sha1, file=file, url=w.get("url", ""), repo=repo, format=fmt,
                        default=bool(w.get("default", False)), size=size)


def load_env_manifests() -> None:
    """Register the manifests listed in ``ZOO_MANIFEST`` (each file or URL once per process)."""
    for item in _split_manifest_list(os.environ.get("ZOO_MANIFEST", "")):
        if item in _LOADED_ENV:
            continue
        _LOADED_ENV.add(item)
        register_manifest(item)


def _split_manifest_list(value: str) -> list[str]:
    """``os.pathsep``-separated paths and URLs (the ``:`` of ``http://`` or of a port does not split)."""
    items: list[str] = []
    for piece in value.split(os.pathsep):
        scheme_cut = items and items[-1] in ("http", "https") and piece.startswith("//")
        port_cut = items and re.fullmatch(r"https?://[^/]+", items[-1]) and re.match(r"\d+(/|$)", piece)
        if scheme_cut or port_cut:
            items[-1] += os.pathsep + piece
        else:
            items.append(piece)
    return [item for item in items if item]


def publish(source: nn.Module | Mapping[str, torch.Tensor] | str | os.PathLike, name: str, arch: str | None = None,
            hub_dir: str | os.PathLike | None = None, num_classes: int | None = None,
            kwargs: Mapping[str, Any] | None = None, manifest: str | os.PathLike | None = None, url: str | None = None,
            dataset: str = "custom", config: Mapping[str, Any] | None = None,
            class_names: Sequence[str] | None = None) -> WeightsEntry:
    """Write ``{name}-{sha1[:8]}.safetensors`` into a hub folder and add it to the manifest.

    Args:
        source: a module, a state dict, or a checkpoint file (``.pth`` read safely, or
            ``.safetensors``); a training checkpoint's ``"model"``/``"state_dict"`` is used.
        name: the new model name; ``arch``: the registered name it is built from (default: the
            training config's ``model.name``).
        hub_dir: folder a static server or bucket serves (default ``$ZOO_HOME/hub``).
        manifest: manifest file to create or update (default ``hub_dir/manifest.json``).
        url: absolute URL the file will be served at (default: found beside the manifest).
        config: the resolved training config (default: the one a training checkpoint stores).  Its
            ``data`` section becomes the card's input protocol (frames, step, segments, crop, short
            side, mean/std, temporal centering) and its ``model.kwargs`` the builder's kwargs.
        class_names: the classifier's labels in order (default: the config's ``data.classes`` file,
            or ``classes.txt`` beside its training list, when that file is still there).

    Everything is checked first (a plain name that is not built in, ``arch`` registered, the
    weights fit it, the manifest readable); then the file is written, then the manifest by an
    atomic rename: a failed publish leaves the hub as it was.  Files get the user's umask.

    Returns:
        The new weights entry.  The new name is registered in this process too.
    """
    hub_dir = Path(hub_dir) if hub_dir else hub.default_hub_dir()
    manifest = Path(manifest) if manifest else hub_dir / "manifest.json"
    if isinstance(source, (str, os.PathLike)):
        source, stored_config = _read_source(Path(source))
        config = config if config is not None else stored_config
    config = dict(config or {})
    arch = arch or (config.get("model") or {}).get("name")
    if not arch:
        raise ManifestError(f"publish {name}: give arch= (the registered name the weights are built from)")
    kwargs = {**dict((config.get("model") or {}).get("kwargs") or {}), **dict(kwargs or {})}
    state, num_classes, kwargs = _validated(source, name, arch, num_classes, kwargs, manifest)
    extra = _protocol_entry(config, class_names, num_classes, name)
    hub_dir.mkdir(parents=True, exist_ok=True)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    tmp = hub_dir / f".{name}.{os.getpid()}.tmp"
    try:
        # metadata-free file: the same weights always give the same bytes and the same hash
        save_file(state, str(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # safetensors writes 0600; a hub is for sharing
        sha1 = hub.sha1sum(tmp)
        file = f"{name}-{sha1[:8]}.safetensors"
        target = hub_dir / file
        existed = target.exists()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if not url and manifest.parent.resolve() != hub_dir.resolve():
        url = Path(os.path.relpath(target.resolve(), manifest.parent.resolve())).as_posix()
    entry_json = {"sha1": sha1, "file": file, "size": target.stat().st_size, **({"url": url} if url else {})}
    try:
        _update_manifest(manifest, name, arch, num_classes, kwargs, entry_json, dataset, extra)
    except BaseException:
        if not existed:
            target.unlink(missing_ok=True)
        raise
    register_manifest(manifest)
    logger.info("published %s (%s) to %s", name, sha1[:8], hub_dir)
    return model_card(name).default_weights()  # type: ignore[return-value]


def _validated(source: nn.Module | Mapping[str, torch.Tensor], name: str, arch: str, num_classes: int | None,
               kwargs: Mapping[str, Any] | None, manifest: Path) -> tuple[dict[str, torch.Tensor], int, dict]:
    """Check everything ``publish`` needs before it writes anything; returns the state, width and kwargs.

    The name must be plain and not built in, ``arch`` registered, the manifest readable, and the
    weights must fit ``arch`` built with ``kwargs`` (a classifier of any width).
    """

    _check_model_name(name, "publish")
    base = model_card(arch)
    if manifest.exists():
        register_manifest(manifest)  # an unreadable or invalid manifest fails here, before any write
    state = source.state_dict() if isinstance(source, nn.Module) else dict(source)
    state = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    kwargs = dict(kwargs or {})
    build_kwargs = {**base.kwargs, **kwargs}
    model = load_into(build_probe(base, build_kwargs), state, f"publish {name}",
                      lambda: base.builder(num_classes=base.num_classes, **build_kwargs))
    width = classifier_width(model)
    if num_classes and num_classes != width:
        raise ManifestError(f"publish {name}: num_classes={num_classes} but the weights' classifier has {width} "
                            "classes; leave num_classes out or publish weights of that width")
    return state, width, kwargs


def _read_source(path: Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The weights of a file, and the resolved config a training checkpoint stores (else ``None``)."""

    if path.suffix.lower() not in (".pth", ".pt"):
        return read_weights(path), None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ManifestError(f"publish: {path} does not exist") from None
    except Exception as err:
        raise WeightsError(f"{path}: refused or unreadable .pth ({type(err).__name__}); zoo only loads plain tensors "
                           "(torch.load weights_only=True)") from None
    config = obj.get("config") if isinstance(obj, dict) and isinstance(obj.get("config"), dict) else None
    return unwrap_checkpoint(obj, path), config


# training-config ``data`` keys -> the InputSpec fields they set (the same names; checkpoints saved before the
# config used the card's names say new_length / new_step)
_PROTOCOL_KEYS = {**{f: f for f in ("clip_len", "frame_step", "num_segments", "crop_size", "short_side", "mean", "std",
                                    "temporal_centering")}, "new_length": "clip_len", "new_step": "frame_step"}


def _protocol_entry(config: Mapping[str, Any], class_names: Sequence[str] | None, num_classes: int, name: str) -> dict:
    """The manifest's ``input`` (from the config's ``data`` section) and ``classes`` of a published model."""
    data = config.get("data") or {}
    spec: dict[str, Any] = {}
    for key, field in _PROTOCOL_KEYS.items():
        if key in data:
            spec.setdefault(field, data[key])
    for field in ("mean", "std"):
        if field in spec:
            spec[field] = [float(x) for x in spec[field]]
    if "temporal_centering" in spec:
        spec["temporal_centering"] = bool(spec["temporal_centering"])
    classes_file = data["classes"] if data.get("classes") and Path(data["classes"]).is_file() else None
    names = class_names_for(class_names if class_names is not None else classes_file, data.get("train_list"))
    if not spec:
        logger.warning("publish %s: no training config, so the card keeps the base model's input protocol; "
                       "pass config= (or publish the training checkpoint) to record the one it was trained with", name)
    if names is None:
        logger.warning("publish %s: class names unknown; pass class_names= to record them", name)
    _class_names(names or [], num_classes, f"publish {name}")
    return {**({"input": spec} if spec else {}), **({"classes": names} if names else {})}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _update_manifest(path: Path, name: str, arch: str, num_classes: int, kwargs: dict, weights: dict, dataset: str,
                     extra: dict) -> None:
    """Add (or replace) ``name`` in the manifest at ``path``, its new weights first and default; ``extra``
    holds its ``input`` and ``classes``.  Written by an atomic rename."""
    data = _read(path) if path.exists() else {"models": []}
    models = [m for m in data["models"] if m.get("name") != name]
    old = next((m for m in data["models"] if m.get("name") == name), None)
    previous = [w for w in (old or {}).get("weights", []) if w.get("sha1") != weights["sha1"]]
    for w in previous:
        w.pop("default", None)
    models.append(
        {"name": name, "arch": arch, "num_classes": num_classes, "dataset": dataset, "kwargs": kwargs, **extra,
         "weights": [{**weights, "default": True}, *previous]}
    )
    data["models"] = models
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
