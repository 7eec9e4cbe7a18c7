"""zoo.benchmark: rows for single-tensor, flow and two-stream models; the matmul limit."""
from __future__ import annotations

import pytest

from zoo import benchmark as B


@pytest.mark.parametrize("name, shape", [
    ("simple3d_synthetic", (1, 3, 8, 32, 32)),
    ("flow_resnet18", (1, 2, 10, 32, 32)),         # stacked flow: 2 channels (the card says so)
    ("two_stream_resnet18", (1, 3, 10, 32, 32)),   # an (rgb, flow) pair is built from the card's layout
    ("trn_resnet50_seg8_sthsthv2", (1, 3, 8, 32, 32)),  # a per-frame ResNet and a relation head over 8 frames
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


def test_variants_and_precisions_that_apply():
    assert B.applies("fast", "int8") and not B.applies("eager", "int8") and not B.applies("compiled", "int8")
    assert B.applies("autocast", "bf16") and not B.applies("autocast", "fp32")
    with pytest.raises(ValueError, match="int8 is the fast path's only"):
        B.benchmark_model("simple3d_synthetic", "eager", "int8", input_shape=(1, 3, 8, 32, 32))


def test_small_input_shape_is_small_where_the_model_allows():
    import zoo

    assert B.small_input_shape("i3d_resnet50_v1_kinetics400") == (1, 3, 8, 64, 64)
    assert B.small_input_shape("i3d_resnet50_v1_kinetics400", batch=3)[0] == 3
    # SlowFast takes the card's frames (its pathways split them), at a small crop
    sf = zoo.model_card("slowfast_4x16_resnet50_kinetics400").input
    assert B.small_input_shape("slowfast_4x16_resnet50_kinetics400") == (1, 3, sf.clip_len, 64, 64)
    # a model whose classifier fixes the crop keeps its card's input where nothing smaller runs
    shape = B.small_input_shape("c3d_kinetics400")
    assert shape[3:] == (112, 112) and shape[2] <= zoo.model_card("c3d_kinetics400").input.clip_len


@pytest.mark.parametrize("variant, precision", [("autocast", "bf16"), ("fast", "int8")])
def test_autocast_and_int8_rows(variant, precision):
    row = B.benchmark_model("simple3d_synthetic", variant, precision, warmup=0, repeat=2, input_shape="small")
    assert row["variant"] == variant and row["precision"] == precision and row["batch"] == 1
    assert row["latency_ms_median"] > 0 and row["cpu_ms_per_clip"] > 0
    if variant == "fast":  # what ran is in the row: int8, or fp32 with the reason
        assert row["ran_as"] == "int8" or "int8 does not apply" in row["skipped"]


def _row(name, variant, precision, batch, ms, frac=None):
    row = {"name": name, "variant": variant, "precision": precision, "batch": batch, "input": [batch, 3, 8, 64, 64],
           "latency_ms_median": ms, "clips_per_s": batch * 1000 / ms}
    if frac is not None:
        row["fraction_of_matmul_limit"] = frac
    return row


def test_report_rst_shows_the_machine_and_the_targets():
    rows = [dict(_row("m", "eager", "fp32", 1, 400.0, 0.5), gluoncv_ms=500.0), _row("m", "fast", "fp32", 1, 200.0, 0.9),
            _row("m", "fast", "bf16", 1, 100.0, 0.7), _row("m", "fast", "int8", 1, 50.0),
            _row("m", "fast", "fp32", 8, 1200.0), _row("m", "fast", "bf16", 8, 1000.0),
            {"name": "m", "variant": "loading", "ratio": 0.8}]
    text = B.report_rst(rows, "Some CPU [VNNI]", {"fp32": 2e11, "bf16": 4e11}, ["x fast bf16 b8: CRASHED"], "today")
    assert "Machine: Some CPU [VNNI]" in text and "fp32 200.0 GFLOP/s, bf16 400.0 GFLOP/s" in text
    assert "     - 500" in text and "     - 200 (0.90)" in text  # GluonCV beside ours, fraction of the limit
    assert "5.00 / 6.67 (1.33x)" in text and "10.00 / 8.00 (0.80x)" in text  # batch 1 vs 8, fp32 then bf16
    assert "     - 2.00x" in text  # int8 against fast bf16
    assert "``x fast bf16 b8: CRASHED``" in text


def _script():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "scripts" / "benchmark.py"
    spec = importlib.util.spec_from_file_location("benchmark_script", path)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_all_bf16_runs_every_model_small_and_fails_on_a_crash(monkeypatch, capsys, tmp_path):
    """--all-bf16 runs every matched name in bf16 (autocast, eager, fast) on small inputs, a process per model;
    a crash is pinned on the variant that crashed, the variants after it still run, and the run fails."""
    import json
    import subprocess
    import sys

    import zoo

    script = _script()
    monkeypatch.setattr(script.B, "matmul_limit", lambda *a, **k: 1e9)
    calls = []
    real_run = subprocess.run

    def fake_run(cmd, **kw):
        if "--one" not in cmd:  # platform's own look-ups (uname) run as they are
            return real_run(cmd, **kw)
        calls.append(cmd)
        name, out = cmd[cmd.index("--one") + 1], ""
        for variant in cmd[cmd.index("--variant") + 1].split(","):
            if name == "i3d_resnet50_v1_kinetics400" and variant == "eager":
                return subprocess.CompletedProcess(cmd, -6, out, "double free or corruption")
            row = _row(name, variant, "bf16", 1, 10.0)
            row.update(gflops=None, achieved_gflops_per_s=None, latency_ms_min=10.0, latency_ms_max=10.0,
                       cpu_ms_per_clip=5.0, peak_mem_mib=1.0)
            out += json.dumps(row) + "\n"
        return subprocess.CompletedProcess(cmd, 0, out, "")

    monkeypatch.setattr(script.subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "argv", ["benchmark.py", "i3d_resnet50_v1_*", "--all-bf16", "--out", str(tmp_path / "rows")])
    assert script.main() == 1
    names = zoo.get_model_list("i3d_resnet50_v1_*")
    launched = [(c[c.index("--one") + 1], c[c.index("--variant") + 1]) for c in calls]
    assert launched == [(n, "autocast,eager,fast") for n in names[:names.index("i3d_resnet50_v1_kinetics400") + 1]] + [
        ("i3d_resnet50_v1_kinetics400", "fast")] + [(n, "autocast,eager,fast") for n in names[names.index("i3d_resnet50_v1_kinetics400") + 1:]]
    assert all("--small" in c and c[c.index("--precision") + 1] == "bf16" for c in calls)
    err = capsys.readouterr()
    assert "i3d_resnet50_v1_kinetics400 eager bf16 b1: CRASHED with signal 6 (SIGABRT)" in err.out + err.err
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert len(rows) == 3 * len(names) - 1  # every row but the crashed one
    assert {(r["name"], r["variant"]) for r in rows if r["name"] == "i3d_resnet50_v1_kinetics400"} == {
        ("i3d_resnet50_v1_kinetics400", "autocast"), ("i3d_resnet50_v1_kinetics400", "fast")}


def test_time_interleaved_alternates_and_times_each():
    import time

    order = []
    fast, slow = (lambda: order.append("a")), (lambda: (order.append("b"), time.sleep(0.01)))
    timings = B.time_interleaved([fast, slow], warmup=1, repeat=3)
    assert order == ["a", "b"] * 4
    assert timings[1].min >= 0.01 > timings[0].median


def test_row_with_the_interleaved_limit():
    row = B.benchmark_model("simple3d_synthetic", "fast", "fp32", warmup=0, repeat=2, input_shape="small",
                            interleave_limit=True)
    assert row["matmul_gflops_per_s_interleaved"] > 0
    assert row["fraction_of_interleaved_limit"] == pytest.approx(
        row["gflops"] * row["batch"] / (row["latency_ms_median"] / 1e3) / row["matmul_gflops_per_s_interleaved"])


def test_gflops_follow_the_input_size():
    import zoo

    card = zoo.model_card("simple3d_synthetic")
    full = B.benchmark_model("simple3d_synthetic", "eager", warmup=0, repeat=1)
    half = B.benchmark_model("simple3d_synthetic", "eager", warmup=0, repeat=1,
                             input_shape=(1, 3, card.input.clip_len, card.input.crop_size // 2, card.input.crop_size // 2))
    assert half["gflops"] == pytest.approx(full["gflops"] / 4)


def test_transformers_comparison_times_both_models_in_turns(monkeypatch, capsys):
    """The comparison child builds transformers' model beside ours and reports both latencies (a small config here)."""
    import argparse
    import json

    pytest.importorskip("transformers")
    script = _script()
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
