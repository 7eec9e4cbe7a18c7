"""Scan a list file for videos that cannot be decoded."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import List, NamedTuple, Optional, Union

from tqdm import tqdm

from .errors import ListFileError, VideoDecodeError
from .lists import parse_list_file
from .readers import VideoReader

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]


class BadVideo(NamedTuple):
    """A sample that failed: list line, path and the reason."""

    line: int
    path: str
    reason: str


def check_one(path: Path, backend: str = "auto", full: bool = False) -> Optional[str]:
    """Reason why ``path`` is bad, or ``None`` if its first, middle and last
    frames (every frame with ``full``) decode."""
    try:
        with VideoReader(path, backend) as reader:
            n = len(reader)
            indices = list(range(n)) if full else sorted({0, n // 2, n - 1})
            frames = reader.get_batch(indices)
            if frames.ndim != 4 or frames.shape[0] != len(indices):
                return f"unexpected frame array shape {frames.shape}"
    except VideoDecodeError as error:
        return str(error)
    return None


def check_videos(list_file: PathLike, root: Optional[PathLike] = None, out: Optional[PathLike] = None,
                 backend: str = "auto", full: bool = False, video_ext: str = "mp4",
                 progress: bool = True) -> List[BadVideo]:
    """Try to decode every video of ``list_file`` (tqdm progress bar).

    Args:
        list_file: any list format of :mod:`zoo.data.lists`.
        root: prefix of the list paths (default: the list file's folder).
        out: if given, write the bad ones there, one ``path<TAB>reason`` per line
            (an empty file when all are fine).
        full: decode every frame instead of first / middle / last.

    Returns:
        the bad samples.
    """
    list_file = Path(list_file)
    root = Path(root) if root is not None else list_file.parent
    records = parse_list_file(list_file, "auto")
    bad: List[BadVideo] = []
    for record in tqdm(records, desc=f"checking {list_file.name}", unit="video", disable=not progress):
        path = root / record.path
        if not path.exists() and not path.suffix:
            path = path.with_name(f"{path.name}.{video_ext}")
        reason = check_one(path, backend, full)
        if reason is not None:
            logger.warning("%s:%d: %s", list_file, record.line, reason)
            bad.append(BadVideo(record.line, record.path, reason))
    if out is not None:
        Path(out).write_text("".join(f"{b.path}\t{b.reason}\n" for b in bad), encoding="utf-8")
    return bad


__all__ = ["BadVideo", "ListFileError", "check_one", "check_videos"]
