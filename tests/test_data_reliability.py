"""No hang, no crash, no misleading error in the data layer: forked loaders after PyAV reads, decode
deadlines, stuck workers, list formats and labels, folders given as lists, memory at 4K."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from _data_helpers import numbered_frames, real_video, write_video
from _engine_helpers import ROOT
from zoo.data import ListFileError, VideoClassificationDataset, VideoDecodeError, VideoReader, parse_list_file
from zoo.data import readers


def _python(code: str, timeout: float, *args: str) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; a hang past ``timeout`` fails the test instead of blocking it."""
    env = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    try:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hung: no result within {timeout} s")


def _audio_only(path: Path) -> Path:
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("mp2", rate=44100)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.int16), format="s16", layout="mono")
        frame.sample_rate = 44100
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


# --------------------------------------------------------------------------- no hang
def test_workers_forked_after_pyav_reads_do_not_hang(tmp_path):
    """The parent reads through PyAV (a reader dropped unclosed, one in a reference cycle, a failed
    open), then a DataLoader forks workers that collect garbage: every batch arrives."""
    video = real_video("arm_wrestling.mp4")
    audio = _audio_only(tmp_path / "audio.mp4")
    code = """
        import gc, sys, torch
        from torch.utils.data import DataLoader, Dataset
        from zoo.data import VideoDecodeError, VideoReader
        video, audio = sys.argv[1:3]
        VideoReader(video, "pyav").get_batch([0, 5, 40])           # dropped without close()
        cycle = [VideoReader(video, "pyav")]
        cycle[0].get_batch([1, 30])
        cycle.append(cycle)                                        # only the garbage collector can free it
        del cycle
        try:
            VideoReader(audio, "pyav")
        except VideoDecodeError as error:
            kept = error                                           # its traceback keeps the half-opened reader
        class Collecting(Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                gc.collect()                                       # what hung: the parent's decoders freed here
                return torch.tensor(float(i))
        print(sorted(DataLoader(Collecting(), num_workers=2, multiprocessing_context="fork")))
    """
    proc = _python(code, 90, str(video), str(audio))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tensor([3.])" in proc.stdout


def test_a_half_opened_pyav_reader_is_closed(tmp_path):
    audio = _audio_only(tmp_path / "audio.mp4")
    before = len(readers._OPEN_DECODERS)
    with pytest.raises(VideoDecodeError, match="audio.mp4.*no video stream"):
        VideoReader(audio, "pyav")
    assert len(readers._OPEN_DECODERS) == before  # closed on the error path, not left to the collector


def test_a_decode_past_its_deadline_is_an_error_naming_the_video(tmp_path):
    video = write_video(tmp_path / "slow.mp4", numbered_frames(30))
    with VideoReader(video, "pyav", timeout=1e-9) as reader:
        with pytest.raises(VideoDecodeError, match=r"slow.mp4.*took longer than"):
            reader.get_batch([25])
    with VideoReader(video, "pyav", timeout=60) as reader:
        assert reader.get_batch([25]).shape == (1, 48, 64, 3)


def test_a_stuck_worker_is_an_error_naming_its_videos(tmp_path, monkeypatch):
    from _engine_helpers import make_tiny_dataset, tiny_config
    from zoo.engine.data import build_dataset, eval_loader
    from zoo.engine.distributed import DistInfo
    from zoo.engine.evaluate import evaluate

    splits = make_tiny_dataset(tmp_path / "data", num_train=0, num_val=3)
    cfg = tiny_config(splits, tmp_path / "run", "data.num_workers=1", "data.timeout=2", "data.eval_batch_size=1")
    dataset = build_dataset(cfg, "val", 8)
    stuck = dataset.video_path(1)
    original = VideoClassificationDataset.load_sample

    def load_sample(self, index):
        if index == 1:
            time.sleep(60)  # a decode that never returns (the worker is forked with this patch)
        return original(self, index)

    monkeypatch.setattr(VideoClassificationDataset, "load_sample", load_sample)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(8))
    info = DistInfo(rank=0, world_size=1, local_rank=0, device=torch.device("cpu"))
    started = time.monotonic()
    with pytest.raises(VideoDecodeError, match=f"no batch within 2 s.*{stuck.name}"):
        evaluate(model, eval_loader(dataset, cfg, info), info.device, 8)
    assert time.monotonic() - started < 30


# ------------------------------------------------------------------- list files
def test_one_line_of_another_width_is_an_error_naming_that_line(tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("a.mp4 16 0\nb.mp4 16 1\nc.mp4 0 15 1\nd.mp4 16 0\n")
    with pytest.raises(ListFileError, match=r"list.txt:3: 4 columns, but the other lines of this list have 3"):
        parse_list_file(lst, num_classes=2)
    lst.write_text("a.mp4 0 15 0\nb.mp4 0 15 1\nc.mp4 16 1\n")
    with pytest.raises(ListFileError, match=r"list.txt:3: 3 columns, but the other lines of this list have 4"):
        parse_list_file(lst, num_classes=2)


@pytest.mark.parametrize("text, line", [("a.mp4 16 0\nb.mp4 16 -1\n", 2), ("a.mp4,-1\n", 1), ("a.mp4 0 9 -1\n", 1),
                                        ("a.mp4 16 0\nb.mp4 16 2\n", 2)])
def test_labels_outside_the_classes_are_refused_when_the_list_is_read(tmp_path, text, line):
    lst = tmp_path / "list.txt"
    lst.write_text(text)
    with pytest.raises(ListFileError, match=rf"list.txt:{line}: label -?\d+ is out of range \(0..1\)"):
        parse_list_file(lst, num_classes=2)


def test_a_folder_given_as_the_list_is_a_folder_per_class_dataset(tmp_path):
    for name in ("jump", "run"):
        (tmp_path / "videos" / name).mkdir(parents=True)
        write_video(tmp_path / "videos" / name / "v.mp4", numbered_frames(6, 32, 32))
    dataset = VideoClassificationDataset(tmp_path / "videos", mode="val", clip_len=2)
    assert dataset.classes == ["jump", "run"] and dataset.labels == [0, 1]
    with pytest.raises(ListFileError, match="is a folder, not a list file"):
        parse_list_file(tmp_path / "videos")


def test_empty_lists_and_folders_are_errors(tmp_path):
    (tmp_path / "header.csv").write_text("path,label\n")
    with pytest.raises(ListFileError, match="has no samples"):
        parse_list_file(tmp_path / "header.csv")
    (tmp_path / "tree" / "jump").mkdir(parents=True)
    with pytest.raises(ListFileError, match="no videos in them"):
        VideoClassificationDataset(root=tmp_path / "tree")


# ------------------------------------------------------------------ 4K sources
_PEAK = """
    import sys
    import numpy as np
    import zoo
    from zoo.engine.inference import Recognizer, frame_source
    video, mode = sys.argv[1:3]
    model = zoo.get_model("simple3d_synthetic", widths=[4, 8]).eval()
    rec = Recognizer(model, [str(i) for i in range(8)], new_length=8, new_step=1, crop_size=32, short_side=32)
    if mode == "recognizer":
        rec.predict_video(video, num_clips=10)
    elif mode == "dataset":
        from zoo.engine import load_config
        from zoo.engine.data import build_dataset
        open("list.txt", "w").write(video + " 32 0\\n")
        cfg = load_config(None, ["data.test_list=list.txt", "data.new_length=8", "data.crop_size=32",
                                 "data.short_side=32", "test.num_clips=10", "test.num_crops=1"])
        build_dataset(cfg, "test", 8)[0]
    else:
        frames, _ = frame_source(video, short_side=32)
        for frame, _ in rec.live(frames, every=4):
            assert min(frame.shape[:2]) == 32
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across exec
    print([int(line.split()[1]) // 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")][0])
"""


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The same 32 frames at 3840x2160 and at 384x216 (MPEG-4, fast to encode)."""
    folder = tmp_path_factory.mktemp("4k")
    small = numbered_frames(32, 216, 384)
    big = np.repeat(np.repeat(small, 10, axis=1), 10, axis=2)
    return (write_video(folder / "uhd.mp4", big, codec="mpeg4", options={"qscale": "8"}),
            write_video(folder / "small.mp4", small, codec="mpeg4"))


@pytest.mark.parametrize("mode", ["recognizer", "dataset", "live"])
def test_a_4k_source_stays_within_twice_the_models_own_need(tmp_path, sources, mode):
    """Peak RSS classifying a 4K source <= 2x that of the same video at 384x216 (the model's own need)."""
    uhd, small = sources
    peaks = {}
    for name, video in (("uhd", uhd), ("small", small)):
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_PEAK), str(video), mode], cwd=tmp_path,
                              env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        peaks[name] = int(proc.stdout.split()[-1])
    print(f"{mode}: peak RSS {peaks['uhd']} MiB for 3840x2160, {peaks['small']} MiB for 384x216")
    assert peaks["uhd"] <= 2 * peaks["small"], peaks


def test_a_stuck_training_worker_is_an_error_naming_its_videos(tmp_path, monkeypatch):
    from _engine_helpers import make_tiny_dataset, tiny_config
    from zoo.engine.data import SeededDataset, build_dataset, train_loader
    from zoo.engine.distributed import DistInfo

    splits = make_tiny_dataset(tmp_path / "data", num_train=4, num_val=0)
    cfg = tiny_config(splits, tmp_path / "run", "data.num_workers=1", "data.timeout=1", "data.batch_size=2")
    dataset = build_dataset(cfg, "train")
    monkeypatch.setattr(VideoClassificationDataset, "load_sample", lambda self, index: time.sleep(60))
    loader = train_loader(SeededDataset(dataset, 0), cfg, DistInfo(0, 1, 0, torch.device("cpu")))
    first = [str(dataset.video_path(i)) for i in list(loader.sampler)[:2]]
    with pytest.raises(VideoDecodeError, match=r"no batch within 2 s.*stuck: (.*)") as error:
        next(iter(loader))
    assert str(error.value).endswith(", ".join(first))
