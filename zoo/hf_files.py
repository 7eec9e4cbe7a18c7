"""The Hugging Face Hub's conventions for files: its endpoint, its offline switch, its local cache, its digests.

The hub (:mod:`zoo.hub`) downloads files of the ``"hf"`` repo like any other; this module only knows
what the Hub's own tools agree on, so that zoo and ``transformers`` share settings and files:

* ``HF_ENDPOINT``: base URL of the Hub or of a mirror (default ``https://huggingface.co``).
* ``HF_HUB_OFFLINE``: ``1`` opens no connection (as ``ZOO_OFFLINE`` does).
* The Hub's cache (``HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub``) holds
  ``models--{owner}--{repo}/snapshots/{commit}/{file}``, links to ``blobs/{digest}``, and
  ``refs/{branch}`` files naming the commit a branch pointed at.
* A file's URL is ``{endpoint}/{repo_id}/resolve/{revision}/{file}``; the answer's ``X-Linked-Etag``
  (LFS files, the SHA-256 of the bytes) or ``ETag`` (small files kept in git: the git blob SHA-1)
  says what the bytes must hash to, and ``X-Repo-Commit`` the commit the revision resolved to.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

__all__ = ["DEFAULT_ENDPOINT", "endpoint", "offline", "cache_root", "HubFile", "parse_resolve_url",
           "find_in_cache", "cached_commit", "reported_digest", "git_blob_sha1", "is_commit"]

DEFAULT_ENDPOINT = "https://huggingface.co/"
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_RESOLVE = re.compile(r"^(?P<repo>[^/]+/[^/]+)/resolve/(?P<revision>[^/]+)/(?P<file>.+)$")


def endpoint() -> str | None:
    """``HF_ENDPOINT`` ending in ``/``, or None when it is not set."""
    url = os.environ.get("HF_ENDPOINT", "").strip()
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


def offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for no network."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def cache_root() -> Path:
    """The Hugging Face Hub cache folder the Hub's own tools use."""
    for var in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(var):
            return Path(os.environ[var]).expanduser()
    if os.environ.get("HF_HOME"):
        return Path(os.environ["HF_HOME"]).expanduser() / "hub"
    return Path("~/.cache/huggingface/hub").expanduser()


def is_commit(revision: str) -> bool:
    """Whether ``revision`` is a full commit hash (not a branch or tag that can move)."""
    return bool(_COMMIT.match(revision))


@dataclass(frozen=True)
class HubFile:
    """One file of a Hub repo at a revision."""

    repo_id: str
    revision: str
    file: str


def parse_resolve_url(url: str) -> HubFile | None:
    """``owner/repo/resolve/{revision}/{file}`` (the relative URL of an ``hf`` entry) as its parts, else None."""
    match = _RESOLVE.match(url)
    return HubFile(match["repo"], match["revision"], match["file"]) if match else None


def _repo_folder(repo_id: str) -> Path:
    return cache_root() / ("models--" + repo_id.replace("/", "--"))


def cached_commit(repo_id: str, revision: str) -> str | None:
    """The commit ``revision`` resolved to when the Hub's tools last fetched ``repo_id`` (None: never)."""
    if is_commit(revision):
        return revision
    try:
        commit = (_repo_folder(repo_id) / "refs" / revision).read_text().strip()
    except (OSError, ValueError):
        return None
    return commit if is_commit(commit) else None


def find_in_cache(hub_file: HubFile) -> Path | None:
    """The file in the Hub's cache (resolved through its link into ``blobs/``), or None."""
    commit = cached_commit(hub_file.repo_id, hub_file.revision)
    if commit is None or ".." in Path(hub_file.file).parts:
        return None
    path = _repo_folder(hub_file.repo_id) / "snapshots" / commit / hub_file.file
    return path.resolve() if path.is_file() else None


def reported_digest(headers: Mapping[str, str]) -> str:
    """The digest a Hub answer reports for its bytes: ``X-Linked-Etag`` (SHA-256 of an LFS file), else
    ``ETag`` (the git blob SHA-1 of a small file); lowercase hex, or ``""`` when there is neither."""
    for name in ("X-Linked-Etag", "ETag"):
        value = headers.get(name, "").strip()
        value = value[2:] if value.startswith("W/") else value
        value = value.strip('"').lower()
        if re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{40}", value):
            return value
    return ""


def git_blob_sha1(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The git blob SHA-1 of a file (``sha1(b"blob {size}\\0" + bytes)``), the ETag of small Hub files."""
    h = hashlib.sha1(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
