"""``zoo annotate``: a page on 127.0.0.1 to mark actions in videos, saved as a VIA 3 project.

Python's standard HTTP server and one plain HTML/JS page (``annotate_page.html``, no build):

* ``GET /``: the page; ``GET /api/state``: videos (name, fps, duration), labels, segments;
* ``GET /video/<name>``: a video of the folder (with HTTP ranges, so the player can seek);
* ``POST /api/save``: ``{"segments": [{video, start, end, label, score?}]}``, checked like an
  imported file, written with :func:`~zoo.data.annotations.write_via_project`.

The output file, when it exists, is loaded first, so a VIA project (from VIA itself, or the
predictions that ``scripts/inference.py --segments-out`` writes) is reviewed and corrected here.
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union
from urllib.parse import unquote

from .annotations import Segment, check_segments, read_annotations, write_via_project
from .errors import ListFileError
from .lists import VIDEO_EXTENSIONS

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".webm": "video/webm", ".mkv": "video/x-matroska",
        ".mov": "video/quicktime", ".avi": "video/x-msvideo", ".ogv": "video/ogg"}
CHUNK = 1 << 20


def _probe(path: Path) -> Dict[str, float]:
    """``{"fps", "duration"}`` of a video from its container (no decoding)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 25)
        if stream.frames:
            duration = stream.frames / fps
        elif stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / 1e6
    return {"fps": round(fps, 6), "duration": round(duration, 6)}


class AnnotationSession:
    """The videos of a folder, the class names and the segments saved to ``output``."""

    def __init__(self, video_dir: PathLike, labels: Sequence[str], output: PathLike) -> None:
        self.video_dir = Path(video_dir)
        if not self.video_dir.is_dir():
            raise ListFileError(f"video folder {self.video_dir} does not exist", path=str(self.video_dir))
        self.labels = list(labels)
        if not self.labels:
            raise ValueError("the label file names no class; write one class name per line")
        self.output = Path(output)
        self.files = {p.relative_to(self.video_dir).as_posix(): p for p in sorted(self.video_dir.rglob("*"))
                      if p.suffix.lower() in VIDEO_EXTENSIONS and p.is_file()}
        if not self.files:
            raise ListFileError(f"{self.video_dir} holds no video ({', '.join(VIDEO_EXTENSIONS)})", path=str(self.video_dir))
        self.segments: List[Segment] = []
        if self.output.is_file():
            self.segments = read_annotations(self.output, labels=self.labels, durations=self.durations)
            logger.info("loaded %d segments from %s", len(self.segments), self.output)
        self.lock = threading.Lock()

    @cached_property
    def videos(self) -> List[Dict[str, object]]:
        """``[{"name", "fps", "duration"}]`` of every video in the folder."""
        return [{"name": name, **_probe(path)} for name, path in self.files.items()]

    @property
    def durations(self) -> Dict[str, float]:
        return {str(v["name"]): float(v["duration"]) for v in self.videos}  # type: ignore[arg-type]

    def state(self) -> dict:
        return {"videos": self.videos, "labels": self.labels, "output": str(self.output),
                "segments": [_row(s) for s in self.segments]}

    def save(self, rows: Sequence[dict]) -> Path:
        """Check and write segments (raises :class:`ListFileError` / :class:`ValueError` on bad input)."""
        segments = []
        for number, row in enumerate(rows, 1):
            try:
                score = row.get("score")
                segments.append(Segment(str(row["video"]), float(row["start"]), float(row["end"]), str(row["label"]),
                                        None if score in (None, "") else float(score), f"segment {number}"))
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"segment {number}: needs video, start, end and label ({err})") from None
        unknown = sorted({s.video for s in segments} - set(self.files))
        if unknown:
            raise ValueError(f"videos {unknown} are not in {self.video_dir}")
        check_segments(segments, "the page", labels=self.labels, durations=self.durations)
        with self.lock:
            write_via_project(segments, self.output, labels=self.labels, videos=list(self.files),
                              name=self.video_dir.name)
            self.segments = segments
        logger.info("saved %d segments to %s", len(segments), self.output)
        return self.output


def _row(segment: Segment) -> dict:
    return {"video": segment.video, "start": segment.start, "end": segment.end, "label": segment.label,
            "score": segment.score}


def _handler(session: AnnotationSession):
    page = resources.files(__package__).joinpath("annotate_page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:
            logger.debug("%s " + fmt, self.address_string(), *args)

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, data: object) -> None:
            self._send(status, json.dumps(data).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 (the server's method name)
            path = unquote(self.path.split("?", 1)[0])
            if path in ("/", "/index.html"):
                self._send(200, page, "text/html; charset=utf-8")
            elif path == "/api/state":
                self._json(200, session.state())
            elif path.startswith("/video/") and path[len("/video/"):] in session.files:
                self._video(session.files[path[len("/video/"):]])
            else:
                self._json(404, {"error": f"no such page or video: {path}"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/api/save":
                self._json(404, {"error": f"cannot post to {self.path}"})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                saved = session.save(body.get("segments", []))
            except (ValueError, ListFileError) as err:
                self._json(400, {"error": str(err)})
                return
            self._json(200, {"saved": str(saved), "count": len(session.segments)})

        def _video(self, file: Path) -> None:
            size = file.stat().st_size
            first, last, status = 0, size - 1, 200
            match = re.match(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
            if match and (match[1] or match[2]):
                if match[1]:
                    first, last = int(match[1]), int(match[2]) if match[2] else size - 1
                else:
                    first = max(size - int(match[2]), 0)
                last, status = min(last, size - 1), 206
                if first > last:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
            self.send_response(status)
            self.send_header("Content-Type", MIME.get(file.suffix.lower(), "application/octet-stream"))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(last - first + 1))
            if status == 206:
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.end_headers()
            with open(file, "rb") as handle:
                handle.seek(first)
                left = last - first + 1
                try:
                    while left > 0:
                        chunk = handle.read(min(CHUNK, left))
                        if not chunk:
                            break
                        self.wfile.write(chunk)
                        left -= len(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the player cancelled the range to seek elsewhere

    return Handler


class AnnotationServer:
    """The page and its API on ``host:port`` (port 0: any free port); :meth:`start` runs it in a
    thread, :meth:`serve_forever` in the calling one."""

    def __init__(self, session: AnnotationSession, host: str = "127.0.0.1", port: int = 0) -> None:
        self.session = session
        self.httpd = ThreadingHTTPServer((host, port), _handler(session))
        self.httpd.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def start(self) -> "AnnotationServer":
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def close(self) -> None:
        self.httpd.shutdown() if self._thread else None
        self.httpd.server_close()

    def __enter__(self) -> "AnnotationServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
