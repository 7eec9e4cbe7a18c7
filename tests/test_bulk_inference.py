"""Bulk inference: torchrun shards a list over ranks into per-rank parts; a rerun resumes; rank 0 merges."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import zoo
from _engine_helpers import ROOT, make_tiny_dataset, run_script, torchrun
from zoo.engine.cli_errors import run_cli
from zoo.engine.inference import BulkOutput, Prediction

PROTOCOL = ["model.kwargs.widths=[4,8]", "data.new_length=4", "data.new_step=2", "data.crop_size=32",
            "data.short_side=32"]
NUM_VIDEOS = 400  # enough that a rank is still working when the test kills it


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    """A list of NUM_VIDEOS short videos (links to 8 tiny synthetic clips), and tiny weights."""
    root = tmp_path_factory.mktemp("bulk")
    splits = make_tiny_dataset(root / "data", num_train=0, num_val=8)
    clips = sorted((root / "data" / "val").glob("*.mp4"))
    (root / "videos").mkdir()
    lines = []
    for i in range(NUM_VIDEOS):
        link = root / "videos" / f"v{i:04d}.mp4"
        link.symlink_to(clips[i % len(clips)])
        lines.append(f"videos/{link.name}")
    (root / "list.txt").write_text("\n".join(lines) + "\n")
    torch.manual_seed(5)
    weights = root / "tiny.pth"
    torch.save(zoo.get_model("simple3d_synthetic", widths=[4, 8]).state_dict(), weights)
    return root, weights


def _args(root: Path, weights: Path, out: Path) -> list[str]:
    return [str(ROOT / "scripts" / "inference.py"), str(root / "list.txt"), "--model", "simple3d_synthetic",
            "--weights", str(weights), "--topk", "2", "--quiet", "--precision", "fp32", "--out", str(out),
            "--device", "cpu", *PROTOCOL]


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.is_file() else 0


def _worker_of_rank(parent: int, rank: int) -> int | None:
    """The pid of torchrun's child process that runs ``rank`` (read from /proc)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and f"RANK={rank}".encode() in environ:
            return int(entry.name)
    return None


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds the worker to kill through /proc")
def test_torchrun_shards_resumes_after_a_killed_rank_and_merges(tmp_path, many):
    root, weights = many
    out = tmp_path / "preds"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([*torchrun(2), *_args(root, weights, out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    part1 = out / "part-rank00001.jsonl"
    try:
        deadline = time.monotonic() + 180
        while _lines(part1) < 10 and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        victim = _worker_of_rank(first.pid, 1)
        assert victim is not None and first.poll() is None, "rank 1 ended before it could be killed"
        os.kill(victim, signal.SIGKILL)
        log = first.communicate(timeout=120)[0]
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode != 0, log[-2000:]
    killed_at = _lines(part1)
    assert 10 <= killed_at < NUM_VIDEOS // 2, f"rank 1 wrote {killed_at} of its {NUM_VIDEOS // 2} videos"
    assert not (out / "predictions.jsonl").exists()  # no merge after a failed run

    second = run_script([*torchrun(2), *_args(root, weights, out)], timeout=300)
    text = second.stdout + second.stderr
    assert f"rank 1 of 2: {killed_at} of its {NUM_VIDEOS // 2} videos already done" in text, text[-2000:]
    merged = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    videos = [str(root / line) for line in (root / "list.txt").read_text().splitlines()]
    assert [row["source"] for row in merged] == videos  # each video once, in list order
    assert _lines(part1) == NUM_VIDEOS // 2  # the rerun did only what was left

    single = tmp_path / "single.json"
    run_script([sys.executable, *_args(root, weights, single)], timeout=300)  # one process, one file
    reference = {row["source"]: row for row in json.loads(single.read_text())}
    for row in merged:
        assert row["predictions"][0]["indices"] == reference[row["source"]]["indices"]
        assert row["predictions"][0]["scores"] == pytest.approx(reference[row["source"]]["scores"], abs=1e-5)


def test_bulk_output_skips_done_videos_retries_failed_ones_and_survives_a_torn_line(tmp_path):
    videos = [f"v{i}.mp4" for i in range(5)]
    rank0, rank1 = BulkOutput(tmp_path, 0, 2), BulkOutput(tmp_path, 1, 2)
    assert [p.name for p in rank0.todo(videos)] == ["v0.mp4", "v2.mp4", "v4.mp4"]
    rank0.record("v0.mp4", [Prediction("v0.mp4", ["a"], [0], [0.9])])
    rank0.record("v2.mp4", error="cannot decode")
    rank1.record("v1.mp4", [Prediction("v1.mp4", ["b"], [1], [0.8])])
    with open(rank1.part, "a") as f:
        f.write('{"source": "v3.mp4", "predic')  # a process killed while writing
    assert [p.name for p in rank0.todo(videos)] == ["v2.mp4", "v4.mp4"]  # done skipped, failed retried
    assert [p.name for p in rank1.todo(videos)] == ["v3.mp4"]
    BulkOutput(tmp_path, 1, 2).record("v3.mp4", [Prediction("v3.mp4", ["c"], [2], [0.7])])
    path, done, missing = rank0.merge(videos)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["source"] for r in rows] == ["v0.mp4", "v1.mp4", "v3.mp4"] and (done, missing) == (3, 2)
    failed = [json.loads(line) for line in (tmp_path / "failed.jsonl").read_text().splitlines()]
    assert failed == [{"source": "v2.mp4", "error": "cannot decode"}]


def test_merge_step_and_flags(tmp_path, many, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("inference_script", ROOT / "scripts" / "inference.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    root, _ = many
    BulkOutput(tmp_path / "p", 1, 2).record(root / "videos" / "v0001.mp4", [Prediction("x", ["a"], [0], [1.0])])
    assert script.main(["--merge", "--out", str(tmp_path / "p"), str(root / "list.txt")]) == 0
    assert f"(1 videos; {NUM_VIDEOS - 1} without a prediction" in capsys.readouterr().out
    assert _lines(tmp_path / "p" / "predictions.jsonl") == 1
    assert run_cli(script.main, ["--merge", "--out", str(tmp_path / "p.json")]) == 2
    assert "--merge merges the per-rank parts" in capsys.readouterr().err
