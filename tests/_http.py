"""A loopback HTTP file server with injectable faults, for hub tests (127.0.0.1 only)."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FaultyServer:
    """Serves ``files`` (URL path -> bytes) on 127.0.0.1 with optional faults.

    ``faults`` maps a URL path to a list of fault names consumed one per request:
    ``"drop"`` (send half of the body, then close), ``"500"`` (HTTP 500), ``"slow"`` (sleep
    ``slow_seconds`` before answering), ``"corrupt"`` (flip bytes).  ``Range`` requests get 206.
    """

    def __init__(self, files: dict[str, bytes] | None = None, slow_seconds: float = 5.0):
        self.files = dict(files or {})
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.slow_seconds = slow_seconds
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
        start = 0
        if rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0])
            h.send_response(206)
            h.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            h.send_response(200)
        payload = body[start:]
        h.send_header("Content-Length", str(len(payload)))
        h.end_headers()
        if fault == "drop":
            h.wfile.write(payload[: len(payload) // 2])
            h.wfile.flush()
            h.close_connection = True
            try:
                h.connection.shutdown(2)
            except OSError:
                pass
            return
        h.wfile.write(payload)

    def __enter__(self) -> "FaultyServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
