"""VideoClassificationDataset: list formats, GluonCV options, views, bad input, workers."""
from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_helpers import frame_index_of, numbered_frames, write_jpeg_folder, write_video  # noqa: E402

from zoo.data import (  # noqa: E402
    ListFileError, VideoClassificationDataset, VideoDecodeError, eval_transforms, make_synthetic_dataset,
    train_transforms,
)
from zoo.data.transforms import IMAGENET_MEAN, IMAGENET_STD, ToFloatTensor  # noqa: E402


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return make_synthetic_dataset(tmp_path_factory.mktemp("synthetic"), num_train=16, num_val=8, seed=3, frames=16, size=32)


@pytest.fixture(scope="module")
def numbered(tmp_path_factory) -> Path:
    """A folder with one 25-frame numbered video ``a.mp4`` (frame i has brightness 10*i)."""
    root = tmp_path_factory.mktemp("numbered")
    write_video(root / "a.mp4", numbered_frames(25, 32, 48))
    return root


def _indices(clip: torch.Tensor) -> list:
    """Frame indices of a uint8 (T, H, W, C) clip of the numbered video."""
    return [frame_index_of(f) for f in clip.numpy()]


# ------------------------------------------------------------------ formats
def test_gluoncv_list_with_classes_file(synthetic) -> None:
    ds = VideoClassificationDataset(synthetic.train_list, clip_len=8, frame_step=2, sampling="dense",
                                    transform=train_transforms(24, short_side=28))
    assert len(ds) == 16 and ds.classes == synthetic.classes and ds.num_classes == 8
    clip, label = ds[3]
    assert clip.shape == (3, 8, 24, 24) and clip.dtype == torch.float32 and label == 3


def test_all_list_formats_read_the_same_samples(numbered: Path) -> None:
    (numbered / "g.txt").write_text("a.mp4 25 1\n")
    (numbered / "csv.csv").write_text("path,label\na.mp4,b\n")
    (numbered / "two.txt").write_text("a 1\n")  # no extension -> video_ext
    for name in ("g.txt", "csv.csv", "two.txt"):
        ds = VideoClassificationDataset(numbered / name, classes=["a", "b"], mode="val", clip_len=3)
        clip, label = ds[0]
        assert label == 1 and clip.shape == (3, 32, 48, 3)


def test_range_format_samples_inside_the_range(numbered: Path) -> None:
    (numbered / "r4.txt").write_text("a.mp4 10 19 0\n")
    ds = VideoClassificationDataset(numbered / "r4.txt", classes=["x"], mode="val", sampling="uniform", clip_len=5)
    assert all(10 <= i <= 19 for i in _indices(ds[0][0]))
    # 3-column test form: column 3 >= num_classes and >= column 2 -> unlabelled range
    (numbered / "r3.txt").write_text("a.mp4 2 20\na.mp4 0 15\n")
    ds = VideoClassificationDataset(numbered / "r3.txt", classes=["x", "y"], mode="val", sampling="uniform", clip_len=4)
    clip, label = ds[0]
    assert label == -1 and all(2 <= i <= 20 for i in _indices(clip))
    forced = VideoClassificationDataset(numbered / "r3.txt", list_format="gluoncv",
                                        num_classes=30, mode="val")
    assert forced.records[0].label == 20


def test_folder_per_class(tmp_path: Path) -> None:
    for cls in ("jump", "run"):
        (tmp_path / cls).mkdir()
        write_video(tmp_path / cls / "v1.mp4", numbered_frames(6, 32, 32))
    (tmp_path / "run" / "notes.txt").write_text("ignored")
    ds = VideoClassificationDataset(root=tmp_path, mode="val", clip_len=2)
    assert ds.classes == ["jump", "run"] and ds.labels == [0, 1]
    assert ds[1][0].shape == (2, 32, 32, 3)


def test_frame_folders_gluoncv_style(tmp_path: Path) -> None:
    write_jpeg_folder(tmp_path / "vid1", numbered_frames(12, 32, 32))
    (tmp_path / "list.txt").write_text("vid1 12 0\n")
    ds = VideoClassificationDataset(tmp_path / "list.txt", mode="val", sampling="dense", clip_len=4, frame_step=2)
    assert _indices(ds[0][0]) == [2, 4, 6, 8]
    write_jpeg_folder(tmp_path / "ssv2", numbered_frames(6, 32, 32), pattern="%06d.jpg")  # SSv2 naming
    (tmp_path / "ssv2.txt").write_text("ssv2 6 0\n")
    ds = VideoClassificationDataset(tmp_path / "ssv2.txt", mode="val", sampling="dense", clip_len=2,
                                    name_pattern="%06d.jpg")
    assert _indices(ds[0][0]) == [2, 3]


# ------------------------------------------------------------------ options
def test_tsn_segments_and_multi_view_shapes(synthetic) -> None:
    tsn = VideoClassificationDataset(synthetic.val_list, mode="val", num_segments=3, clip_len=1,
                                     transform=eval_transforms(24, short_side=28))
    assert tsn[0][0].shape == (3, 3, 1, 24, 24)
    views = VideoClassificationDataset(synthetic.val_list, mode="test", sampling="dense", clip_len=4, num_clips=2,
                                       num_crops=3, transform=eval_transforms(24, short_side=28, num_crops=3))
    clip, _ = views[0]
    assert clip.shape == (6, 3, 4, 24, 24)  # (V = clips x crops, C, T, H, W)
    views.transform = eval_transforms(24, short_side=28, num_crops=3, output="uint8")
    raw = views[0][0]
    assert raw.shape == (6, 4, 24, 24, 3) and raw.dtype == torch.uint8  # (V, T, H, W, C) for device-side normalising
    assert torch.allclose(ToFloatTensor(IMAGENET_MEAN, IMAGENET_STD)(raw), clip, atol=1e-5)  # same result, normalised later
    views.transform = eval_transforms(24, short_side=28, num_crops=3)
    batch = next(iter(DataLoader(views, batch_size=2)))[0]
    logits = batch.mean(dim=(2, 3, 4, 5)).view(2, 6, 1).mean(1)  # a model averages the V views
    assert logits.shape == (2, 1)
    with pytest.raises(ValueError, match="num_crops"):
        VideoClassificationDataset(synthetic.val_list, num_crops=3, transform=eval_transforms(24), mode="test")[0]


def test_view_order_is_clip_major(numbered: Path) -> None:
    (numbered / "v.txt").write_text("a.mp4 25 0\n")
    ds = VideoClassificationDataset(numbered / "v.txt", mode="test", sampling="dense", clip_len=2, num_clips=3)
    clip, _ = ds[0]
    assert clip.shape == (3, 2, 32, 48, 3)
    middle = int(round((25 - 2) / 2))
    assert [_indices(c) for c in clip] == [[0, 1], [middle, middle + 1], [23, 24]]


def test_slowfast_concat_and_pair(numbered: Path) -> None:
    (numbered / "s.txt").write_text("a.mp4 25 0\n")
    kwargs = dict(mode="val", sampling="dense", clip_len=16, slowfast=True, slow_temporal_stride=8, fast_temporal_stride=2)
    concat = VideoClassificationDataset(numbered / "s.txt", **kwargs)[0][0]
    start = (25 - 16) // 2
    fast = [start + p for p in (1, 3, 5, 7, 9, 11, 13, 15)]
    slow = [start + 7, start + 15]
    assert _indices(concat) == fast + slow  # fast frames first, then slow
    slow_clip, fast_clip = VideoClassificationDataset(numbered / "s.txt", slowfast_output="pair",
                                                      transform=eval_transforms(24), **kwargs)[0][0]
    assert slow_clip.shape == (3, 2, 24, 24) and fast_clip.shape == (3, 8, 24, 24)
    with pytest.raises(ValueError, match="slowfast"):
        VideoClassificationDataset(numbered / "s.txt", slowfast=True, frame_step=2)


def test_temporal_jitter_and_short_video(numbered: Path) -> None:
    (numbered / "j.txt").write_text("a.mp4 25 0\n")
    torch.manual_seed(0)
    ds = VideoClassificationDataset(numbered / "j.txt", sampling="dense", clip_len=4, frame_step=3, temporal_jitter=True)
    assert len({tuple(_indices(ds[0][0])) for _ in range(6)}) > 1
    pad = VideoClassificationDataset(numbered / "j.txt", mode="val", sampling="dense", clip_len=20, frame_step=2)
    assert _indices(pad[0][0])[-3:] == [24, 24, 24]
    loop = VideoClassificationDataset(numbered / "j.txt", mode="val", sampling="dense", clip_len=20, frame_step=2,
                                      short_video="loop")
    assert _indices(loop[0][0])[12:15] == [24, 1, 3]


# ------------------------------------------------------------------ bad input
@pytest.fixture()
def with_bad_files(synthetic, tmp_path: Path) -> Path:
    """Copy of the synthetic train list plus a missing, an empty and a non-video file."""
    root = synthetic.root
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video\n" * 20)
    good = root.joinpath(synthetic.train_list.name).read_text().splitlines()
    lines = [f"{root / line.split()[0]} 16 {line.split()[2]}" for line in good[:6]]
    lines[1] = f"{tmp_path / 'missing.mp4'} 16 1"
    lines[3] = f"{tmp_path / 'empty.mp4'} 16 3"
    lines[4] = f"{tmp_path / 'text.mp4'} 16 4"
    (tmp_path / "bad.txt").write_text("\n".join(lines) + "\n")
    shutil.copy(synthetic.classes_file, tmp_path / "classes.txt")
    return tmp_path / "bad.txt"


def test_on_error_raise_names_the_file(with_bad_files: Path) -> None:
    ds = VideoClassificationDataset(with_bad_files, clip_len=4)
    with pytest.raises(VideoDecodeError, match="missing.mp4"):
        ds[1]
    with pytest.raises(VideoDecodeError, match="empty.mp4"):
        ds[3]


def test_on_error_skip_replaces_logs_once_and_counts(with_bad_files: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="zoo.data.dataset")
    ds = VideoClassificationDataset(with_bad_files, clip_len=4, on_error="skip")
    for _ in range(2):
        for i in range(len(ds)):
            clip, label = ds[i]
            assert clip.shape == (4, 32, 32, 3)
    assert ds.num_bad == 3
    assert sorted(Path(p).name for p in ds.bad_files) == ["empty.mp4", "missing.mp4", "text.mp4"]
    assert len([r for r in caplog.records if "skipping bad sample" in r.message]) == 3


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_bad_count_survives_dataloader_workers(with_bad_files: Path, start_method: str) -> None:
    ds = VideoClassificationDataset(with_bad_files, clip_len=4, on_error="skip")
    loader = DataLoader(ds, batch_size=2, num_workers=2, multiprocessing_context=start_method)
    labels = torch.cat([y for _, y in loader])
    assert len(labels) == 6
    assert ds.num_bad == 3  # read in the main process after the workers are gone


def test_worker_errors_reach_the_main_process(with_bad_files: Path) -> None:
    ds = VideoClassificationDataset(with_bad_files, clip_len=4)
    with pytest.raises(VideoDecodeError, match="missing.mp4"):
        list(DataLoader(ds, batch_size=1, num_workers=1))


def test_list_file_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "list.txt"
    bad.write_text("a.mp4 16 0\nb.mp4 sixteen 1\n")
    with pytest.raises(ListFileError, match=r"list.txt:2: num_frames"):
        VideoClassificationDataset(bad)
    bad.write_text("a.mp4 16 0\n\nb.mp4 16 9\n")
    with pytest.raises(ListFileError, match=r"list.txt:3: label 9 is out of range"):
        VideoClassificationDataset(bad, classes=["a", "b"])
    bad.write_text("just_a_path\n")
    with pytest.raises(ListFileError, match=r"list.txt:1"):
        VideoClassificationDataset(bad)
    with pytest.raises(ListFileError, match="does not exist"):
        VideoClassificationDataset(tmp_path / "nope.txt")
