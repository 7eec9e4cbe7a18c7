"""zoo.benchmark: rows for single-tensor, flow and two-stream models; the matmul limit."""
from __future__ import annotations

import pytest

from zoo import benchmark as B


@pytest.mark.parametrize("name, shape", [
    ("simple3d_synthetic", (1, 3, 8, 32, 32)),
    ("flow_resnet18", (1, 2, 10, 32, 32)),         # stacked flow: 2 channels (the card says so)
    ("two_stream_resnet18", (1, 3, 10, 32, 32)),   # an (rgb, flow) pair is built from the card's layout
])
@pytest.mark.parametrize("variant", ["eager", "fast"])
def test_benchmark_row(name, shape, variant):
    row = B.benchmark_model(name, variant, warmup=0, repeat=2, input_shape=shape)
    assert row["name"] == name and row["variant"] == variant and row["input"] == list(shape)
    assert 0 < row["latency_ms_min"] <= row["latency_ms_median"] <= row["latency_ms_max"]
    assert row["clips_per_s"] == pytest.approx(1000.0 / row["latency_ms_median"])
    if variant == "fast":  # what the fast path did is part of the row
        assert row["bn_folded"] > 0 and row["onednn_convs"] > 0 and row["skipped"] == ""
    else:
        assert "bn_folded" not in row


def test_card_input_channels():
    import zoo

    assert zoo.model_card("flow_resnet18").input.example_shape(2)[:2] == (2, 2)
    assert zoo.model_card("i3d_resnet50_v1_kinetics400").input.example_shape()[1] == 3


def test_matmul_limit_is_positive():
    assert B.matmul_limit("fp32", n=256, repeat=2) > 1e8


def test_machine_line_names_the_isa():
    line = B.machine_line(2)
    assert f"[{B.cpu_isa()}]" in line and B.cpu_isa()


def test_a_crashed_row_fails_the_run(monkeypatch, capsys, tmp_path):
    """A row whose process dies (a bf16 kernel crash) is reported with its signal and the run exits 1."""
    import importlib.util
    import subprocess
    import sys
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    monkeypatch.setattr(script.B, "matmul_limit", lambda *a, **k: 1e9)
    monkeypatch.setattr(script.subprocess, "run",
                        lambda cmd, **kw: subprocess.CompletedProcess(cmd, -11, "", "free(): invalid size"))
    monkeypatch.setattr(sys, "argv", ["benchmark.py", "simple3d_synthetic", "--precisions", "bf16", "--variants", "eager",
                                      "--batches", "1", "--out", str(tmp_path / "rows")])
    assert script.main() == 1
    err = capsys.readouterr()
    assert "simple3d_synthetic eager bf16 b1: CRASHED with signal 11 (SIGSEGV)" in err.out + err.err
