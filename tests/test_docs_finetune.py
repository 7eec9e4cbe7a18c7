"""The fine-tune tutorial's commands run, in order, on the tutorial's own clips (at reduced input on CPU)."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorials" / "finetune.rst"
BLOCK = re.compile(r"^\.\. code-block:: (?P<lang>\w+)\n\n(?P<body>(?: {3}.*\n|\s*\n)+)", re.M)

# what a CPU test changes: no Kinetics-400 download, 8-frame 32 px clips, one epoch, small synthetic data
REDUCED = {
    "configs/i3d_resnet50_finetune.yaml": ["model.pretrained=false", "data.clip_len=8", "data.frame_step=1",
                                           "data.crop_size=32", "data.short_side=48", "train.epochs=1"],
    "configs/simple3d_synthetic.yaml": ["data.synthetic.num_train=16", "data.synthetic.num_val=8",
                                        "data.synthetic.workers=0", "data.batch_size=4", "data.num_workers=0"],
}
COMMON = ["train.progress=false", "data.num_workers=0", "train.threads=2"]
# needs the Kinetics-400 validation set and the published weights
NOT_HERE = ("--reproduced",)


def blocks(lang: str) -> list[str]:
    return [m["body"] for m in BLOCK.finditer(TUTORIAL.read_text()) if m["lang"] == lang]


def commands() -> list[str]:
    """Every shell command of the tutorial, continuation lines joined, comments dropped."""
    out = []
    for body in blocks("bash"):
        text = re.sub(r"\\\n\s*", " ", "\n".join(line[3:] for line in body.splitlines()))
        out += [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return out


def _runnable(command: str) -> list[str]:
    args = shlex.split(command)
    if args[0] == "python":
        args[0] = sys.executable
    elif args[0] == "zoo":
        args[:1] = [sys.executable, "-m", "zoo.cli"]
    if args[1:2] == ["scripts/train_recognizer.py"]:
        args += [*REDUCED[args[2]], *COMMON]
    return args


@pytest.mark.slow
def test_tutorial_commands_run_on_its_own_clips(tmp_path):
    (tmp_path / "scripts").symlink_to(ROOT / "scripts")
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "2", "ZOO_HOME": str(tmp_path / "zoohome")}
    setup = blocks("python")[0]
    subprocess.run([sys.executable, "-c", "\n".join(line[3:] for line in setup.splitlines())], cwd=tmp_path,
                   env=env, check=True, capture_output=True, timeout=300)
    ran = []
    for command in commands():
        if any(flag in command for flag in NOT_HERE):
            continue
        proc = subprocess.run(_runnable(command), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        ran.append(command.split()[1])
    assert ran.count("scripts/train_recognizer.py") == 3 and "scripts/test_recognizer.py" in ran
    assert (tmp_path / "runs" / "my_i3d" / "best.pth").is_file() and (tmp_path / "preds.json").is_file()
    rows = (tmp_path / "runs" / "my_i3d" / "log.jsonl").read_text().splitlines()
    assert len(rows) == 1  # the resumed (finished) run added no row


def test_tutorial_trains_with_a_recipe_not_the_synthetic_config():
    train = [c for c in commands() if "train_recognizer.py" in c and "videos/train.txt" in c]
    assert train and all("configs/i3d_resnet50_finetune.yaml" in c for c in train)
    assert all("accumulate" not in c and "adamw" not in c for c in train)


def test_tutorial_does_not_restate_card_fields():
    """Clip length, step, segments and crop come from each model's card; the tutorial names none by hand."""
    restated = re.findall(r"[1-9]\d*[ -](?:frames?|segments?|px)\b|every \d+(?:st|nd|rd|th)\b", TUTORIAL.read_text())
    assert not restated, restated
