"""Crash consistency of training outputs: kill -9 at any instant, full disks, temp files of killed saves."""
from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from _engine_helpers import ROOT, TINY, make_tiny_dataset, run_script, tiny_config
from zoo.engine import train
from zoo.engine import checkpoint as checkpoint_module
from zoo.engine.checkpoint import DiskFullError, load_checkpoint

EPOCHS = 6


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def _script_args(tiny, work_dir: Path) -> list[str]:
    return [sys.executable, str(ROOT / "scripts" / "train_recognizer.py"), *TINY,
            f"data.train_list={tiny.train_list}", f"data.val_list={tiny.val_list}", f"train.epochs={EPOCHS}",
            "train.val_every=1", "train.keep_epoch_checkpoints=true", "train.deterministic=true", "train.threads=1",
            f"output.work_dir={work_dir}", "--resume", "auto", "--quiet"]


def _rows(work_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (work_dir / "log.jsonl").read_text().splitlines()]


def _same_weights(a: Path, b: Path) -> bool:
    x, y = load_checkpoint(a)["model"], load_checkpoint(b)["model"]
    return x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)


def _commit_stamp(work_dir: Path) -> int:
    last = work_dir / "last.pth"
    return last.stat().st_mtime_ns if last.is_file() else 0


def _saving(work_dir: Path) -> bool:
    return work_dir.is_dir() and any(p.name.endswith(".tmp") for p in work_dir.iterdir())


def _kill_once(args: list[str], work_dir: Path, rng: random.Random, env: dict, whole_run: float) -> bool:
    """Start the run and kill -9 it at a random instant, in the middle of a file write, or just after a
    checkpoint commit (while the outputs derived from it are written). Returns False if it finished first.

    ``whole_run``: seconds an uninterrupted run took here; random instants fall within its first 70 %, so the
    loop kills as often on a fast machine as on a loaded one."""
    when = rng.choice(["random", "while saving", "after commit"])
    before = _commit_stamp(work_dir)
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + (rng.uniform(0.1, 0.7) * whole_run if when == "random" else 60.0)
    while time.monotonic() < deadline and proc.poll() is None:
        if (when == "while saving" and _saving(work_dir)) or \
                (when == "after commit" and _commit_stamp(work_dir) != before):
            time.sleep(rng.uniform(0.0, 0.005))
            break
    finished = proc.poll() is not None
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    return not finished


@pytest.mark.slow
def test_kill_9_loop_leaves_complete_logs_checkpoints_and_the_same_weights(tmp_path, tiny):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    reference = tmp_path / "reference"
    t0 = time.monotonic()
    run_script(_script_args(tiny, reference))
    whole_run = time.monotonic() - t0
    work_dir = tmp_path / "killed"
    rng = random.Random(14)
    kills = 0
    started = time.monotonic()
    while kills < 8 and time.monotonic() - started < 150:
        if not _kill_once(_script_args(tiny, work_dir), work_dir, rng, env, whole_run):
            break
        kills += 1
    assert kills >= 3, "the run finished before it could be killed a few times"
    run_script(_script_args(tiny, work_dir))  # finishes the run (or re-derives a finished one)

    assert not [p.name for p in work_dir.iterdir() if p.name.endswith(".tmp")]
    rows, expected = _rows(work_dir), _rows(reference)
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    for row, want in zip(rows, expected):
        assert {k: v for k, v in row.items() if k != "epoch_seconds"} == \
            {k: v for k, v in want.items() if k != "epoch_seconds"}
    csv_lines = (work_dir / "log.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,") and [line.split(",")[0] for line in csv_lines[1:]] == \
        [str(e) for e in range(1, EPOCHS + 1)]
    for name in ["last.pth", "best.pth", *(f"epoch_{e:03d}.pth" for e in range(1, EPOCHS + 1))]:
        assert _same_weights(work_dir / name, reference / name), name
    assert load_checkpoint(work_dir / "best.pth")["epoch"] == load_checkpoint(reference / "best.pth")["epoch"]


def test_a_kill_between_the_commit_and_its_derived_files_is_repaired_on_resume(tmp_path, tiny, monkeypatch):
    extra = ["train.epochs=3", "train.val_every=1", "train.keep_epoch_checkpoints=true"]
    from zoo.engine import trainer

    derive = trainer._derive_outputs

    def killed_after_epoch_2(run):
        if run.epoch == 2:
            raise KeyboardInterrupt  # stands for kill -9: last.pth of epoch 2 is committed, nothing else
        derive(run)

    monkeypatch.setattr(trainer, "_derive_outputs", killed_after_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_config(tiny, tmp_path / "run", *extra))
    assert [r["epoch"] for r in _rows(tmp_path / "run")] == [1]
    monkeypatch.setattr(trainer, "_derive_outputs", derive)
    train(tiny_config(tiny, tmp_path / "run", *extra), resume="auto")
    assert [r["epoch"] for r in _rows(tmp_path / "run")] == [1, 2, 3]
    assert all((tmp_path / "run" / f"epoch_{e:03d}.pth").is_file() for e in (1, 2, 3))


def test_temp_files_of_killed_saves_are_removed_on_the_next_start(tmp_path, tiny):
    work_dir = tmp_path / "run"
    work_dir.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = work_dir / f"last.pth.{dead.pid}.tmp"
    stale.write_bytes(b"half a checkpoint")
    mine = work_dir / f"notes.{os.getpid()}.tmp"  # a live process's temp file stays
    mine.write_bytes(b"x")
    train(tiny_config(tiny, work_dir, "train.epochs=1"), resume="auto")
    assert not stale.exists() and mine.exists()


def test_disk_full_during_a_checkpoint_save_is_one_line_and_leaves_no_temp_file(tmp_path, tiny, monkeypatch):
    real_open = open

    class FullDisk:
        """A file that takes 1 kB, then fails as a full disk does."""

        def __init__(self, path, mode):
            self.f, self.written = real_open(path, mode), 0

        def write(self, data):
            self.written += len(data)
            if self.written > 1024:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def fake_open(path, mode="r", *args, **kwargs):
        return FullDisk(path, mode) if ".pth." in str(path) else real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(checkpoint_module, "open", fake_open, raising=False)
    with pytest.raises(DiskFullError) as caught:
        train(tiny_config(tiny, tmp_path / "full", "train.epochs=1"))
    message = str(caught.value)
    assert "disk full" in message and "last.pth" in message and "\n" not in message
    assert not [p.name for p in (tmp_path / "full").iterdir() if ".tmp" in p.name]
