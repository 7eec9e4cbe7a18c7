"""Training checkpoints that load with ``torch.load(weights_only=True)``: only tensors and plain types.

RNG states (torch, CUDA, numpy, python) are stored as tensors and ints so nothing needs unpickling.
Writes are atomic: a checkpoint goes to ``NAME.<pid>.tmp``, is flushed to disk and renamed, so a
reader (or a resumed run) sees the old file or the new one, never a torn one. Temp files left by
killed processes are removed by :func:`remove_stale_temp_files`.
"""
from __future__ import annotations

import errno
import logging
import os
import random
import re
import shutil
from pathlib import Path
from typing import Any, BinaryIO, Mapping

import numpy as np
import torch

__all__ = ["rng_state", "set_rng_state", "save_checkpoint", "load_checkpoint", "link_or_copy", "write_text_atomic",
           "remove_stale_temp_files", "DiskFullError"]

logger = logging.getLogger(__name__)

_TEMP_NAME = re.compile(r"^(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


class DiskFullError(OSError):
    """No space left while writing a checkpoint (the partial file is removed)."""


def rng_state() -> dict[str, Any]:
    """The process's RNG states as tensors / plain types."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss_next = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": int(version), "state": torch.tensor(py_state, dtype=torch.int64),
                   "gauss_next": gauss_next},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(int(v) for v in p["state"].tolist()), p["gauss_next"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _temp_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.{os.getpid()}.tmp")


class _CheckedFile:
    """A binary file whose first write error is kept: ``torch.save`` turns it into a cryptic
    ``unexpected pos`` error, the kept one says what happened."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.error = raw, None

    def write(self, data) -> int:
        try:
            return self.raw.write(data)
        except OSError as exc:
            self.error = self.error or exc
            raise

    def flush(self) -> None:
        self.raw.flush()


def _write_atomic(path: Path, write) -> Path:
    """Run ``write(file)`` on a temp file beside ``path``, fsync it and rename it over ``path``.

    Raises:
        DiskFullError: the disk filled up (no temp file is left behind).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(path)
    checked = None
    try:
        with open(tmp, "wb") as raw:
            checked = _CheckedFile(raw)
            write(checked)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        cause = (checked.error if checked is not None else None) or exc
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFullError(cause.errno, f"disk full while writing {path}: free some space, then continue "
                                             "with --resume auto") from exc
        if checked is not None and checked.error is not None and checked.error is not exc:
            raise checked.error from exc
        raise
    return path


def save_checkpoint(state: Mapping[str, Any], path: str | os.PathLike) -> Path:
    """Atomic ``torch.save``: a temp file, flushed to disk, then renamed over ``path``.

    Raises:
        DiskFullError: no space left (one clear line; the temp file is removed).
    """
    return _write_atomic(Path(path), lambda f: torch.save(dict(state), f))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Replace a text file atomically (temp file, fsync, rename)."""
    return _write_atomic(Path(path), lambda f: f.write(text.encode("utf-8")))


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Make ``target`` a copy of ``source`` atomically: a hard link where the filesystem has them
    (checkpoints are replaced by rename, never rewritten in place, so a link never changes), else a copy."""
    source, target = Path(source), Path(target)
    tmp = _temp_path(target)
    tmp.unlink(missing_ok=True)
    try:
        os.link(source, tmp)
    except OSError:
        return _write_atomic(target, lambda f: _copy_into(source, f))
    os.replace(tmp, target)
    return target


def _copy_into(source: Path, f) -> None:
    with open(source, "rb") as src:
        shutil.copyfileobj(src, f, length=1 << 22)


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Delete ``NAME.<pid>.tmp`` files in ``folder`` whose writing process is gone; returns them."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    for path in sorted(folder.iterdir()):
        match = _TEMP_NAME.match(path.name)
        if match and path.is_file() and not _pid_alive(int(match["pid"])):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        logger.info("removed %d temp file(s) of killed saves in %s", len(removed), folder)
    return removed


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """``torch.load(weights_only=True)``: a checkpoint with anything but tensors and plain types is refused."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    return torch.load(path, map_location=map_location, weights_only=True)
