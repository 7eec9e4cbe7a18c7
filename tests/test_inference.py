"""scripts/inference.py on a real video through every input mode that runs here (no webcam)."""
from __future__ import annotations

import csv
import importlib.util
import json
import shutil
import time

import numpy as np
import pytest
import torch

import zoo
from _engine_helpers import ROOT, cheapest_name_per_family
from zoo.data import VideoReader
from zoo.engine.inference import Recognizer, draw_label

SET = ["--set", "model.kwargs.widths=[4,8]", "data.new_length=4", "data.new_step=2", "data.crop_size=32",
       "data.short_side=32"]


def _main(argv):
    spec = importlib.util.spec_from_file_location("inference_script", ROOT / "scripts" / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(argv)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(5)
    path = tmp_path_factory.mktemp("w") / "tiny.pth"
    torch.save(zoo.get_model("simple3d_synthetic", widths=[4, 8]).state_dict(), path)
    return path


def _common(weights):
    return ["--model", "simple3d_synthetic", "--weights", str(weights), "--topk", "3", "--quiet", *SET]


def test_file_folder_and_list_give_the_same_top_k(tmp_path, sample_video, weights, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(sample_video, folder / "a.mp4")
    (tmp_path / "list.txt").write_text("videos/a.mp4 280 0\n")
    outputs = {}
    for name, inputs in (("file", [str(sample_video)]), ("folder", [str(folder)]), ("list", [str(tmp_path / "list.txt")])):
        out = tmp_path / f"{name}.json"
        assert _main([*inputs, *_common(weights), "--out", str(out)]) == 0
        rows = json.loads(out.read_text())
        assert len(rows) == 1 and len(rows[0]["labels"]) == 3
        assert rows[0]["labels"][0] in zoo.data.class_names("synthetic")  # names from the card's dataset
        assert rows[0]["scores"] == sorted(rows[0]["scores"], reverse=True)
        outputs[name] = rows[0]
    assert outputs["file"]["scores"] == pytest.approx(outputs["folder"]["scores"]) == outputs["list"]["scores"]
    table = capsys.readouterr().out
    assert "arm_wrestling.mp4:" in table and "a.mp4:" in table
    csv_out = tmp_path / "preds.csv"
    _main([str(sample_video), *_common(weights), "--out", str(csv_out), "--classes", str(_classes(tmp_path))])
    rows = list(csv.DictReader(csv_out.open()))
    assert [r["rank"] for r in rows] == ["1", "2", "3"] and rows[0]["label"].startswith("c")


def _classes(tmp_path):
    path = tmp_path / "classes.txt"
    path.write_text("".join(f"c{i}\n" for i in range(8)))
    return path


def test_sliding_windows_report_time_spans(tmp_path, sample_video, weights):
    out = tmp_path / "windows.json"
    assert _main([str(sample_video), *_common(weights), "--stride", "64", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    with VideoReader(sample_video) as reader:
        total, fps = len(reader), reader.fps
    window = 4 * 2
    assert [r["start_frame"] for r in rows] == list(range(0, total - window + 1, 64))
    assert all(r["end_frame"] - r["start_frame"] == window - 1 for r in rows)
    assert rows[1]["start_s"] == pytest.approx(64 / fps, abs=1e-3)


def test_live_from_a_file_at_its_frame_rate_writes_an_annotated_video(tmp_path, sample_video, weights, capsys):
    out_video, frames = tmp_path / "live.mp4", 28
    started = time.monotonic()
    assert _main(["--live", str(sample_video), "--realtime", "--max-frames", str(frames), "--every", "8",
                  "--output-video", str(out_video), "--out", str(tmp_path / "live.csv"), *_common(weights)]) == 0
    assert time.monotonic() - started >= (frames - 1) / 28.0  # paced at the file's 28 fps
    printed = [line for line in capsys.readouterr().out.splitlines() if line.startswith("frame")]
    # the buffer holds 8 frames (4 x stride 2): predictions after frames 8, 16, 24
    assert [int(line.split()[1]) for line in printed] == [7, 15, 23]
    with VideoReader(out_video) as reader:
        assert len(reader) == frames
        annotated = reader.get_batch([20])[0]
    with VideoReader(sample_video) as reader:
        original = reader.get_batch([20])[0]
    top = slice(0, 10)
    assert annotated[top].mean() < original[top].mean() - 10  # the label band is drawn at the top


def test_feature_extraction_writes_one_npy_per_video(tmp_path, sample_video, weights):
    assert _main([str(sample_video), *_common(weights), "--feat-ext", "--out", str(tmp_path / "feats")]) == 0
    feature = np.load(tmp_path / "feats" / "arm_wrestling.npy")
    assert feature.shape == (8,) and np.isfinite(feature).all()  # widths[-1] channels


def test_draw_label_keeps_the_frame_shape():
    frame = np.full((48, 64, 3), 200, np.uint8)
    drawn = draw_label(frame, "grow 0.93")
    assert drawn.shape == frame.shape and (drawn != frame).any() and (frame == 200).all()


def test_recognizer_live_buffer_matches_a_whole_clip(sample_video):
    model = zoo.get_model("simple3d_synthetic", widths=[4, 8]).eval()
    rec = Recognizer(model, [str(i) for i in range(8)], new_length=4, new_step=2, crop_size=32, short_side=32)
    with VideoReader(sample_video) as reader:
        frames = list(reader.get_batch(list(range(16))))
    events = [p for _, p in rec.live(iter(frames), every=8) if p is not None]
    direct = rec.scores([np.stack(frames[8:16:2])])
    assert events[-1].extra["frame"] == 15
    assert events[-1].scores[0] == pytest.approx(float(direct.max()), rel=1e-5)


def test_temporal_centering_removes_what_does_not_move():
    from zoo.engine.data import center_time

    model = zoo.get_model("simple3d_synthetic", widths=[4, 8]).eval()
    static = np.repeat(np.random.default_rng(0).integers(0, 255, (1, 32, 32, 3), dtype=np.uint8), 4, axis=0)
    rec = Recognizer(model, [str(i) for i in range(8)], new_length=4, crop_size=32, short_side=32,
                     temporal_centering=True)
    with torch.no_grad():
        expected = model(torch.zeros(1, 3, 4, 32, 32)).softmax(-1)[0].numpy()
    np.testing.assert_allclose(rec.scores([static]), expected, rtol=1e-5, atol=1e-6)
    clips = torch.randn(2, 3, 3, 4, 5, 5)  # (N, views, C, T, H, W)
    assert torch.allclose(center_time(clips).mean(dim=-3), torch.zeros(2, 3, 3, 5, 5), atol=1e-6)


def test_scripts_default_to_the_fast_path_and_print_the_precision(tmp_path, sample_video, weights, capsys):
    from zoo.engine.cli_errors import run_cli
    from zoo.optimize import cpu_has_bf16

    out = tmp_path / "auto.json"
    assert _main([str(sample_video), *_common(weights), "--out", str(out)]) == 0
    expected = "bf16" if cpu_has_bf16() else "fp32"
    assert f"precision: {expected} (fast path" in capsys.readouterr().out
    reference = tmp_path / "fp32.json"
    assert _main([str(sample_video), *_common(weights), "--precision", "fp32", "--out", str(reference)]) == 0
    assert "precision: fp32 (fast path" in capsys.readouterr().out
    int8 = tmp_path / "int8.json"
    assert _main([str(sample_video), *_common(weights), "--precision", "int8", "--out", str(int8)]) == 0
    assert "precision: int8 (fast path; top-1 agreement with fp32" in capsys.readouterr().out
    rows = {name: json.loads((tmp_path / f"{name}.json").read_text())[0] for name in ("auto", "fp32", "int8")}
    assert rows["auto"]["scores"] == pytest.approx(rows["fp32"]["scores"], abs=0.01)
    assert rows["int8"]["scores"] == pytest.approx(rows["fp32"]["scores"], abs=0.02)
    spec = importlib.util.spec_from_file_location("inference_script", ROOT / "scripts" / "inference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert run_cli(module.main, ["--live", str(sample_video), *_common(weights), "--precision", "int8"]) == 2
    assert "int8 calibrates on the input videos" in capsys.readouterr().err


def test_recognizer_int8_needs_calibration_videos_and_keeps_features(sample_video):
    model = zoo.get_model("simple3d_synthetic", widths=[4, 8]).eval()
    protocol = dict(new_length=4, new_step=2, crop_size=32, short_side=32)
    with pytest.raises(ValueError, match="int8 needs calibration clips"):
        Recognizer(model, [str(i) for i in range(8)], precision="int8", **protocol)
    rec = Recognizer(model, [str(i) for i in range(8)], precision="int8", calibration_videos=[sample_video], **protocol)
    fp32 = Recognizer(model, [str(i) for i in range(8)], precision="fp32", **protocol)
    assert rec.precision == "int8" and fp32.precision == "fp32"
    # features come from the fp32 model when the int8 graph has no feature switch
    np.testing.assert_allclose(rec.video_features(sample_video), fp32.video_features(sample_video), rtol=1e-3, atol=1e-4)


def _one_name_per_family() -> list:
    """The cheapest registered name of each family (fewest counted GFLOPs), int8 twins left out; those
    above 40 GFLOPs a clip are marked heavy (``make test-heavy``)."""
    return [pytest.param(name, marks=[pytest.mark.heavy] if gflops > 40 else []) for name, gflops in cheapest_name_per_family()]


@pytest.mark.slow
@pytest.mark.parametrize("name", _one_name_per_family())
def test_feature_extraction_works_on_every_family(name, tmp_path, sample_video):
    """``scripts/inference.py --feat-ext`` on one model of every family, at its card's input (flow computed for
    the two-stream models): one ``(num_features,)`` vector per video."""
    out = tmp_path / "feats"
    assert _main([str(sample_video), "--model", name, "--weights", "false", "--precision", "fp32",
                  "--feat-ext", "--out", str(out), "--quiet"]) == 0
    feature = np.load(out / "arm_wrestling.npy")
    num_features = zoo.get_model(name).num_features
    assert feature.shape == (num_features,) and np.isfinite(feature).all()
