"""Dataset preparation from fabricated raw layouts, shipped class lists, check_videos."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_helpers import SHARED, numbered_frames, write_video  # noqa: E402

from zoo.data import (  # noqa: E402
    ListFileError, VideoClassificationDataset, check_videos, class_names, parse_list_file, prepare_hmdb51,
    prepare_kinetics400, prepare_sthv2, prepare_ucf101,
)

REPO = Path(__file__).resolve().parents[1]


def test_ucf101(tmp_path: Path) -> None:
    ann = tmp_path / "ucfTrainTestlist"
    ann.mkdir()
    (ann / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 Archery\n")
    (ann / "trainlist01.txt").write_text("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\nArchery/v_Archery_g08_c01.avi 2\n")
    (ann / "testlist01.txt").write_text("Archery/v_Archery_g01_c01.avi\n")
    out = prepare_ucf101(ann, tmp_path / "lists")
    train = parse_list_file(out["train"], class_names=["ApplyEyeMakeup", "Archery"])
    assert [(r.path, r.label) for r in train] == [("ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi", 0),
                                                  ("Archery/v_Archery_g08_c01.avi", 1)]
    assert [r.label for r in parse_list_file(out["val"])] == [1]
    assert out["classes"].read_text().split() == ["ApplyEyeMakeup", "Archery"]
    (ann / "trainlist01.txt").write_text("Archery/v_Archery_g08_c01.avi 1\n")
    with pytest.raises(ListFileError, match="trainlist01.txt:1"):
        prepare_ucf101(ann, tmp_path / "lists")


def test_hmdb51_with_frame_counts(tmp_path: Path) -> None:
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "wave_test_split1.txt").write_text("w1.avi 1\nw2.avi 2\nw3.avi 0\n")
    (splits / "brush_hair_test_split1.txt").write_text("b1.avi 2\n")
    videos = tmp_path / "videos" / "wave"
    videos.mkdir(parents=True)
    write_video(videos / "w1.avi", numbered_frames(7), codec="mpeg4")
    out = prepare_hmdb51(splits, tmp_path / "lists", video_root=tmp_path / "videos", count_frames=True)
    assert out["train"].read_text() == "wave/w1.avi 7 1\n"
    assert out["val"].read_text().splitlines() == ["brush_hair/b1.avi 0 0", "wave/w2.avi 0 1"]
    assert out["classes"].read_text().split() == ["brush_hair", "wave"]


def test_kinetics400_csv(tmp_path: Path) -> None:
    csv_file = tmp_path / "train.csv"
    csv_file.write_text("label,youtube_id,time_start,time_end,split\n"
                        "air drumming,abc123,10,20,train\n\"abseiling\",xyz,0,10,train\n")
    out = prepare_kinetics400(csv_file, tmp_path / "k400_train.txt")
    names = class_names("kinetics400")
    rows = [line.split() for line in out.read_text().splitlines()]
    assert rows == [["air_drumming/abc123_000010_000020.mp4", "0", str(names.index("air drumming"))],
                    ["abseiling/xyz_000000_000010.mp4", "0", str(names.index("abseiling"))]]
    flat = prepare_kinetics400(csv_file, tmp_path / "flat.txt", layout="flat")
    assert flat.read_text().split()[0] == "abc123_000010_000020.mp4"
    csv_file.write_text("label,youtube_id,time_start,time_end,split\nflying kite,q,1,2,train\nnot a class,q,1,2,train\n")
    with pytest.raises(ListFileError, match="train.csv:3: unknown class"):
        prepare_kinetics400(csv_file, tmp_path / "bad.txt")


def test_sthv2_json(tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"Holding something next to something": "0", "Pushing something from left to right": "1"}))
    train = tmp_path / "train.json"
    train.write_text(json.dumps([{"id": "78687", "label": "holding potato next to bottle",
                                  "template": "Holding [something] next to [something]", "placeholders": ["potato", "bottle"]},
                                 {"id": "42", "template": "Pushing [something] from left to right"}]))
    test = tmp_path / "test.json"
    test.write_text(json.dumps([{"id": "7"}]))
    assert prepare_sthv2(labels, train, tmp_path / "train.txt").read_text() == "78687.webm 0 0\n42.webm 0 1\n"
    assert prepare_sthv2(labels, test, tmp_path / "test.txt").read_text() == "7.webm 0 -1\n"


def test_shipped_class_lists_match_the_shared_label_maps() -> None:
    sizes = {"kinetics400": 400, "k600": 600, "kinetics700": 700, "ucf101": 101, "hmdb51": 51, "ssv2": 174}
    for name, size in sizes.items():
        assert len(class_names(name)) == size == len(set(class_names(name)))
    assert class_names("ucf101")[0] == "ApplyEyeMakeup" and class_names("hmdb51")[-1] == "wave"
    shared = SHARED / "data" / "labels" / "kinetics_label_map_k400.txt"
    if shared.is_file():
        assert class_names("k400") == shared.read_text().splitlines()[:400]
    with pytest.raises(KeyError, match="known"):
        class_names("imagenet")


def test_prepare_cli(tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"A": "0"}))
    ann = tmp_path / "val.json"
    ann.write_text(json.dumps([{"id": "1", "template": "A"}]))
    result = subprocess.run([sys.executable, str(REPO / "scripts" / "prepare_dataset.py"), "sthv2", str(labels), str(ann),
                             "--out", str(tmp_path / "out.txt")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.txt").read_text() == "1.webm 0 0\n"


def test_check_videos_function_and_cli(tmp_path: Path) -> None:
    write_video(tmp_path / "good.mp4", numbered_frames(8))
    (tmp_path / "bad.mp4").write_text("garbage")
    (tmp_path / "list.txt").write_text("good.mp4 8 0\nbad.mp4 8 0\nmissing.mp4 8 0\n")
    bad = check_videos(tmp_path / "list.txt", progress=False)
    assert [(b.line, b.path) for b in bad] == [(2, "bad.mp4"), (3, "missing.mp4")]
    out = tmp_path / "bad.txt"
    result = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "zoo.data.check_videos",
                             str(tmp_path / "list.txt"), "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 1 and "2 bad video(s)" in result.stdout
    assert [line.split("\t")[0] for line in out.read_text().splitlines()] == ["bad.mp4", "missing.mp4"]
    assert "checking list.txt" in result.stderr  # tqdm progress bar
    ds = VideoClassificationDataset(tmp_path / "list.txt", on_error="skip", clip_len=2)
    assert ds[1][0].shape[0] == 2 and ds.num_bad == 1
