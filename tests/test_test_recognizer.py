"""Multi-view testing: metrics, reports, reproduced results, each video counted once under torchrun."""
from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from _engine_helpers import ROOT, make_tiny_dataset, run_script, torchrun
from zoo.engine.distributed import ShardSampler
from zoo.engine.evaluate import compute_metrics

PROTOCOL = ["data.new_length=4", "data.new_step=2", "data.crop_size=32", "data.short_side=32",
            "model.kwargs.widths=[4,8]"]


def _script():
    spec = importlib.util.spec_from_file_location("test_recognizer_script", ROOT / "scripts" / "test_recognizer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_test"), num_train=0, num_val=5)  # odd count


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("w") / "tiny.pth"
    torch.save(zoo.get_model("simple3d_synthetic", widths=[4, 8]).state_dict(), path)
    return path


def test_shard_sampler_covers_each_index_once():
    shards = [list(ShardSampler(7, 3, r)) for r in range(3)]
    assert sorted(i for s in shards for i in s) == list(range(7))
    assert [len(ShardSampler(7, 3, r)) for r in range(3)] == [len(s) for s in shards]


def test_metrics_on_a_hand_made_case():
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    labels = np.array([0, 1, 1, 2])
    r = compute_metrics(scores, labels, 3)
    assert r.top1 == pytest.approx(50.0)            # videos 0 and 2 right
    assert r.per_class_accuracy == pytest.approx([100.0, 50.0, 0.0])
    assert r.mean_class_accuracy == pytest.approx(50.0)
    assert r.confusion.tolist() == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    assert r.top5 == 100.0                          # k = min(5, classes)


def test_multiview_report_and_reproduced_record(tmp_path, tiny, weights, capsys):
    out, repro = tmp_path / "out", tmp_path / "repro"
    _script().main(["--model", "simple3d_synthetic", "--weights", str(weights), "--list", str(tiny.val_list),
                    "--num-clips", "2", "--num-crops", "3", "--out", str(out), "--reproduced", str(repro),
                    "--tag", "unit", "--quiet", *PROTOCOL])
    result = json.loads((out / "result.json").read_text())
    assert result["num_videos"] == 5
    p = result["protocol"]
    assert (p["num_clips"], p["num_crops"], p["views"], p["crop_size"], p["new_length"]) == (2, 3, 6, 32, 4)
    assert len(result["per_class_accuracy"]) == 8
    rows = list(csv.reader((out / "confusion.csv").open()))
    assert len(rows) == 9 and sum(int(v) for row in rows[1:] for v in row[1:]) == 5
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    record = json.loads((repro / "simple3d_synthetic__unit.json").read_text())
    assert record["top1"] == pytest.approx(result["top1"], abs=0.01) and record["views"] == 6
    table = list(csv.DictReader((repro / "reproduced.csv").open()))
    assert [(r["model"], r["tag"]) for r in table] == [("simple3d_synthetic", "unit")]
    assert "top-1" in capsys.readouterr().out


def test_torchrun_evaluation_counts_each_video_once(tmp_path, tiny, weights):
    args = ["--model", "simple3d_synthetic", "--weights", str(weights), "--list", str(tiny.val_list),
            "--num-clips", "2", "--num-crops", "1", "--batch-size", "2", "--quiet", *PROTOCOL]
    run_script([*torchrun(2), str(ROOT / "scripts" / "test_recognizer.py"), *args, "--out", str(tmp_path / "ddp"),
                "--device", "cpu"])
    _script().main([*args, "--out", str(tmp_path / "one")])
    ddp = json.loads((tmp_path / "ddp" / "result.json").read_text())
    one = json.loads((tmp_path / "one" / "result.json").read_text())
    assert ddp["world_size"] == 2 and ddp["num_videos"] == one["num_videos"] == 5
    assert (tmp_path / "ddp" / "confusion.csv").read_text() == (tmp_path / "one" / "confusion.csv").read_text()
    assert ddp["top1"] == pytest.approx(one["top1"]) and ddp["loss"] == pytest.approx(one["loss"], rel=1e-5)


@pytest.fixture(scope="module")
def with_zero_byte(tmp_path_factory):
    """A list of 8 good videos and 6 zero-byte files; and the list of the good ones alone."""
    splits = make_tiny_dataset(tmp_path_factory.mktemp("bad_test"), num_train=0, num_val=8)
    root = splits.val_list.parent
    good = splits.val_list.read_text().splitlines()
    bad = []
    for i in range(6):
        (root / "val" / f"empty_{i}.mp4").write_bytes(b"")
        bad.append(f"val/empty_{i}.mp4 8 {i}")
    mixed = root / "mixed.txt"
    mixed.write_text("\n".join(good[:3] + bad[:3] + good[3:] + bad[3:]) + "\n")
    return splits.val_list, mixed


def _run_cli(argv):
    from zoo.engine.cli_errors import run_cli

    return run_cli(_script().main, argv, prog="test_recognizer.py")


def test_unreadable_videos_are_in_no_metric_and_are_listed(tmp_path, with_zero_byte, weights, capsys):
    good_list, mixed = with_zero_byte
    common = ["--model", "simple3d_synthetic", "--weights", str(weights), "--num-clips", "2", "--quiet", *PROTOCOL]
    assert _script().main([*common, "--list", str(good_list), "--out", str(tmp_path / "good")]) == 0
    capsys.readouterr()
    assert _script().main([*common, "--list", str(mixed), "--out", str(tmp_path / "mixed")]) == 0
    printed = capsys.readouterr().out
    good = json.loads((tmp_path / "good" / "result.json").read_text())
    result = json.loads((tmp_path / "mixed" / "result.json").read_text())
    # the metric is the one of the good videos alone: nothing replaced, nothing counted twice
    assert (result["num_videos"], result["num_skipped"]) == (8, 6)
    assert result["top1"] == pytest.approx(good["top1"]) and result["loss"] == pytest.approx(good["loss"], rel=1e-5)
    assert sorted(Path(s["path"]).name for s in result["skipped"]) == [f"empty_{i}.mp4" for i in range(6)]
    assert all("empty" in s["reason"] for s in result["skipped"])
    rows = list(csv.reader((tmp_path / "mixed" / "confusion.csv").open()))
    assert sum(int(v) for row in rows[1:] for v in row[1:]) == 8
    assert "on 8 of 14 videos, 6 skipped: empty_0.mp4" in printed


def test_reproduced_refuses_a_run_with_skipped_videos_unless_allowed(tmp_path, with_zero_byte, weights, capsys):
    _, mixed = with_zero_byte
    repro = tmp_path / "repro"
    common = ["--model", "simple3d_synthetic", "--weights", str(weights), "--list", str(mixed), "--quiet",
              "--out", str(tmp_path / "out"), "--reproduced", str(repro), "--tag", "unit", *PROTOCOL]
    assert _script().main(common) == 1
    assert "6 video(s) were skipped" in capsys.readouterr().err and not (repro / "simple3d_synthetic__unit.json").exists()
    assert _script().main([*common, "--allow-skipped"]) == 0
    record = json.loads((repro / "simple3d_synthetic__unit.json").read_text())
    assert (record["num_videos"], record["num_skipped"]) == (8, 6)


def test_an_unlabelled_list_is_refused_for_metrics(tmp_path, tiny, weights, capsys):
    unlabelled = tmp_path / "unlabelled.txt"
    root = tiny.val_list.parent
    unlabelled.write_text("".join(f"{root / line.split()[0]} 0 20\n" for line in tiny.val_list.read_text().splitlines()))
    code = _run_cli(["--model", "simple3d_synthetic", "--weights", str(weights), "--list", str(unlabelled),
                     "--out", str(tmp_path / "out"), "--quiet", *PROTOCOL])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "unlabelled.txt:1: 5 of 5 lines have no label" in err and "inference.py" in err
    assert not (tmp_path / "out" / "result.json").exists()


def test_metrics_refuse_labels_outside_the_classes():
    with pytest.raises(ValueError, match="labels must lie in 0..2"):
        compute_metrics(np.full((2, 3), 1 / 3), np.array([0, -1]), 3)


def test_precision_runs_the_fast_path_and_is_recorded(tmp_path, tiny, weights, capsys):
    """--precision auto is the default; int8 calibrates on the list's first clips; as-built is the old path."""
    from zoo.optimize import cpu_has_bf16

    args = ["--model", "simple3d_synthetic", "--weights", str(weights), "--list", str(tiny.val_list), "--quiet",
            *PROTOCOL]
    results = {}
    for precision in ("auto", "int8", "as-built"):
        out = tmp_path / precision
        flag = [] if precision == "auto" else ["--precision", precision]
        assert _script().main([*args, *flag, "--out", str(out)]) == 0
        results[precision] = json.loads((out / "result.json").read_text())
        assert "precision: " in capsys.readouterr().out
    assert results["auto"]["protocol"]["precision"] == ("bf16" if cpu_has_bf16() else "fp32")
    assert results["int8"]["protocol"]["precision"] == "int8"
    assert results["as-built"]["protocol"]["precision"] == "as built"
    for precision in ("auto", "int8"):
        assert results[precision]["num_videos"] == results["as-built"]["num_videos"] == 5
        assert results[precision]["loss"] == pytest.approx(results["as-built"]["loss"], rel=0.05)
