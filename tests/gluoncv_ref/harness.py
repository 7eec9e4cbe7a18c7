"""Test-side driver of the GluonCV reference generator (zoo's venv; runs the generator as a subprocess).

References live in ``.cache/gluoncv_ref/``: per case a small ``.npz`` (input and GluonCV's output)
and, per *weights group* (a case and the variants that reuse its weights), one GluonCV ``.params``
file of up to 0.5 GB.  All 54 groups together take about 11 GB, so :func:`checkout` generates one
group at a time (under a per-group file lock that pytest-xdist workers share) and, after its user is
done, removes the group's ``.params`` again unless ``ZOO_KEEP_REFERENCE_PARAMS=1`` (a faster rerun
for whoever has the disk).  A group whose ``.params`` is gone is regenerated whole: the generator is
seeded by the case, so the weights and outputs come out the same.
"""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from gluoncv_cases import CASES, CASES_BY_ID, GENERATOR, ParityCase, case_key

from .report import CACHE

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PYTHONS = (ROOT / ".venv-ref" / "bin" / "python", Path("/tmp/gcvref/bin/python"))
GENERATE_TIMEOUT_S = 1800

ABS_TOL = 1e-4  # times max(1, max|ref|)
DIFF_TOL = 1e-2  # times max|ref[0] - ref[1]|


def reference_python() -> Path | None:
    """The GluonCV venv's interpreter: ``$ZOO_GLUONCV_PYTHON``, else the defaults; ``None`` if absent."""
    env = os.environ.get("ZOO_GLUONCV_PYTHON")
    candidates = [Path(env)] if env else list(DEFAULT_PYTHONS)
    return next((p for p in candidates if p.is_file() and os.access(p, os.X_OK)), None)


def require_reference_python() -> Path:
    """The interpreter, or skip (fail under ``ZOO_REQUIRE_REFERENCE=1``) with the reason."""
    python = reference_python()
    if python is None:
        where = os.environ.get("ZOO_GLUONCV_PYTHON") or " or ".join(map(str, DEFAULT_PYTHONS))
        reason = f"no GluonCV reference venv ({where} not found); `make ref-venv` creates .venv-ref"
        if os.environ.get("ZOO_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"{reason} (ZOO_REQUIRE_REFERENCE=1 makes the reference required)")
        pytest.skip(reason)
    return python


def keep_params() -> bool:
    return os.environ.get("ZOO_KEEP_REFERENCE_PARAMS") == "1"


def subprocess_env() -> dict[str, str]:
    """Our environment without what would make the other venv's Python import our packages."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}


def weights_group(case: ParityCase) -> tuple[ParityCase, ...]:
    """The case owning ``case``'s weights, then every case reusing them (generation order)."""
    base = CASES_BY_ID[case.weights_from] if case.weights_from else case
    return (base,) + tuple(c for c in CASES if c.weights_from == base.id)


WEIGHT_GROUPS: tuple[tuple[ParityCase, ...], ...] = tuple(weights_group(c) for c in CASES if not c.weights_from)


@dataclass
class References:
    """Where the reference files of the cases are."""

    cache: Path
    log: str

    def files(self, case: ParityCase) -> tuple[Path, Path]:
        """``(npz, params)`` of ``case``; fails with GluonCV's own error when it could not run it."""
        key = case_key(case)
        error = self.cache / f"{case.id}-{key}.error"
        if error.exists():
            pytest.fail(f"GluonCV itself failed on {case.id}:\n{error.read_text()[-3000:]}")
        npz = self.cache / f"{case.id}-{key}.npz"
        if not npz.exists():
            pytest.fail(f"no reference for {case.id} ({npz.name} missing); generator log:\n{self.log[-3000:]}")
        return npz, params_path(case)

    def load(self, case: ParityCase) -> tuple[np.ndarray, np.ndarray, Path]:
        """``(input, reference output, params path)`` of ``case``."""
        npz_path, params = self.files(case)
        with np.load(npz_path) as npz:
            return npz["input"], npz["output"], params


def params_path(case: ParityCase) -> Path:
    base = weights_group(case)[0]
    return CACHE / f"{base.id}-{case_key(base)}.params"


def _complete(case: ParityCase) -> bool:
    stem = f"{case.id}-{case_key(case)}"
    return (CACHE / f"{stem}.error").exists() or ((CACHE / f"{stem}.npz").exists() and params_path(case).exists())


def run_generator(args: list[str]) -> str:
    """Run the generator with ``args`` in the reference venv; its output (also appended to the log)."""
    python = require_reference_python()
    cmd = [str(python), "-W", "ignore", str(GENERATOR), "--out", str(CACHE), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=GENERATE_TIMEOUT_S, env=subprocess_env())
    except subprocess.TimeoutExpired:
        pytest.fail(f"the reference generator took over {GENERATE_TIMEOUT_S}s: {' '.join(cmd)}")
    text = f"$ {' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}\n"
    with open(CACHE / "generate.log", "a") as log:
        log.write(text)
    if proc.returncode not in (0, 1) or not (CACHE / "names.json").exists():
        pytest.fail(f"the reference generator crashed (rc={proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return text


@contextlib.contextmanager
def checkout(case: ParityCase) -> Iterator[References]:
    """The references of ``case``'s weights group, generated if missing, held under the group's lock.

    On exit the group's ``.params`` is removed unless ``ZOO_KEEP_REFERENCE_PARAMS=1``.
    """
    from filelock import FileLock

    require_reference_python()
    group = weights_group(case)
    CACHE.mkdir(parents=True, exist_ok=True)
    log = ""
    with FileLock(str(CACHE / f".{group[0].id}.lock"), timeout=GENERATE_TIMEOUT_S):
        if not all(_complete(c) for c in group):
            log = run_generator(["--force", "--cases", ",".join(c.id for c in group)])
        try:
            yield References(cache=CACHE, log=log)
        finally:
            if not keep_params():
                params_path(case).unlink(missing_ok=True)


def ensure_names() -> dict:
    """GluonCV's own lists of model names (``names.json``, written by every generator run)."""
    from filelock import FileLock

    require_reference_python()
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE / ".names.lock"), timeout=GENERATE_TIMEOUT_S):
        if not (CACHE / "names.json").exists():
            run_generator(["--names-only"])
    return json.loads((CACHE / "names.json").read_text())


def compare(ours: np.ndarray, ref: np.ndarray) -> dict:
    """Errors of ``ours`` against ``ref`` (both ``(N, K)`` with ``N >= 2``) and whether they pass.

    ``max|ours - ref| <= ABS_TOL * max(1, max|ref|)`` and, for the input-dependent part,
    ``max|(ours0 - ours1) - (ref0 - ref1)| <= DIFF_TOL * max|ref0 - ref1|``.
    """
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(ours - ref).max())
    diff_ref = ref[0] - ref[1]
    diff_scale = float(np.abs(diff_ref).max())
    diff_err = float(np.abs((ours[0] - ours[1]) - diff_ref).max())
    return {
        "ref_max": float(np.abs(ref).max()), "max_abs_err": err, "rel_err": err / scale,
        "diff_scale": diff_scale, "diff_rel_err": diff_err / diff_scale if diff_scale > 0 else float("inf"),
        "ok": bool(err <= ABS_TOL * scale and diff_err <= DIFF_TOL * diff_scale and diff_scale > 0),
    }


def assert_close(case_id: str, stats: dict) -> None:
    assert stats["diff_scale"] > 0, f"{case_id}: GluonCV's output does not depend on the input; the case is useless"
    assert stats["max_abs_err"] <= ABS_TOL * max(1.0, stats["ref_max"]), (
        f"{case_id}: max|Δ| = {stats['max_abs_err']:.3g} > {ABS_TOL:g} * max(1, max|ref| = {stats['ref_max']:.3g})")
    assert stats["diff_rel_err"] <= DIFF_TOL, (
        f"{case_id}: the input-dependent part differs: max|Δ(out0 - out1)| / max|ref0 - ref1| = "
        f"{stats['diff_rel_err']:.3g} > {DIFF_TOL:g}")
