"""Annotation import (VIA 3 JSON and CSV exports, plain CSV, ActivityNet JSON), checks, VIA writing,
window merging, and clip cutting (frame-exact, "no action" spacing, split by video, resume).

The VIA files are written by hand to the layout VIA 3 saves and exports (project JSON of data
formats 3.1.0 and 3.1.1; the full CSV export with its ``# ATTRIBUTE =`` line; the temporal-segments
CSV export).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from _data_helpers import frame_index_of, numbered_frames, write_video
from zoo.data import ListFileError
from zoo.data.annotations import Segment, merge_windows, read_annotations, write_via_project
from zoo.data.cut import cut_clips, negative_segments, split_by_video
from zoo.data.lists import parse_list_file, read_class_names
from zoo.data.readers import VideoReader

EXPECTED = [Segment("walk.mp4", 1.5, 3.25, "walk"), Segment("walk.mp4", 4.0, 6.0, "run"),
            Segment("jump.mp4", 0.2, 0.9, "jump")]


def _via3_project(version: str = "3.1.1") -> dict:
    """A VIA 3 video-annotator project: a select attribute 'action' on temporal segments, two videos,
    three segments, a still-frame annotation (one time) and a spatial-region attribute."""
    project = {
        "project": {"pid": "__VIA_PROJECT_ID__", "rev": "__VIA_PROJECT_REV_ID__",
                    "rev_timestamp": "__VIA_PROJECT_REV_TIMESTAMP__", "pname": "footage",
                    "creator": "VGG Image Annotator (http://www.robots.ox.ac.uk/~vgg/software/via)",
                    "created": 1700000000000, "data_format_version": version, "vid_list": ["1", "2"]},
        "config": {"file": {"loc_prefix": {"1": "", "2": "", "3": "", "4": ""}}, "ui": {"file_content_align": "center"}},
        "attribute": {
            "1": {"aname": "action", "anchor_id": "FILE1_Z2_XY0", "type": 4, "desc": "",
                  "options": {"0": "walk", "1": "run", "2": "jump"}, "default_option_id": ""},
            "2": {"aname": "object", "anchor_id": "FILE1_Z1_XY1", "type": 1, "desc": "", "options": {},
                  "default_option_id": ""},
        },
        "file": {"1": {"fid": "1", "fname": "walk.mp4", "type": 4, "loc": 1, "src": ""},
                 "2": {"fid": "2", "fname": "jump.mp4", "type": 4, "loc": 1, "src": ""}},
        "metadata": {
            "1_aB3dEf9h": {"vid": "1", "flg": 0, "z": [1.5, 3.25], "xy": [], "av": {"1": "0"}},
            "1_Qw7rT2yU": {"vid": "1", "flg": 0, "z": [4.0, 6.0], "xy": [], "av": {"1": "1"}},
            "1_frame001": {"vid": "1", "flg": 0, "z": [2.0], "xy": [2, 10, 10, 20, 20], "av": {"2": "ball"}},
            "2_Zx8cV4bN": {"vid": "2", "flg": 0, "z": [0.2, 0.9], "xy": [], "av": {"1": "2"}},
        },
        "view": {"1": {"fid_list": ["1"]}, "2": {"fid_list": ["2"]}},
    }
    if version == "3.1.0":  # the older layout: vid_list at the top, a local path prefix in config
        project["vid_list"] = project["project"].pop("vid_list")
        project["config"]["file"] = {"path": ""}
    return project


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.mark.parametrize("version", ["3.1.0", "3.1.1"])
def test_via3_project_json(tmp_path, version):
    path = tmp_path / "project.json"
    path.write_text(json.dumps(_via3_project(version)))
    assert read_annotations(path, labels=["walk", "run", "jump"]) == EXPECTED


def test_via3_full_csv_export(tmp_path):
    attributes = json.dumps(_via3_project()["attribute"])
    path = _write(tmp_path / "export.csv", f"""
        # Exported using VGG Image Annotator (http://www.robots.ox.ac.uk/~vgg/software/via)
        # Notes:
        # - temporal coordinate of [1.349,2.741] denotes a temporal segment from time 1.346 sec. to 2.741 sec.
        # SHAPE_ID = {{"POINT":1,"RECTANGLE":2}}
        # FLAG_ID = {{"RESERVED_FOR_FUTURE":1}}
        # ATTRIBUTE = {attributes}
        # CSV_HEADER = metadata_id,file_list,flags,temporal_coordinates,spatial_coordinates,metadata
        "1_aB3dEf9h","[""walk.mp4""]",0,"[1.5,3.25]","[]","{{""1"":""0""}}"
        "1_Qw7rT2yU","[""walk.mp4""]",0,"[4,6]","[]","{{""1"":""1""}}"
        "1_frame001","[""walk.mp4""]",0,"[2]","[2,10,10,20,20]","{{""2"":""ball""}}"
        "2_Zx8cV4bN","[""jump.mp4""]",0,"[0.2,0.9]","[]","{{""1"":""2""}}"
        """)
    assert read_annotations(path) == EXPECTED


def test_via_temporal_segments_csv_export(tmp_path):
    path = _write(tmp_path / "segments.csv", """
        # Exported using VGG Image Annotator (http://www.robots.ox.ac.uk/~vgg/software/via)
        # CSV_HEADER = metadata_id,file_list,temporal_segment_start,temporal_segment_end,metadata
        "1_aB3dEf9h","[""walk.mp4""]",1.5,3.25,"{""TEMPORAL-SEGMENTS"":""walk""}"
        "1_Qw7rT2yU","[""walk.mp4""]",4,6,"{""TEMPORAL-SEGMENTS"":""run""}"
        "2_Zx8cV4bN","[""jump.mp4""]",0.2,0.9,"{""TEMPORAL-SEGMENTS"":""jump""}"
        """)
    assert read_annotations(path) == EXPECTED


def test_option_ids_of_the_temporal_segments_csv_get_a_hint(tmp_path):
    path = _write(tmp_path / "ids.csv", """
        # CSV_HEADER = metadata_id,file_list,temporal_segment_start,temporal_segment_end,metadata
        "1_aB3dEf9h","[""walk.mp4""]",1.5,3.25,"{""action"":""1""}"
        """)
    with pytest.raises(ListFileError, match=r"ids.csv:2: unknown label '1' .*option id.*full CSV"):
        read_annotations(path, labels=["walk", "run"])


def test_plain_csv_with_and_without_header(tmp_path):
    rows = "walk.mp4,1.5,3.25,walk\nwalk.mp4,4,6,run\njump.mp4,0.2,0.9,jump\n"
    assert read_annotations(_write(tmp_path / "a.csv", "video,start,end,label\n" + rows)) == EXPECTED
    assert read_annotations(_write(tmp_path / "b.csv", rows)) == EXPECTED


def test_activitynet_json_and_its_durations(tmp_path):
    database = {"walk.mp4": {"duration": 10.0, "subset": "training", "annotations": [
                    {"segment": [1.5, 3.25], "label": "walk"}, {"segment": [4.0, 6.0], "label": "run"}]},
                "jump.mp4": {"duration": 5.0, "subset": "validation", "annotations": [
                    {"segment": [0.2, 0.9], "label": "jump"}]}}
    path = tmp_path / "anet.json"
    path.write_text(json.dumps({"version": "1.3", "taxonomy": [], "database": database}))
    assert read_annotations(path) == EXPECTED
    database["jump.mp4"]["annotations"][0]["segment"] = [4.5, 5.5]
    path.write_text(json.dumps({"database": database}))
    with pytest.raises(ListFileError, match=r"database\['jump.mp4'\].annotations\[0\].*lasts 5.000 s"):
        read_annotations(path)


def test_via2_project_is_refused_with_the_way_to_via3(tmp_path):
    path = tmp_path / "via2.json"
    path.write_text(json.dumps({"_via_settings": {}, "_via_img_metadata": {}, "_via_attributes": {}}))
    with pytest.raises(ListFileError, match="VIA 2 project.*Import VIA2 project"):
        read_annotations(path)


def test_errors_name_the_file_and_line(tmp_path):
    path = _write(tmp_path / "bad.csv", "video,start,end,label\nwalk.mp4,1,2,walk\nwalk.mp4,5,4,run\n")
    with pytest.raises(ListFileError, match=r"bad.csv:3: .*ends at 4 s, before it starts \(5 s\)") as caught:
        read_annotations(path)
    assert caught.value.line == 3
    path = _write(tmp_path / "label.csv", "walk.mp4,1,2,walk\nwalk.mp4,3,4,dance\n")
    with pytest.raises(ListFileError, match=r"label.csv:2: unknown label 'dance' \(known: run, walk\)"):
        read_annotations(path, labels=["walk", "run"])
    path = _write(tmp_path / "long.csv", "walk.mp4,1,2,walk\nwalk.mp4,3,40,run\n")
    with pytest.raises(ListFileError, match=r"long.csv:2: the segment 3-40 s lies outside 'walk.mp4', which lasts 10.000 s"):
        read_annotations(path, durations={"walk.mp4": 10.0})
    path = _write(tmp_path / "cols.csv", "walk.mp4,1,2\n")
    with pytest.raises(ListFileError, match=r"cols.csv:1: expected 'video,start,end,label'"):
        read_annotations(path)
    broken = _via3_project()
    broken["metadata"]["1_Qw7rT2yU"]["z"] = [6.0, 4.0]
    (tmp_path / "p.json").write_text(json.dumps(broken))
    with pytest.raises(ListFileError, match=r"p.json: metadata\['1_Qw7rT2yU'\]: .*before it starts"):
        read_annotations(tmp_path / "p.json")


def test_video_durations_are_probed_under_the_video_root(tmp_path):
    write_video(tmp_path / "walk.mp4", numbered_frames(50), fps=25)  # 2 s
    path = _write(tmp_path / "a.csv", "walk.mp4,0.5,1.96,walk\nwalk.mp4,1.5,2.5,run\n")
    with pytest.raises(ListFileError, match=r"a.csv:2: .*lasts 2.000 s"):
        read_annotations(path, video_root=tmp_path)
    _write(path, "walk.mp4,0.5,1.96,walk\nmissing.mp4,0,1,run\n")
    with pytest.raises(ListFileError, match=r"a.csv:2: video 'missing.mp4' is not in"):
        read_annotations(path, video_root=tmp_path)


def test_via_project_round_trip_keeps_segments_scores_and_empty_videos(tmp_path):
    segments = [Segment("a.mp4", 0.5, 2.0, "run", 0.875), Segment("b.mp4", 1.0, 1.5, "walk", 0.5)]
    path = write_via_project(segments, tmp_path / "out.json", labels=["walk", "run"], videos=["c.mp4"])
    data = json.loads(path.read_text())
    assert data["attribute"]["1"]["options"] == {"0": "walk", "1": "run"}
    assert [f["fname"] for f in data["file"].values()] == ["c.mp4", "a.mp4", "b.mp4"]
    assert read_annotations(path, labels=["walk", "run"]) == segments


def test_merge_windows_threshold_min_length_and_ignored_label():
    windows = [("v", 0.0, 1.0, "run", 0.9), ("v", 0.5, 1.5, "run", 0.7), ("v", 1.0, 2.0, "run", 0.2),
               ("v", 1.5, 2.5, "walk", 0.8), ("v", 2.0, 3.0, "walk", 0.6), ("v", 4.0, 5.0, "walk", 0.9),
               ("v", 5.0, 6.0, "no_action", 0.9), ("w", 0.0, 1.0, "walk", 0.9)]
    merged = merge_windows(windows, threshold=0.5, min_length=1.2, ignore=["no_action"])
    assert merged == [Segment("v", 0.0, 1.5, "run", 0.8), Segment("v", 1.5, 3.0, "walk", 0.7)]
    everything = merge_windows(windows, threshold=0.5, min_length=0.0)
    assert everything[2:] == [Segment("v", 4.0, 5.0, "walk", 0.9), Segment("v", 5.0, 6.0, "no_action", 0.9),
                              Segment("w", 0.0, 1.0, "walk", 0.9)]


# ------------------------------------------------------------------ cutting
def _frames_of(path: Path) -> list[int]:
    with VideoReader(path, backend="pyav") as reader:
        return [frame_index_of(f) for f in reader.get_batch(list(range(len(reader))))]


def test_clips_are_exact_to_the_frame(tmp_path):
    """25 fps: frame i is on screen from i/25 s; a clip runs from the frame on screen at its start
    to the one on screen at its end (numbered frames tell their index modulo 25)."""
    write_video(tmp_path / "v.mp4", numbered_frames(100), fps=25)
    cases = {(1.0, 2.0): (25, 50), (1.03, 1.5): (25, 37), (0.0, 0.2): (0, 5), (3.039, 3.961): (75, 99)}
    segments = [Segment("v.mp4", start, end, "a") for start, end in cases]
    splits = cut_clips(segments, tmp_path, tmp_path / "out", val_fraction=0.0, progress=False)
    rows = parse_list_file(splits.train_list)
    assert len(rows) == 4
    for (start, end), (first, last) in cases.items():
        row = next(r for r in rows if f"_{round(start * 1000):08d}_" in r.path)
        decoded = _frames_of(tmp_path / "out" / row.path)
        assert (decoded[0], decoded[-1], len(decoded)) == (first % 25, last % 25, last - first + 1), (start, end)
        assert row.num_frames == last - first + 1
        assert decoded == [i % 25 for i in range(first, last + 1)]


def test_no_action_clips_keep_their_distance_from_every_segment():
    segments = [Segment("v", 2.0, 3.0, "a"), Segment("v", 7.0, 8.0, "b"), Segment("w", 0.0, 9.0, "a")]
    negatives = negative_segments(segments, {"v": 12.0, "w": 10.0}, per_video=10, length=1.0, min_gap=1.5, seed=3)
    assert negatives and all(n.label == "no_action" for n in negatives)
    assert not [n for n in negatives if n.video == "w"]  # no 1 s span 1.5 s away from w's segment
    for n in negatives:
        assert 0 <= n.start and n.end <= 12.0
        for s in segments:
            if s.video == n.video:
                assert n.end <= s.start - 1.5 or n.start >= s.end + 1.5, (n, s)
    ordered = sorted(negatives, key=lambda n: n.start)
    assert all(a.end < b.start for a, b in zip(ordered, ordered[1:]))
    # v's free spans: [0, 0.5], [4.5, 5.5], [9.5, 12]: one slot in the middle, two at the end
    assert len(negatives) == 3


def test_split_is_by_video_and_reproducible():
    videos = [f"v{i}.mp4" for i in range(10)]
    train, val = split_by_video(videos, 0.3, seed=1)
    assert len(val) == 3 and not set(train) & set(val) and sorted(train + val) == sorted(videos)
    assert split_by_video(videos, 0.3, seed=1) == (train, val)
    assert split_by_video(["a", "b"], 0.1) [1] != []  # at least one validation video
    assert split_by_video(["a"], 0.5) == (["a"], [])


def test_cut_lists_classes_split_and_resume(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    segments = []
    for i in range(4):
        write_video(videos / f"v{i}.mp4", numbered_frames(75), fps=25)  # 3 s
        segments += [Segment(f"v{i}.mp4", 0.2, 0.6, "run"), Segment(f"v{i}.mp4", 2.0, 2.4, "walk")]
    out = tmp_path / "out"
    splits = cut_clips(segments, videos, out, labels=["walk", "run"], negatives_per_video=1, min_gap=0.3,
                       val_fraction=0.25, progress=False)
    assert read_class_names(splits.classes_file) == ["walk", "run", "no_action"]
    train, val = parse_list_file(splits.train_list), parse_list_file(splits.val_list)
    assert splits.cut == len(train) + len(val) == 12
    stem = lambda row: Path(row.path).parent.name  # noqa: E731
    assert len({stem(r) for r in val}) == 1 and not {stem(r) for r in train} & {stem(r) for r in val}
    assert {r.label for r in train} == {0, 1, 2}
    # rerun: nothing cut again; a lost clip alone is cut again
    assert cut_clips(segments, videos, out, labels=["walk", "run"], negatives_per_video=1, min_gap=0.3,
                     val_fraction=0.25, progress=False).cut == 0
    (out / train[0].path).unlink()
    again = cut_clips(segments, videos, out, labels=["walk", "run"], negatives_per_video=1, min_gap=0.3,
                      val_fraction=0.25, progress=False)
    assert (again.cut, again.skipped) == (1, 11)
    assert parse_list_file(again.train_list) == train
    assert not list(out.rglob("*.part.mp4"))


def test_zoo_cut_command_and_its_one_line_errors(tmp_path, capsys):
    from zoo.cli import main

    videos = tmp_path / "videos"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4"):
        write_video(videos / name, numbered_frames(50), fps=25)
    annotations = _write(tmp_path / "ann.csv", "video,start,end,label\na.mp4,0.2,0.6,run\nb.mp4,1.0,1.5,walk\n")
    (tmp_path / "labels.txt").write_text("walk\nrun\n")
    args = ["cut", str(annotations), "--videos", str(videos), "--out", str(tmp_path / "out"), "--labels",
            str(tmp_path / "labels.txt"), "--negatives", "1", "--min-gap", "0.1", "--val-fraction", "0.5", "-q"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "4 clips cut, 0 already there" in printed
    assert read_class_names(tmp_path / "out" / "classes.txt") == ["walk", "run", "no_action"]
    _write(annotations, "video,start,end,label\na.mp4,0.2,0.6,run\nb.mp4,1.0,1.5,dance\n")
    assert main(args) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "ann.csv:3: unknown label 'dance'" in error


def test_long_synthetic_videos_and_their_ground_truth_cut_into_whole_motions(tmp_path):
    import numpy as np

    from zoo.data.synthetic import SYNTHETIC_CLASSES, make_long_videos, render_long_video

    video, spans = render_long_video([2, 5], frames=6, gap=4, height=32, width=32, rng=np.random.default_rng(0))
    assert video.shape == (4 + 6 + 4 + 6 + 4, 32, 32, 3)
    assert spans == [(4, 9, 2), (14, 19, 5)]
    assert (video[:4] == video[4]).all() and not (video[9] == video[10]).all()  # the shape waits, then moves
    made = make_long_videos(tmp_path / "footage", num_videos=2, actions=3, frames=8, gap=10, size=32, fps=10)
    segments = read_annotations(made.ground_truth, labels=SYNTHETIC_CLASSES, video_root=made.videos[0].parent)
    assert [(s.video, s.start, s.end, s.label) for s in segments[:2]] == [
        ("long_000.mp4", 1.0, 1.7, SYNTHETIC_CLASSES[0]), ("long_000.mp4", 2.8, 3.5, SYNTHETIC_CLASSES[1])]
    assert len(segments) == 6 and read_class_names(made.classes_file) == list(SYNTHETIC_CLASSES)
    splits = cut_clips(segments, made.videos[0].parent, tmp_path / "clips", labels=SYNTHETIC_CLASSES,
                       val_fraction=0.5, progress=False)
    rows = parse_list_file(splits.train_list) + parse_list_file(splits.val_list)
    assert len(rows) == 6 and all(r.num_frames == 8 for r in rows)
    assert make_long_videos(tmp_path / "footage", num_videos=2, actions=3, frames=8, gap=10, size=32, fps=10) == made
