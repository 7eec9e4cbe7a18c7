"""Temporal action annotations of long videos: read, check, write.

One record type, :class:`Segment` (``video, start, end, label`` in seconds), read from:

* VGG Image Annotator (VIA 3) project files (JSON; data formats 3.1.0 and 3.1.1): temporal
  segments are metadata with two temporal coordinates ``z = [start, end]``; the label is the value
  of the segment's attribute (an option id of a select/radio attribute, or free text).
* VIA's CSV exports: the temporal-segments CSV (``metadata_id, file_list, temporal_segment_start,
  temporal_segment_end, metadata``) and the full CSV (``metadata_id, file_list, flags,
  temporal_coordinates, spatial_coordinates, metadata``, with the attributes in its
  ``# ATTRIBUTE =`` comment line).
* A plain CSV: ``video,start,end,label`` (seconds; an optional header line).
* ActivityNet-style JSON: ``{"database": {VIDEO: {"duration": s, "annotations":
  [{"segment": [start, end], "label": name}]}}}``.

VIA 2 project files describe image regions and hold no time; they are refused with a note on how
to move them to VIA 3. Every problem names the file and the line (CSV) or the entry (JSON).

:func:`write_via_project` writes segments as a VIA 3 project, so they open in VIA and in
``zoo annotate``; :func:`merge_windows` turns sliding-window predictions into segments.
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import ListFileError, VideoDecodeError
from .lists import VIDEO_EXTENSIONS

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
ANNOTATION_FORMATS = ("auto", "via_json", "via_csv", "csv", "activitynet")
TIME_TOLERANCE = 5e-4  # seconds: VIA rounds times to milliseconds
LABEL_ATTRIBUTE_NAMES = ("action", "label", "activity", "class", "temporal-segments", "temporal_segments")
VIA_SEGMENT_ANCHOR = "FILE1_Z2_XY0"  # a temporal segment of one file, no spatial region
VIA_TEXT, VIA_SELECT = 1, 4
VIA_VIDEO, VIA_LOCAL = 4, 1


@dataclass(frozen=True)
class Segment:
    """An action in a video: ``label`` from ``start`` to ``end`` seconds (both inclusive).

    ``score`` is set on predicted segments; ``where`` names the file and line (or entry) it came
    from, for messages, and ``line`` is that line number (0 for JSON).
    """

    video: str
    start: float
    end: float
    label: str
    score: Optional[float] = None
    where: str = field(default="", compare=False)
    line: int = field(default=0, compare=False)

    @property
    def length(self) -> float:
        """Duration in seconds."""
        return self.end - self.start


def _error(where: str, reason: str, path: PathLike, line: Optional[int] = None) -> ListFileError:
    return ListFileError(f"{where}: {reason}", path=str(path), line=line)


# ------------------------------------------------------------------ reading
def read_annotations(
    path: PathLike,
    labels: Optional[Sequence[str]] = None,
    video_root: Optional[PathLike] = None,
    durations: Optional[Mapping[str, float]] = None,
    annotation_format: str = "auto",
    label_attribute: Optional[str] = None,
) -> List[Segment]:
    """Segments of an annotation file, checked.

    Args:
        path: a VIA 3 project (.json), a VIA CSV export, a plain ``video,start,end,label`` CSV or
            an ActivityNet-style JSON.
        labels: the known class names; a segment with another label is an error.
        video_root: where the videos are; each named video must be there, and its duration bounds
            the segments.
        durations: seconds per video name (used before probing ``video_root``).
        annotation_format: one of :data:`ANNOTATION_FORMATS` (``"auto"`` looks at the content).
        label_attribute: the VIA attribute that holds the label, when a project has several.

    Raises:
        ListFileError: a malformed file, or a segment that ends before it starts, lies outside its
            video or has an unknown label; the message names the file and line or entry.
    """
    path = Path(path)
    if not path.is_file():
        raise ListFileError(f"annotation file {path} does not exist (check the path)", path=str(path))
    if annotation_format not in ANNOTATION_FORMATS:
        raise ValueError(f"unknown annotation format {annotation_format!r}; choose one of {ANNOTATION_FORMATS}")
    text = path.read_text(encoding="utf-8-sig")
    fmt = _detect(path, text) if annotation_format == "auto" else annotation_format
    known: Dict[str, float] = dict(durations or {})
    if fmt == "via_json":
        segments = _read_via_json(path, _load_json(path, text), label_attribute)
    elif fmt == "activitynet":
        segments = _read_activitynet(path, _load_json(path, text), known)
    elif fmt == "via_csv":
        segments = _read_via_csv(path, text, label_attribute)
    else:
        segments = _read_plain_csv(path, text)
    check_segments(segments, path, labels, video_root, known)
    logger.info("%s: %d segments in %d videos", path, len(segments), len({s.video for s in segments}))
    return segments


def _detect(path: Path, text: str) -> str:
    stripped = text.lstrip()
    if path.suffix.lower() == ".json" or stripped.startswith("{"):
        data = _load_json(path, text)
        if not isinstance(data, dict):
            raise ListFileError(f"{path}: a JSON annotation file is an object; found {type(data).__name__}", path=str(path))
        if "_via_img_metadata" in data or "_via_settings" in data:
            raise ListFileError(
                f"{path}: this is a VIA 2 project, which holds image regions and no times; open it in VIA 3's "
                "video annotator (Project > Import VIA2 project), mark the segments and save the VIA 3 project",
                path=str(path))
        if {"metadata", "attribute", "file"} <= set(data):
            return "via_json"
        if "database" in data:
            return "activitynet"
        raise ListFileError(f"{path}: neither a VIA 3 project (keys project, attribute, file, metadata) nor "
                            "ActivityNet JSON (key database)", path=str(path))
    header = next((line for line in text.splitlines() if "CSV_HEADER" in line), "")
    if "temporal_segment_start" in header or "temporal_coordinates" in header:
        return "via_csv"
    return "csv"


def _load_json(path: Path, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ListFileError.at(path, err.lineno, f"not valid JSON ({err.msg})") from None


def _label_attribute(attributes: Mapping[str, dict], wanted: Optional[str], where: str, path: Path) -> str:
    """The id of the attribute that holds a segment's label."""
    if wanted is not None:
        for aid, attribute in attributes.items():
            if attribute.get("aname") == wanted or aid == wanted:
                return aid
        raise _error(where, f"no attribute named {wanted!r}; it has {_names(attributes)}", path)
    temporal = {aid: a for aid, a in attributes.items() if str(a.get("anchor_id", "")).startswith("FILE1_Z2")}
    candidates = temporal or dict(attributes)
    if len(candidates) == 1:
        return next(iter(candidates))
    for aid, attribute in candidates.items():
        if str(attribute.get("aname", "")).lower() in LABEL_ATTRIBUTE_NAMES:
            return aid
    if not candidates:
        raise _error(where, "the project defines no attribute, so its segments have no labels", path)
    raise _error(where, f"several attributes could hold the label ({_names(candidates)}); name one with "
                        "label_attribute= (--label-attribute)", path)


def _names(attributes: Mapping[str, dict]) -> str:
    return ", ".join(repr(a.get("aname", aid)) for aid, a in attributes.items())


def _label_of(attribute: dict, value: object) -> str:
    """A metadata value as a label: an option id of a select/radio attribute becomes its option text."""
    options = attribute.get("options") or {}
    text = str(value).strip() if value is not None else ""
    return str(options.get(text, text)).strip()


def _segment(video: str, times: Sequence, label: str, where: str, path: Path, line: Optional[int] = None,
             score: Optional[float] = None) -> Segment:
    try:
        start, end = float(times[0]), float(times[1])
    except (TypeError, ValueError, IndexError):
        raise _error(where, f"start and end must be numbers (seconds), got {list(times)!r}", path, line) from None
    if not label:
        raise _error(where, f"the segment {start:g}-{end:g} s of {video!r} has no label", path, line)
    return Segment(video, start, end, label, score, where, line or 0)


def _read_via_json(path: Path, data: dict, label_attribute: Optional[str]) -> List[Segment]:
    project = data.get("project", {})
    views = data.get("view", {})
    files = data.get("file", {})
    attributes = data.get("attribute", {})
    metadata = data.get("metadata", {})
    if not metadata:
        return []
    aid = _label_attribute(attributes, label_attribute, f"{path}: attribute", path)
    score_id = next((i for i, a in attributes.items() if a.get("aname") == "score" and i != aid), None)
    segments = []
    for mid, item in metadata.items():
        where = f"{path}: metadata[{mid!r}]"
        z = item.get("z") or []
        if len(z) != 2:  # a still frame or a spatial region: not a segment
            continue
        view = views.get(str(item.get("vid")))
        if not view or not view.get("fid_list"):
            raise _error(where, f"view {item.get('vid')!r} is not in the project's view list", path)
        file = files.get(str(view["fid_list"][0]))
        if file is None:
            raise _error(where, f"file {view['fid_list'][0]!r} of view {item.get('vid')!r} is not in the project", path)
        av = item.get("av") or {}
        score = av.get(score_id) if score_id else None
        segments.append(_segment(str(file.get("fname") or file.get("src")), z, _label_of(attributes[aid], av.get(aid)),
                                 where, path, score=float(score) if score not in (None, "") else None))
    logger.debug("%s: VIA project %r", path, project.get("pname", ""))
    return segments


def _csv_rows(text: str) -> Iterable[Tuple[int, List[str]]]:
    """``(line number, fields)`` of the non-comment, non-blank lines."""
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            yield number, next(csv.reader([line]))


def _read_via_csv(path: Path, text: str, label_attribute: Optional[str]) -> List[Segment]:
    lines = text.splitlines()
    header = next(line for line in lines if "CSV_HEADER" in line)
    columns = [c.strip() for c in header.split("=", 1)[1].split(",")]
    attributes: Dict[str, dict] = {}
    for line in lines:
        if line.startswith("# ATTRIBUTE ="):
            attributes = json.loads(line.split("=", 1)[1])
    segments = []
    for number, fields in _csv_rows(text):
        where = f"{path}:{number}"
        if len(fields) != len(columns):
            raise _error(where, f"{len(fields)} fields; the header names {len(columns)} ({', '.join(columns)})", path, number)
        row = dict(zip(columns, fields))
        try:
            files = json.loads(row["file_list"])
            values = json.loads(row["metadata"] or "{}")
            times = json.loads(row["temporal_coordinates"]) if "temporal_coordinates" in row else \
                [row["temporal_segment_start"], row["temporal_segment_end"]]
        except json.JSONDecodeError as err:
            raise _error(where, f"a field is not valid JSON ({err.msg})", path, number) from None
        if len(times) != 2 or not files:
            continue  # a still frame, or a metadata line of no file
        if attributes:  # the full export: attribute ids, option ids
            aid = _label_attribute(attributes, label_attribute, where, path)
            label = _label_of(attributes[aid], values.get(aid))
        else:  # the temporal-segments export: attribute names
            key = label_attribute or _label_key(values)
            label = str(values.get(key, "")).strip() if key else ""
        segments.append(_segment(str(files[0]), times, label, where, path, number))
    return segments


def _label_key(values: Mapping[str, object]) -> Optional[str]:
    if len(values) == 1:
        return next(iter(values))
    return next((k for k in values if k.lower() in LABEL_ATTRIBUTE_NAMES), None)


def _read_plain_csv(path: Path, text: str) -> List[Segment]:
    segments = []
    for number, fields in _csv_rows(text):
        fields = [f.strip() for f in fields]
        where = f"{path}:{number}"
        if len(fields) != 4:
            raise _error(where, f"expected 'video,start,end,label' (seconds), got {len(fields)} fields", path, number)
        if not segments and fields[0].lower() in ("video", "path", "filename") and fields[3].lower() == "label":
            continue  # header
        segments.append(_segment(fields[0], fields[1:3], fields[3], where, path, number))
    return segments


def _read_activitynet(path: Path, data: dict, durations: Dict[str, float]) -> List[Segment]:
    database = data["database"]
    if not isinstance(database, dict):
        raise _error(f"{path}: database", "must map video ids to their entries", path)
    segments = []
    for video, entry in database.items():
        if entry.get("duration") is not None:
            durations.setdefault(video, float(entry["duration"]))
        for index, item in enumerate(entry.get("annotations", [])):
            where = f"{path}: database[{video!r}].annotations[{index}]"
            if "segment" not in item:
                raise _error(where, "has no 'segment': [start, end]", path)
            segments.append(_segment(video, item["segment"], str(item.get("label", "")).strip(), where, path,
                                     score=item.get("score")))
    return segments


# ------------------------------------------------------------------ checks
def find_video(video_root: PathLike, name: str) -> Optional[Path]:
    """The file of video ``name`` under ``video_root``: the name as written, or with a video
    extension added (ActivityNet ids: also with the ``v_`` prefix of its downloads)."""
    root = Path(video_root)
    if (root / name).is_file():
        return root / name
    for stem in (name, f"v_{name}"):
        for extension in VIDEO_EXTENSIONS:
            if (root / f"{stem}{extension}").is_file():
                return root / f"{stem}{extension}"
    return None


def video_duration(path: PathLike) -> float:
    """Seconds from the first frame's start to the last frame's end."""
    from .readers import VideoReader

    with VideoReader(path) as reader:
        return len(reader) / (reader.fps or 25.0)


def check_segments(
    segments: Sequence[Segment],
    path: PathLike,
    labels: Optional[Sequence[str]] = None,
    video_root: Optional[PathLike] = None,
    durations: Optional[Dict[str, float]] = None,
) -> None:
    """Raise :class:`ListFileError` for the first segment that ends before it starts, lies outside
    its video (duration from ``durations``, else probed under ``video_root``) or has an unknown
    label."""
    known = set(labels) if labels is not None else None
    durations = durations if durations is not None else {}
    for s in segments:
        if s.start < 0:
            raise _at(s, path, f"the segment of {s.video!r} starts at {s.start:g} s, before the video")
        if s.end < s.start:
            raise _at(s, path, f"the segment of {s.video!r} ends at {s.end:g} s, before it starts ({s.start:g} s); "
                               "swap the times")
        if known is not None and s.label not in known:
            shown = ", ".join(sorted(known)[:8]) + (", ..." if len(known) > 8 else "")
            hint = (" (VIA's temporal-segments CSV writes a select attribute's option id, not its text: export "
                    "VIA's full CSV or save the project instead)" if s.label.isdigit() else "")
            raise _at(s, path, f"unknown label {s.label!r} (known: {shown}); add it to the class list or fix "
                               f"the segment{hint}")
        duration = durations.get(s.video)
        if duration is None and video_root is not None:
            duration = durations[s.video] = _probe(s, path, video_root)
        if duration is not None and s.end > duration + TIME_TOLERANCE:
            raise _at(s, path, f"the segment {s.start:g}-{s.end:g} s lies outside {s.video!r}, which lasts "
                               f"{duration:.3f} s")


def _at(segment: Segment, path: PathLike, reason: str) -> ListFileError:
    return _error(segment.where, reason, path, segment.line or None)


def _probe(segment: Segment, path: PathLike, video_root: PathLike) -> float:
    video = find_video(video_root, segment.video)
    if video is None:
        raise _at(segment, path, f"video {segment.video!r} is not in {video_root}")
    try:
        return video_duration(video)
    except VideoDecodeError as err:
        raise _at(segment, path, str(err)) from None


# ------------------------------------------------------------------ writing
def write_via_project(
    segments: Sequence[Segment],
    path: PathLike,
    labels: Optional[Sequence[str]] = None,
    videos: Sequence[str] = (),
    name: str = "zoo annotations",
) -> Path:
    """Write ``segments`` as a VIA 3 project (data format 3.1.1) that VIA's video annotator opens.

    The label is a select attribute ``action`` whose options are ``labels`` (default: the labels of
    the segments, sorted); scores, when set, go to a text attribute ``score``. ``videos`` adds files
    without segments. Written atomically (a temporary file, then a rename).
    """
    labels = list(labels) if labels is not None else sorted({s.label for s in segments})
    option_of = {label: str(i) for i, label in enumerate(labels)}
    missing = sorted({s.label for s in segments} - set(option_of))
    if missing:
        raise ValueError(f"labels {missing} of the segments are not in the class list; add them")
    names = list(dict.fromkeys([*videos, *(s.video for s in segments)]))
    vid_of = {video: str(i) for i, video in enumerate(names, 1)}
    attributes = {"1": {"aname": "action", "anchor_id": VIA_SEGMENT_ANCHOR, "type": VIA_SELECT, "desc": "action",
                        "options": {v: k for k, v in option_of.items()}, "default_option_id": ""}}
    if any(s.score is not None for s in segments):
        attributes["2"] = {"aname": "score", "anchor_id": VIA_SEGMENT_ANCHOR, "type": VIA_TEXT,
                           "desc": "model score", "options": {}, "default_option_id": ""}
    metadata = {}
    for s in segments:
        av = {"1": option_of[s.label]}
        if s.score is not None:
            av["2"] = f"{s.score:.4f}"
        key = f"{s.video}|{s.start:.3f}|{s.end:.3f}|{s.label}"
        mid = f"{vid_of[s.video]}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        metadata[mid] = {"vid": vid_of[s.video], "flg": 0, "z": [round(s.start, 3), round(s.end, 3)], "xy": [], "av": av}
    project = {
        "project": {"pid": "__VIA_PROJECT_ID__", "rev": "__VIA_PROJECT_REV_ID__",
                    "rev_timestamp": "__VIA_PROJECT_REV_TIMESTAMP__", "pname": name, "data_format_version": "3.1.1",
                    "creator": "zoo", "created": int(time.time() * 1000), "vid_list": list(vid_of.values())},
        "config": {"file": {"loc_prefix": {"1": "", "2": "", "3": "", "4": ""}},
                   "ui": {"file_content_align": "center", "file_metadata_editor_visible": True,
                          "spatial_metadata_editor_visible": True, "spatial_region_label_attribute_id": "",
                          "gtimeline_visible_row_count": "4"}},
        "attribute": attributes,
        "file": {vid: {"fid": vid, "fname": video, "type": VIA_VIDEO, "loc": VIA_LOCAL, "src": ""}
                 for video, vid in vid_of.items()},
        "metadata": metadata,
        "view": {vid: {"fid_list": [vid]} for vid in vid_of.values()},
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_text(json.dumps(project, indent=1), encoding="utf-8")
    os.replace(partial, path)
    return path


# ------------------------------------------------------------------ predictions -> segments
def merge_windows(
    windows: Iterable[Tuple[str, float, float, str, float]],
    threshold: float = 0.5,
    min_length: float = 0.0,
    ignore: Sequence[str] = (),
) -> List[Segment]:
    """Sliding-window predictions merged into segments.

    ``windows``: ``(video, start_s, end_s, label, score)`` of each window's top class, in time
    order per video. Consecutive windows of one video with the same label and a score of at least
    ``threshold`` join into one segment (overlapping or touching windows; a gap ends it); its score
    is the mean of theirs. Segments shorter than ``min_length`` seconds and labels in ``ignore``
    (a "no action" class) are dropped.
    """
    segments: List[Segment] = []
    run: List[Tuple[str, float, float, str, float]] = []

    def close() -> None:
        if run:
            length = run[-1][2] - run[0][1]
            if length >= min_length and run[0][3] not in ignore:
                score = sum(w[4] for w in run) / len(run)
                segments.append(Segment(run[0][0], run[0][1], run[-1][2], run[0][3], round(score, 4)))
            run.clear()

    for window in windows:
        video, start, _, label, score = window
        joins = run and run[-1][0] == video and run[-1][3] == label and start <= run[-1][2] + TIME_TOLERANCE
        if not joins:
            close()
        if score >= threshold:
            run.append(window)
        else:
            close()
    close()
    return segments

