"""Lock files: the full SHA-256 of every weights file a project uses, so that every download proves
it holds the same bytes as the first one, on any machine.

A lock file is JSON::

    {"version": 1,
     "files": {"i3d_resnet50_v1_kinetics400-568a722e.params":
                   {"sha256": "<64 hex>", "revision": "", "source": "<URL it came from>",
                    "model": "i3d_resnet50_v1_kinetics400"}}}

``revision`` is the resolved revision of a Hugging Face Hub file (empty for other sources).
``zoo lock NAMES -o zoo.lock`` writes one; with ``ZOO_LOCK=zoo.lock`` set, the hub refuses any
file whose bytes differ from its pin, and records the pin of a file not pinned yet on its first
download (under a file lock, rewritten atomically), so sources that publish only a hash prefix or
none at all get a full pin too.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from filelock import FileLock

__all__ = ["LockFileError", "lock_path", "read_lock", "pinned_sha256", "record"]

logger = logging.getLogger(__name__)

LOCK_VERSION = 1


class LockFileError(ValueError):
    """A lock file that cannot be read or has the wrong shape."""


def lock_path() -> Path | None:
    """The lock file that ``ZOO_LOCK`` names, or None when it is not set."""
    value = os.environ.get("ZOO_LOCK", "").strip()
    return Path(value).expanduser() if value else None


def read_lock(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The ``files`` table of a lock file (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise LockFileError(f"cannot read lock file {path} ({err}); fix it or delete it and run 'zoo lock' again") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, dict) and "sha256" in v for v in files.values()):
        raise LockFileError(f'{path}: expected {{"files": {{FILE: {{"sha256": ...}}}}}}; was it written by zoo lock?')
    return files


def pinned_sha256(file: str) -> str | None:
    """The pinned SHA-256 of a weights file under ``ZOO_LOCK`` (None: not set, or not pinned)."""
    path = lock_path()
    if path is None:
        return None
    pin = read_lock(path).get(file)
    return str(pin["sha256"]).lower() if pin else None


def record(file: str, sha256: str, source: str = "", model: str = "", revision: str = "", path: str | os.PathLike | None = None) -> None:
    """Add (or replace) the pin of ``file`` in the lock file (default ``ZOO_LOCK``)."""
    target = Path(path) if path is not None else lock_path()
    if target is None:
        raise LockFileError("no lock file: set ZOO_LOCK or pass a path")
    update(target, {file: {"sha256": sha256, "revision": revision, "source": source, "model": model or model_of_file(file)}})
    logger.info("pinned %s (sha256 %s) in %s", file, sha256, target)


def update(path: Path, entries: dict[str, dict[str, Any]]) -> None:
    """Merge ``entries`` into the lock file at ``path``: under a file lock, rewritten atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock", timeout=60):
        files = {**read_lock(path), **entries}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"version": LOCK_VERSION, "files": dict(sorted(files.items()))}, indent=2) + "\n")
        os.replace(tmp, path)


def model_of_file(file: str) -> str:
    """The model name a weights file belongs to: ``i3d-0123abcd.pth(.part)`` -> ``i3d``; a Hugging Face
    Hub file ``owner--repo--{revision[:8]}--file`` -> ``hf-hub:owner/repo``."""
    parts = file.split("--")
    if len(parts) == 4:
        return f"hf-hub:{parts[0]}/{parts[1]}"
    return file.rsplit("-", 1)[0] if "-" in file else file.split(".")[0]
