"""Parity results: rows written by each parity test, and the table printed at the end of a session.

Each test writes ``<cache>/results/<case id>.json``; :func:`format_table` renders the rows written
since a given time.  Under pytest-xdist the rows come from several workers, so the table is best
printed by the controller, e.g. from ``tests/conftest.py``::

    from gluoncv_ref.report import pytest_sessionstart, pytest_terminal_summary  # noqa: F401
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "gluoncv_ref"
RESULTS = CACHE / "results"

_session_start = [time.time()]


def session_start() -> float:
    """When this session started (set by the conftest hook, else when this module was imported)."""
    return _session_start[0]


def write_row(row: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{row['id']}.json"
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(row))
    os.replace(tmp, path)


def read_rows(since: float) -> list[dict[str, Any]]:
    rows = []
    for path in sorted(RESULTS.glob("*.json")) if RESULTS.is_dir() else []:
        if path.stat().st_mtime >= since:
            try:
                rows.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Markdown table: case, zoo input shape, max|Δ|, relative errors, status."""
    lines = [
        "| case | input (N,C,T,H,W) | max abs(ref) | max abs(Δ) | max abs(Δ)/scale | Δ(diff)/diff | status |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: r["id"]):
        def num(key: str) -> str:
            v = r.get(key)
            return f"{v:.3g}" if isinstance(v, (int, float)) else "-"

        shape = "x".join(str(d) for d in r.get("input_shape", []))
        lines.append(f"| {r['id']} | {shape} | {num('ref_max')} | {num('max_abs_err')} | {num('rel_err')} "
                     f"| {num('diff_rel_err')} | {r.get('status', '?')} |")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("status", "?")] = counts.get(r.get("status", "?"), 0) + 1
    lines.append("")
    lines.append("parity: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return "\n".join(lines)


def pytest_sessionstart(session) -> None:  # conftest hook (controller and workers)
    _session_start[0] = time.time() - 1.0


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # conftest hook
    if hasattr(config, "workerinput"):
        return
    rows = read_rows(_session_start[0])
    if rows:
        terminalreporter.write_sep("=", "GluonCV parity")
        terminalreporter.write_line(format_table(rows))
