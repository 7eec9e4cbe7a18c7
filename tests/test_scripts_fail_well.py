"""Scripts fail well: a user mistake is one line on stderr (exit 2 for usage, 1 for failure), a bad
video is skipped and reported while the others still give results, and flags that cannot work
together are refused."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest
import torch

import zoo
from _engine_helpers import ROOT, TINY, make_tiny_dataset
from zoo.engine.cli_errors import run_cli

SMALL = ["model.kwargs.widths=[4,8]", "data.new_length=4", "data.new_step=2", "data.crop_size=32", "data.short_side=32"]


def _module(script: str):
    spec = importlib.util.spec_from_file_location(script.replace(".py", "_script"), ROOT / "scripts" / script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _cli(script: str, argv: list[str], capsys) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a script run through its command-line entry (in this process)."""
    capsys.readouterr()
    code = run_cli(_module(script).main, argv, prog=script)
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(7)
    path = tmp_path_factory.mktemp("w") / "tiny.pth"
    torch.save(zoo.get_model("simple3d_synthetic", widths=[4, 8]).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def three_videos(tmp_path_factory, sample_video):
    """A folder of three videos, one of them truncated to its first 2000 bytes."""
    folder = tmp_path_factory.mktemp("three")
    shutil.copy(sample_video, folder / "a.mp4")
    shutil.copy(sample_video, folder / "b.mp4")
    (folder / "broken.mp4").write_bytes(sample_video.read_bytes()[:2000])
    return folder


# ------------------------------------------------------------------------- inference.py
def test_inference_skips_a_bad_video_and_classifies_the_others(tmp_path, three_videos, weights, capsys):
    out = tmp_path / "preds.json"
    code, printed, err = _cli("inference.py", [str(three_videos), "--model", "simple3d_synthetic", "--weights",
                                               str(weights), "--quiet", "--out", str(out), *SMALL], capsys)
    assert code == 0
    assert sorted(row["source"].rsplit("/", 1)[-1] for row in json.loads(out.read_text())) == ["a.mp4", "b.mp4"]
    assert "a.mp4:" in printed and "b.mp4:" in printed
    assert "2 of 3 videos classified, 1 skipped: broken.mp4 (" in err
    code, _, err = _cli("inference.py", [str(three_videos / "broken.mp4"), "--model", "simple3d_synthetic",
                                         "--weights", str(weights), "--quiet", *SMALL], capsys)
    assert code == 1 and "0 of 1 videos classified" in err


def test_inference_overrides_are_key_value_arguments(tmp_path, sample_video, weights, capsys, caplog):
    common = [str(sample_video), "--model", "simple3d_synthetic", "--weights", str(weights), "--quiet"]
    assert _cli("inference.py", [*common, *SMALL, "--out", str(tmp_path / "new.json")], capsys)[0] == 0
    code, _, _ = _cli("inference.py", [*common, "--set", *SMALL, "--out", str(tmp_path / "old.json")], capsys)
    assert code == 0 and "older spelling" in caplog.text  # a logged warning
    new, old = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("new", "old"))
    assert new[0]["scores"] == pytest.approx(old[0]["scores"])


@pytest.mark.parametrize("argv, code, expected", [
    (["missing.mp4", "--model", "simple3d_synthetic"], 2, "missing.mp4: no such video, folder or list file"),
    (["{video}"], 2, "give a model name (--model NAME)"),
    (["{video}", "--model", "simple3d_synthetc"], 2, "unknown model 'simple3d_synthetc'; did you mean"),
    (["--live", "{video}", "--stride", "4", "--model", "simple3d_synthetic"], 2, "--stride does not apply to --live"),
    (["{empty}", "--model", "simple3d_synthetic"], 2, "no videos in this folder"),
    (["--live", "{audio}", "--model", "simple3d_synthetic", "--weights", "false"], 1, "no video stream"),
])
def test_inference_user_errors_are_one_line(tmp_path, sample_video, capsys, argv, code, expected):
    (tmp_path / "empty").mkdir()
    audio = tmp_path / "audio.mp4"
    _write_audio(audio)
    argv = [a.format(video=sample_video, empty=tmp_path / "empty", audio=audio) for a in argv]
    got, _, err = _cli("inference.py", argv, capsys)
    assert got == code and expected in _one_line(err)


def _write_audio(path):
    from test_data_reliability import _audio_only

    _audio_only(path)


def test_inference_zero_clips_is_a_usage_error(sample_video, capsys):
    with pytest.raises(SystemExit) as stop:
        _cli("inference.py", [str(sample_video), "--model", "simple3d_synthetic", "--num-clips", "0"], capsys)
    assert stop.value.code == 2 and "--num-clips: must be at least 1, got 0" in capsys.readouterr().err


def test_inference_warns_about_random_weights_and_a_stream_shorter_than_a_clip(sample_video, capsys, caplog):
    code, printed, err = _cli("inference.py", ["--live", str(sample_video), "--max-frames", "5", "--model",
                                               "simple3d_synthetic", "--weights", "false", "--quiet", *SMALL], capsys)
    assert code == 1 and not [line for line in printed.splitlines() if line.startswith("frame")]
    assert "random weights" in caplog.text
    assert "the stream ended after 5 frame(s), before one clip of 8 frames; no prediction" in err


def test_inference_defaults_to_device_auto():
    assert _module("inference.py")._parser().parse_args(["x.mp4"]).device == "auto"


# ------------------------------------------------------------------- test_recognizer.py
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_fail"), num_train=0, num_val=2)


@pytest.mark.parametrize("argv, code, expected", [
    (["--list", "{list}"], 2, "give a model name (--model NAME) or a training checkpoint"),
    (["--model", "simple3d_synthetic", "--list", "{missing}"], 2, "nope.txt does not exist"),
    (["--model", "simple3d_synthetc", "--list", "{list}"], 2, "unknown model 'simple3d_synthetc'"),
    (["--model", "simple3d_synthetic", "--weights", "false", "--list", "{list}", "data.bogus=1"], 2,
     "unknown config key 'data.bogus'"),
    (["--checkpoint", "{garbage}", "--list", "{list}"], 1, "garbage.pth: not a PyTorch checkpoint"),
])
def test_test_recognizer_user_errors_are_one_line(tmp_path, tiny, capsys, argv, code, expected):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x02not really a pickle" * 10)
    argv = [a.format(list=tiny.val_list, missing=tmp_path / "nope.txt", garbage=garbage) for a in argv]
    got, _, err = _cli("test_recognizer.py", [*argv, "--out", str(tmp_path / "out")], capsys)
    line = _one_line(err)
    assert got == code and expected in line and "weights_only" not in line


def test_test_recognizer_takes_a_folder_as_the_list_and_warns_about_random_weights(tmp_path, sample_video, capsys,
                                                                                   caplog):
    for name in ("jump", "run"):
        (tmp_path / "videos" / name).mkdir(parents=True)
        shutil.copy(sample_video, tmp_path / "videos" / name / "v.mp4")
    code, printed, err = _cli("test_recognizer.py", ["--model", "simple3d_synthetic", "--weights", "false",
                                                     "--list", str(tmp_path / "videos"), "--out", str(tmp_path / "o"),
                                                     "--quiet", *SMALL], capsys)
    assert code == 0 and "on 2 of 2 videos" in printed and "random weights" in caplog.text


def test_test_recognizer_zero_clips_is_a_usage_error(tiny, capsys):
    with pytest.raises(SystemExit) as stop:
        _cli("test_recognizer.py", ["--model", "simple3d_synthetic", "--list", str(tiny.val_list),
                                    "--num-clips", "0"], capsys)
    assert stop.value.code == 2 and "must be at least 1" in capsys.readouterr().err


# ------------------------------------------------------------------ train_recognizer.py
def test_train_recognizer_user_errors_are_one_line(tmp_path, capsys):
    splits = make_tiny_dataset(tmp_path / "data", num_train=2, num_val=0)
    splits.train_list.write_text(splits.train_list.read_text() + "train/clip_00000.mp4 8 -1\n")
    args = [*TINY, f"data.train_list={splits.train_list}", f"output.work_dir={tmp_path / 'run'}", "train.epochs=1"]
    code, _, err = _cli("train_recognizer.py", args, capsys)
    assert code == 2 and "train.txt:3: label -1 is out of range (0..7)" in _one_line(err)
    code, _, err = _cli("train_recognizer.py", [str(tmp_path / "nope.yaml")], capsys)
    assert code == 2 and "nope.yaml does not exist" in _one_line(err)


@pytest.mark.parametrize("script, argv", [("inference.py", ["missing.mp4", "--model", "simple3d_synthetic"]),
                                          ("test_recognizer.py", ["--list", "x.txt"]),
                                          ("train_recognizer.py", ["data.bogus=1"])])
def test_scripts_print_one_line_and_the_traceback_only_with_debug(script, argv):
    def run(*extra):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *argv, *extra], cwd=ROOT,
                              capture_output=True, text=True, timeout=240)

    plain, debug = run(), run("--debug")
    assert plain.returncode == 2 and len(plain.stderr.strip().splitlines()) == 1 and plain.stderr.startswith(script)
    assert "Traceback" in debug.stderr and debug.returncode == 1


def test_zero_clips_given_as_an_override_is_one_line(tiny, capsys):
    code, _, err = _cli("test_recognizer.py", ["--model", "simple3d_synthetic", "--weights", "false", "--list",
                                               str(tiny.val_list), "test.num_clips=0", *SMALL], capsys)
    assert code == 2 and "test.num_clips must be a whole number of at least 1, got 0" in _one_line(err)


def test_inference_a_decode_past_its_deadline_is_reported_and_skipped(tmp_path, weights, capsys):
    from _data_helpers import numbered_frames, write_video

    video = write_video(tmp_path / "slow.mp4", numbered_frames(40))
    code, _, err = _cli("inference.py", [str(video), "--model", "simple3d_synthetic", "--weights", str(weights),
                                         "--quiet", "data.timeout=1e-9", *SMALL], capsys)
    assert code == 1 and "0 of 1 videos classified, 1 skipped: slow.mp4 (decoding took longer than 1e-09 s" in err


def test_test_recognizer_fails_when_no_video_could_be_scored(tmp_path, capsys):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "a.mp4").write_bytes(b"")
    (tmp_path / "list.txt").write_text("v/a.mp4 8 0\n")
    code, printed, err = _cli("test_recognizer.py", ["--model", "simple3d_synthetic", "--weights", "false", "--list",
                                                     str(tmp_path / "list.txt"), "--out", str(tmp_path / "o"),
                                                     "--quiet", *SMALL], capsys)
    assert code == 1 and "on 0 of 1 videos, 1 skipped: a.mp4 (file is empty (0 bytes))" in printed
    assert "nothing was scored" in err


def test_prepare_dataset_errors_are_one_line(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "prepare_dataset.py"), "ucf101",
                           str(tmp_path / "nothing"), "--out-dir", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode in (1, 2) and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("prepare_dataset.py: error:") and "nothing" in proc.stderr
