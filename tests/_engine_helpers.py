"""Tiny synthetic data and configs shared by the engine tests (train / test / inference / demo)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# 4-frame 32 px clips through a two-stage simple3d: a training step takes well under a second
TINY = ["model.name=simple3d_synthetic", "model.kwargs.widths=[4,8]", "model.kwargs.dropout_ratio=0.0",
        "data.clip_len=4", "data.frame_step=2", "data.crop_size=32", "data.short_side=32", "data.batch_size=2",
        "data.mean=[0.5,0.5,0.5]", "data.std=[0.25,0.25,0.25]", "data.train_crop=random", "train.optimizer=sgd",
        "train.lr=0.05", "train.progress=false", "train.val_every=0", "train.warmup_epochs=0.5"]


def cheapest_name_per_family() -> list[tuple[str, float]]:
    """The registered name of each family with the fewest counted GFLOPs (int8 twins left out), with them."""
    from zoo.catalogue import all_cards
    from zoo.tables import model_stats

    stats, cheapest = model_stats(), {}
    for card in all_cards():
        gflops = stats.get(card.name, {}).get("gflops") or float("inf")
        if not card.int8 and (card.family not in cheapest or gflops < cheapest[card.family][1]):
            cheapest[card.family] = (card.name, gflops)
    return sorted(cheapest.values())


def make_tiny_dataset(root: Path, num_train: int = 8, num_val: int = 5):
    from zoo.data import make_synthetic_dataset

    return make_synthetic_dataset(root, num_train=num_train, num_val=num_val, seed=0, frames=8, size=32)


def tiny_config(splits, work_dir: Path, *extra: str) -> dict:
    from zoo.engine import load_config

    return load_config(None, [*TINY, f"data.train_list={splits.train_list}", f"data.val_list={splits.val_list}",
                              f"data.test_list={splits.val_list}", f"output.work_dir={work_dir}", *extra])


def run_script(args: list[str], timeout: float = 240, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command with the repo on the path; fail with its output when it fails."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", **(env_extra or {})}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc


def torchrun(nproc: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--standalone"]
