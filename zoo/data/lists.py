"""List files: one sample per line.

Supported formats (``list_format=``):

* ``"gluoncv"``: ``path num_frames label`` (whitespace separated; extra
  fields ignored). ``num_frames <= 0`` means "unknown, ask the reader".
* ``"range"``: ``path start_frame end_frame label`` (0-based, inclusive), and
  its unlabelled 3-column test form ``path start_frame end_frame`` (label -1).
* ``"csv"``: ``path,label`` (a ``path,label`` header line is skipped; the
  label may be an index or a class name).
* ``"auto"`` (default): ``.csv`` files or comma lines -> csv; otherwise the
  column count shared by most lines decides, for the whole file: 4 columns ->
  range; 2 columns -> ``path label``; 3 columns -> gluoncv, **unless** every
  line has ``end >= start`` in columns 2-3 *and* some column-3 value is not a
  valid label (``>= num_classes``, when the class count is known) -> range
  without labels. A line with another column count is an error naming that
  line. Pass ``list_format="range"`` to force the test form.

Labels are checked as the list is read: a written label must lie in
``0..num_classes-1`` (when the class count is known) and never be negative;
only the unlabelled range form has label -1.

Folder-per-class trees (``root/<class>/<video>``) are read by
:func:`scan_class_folders`.
"""
from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from .errors import ListFileError

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
LIST_FORMATS = ("auto", "gluoncv", "range", "csv")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".flv", ".wmv")


@dataclass(frozen=True)
class VideoRecord:
    """One sample: ``path`` (as written), ``label`` (-1 if unlabelled),
    ``num_frames`` (``None`` if unknown) and an optional frame range."""

    path: str
    label: int
    num_frames: Optional[int] = None
    start: int = 0
    end: Optional[int] = None
    line: int = 0
    labelled: bool = True


def read_class_names(path: PathLike) -> List[str]:
    """Class names, one per line (blank lines skipped). A leading index column
    (``"1 ApplyEyeMakeup"``, UCF101 ``classInd.txt`` style) is dropped."""
    names = []
    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        text = raw.strip()
        if not text:
            continue
        head, _, rest = text.partition(" ")
        names.append(rest.strip() if head.isdigit() and rest.strip() else text)
    return names


def class_names_for(classes: Union[None, PathLike, Sequence[str]],
                    list_file: Optional[PathLike] = None) -> Optional[List[str]]:
    """Class names given as a list or a file, else those of a ``classes.txt`` beside ``list_file`` (None: neither)."""
    if classes is not None and not isinstance(classes, (str, os.PathLike)):
        return list(classes)
    beside = Path(list_file).parent / "classes.txt" if list_file else None
    path = classes or (beside if beside is not None and beside.is_file() else None)
    return read_class_names(path) if path else None


def _int(value: str, path: PathLike, line: int, what: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ListFileError.at(path, line, f"{what} must be an integer, got {value!r}") from None


def _split_lines(path: Path) -> List[Tuple[int, str]]:
    if path.is_dir():
        raise ListFileError(f"{path} is a folder, not a list file; pass it as the dataset root "
                            "(root/<class>/<video>) instead", path=str(path))
    if not path.is_file():
        raise ListFileError(f"list file {path} does not exist (check the path)", path=str(path))
    lines = [(n, raw.strip()) for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    lines = [(n, text) for n, text in lines if text and not text.startswith("#")]
    if not lines:
        raise ListFileError(f"list file {path} has no samples", path=str(path))
    return lines


def _main_width(lines: List[Tuple[int, str]]) -> int:
    """The column count of most lines (ties: the first line's)."""
    counts = Counter(len(text.split()) for _, text in lines)
    first = len(lines[0][1].split())
    return max(counts, key=lambda w: (counts[w], w == first))


def _check_widths(path: Path, lines: List[Tuple[int, str]], width: int, layout: str) -> None:
    """Every line of an auto-detected whitespace list has the file's column count."""
    for n, text in lines:
        found = len(text.split())
        if found != width:
            raise ListFileError.at(path, n, f"{found} columns, but the other lines of this list have {width} "
                                            f"({layout}); make every line the same format")


def _detect(path: Path, lines: List[Tuple[int, str]], num_classes: Optional[int]) -> str:
    if path.suffix.lower() == ".csv" or "," in lines[0][1]:
        return "csv"
    width = _main_width(lines)
    if width == 4:
        _check_widths(path, lines, 4, "path start_frame end_frame label")
        return "range"
    if width in (2, 3):
        _check_widths(path, lines, width, "path num_frames label" if width == 3 else "path label")
    if width == 3 and num_classes:
        rows = [text.split() for _, text in lines]
        try:
            ordered = all(int(r[2]) >= int(r[1]) for r in rows)
            out_of_range = any(int(r[2]) >= num_classes for r in rows)
        except ValueError:
            return "gluoncv"
        if ordered and out_of_range:
            logger.info("%s: 3-column lines read as unlabelled 'path start end' (column 3 exceeds %d classes)", path, num_classes)
            return "range"
    return "gluoncv"


def parse_list_file(path: PathLike, list_format: str = "auto", class_names: Optional[Sequence[str]] = None,
                    num_classes: Optional[int] = None) -> List[VideoRecord]:
    """Read a list file into :class:`VideoRecord` s.

    Raises:
        ListFileError: malformed line or label out of range; the message
            names the file and line number.
    """
    if list_format not in LIST_FORMATS:
        raise ValueError(f"unknown list_format {list_format!r}; choose one of {LIST_FORMATS}")
    path = Path(path)
    lines = _split_lines(path)
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    fmt = _detect(path, lines, num_classes) if list_format == "auto" else list_format
    parse = {"csv": _parse_csv, "range": _parse_range, "gluoncv": _parse_whitespace}[fmt]
    records = [r for n, text in lines if (r := parse(path, n, text, class_names)) is not None]
    _check_labels(path, records, num_classes)
    if not records:
        raise ListFileError(f"list file {path} has no samples (only a header)", path=str(path))
    return records


def _parse_whitespace(path: Path, n: int, text: str, class_names: Optional[Sequence[str]]) -> VideoRecord:
    fields = text.split()
    if len(fields) == 2:
        return VideoRecord(fields[0], _label(fields[1], path, n, class_names), None, line=n)
    if len(fields) < 3:
        raise ListFileError.at(path, n, f"expected 'path num_frames label', got {text!r}")
    frames = _int(fields[1], path, n, "num_frames")
    return VideoRecord(fields[0], _int(fields[2], path, n, "label"), frames if frames > 0 else None, line=n)


def _parse_range(path: Path, n: int, text: str, class_names: Optional[Sequence[str]]) -> VideoRecord:
    fields = text.split()
    if len(fields) not in (3, 4):
        raise ListFileError.at(path, n, f"expected 'path start_frame end_frame [label]', got {text!r}")
    start, end = _int(fields[1], path, n, "start_frame"), _int(fields[2], path, n, "end_frame")
    if start < 0 or end < start:
        raise ListFileError.at(path, n, f"frame range {start}..{end} is empty or negative")
    label = _int(fields[3], path, n, "label") if len(fields) == 4 else -1
    return VideoRecord(fields[0], label, end + 1, start=start, end=end, line=n, labelled=len(fields) == 4)


def _parse_csv(path: Path, n: int, text: str, class_names: Optional[Sequence[str]]) -> Optional[VideoRecord]:
    fields = [f.strip() for f in text.split(",")]
    if len(fields) < 2 or not fields[0]:
        raise ListFileError.at(path, n, f"expected 'path,label', got {text!r}")
    if n == 1 and fields[0].lower() in ("path", "video", "filename") and not fields[1].lstrip("-").isdigit():
        return None  # header
    return VideoRecord(fields[0], _label(fields[1], path, n, class_names), None, line=n)


def _label(value: str, path: Path, n: int, class_names: Optional[Sequence[str]]) -> int:
    if value.lstrip("-").isdigit():
        return int(value)
    if class_names is not None and value in class_names:
        return list(class_names).index(value)
    raise ListFileError.at(path, n, f"label {value!r} is neither an integer nor a known class name")


def _check_labels(path: Path, records: List[VideoRecord], num_classes: Optional[int]) -> None:
    """Written labels lie in ``0..num_classes-1``; -1 only marks the unlabelled range form's 3-column lines."""
    for r in records:
        if not r.labelled:
            continue
        if r.label < 0 or (num_classes is not None and r.label >= num_classes):
            limit = f"0..{num_classes - 1}" if num_classes else ">= 0"
            raise ListFileError.at(path, r.line, f"label {r.label} is out of range ({limit}) for {r.path!r}")


def scan_class_folders(root: PathLike, extensions: Sequence[str] = VIDEO_EXTENSIONS) -> Tuple[List[VideoRecord], List[str]]:
    """Samples of a ``root/<class>/<video>`` tree; classes sorted by name.

    Entries of a class folder are videos with one of ``extensions`` or
    sub-folders (frame folders).
    """
    root = Path(root)
    if not root.is_dir():
        raise ListFileError(f"dataset folder {root} does not exist", path=str(root))
    classes = sorted(d.name for d in root.iterdir() if d.is_dir())
    if not classes:
        raise ListFileError(f"{root} has no class sub-folders (expected root/<class>/<video>)", path=str(root))
    records = []
    for label, name in enumerate(classes):
        for entry in sorted((root / name).iterdir()):
            if entry.is_dir() or entry.suffix.lower() in extensions:
                records.append(VideoRecord(f"{name}/{entry.name}", label, None))
    if not records:
        raise ListFileError(f"{root} has class folders ({', '.join(classes[:5])}) but no videos in them "
                            f"(extensions {', '.join(extensions)}, or frame folders)", path=str(root))
    return records, classes


def write_list_file(path: PathLike, rows: Sequence[Tuple[str, int, int]]) -> Path:
    """Write GluonCV ``path num_frames label`` lines; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{p} {frames} {label}\n" for p, frames, label in rows), encoding="utf-8")
    return path
