"""The way back: sliding-window predictions of scripts/inference.py merged into segments, written as
a VIA project that the importer (and so ``zoo annotate``) reads back."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

import zoo
from test_inference import SET, _main
from zoo.data import VideoReader
from zoo.data.annotations import merge_windows, read_annotations


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    torch.manual_seed(11)
    path = tmp_path_factory.mktemp("w") / "tiny.pth"
    state = zoo.get_model("simple3d_synthetic", widths=[4, 8]).state_dict()
    head = [key for key in state if key.endswith("weight") and state[key].ndim == 2]
    state[head[-1]] *= 300  # a peaked classifier: its top class and score change along the video
    torch.save(state, path)
    return path


def test_window_predictions_round_trip_through_a_via_project(tmp_path, sample_video, tiny_weights, capsys):
    folder = tmp_path / "footage"
    folder.mkdir()
    video = shutil.copy(sample_video, folder / "long.mp4")
    windows_file, segments_file = tmp_path / "windows.json", tmp_path / "long_via.json"
    common = ["--model", "simple3d_synthetic", "--weights", str(tiny_weights), "--quiet", *SET]
    assert _main([str(video), *common, "--stride", "4", "--out", str(windows_file), "--segments-out",
                  str(segments_file), "--segment-threshold", "0.4", "--min-segment", "0.2"]) == 0
    assert f"segments: {segments_file}" in capsys.readouterr().out
    classes = zoo.data.class_names("synthetic")
    segments = read_annotations(segments_file, labels=classes, video_root=folder)
    rows = json.loads(windows_file.read_text())
    with VideoReader(video) as reader:
        fps = reader.fps
    windows = [("long.mp4", r["start_s"], round(r["end_frame"] / fps, 3), r["labels"][0], r["scores"][0]) for r in rows]
    expected = merge_windows(windows, threshold=0.4, min_length=0.2)
    assert len(segments) == len(expected) > 1
    for got, want in zip(segments, expected):
        assert (got.video, got.label, got.score) == (want.video, want.label, round(want.score, 4))
        assert (got.start, got.end) == pytest.approx((want.start, want.end), abs=1.01e-3)  # times in ms
    assert all(s.length >= 0.2 and s.score >= 0.4 for s in segments)
    assert len(segments) < len(rows)  # windows did merge


def test_segments_out_needs_stride_and_json(tmp_path, sample_video, tiny_weights):
    from zoo.engine.cli_errors import UsageError

    common = [str(sample_video), "--model", "simple3d_synthetic", "--weights", str(tiny_weights), "--quiet", *SET]
    with pytest.raises(UsageError, match="add --stride"):
        _main([*common, "--segments-out", str(tmp_path / "s.json")])
    with pytest.raises(UsageError, match=r"VIA project \(.json\), not .csv"):
        _main([*common, "--stride", "8", "--segments-out", str(tmp_path / "s.csv")])
