"""Synthetic motion dataset: files, determinism, motion-only class cues, CLI."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoo.data import VideoClassificationDataset, VideoReader, class_names, make_synthetic_dataset
from zoo.data.synthetic import SYNTHETIC_CLASSES, _motion, render_clip


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("syn"), num_train=16, num_val=8, seed=5, frames=12, size=(32, 48))


def test_layout_lists_and_real_h264_clips(small) -> None:
    import av

    train_list, val_list, classes_file = small
    assert classes_file.read_text().split() == list(SYNTHETIC_CLASSES) == class_names("synthetic")
    rows = [line.split() for line in train_list.read_text().splitlines()]
    assert len(rows) == 16 and len(val_list.read_text().splitlines()) == 8
    assert {int(r[2]) for r in rows} == set(range(8)) and all(r[1] == "12" for r in rows)
    with av.open(str(small.root / rows[0][0])) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == (48, 32)
    assert len(VideoReader(small.root / rows[0][0])) == 12


def test_deterministic_from_seed_and_cached(small, tmp_path: Path) -> None:
    again = make_synthetic_dataset(tmp_path / "again", num_train=16, num_val=8, seed=5, frames=12, size=(32, 48))
    first = VideoReader(small.root / "train/clip_00003.mp4").get_batch([0, 11])
    second = VideoReader(again.root / "train/clip_00003.mp4").get_batch([0, 11])
    # rendering is bit-exact (tested below); x264 output occasionally differs slightly (measured mean <= 0.9)
    assert np.abs(first.astype(int) - second).mean() < 2.0
    other = make_synthetic_dataset(tmp_path / "other", num_train=4, num_val=1, seed=6, frames=12, size=(32, 48))
    assert np.abs(first.astype(int) - VideoReader(other.root / "train/clip_00003.mp4").get_batch([0, 11])).mean() > 10
    stamp = (again.root / "train/clip_00000.mp4").stat().st_mtime_ns
    make_synthetic_dataset(tmp_path / "again", num_train=16, num_val=8, seed=5, frames=12, size=(32, 48))
    assert (again.root / "train/clip_00000.mp4").stat().st_mtime_ns == stamp  # reused, not re-rendered


def test_single_frames_do_not_reveal_the_class() -> None:
    """Per frame, position / size / angle have the same distribution in every
    class; only their change over the clip differs."""
    frames, height, width = 16, 64, 64
    stats = {label: [] for label in range(len(SYNTHETIC_CLASSES))}
    motion = {label: [] for label in range(len(SYNTHETIC_CLASSES))}
    for label in stats:
        for k in range(800):
            centres, angles, halves = _motion(label, frames, np.random.default_rng([1, label, k]), height, width)
            stats[label].append(np.stack([centres[:, 0], centres[:, 1], halves], 1))
            motion[label].append([centres[-1, 0] - centres[0, 0], centres[-1, 1] - centres[0, 1],
                                  angles[-1] - angles[0], np.log(halves[-1] / halves[0])])
    pooled = {label: np.concatenate(v) for label, v in stats.items()}
    overall = np.concatenate(list(pooled.values()))
    spread = overall.std(0)
    for label, values in pooled.items():
        assert np.all(np.abs(values.mean(0) - overall.mean(0)) < 0.12 * spread), SYNTHETIC_CLASSES[label]
    means = {SYNTHETIC_CLASSES[k]: np.mean(v, 0) for k, v in motion.items()}
    assert means["translate_left"][0] < -8 < 8 < means["translate_right"][0]
    assert means["translate_up"][1] < -8 < 8 < means["translate_down"][1]
    assert means["rotate_clockwise"][2] > 0.5 > -0.5 > means["rotate_anticlockwise"][2]
    assert means["grow"][3] > 0.3 > -0.3 > means["shrink"][3]


def test_rendered_clip_moves_the_object() -> None:
    video = render_clip(SYNTHETIC_CLASSES.index("translate_right"), 16, 48, 48, np.random.default_rng(0))
    assert np.array_equal(video, render_clip(1, 16, 48, 48, np.random.default_rng(0)))  # deterministic
    assert video.shape == (16, 48, 48, 3) and video.dtype == np.uint8
    assert np.abs(video[0].astype(int) - video[-1]).mean() > 2  # frames differ


def test_dataset_reads_the_synthetic_lists(small) -> None:
    ds = VideoClassificationDataset(small.train_list, sampling="dense", clip_len=8)
    clip, label = ds[5]
    assert clip.shape == (8, 32, 48, 3) and label == 5 and ds.classes == list(SYNTHETIC_CLASSES)


def test_cli(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "zoo.data.synthetic", "--out",
                             str(tmp_path), "--num-train", "3", "--num-val", "2", "--frames", "8", "--size", "32",
                             "--workers", "1"], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr
    assert "train list" in result.stdout
    assert len((tmp_path / "train.txt").read_text().splitlines()) == 3
    assert (tmp_path / "val" / "clip_00001.mp4").stat().st_size > 0
