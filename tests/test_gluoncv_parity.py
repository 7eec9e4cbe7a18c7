"""Numerical parity of zoo's GluonCV ports with GluonCV 0.10.5.post0 (MXNet) itself.

One test per *weights group* (a case of ``tests/gluoncv_cases.py`` and the variants reusing its
weights: ``-feat``, segment/crop consensus).  It runs ``tests/gluoncv_ref/make_reference.py`` in the
GluonCV reference venv (``ZOO_GLUONCV_PYTHON``, else ``.venv-ref/bin/python``, else
``/tmp/gcvref/bin/python``), which writes a GluonCV ``.params`` file with random weights (BatchNorm
statistics included) and GluonCV's output on a structured input per case, in ``.cache/gluoncv_ref/``
keyed by the generator's hash (see ``gluoncv_ref/harness.py`` for what is kept).  Each case loads that
``.params`` through ``zoo.get_model(name, pretrained=<file>)`` (zoo's MXNet reader and the family's
converter), runs the same input and compares:

- all outputs: ``max|ours - ref| <= 1e-4 * max(1, max|ref|)``;
- the input-dependent part, ``out[0] - out[1]``, against its own scale:
  ``max|Δ(diff)| <= 1e-2 * max|diff_ref|`` (a model that ignored its input would fail here).

Without a reference venv every test skips, unless ``ZOO_REQUIRE_REFERENCE=1`` (``make test``).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from gluoncv_cases import CASES, CASES_BY_ID, GLUONCV_ACTION_NAMES, ParityCase
from gluoncv_ref import report
from gluoncv_ref.harness import WEIGHT_GROUPS, References, assert_close, checkout, compare, ensure_names

pytestmark = pytest.mark.parity


def _check_case(case: ParityCase, references: References) -> str | None:
    """Compare zoo with GluonCV on ``case``; the failure message, or ``None`` when it passes."""
    import zoo

    row = {"id": case.id, "name": case.name, "input_shape": list(case.input_shape), "status": "error"}
    try:
        x, ref, params = references.load(case)
        if case.name not in zoo.get_model_list():
            row["status"] = "not registered"
            return f"{case.name} is not registered yet"
        assert x.shape == case.input_shape, f"cached input {x.shape} is not the case's {case.input_shape}"
        t0 = time.perf_counter()
        model = zoo.get_model(case.name, pretrained=str(params), **case.our_kwargs).eval()
        run = model.forward_features if case.output == "features" else model
        with torch.inference_mode():
            ours = run(torch.from_numpy(x)).float().numpy()
        row["ours_s"] = round(time.perf_counter() - t0, 3)
        assert ours.shape == ref.shape, f"{case.id}: zoo's output {ours.shape} vs GluonCV's {ref.shape}"
        assert np.all(np.isfinite(ours)), f"{case.id}: zoo's output is not finite"
        stats = compare(ours, ref)
        row.update(stats, status="pass" if stats["ok"] else "FAIL")
        assert_close(case.id, stats)
        return None
    except AssertionError as e:
        return str(e)
    finally:
        report.write_row(row)


@pytest.mark.parametrize("group", WEIGHT_GROUPS, ids=[g[0].id for g in WEIGHT_GROUPS])
def test_parity(group: tuple[ParityCase, ...]) -> None:
    with checkout(group[0]) as references:
        failures = [msg for msg in (_check_case(case, references) for case in group) if msg]
    assert not failures, "\n".join(failures)


def test_weight_groups_cover_every_case() -> None:
    assert sorted(c.id for g in WEIGHT_GROUPS for c in g) == sorted(CASES_BY_ID)
    assert len(WEIGHT_GROUPS) == len(GLUONCV_ACTION_NAMES)


def test_case_table_covers_gluoncv() -> None:
    """The case table names exactly GluonCV's 54 fp32 action-recognition factories."""
    names = ensure_names()
    assert len(GLUONCV_ACTION_NAMES) == len(set(GLUONCV_ACTION_NAMES)) == 54
    assert set(names["action"]) == set(GLUONCV_ACTION_NAMES), (
        f"missing cases: {sorted(set(names['action']) - set(GLUONCV_ACTION_NAMES))}; "
        f"not in GluonCV: {sorted(set(GLUONCV_ACTION_NAMES) - set(names['action']))}")
    assert {c.name for c in CASES} == set(GLUONCV_ACTION_NAMES)


def test_zz_parity_table(capsys) -> None:
    """Print this session's parity table (complete when run without xdist; see gluoncv_ref/report.py)."""
    rows = report.read_rows(report.session_start())
    with capsys.disabled():
        print(f"\nGluonCV parity rows written by this process: {len(rows)} (cache {report.CACHE})")
        print(report.format_table(rows))
    assert all(r["id"] in CASES_BY_ID for r in rows)


def test_checkout_removes_the_groups_params_unless_kept(monkeypatch, tmp_path):
    """The harness keeps disk use to one weights group: its .params goes after use (kept on request)."""
    from gluoncv_cases import case_key
    from gluoncv_ref import harness

    group = next(g for g in WEIGHT_GROUPS if len(g) > 1)
    runs = []

    def fake_generator(args):  # writes what the generator would: an npz per case, one params per group
        runs.append(args)
        for case in group:
            (tmp_path / f"{case.id}-{case_key(case)}.npz").write_bytes(b"npz")
        harness.params_path(group[0]).write_bytes(b"params")
        return "generated"

    monkeypatch.setattr(harness, "CACHE", tmp_path)
    monkeypatch.setattr(harness, "run_generator", fake_generator)
    monkeypatch.setattr(harness, "require_reference_python", lambda: tmp_path / "python")
    monkeypatch.delenv("ZOO_KEEP_REFERENCE_PARAMS", raising=False)
    with checkout(group[-1]) as refs:
        assert refs.files(group[-1])[1].read_bytes() == b"params"
    assert len(runs) == 1 and runs[0][0] == "--force" and runs[0][2] == ",".join(c.id for c in group)
    assert not harness.params_path(group[0]).exists() and all(
        (tmp_path / f"{c.id}-{case_key(c)}.npz").exists() for c in group)
    monkeypatch.setenv("ZOO_KEEP_REFERENCE_PARAMS", "1")
    with checkout(group[0]):  # params gone: the whole group is generated again, then kept
        pass
    with checkout(group[0]):  # complete: nothing to generate
        pass
    assert len(runs) == 2 and harness.params_path(group[0]).exists()
