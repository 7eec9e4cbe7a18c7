"""A loopback HTTP file server with injectable faults, for hub tests (127.0.0.1 only), and a fake
Hugging Face Hub built on it."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultyServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1 with optional faults.

    ``faults`` maps a URL path to a list of fault names consumed one per request:
    ``"drop"`` (send half of the body, then close), ``"500"`` (HTTP 500), ``"slow"`` (sleep
    ``slow_seconds`` before answering), ``"corrupt"`` (flip bytes), ``"endless"`` (no
    Content-Length; the body repeated until the client hangs up, at most ``endless_bytes``),
    ``"drip"`` (the body in 64-byte pieces every ``drip_seconds``, for at most ``slow_seconds``).
    ``redirects`` maps a URL path to the path it redirects to (302), on every request.
    ``headers`` maps a URL path to extra headers sent with every answer to it (redirects included).
    ``Range`` requests get 206.
    """

    def __init__(self, files: dict[str, bytes] | None = None, slow_seconds: float = 5.0):
        self.files = dict(files or {})
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.slow_seconds = slow_seconds
        self.drip_seconds = 0.05
        self.endless_bytes = 256 * 2**20
        self.redirects: dict[str, str] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_GET(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def count(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self.faults.get(path) or []
            return queue.pop(0) if queue else None

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?")[0]
        rng = h.headers.get("Range")
        with self._lock:
            self.requests.append((path, rng))
        extra = self.headers.get(path, {})
        if path in self.redirects:
            h.send_response(302)
            h.send_header("Location", self.redirects[path])
            h.send_header("Content-Length", "0")
            self._send_headers(h, extra)
            return
        fault = self._next_fault(path)
        if fault == "slow":
            time.sleep(self.slow_seconds)
        body = self.files.get(path)
        if body is None:
            h.send_response(404)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if fault == "500":
            h.send_response(500)
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        if fault == "corrupt":
            body = bytes(b ^ 0xFF for b in body[:64]) + body[64:]
        if fault == "endless":
            self._send_endless(h, body)
            return
        start = 0
        if rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            h.send_response(200)
        payload = body[start:]
        h.send_header("Content-Length", str(len(payload)))
        self._send_headers(h, extra)
        if fault == "drop":
            h.wfile.write(payload[: len(payload) // 2])
            h.wfile.flush()
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        if fault == "drip":
            self._drip(h, payload)
            return
        h.wfile.write(payload)

    @staticmethod
    def _send_headers(h: BaseHTTPRequestHandler, extra: dict[str, str]) -> None:
        for name, value in extra.items():
            h.send_header(name, value)
        h.end_headers()

    def _send_endless(self, h: BaseHTTPRequestHandler, body: bytes) -> None:
        """A 200 answer without Content-Length whose body does not end (until ``endless_bytes``)."""
        h.send_response(200)
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        sent = 0
        try:
            while sent < self.endless_bytes:
                h.wfile.write(body)
                sent += len(body)
        except OSError:  # the client hung up: what the test wants
            pass

    def _drip(self, h: BaseHTTPRequestHandler, payload: bytes) -> None:
        """Send ``payload`` 64 bytes at a time, one piece per ``drip_seconds``, for at most ``slow_seconds``."""
        stop = time.monotonic() + self.slow_seconds
        try:
            for i in range(0, len(payload), 64):
                if time.monotonic() > stop:
                    break
                h.wfile.write(payload[i : i + 64])
                h.wfile.flush()
                time.sleep(self.drip_seconds)
        except OSError:
            pass
        h.close_connection = True

    def __enter__(self) -> "FaultyServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


LFS_SUFFIXES = (".safetensors", ".bin", ".pth", ".pt", ".params", ".onnx")


def git_blob_sha1(body: bytes) -> str:
    """The git blob SHA-1 of ``body``: the ETag the Hub sends for a file kept in git (not LFS)."""
    return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()


class FakeHub(FaultyServer):
    """A Hugging Face Hub on 127.0.0.1, as its clients see it (point ``HF_ENDPOINT`` at :attr:`url`).

    * ``/{repo}/resolve/{revision}/{file}`` for the branch and the commit: a file kept in git answers
      200 with ``ETag: "<git blob sha1>"``; an LFS file (weights) answers 302 with
      ``X-Linked-Etag: "<sha256>"`` and ``X-Linked-Size`` to ``/cdn/{sha256}``, which serves the bytes
      (with ``Range``).  Every answer carries ``X-Repo-Commit``.
    * ``/api/models/{repo}/revision/{revision}``: the repo's commit (``sha``) and files (``siblings``,
      with ``lfs.sha256``/``lfs.size``), as ``?blobs=true`` answers.

    Faults of the base server apply to any path (``/cdn/{sha256}`` for an LFS body).
    """

    def add_repo(self, repo_id: str, files: dict[str, bytes], branch: str = "main", commit: str | None = None,
                 license: str = "", etags: dict[str, str] | None = None) -> str:
        """Serve ``files`` as ``repo_id`` at ``branch`` and at its commit; returns the commit.

        ``etags`` replaces the digest reported for some files (a server that lies about its bytes).
        """
        commit = commit or hashlib.sha1(repr((repo_id, sorted(files.items()))).encode()).hexdigest()
        siblings = []
        for name, body in files.items():
            lfs = name.endswith(LFS_SUFFIXES)
            digest = (etags or {}).get(name) or (hashlib.sha256(body).hexdigest() if lfs else git_blob_sha1(body))
            siblings.append({"rfilename": name, "size": len(body),
                             **({"lfs": {"sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}} if lfs else {})})
            for rev in (branch, commit):
                path = f"/{repo_id}/resolve/{rev}/{name}"
                if lfs:
                    cdn = f"/cdn/{digest}"
                    self.files[cdn] = body
                    self.redirects[path] = cdn
                    self.headers[path] = {"X-Linked-Etag": f'"{digest}"', "X-Linked-Size": str(len(body)),
                                          "ETag": f'"{git_blob_sha1(b"lfs pointer " + body[:16])}"', "X-Repo-Commit": commit}
                else:
                    self.files[path] = body
                    self.headers[path] = {"ETag": f'"{digest}"', "X-Repo-Commit": commit}
        info = {"id": repo_id, "sha": commit, "siblings": siblings, "cardData": {"license": license} if license else {}}
        for rev in (branch, commit):
            self.files[f"/api/models/{repo_id}/revision/{rev}"] = json.dumps(info).encode()
        return commit
