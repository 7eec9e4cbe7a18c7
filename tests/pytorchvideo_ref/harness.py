"""Test-side driver of the pytorchvideo / PySlowFast reference generator (runs it as a subprocess).

* ``ZOO_PYTORCHVIDEO_PYTHON``: the reference venv's interpreter (``make ptv-venv`` builds
  ``.venv-ptv``: pytorchvideo 0.1.5, fvcore, iopath, torch; pinned in requirements-pytorchvideo.txt).
* ``ZOO_PYSLOWFAST_SRC``: a checkout of facebookresearch/SlowFast (``make pyslowfast-src`` clones the pinned
  commit into ``.ref/SlowFast``); only the PySlowFast cases need it.

Without them the tests skip with the reason; under ``ZOO_REQUIRE_REFERENCE=1`` they fail instead.
References are cached in ``.cache/pytorchvideo_ref/`` keyed by ``cases.case_key``.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .cases import GENERATOR, FairCase, case_key

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "pytorchvideo_ref"
DEFAULT_PYTHON = ROOT / ".venv-ptv" / "bin" / "python"
DEFAULT_PYSLOWFAST = ROOT / ".ref" / "SlowFast"
GENERATE_TIMEOUT_S = 1200
ABS_TOL = 1e-4  # times max(1, max|ref|)


def _missing(reason: str) -> None:
    if os.environ.get("ZOO_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"{reason} (ZOO_REQUIRE_REFERENCE=1 makes the reference required)")
    pytest.skip(reason)


def require_ptv_python() -> Path:
    """The pytorchvideo venv's interpreter, or skip (fail under ``ZOO_REQUIRE_REFERENCE=1``)."""
    env = os.environ.get("ZOO_PYTORCHVIDEO_PYTHON")
    path = Path(env) if env else DEFAULT_PYTHON
    if not (path.is_file() and os.access(path, os.X_OK)):
        _missing(f"no pytorchvideo reference venv ({path} not found); `make ptv-venv` builds .venv-ptv, "
                 "or set ZOO_PYTORCHVIDEO_PYTHON")
    return path


def require_pyslowfast_src() -> Path:
    """The PySlowFast checkout, or skip (fail under ``ZOO_REQUIRE_REFERENCE=1``)."""
    env = os.environ.get("ZOO_PYSLOWFAST_SRC")
    path = Path(env) if env else DEFAULT_PYSLOWFAST
    if not (path / "slowfast" / "models" / "video_model_builder.py").is_file():
        reason = (f"no PySlowFast checkout ({path} has no slowfast/models): `make pyslowfast-src` clones it from "
                  "GitHub into .ref/SlowFast where GitHub is reachable, or set ZOO_PYSLOWFAST_SRC")
        if os.environ.get("ZOO_REQUIRE_PYSLOWFAST") == "1":  # not ZOO_REQUIRE_REFERENCE: CI may have no GitHub
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def reference(case: FairCase) -> tuple[Path, list[np.ndarray], np.ndarray]:
    """``(upstream .pyth or Caffe2 .pkl, inputs, logits)`` of ``case``, generated in the reference venv if not cached."""
    from filelock import FileLock

    python = require_ptv_python()
    src = require_pyslowfast_src() if case.source == "pyslowfast" else None
    CACHE.mkdir(parents=True, exist_ok=True)
    stem = CACHE / f"{case.id}-{case_key(case)}"
    with FileLock(str(CACHE / f".{case.id}.lock"), timeout=GENERATE_TIMEOUT_S):
        if not stem.with_suffix(".npz").exists():
            cmd = [str(python), "-W", "ignore", str(GENERATOR), "--out", str(CACHE), "--cases", case.id]
            if src is not None:
                cmd += ["--pyslowfast-src", str(src)]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S, env=_env())
            error = stem.with_suffix(".error")
            if error.exists():
                pytest.fail(f"the upstream code itself failed on {case.id}:\n{error.read_text()[-3000:]}")
            if proc.returncode != 0 or not stem.with_suffix(".npz").exists():
                pytest.fail(f"reference generator failed (rc={proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    weights = stem.with_suffix(".pkl" if case.kwargs.get("TEST.CHECKPOINT_TYPE") == "caffe2" else ".pyth")
    with np.load(stem.with_suffix(".npz")) as npz:
        inputs = [npz[f"input{i}"] for i in range(len(case.input_shapes))]
        return weights, inputs, npz["logits"]
