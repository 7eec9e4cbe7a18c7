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


def test_transformers_comparison_times_both_models_in_turns(monkeypatch, capsys):
    """The comparison child builds transformers' model beside ours and reports both latencies (a small config here)."""
    import argparse
    import importlib.util
    import json
    from pathlib import Path

    pytest.importorskip("transformers")
    path = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert set(script.TRANSFORMERS_REFERENCE) <= set(script.TRANSFORMER_MODELS)  # the compared name has its rows
    tiny = dict(hidden_size=384, num_hidden_layers=12, num_attention_heads=6, intermediate_size=1536, image_size=32,
                num_frames=4, num_labels=400)
    monkeypatch.setattr(script, "TRANSFORMERS_REFERENCE",
                        {"videomae_vit_s_kinetics400": ("VideoMAEForVideoClassification", tiny)})
    args = argparse.Namespace(one_transformers="videomae_vit_s_kinetics400", precision="fp32", threads=1, warmup=0,
                              repeat=2, input="1,3,4,32,32")
    script.run_one_transformers(args)
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["ours_ms_min"] > 0 and row["theirs_ms_min"] > 0 and row["ours_ms_median"] >= row["ours_ms_min"]
    assert row["attention"] in ("sdpa", "eager")
