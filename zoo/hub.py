"""The weight hub: hash-named files, fetched once, checked by SHA-1, cached, shared by processes.

Files are named ``{name}-{sha1[:8]}.{ext}``.  A relative URL is joined to the base URL of its
*repo*: ``"zoo"`` reads ``ZOO_REPO_URL`` (default: the local hub folder ``$ZOO_HOME/hub/``);
other repos are registered with :func:`register_repo` and read ``ZOO_REPO_URL_<KEY>``.

Environment:
    ZOO_HOME: cache root (default ``~/.zoo``); downloads live in ``$ZOO_HOME/weights``.
    ZOO_REPO_URL: base URL of zoo's own weights (``http://``, ``https://`` or ``file://``).
    ZOO_REPO_URL_<KEY>: base URL of another registered repo (e.g. ``ZOO_REPO_URL_GLUONCV``).
    ZOO_OFFLINE: ``1`` opens no connection; a file that is not cached is an error.
    ZOO_TIMEOUT: read timeout in seconds (default 60); ZOO_RETRIES: attempts (default 5).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

__all__ = [
    "HubError",
    "DownloadError",
    "ChecksumError",
    "OfflineError",
    "UnsafeArchiveError",
    "zoo_home",
    "cache_dir",
    "register_repo",
    "repo_url",
    "resolve_url",
    "fetch",
    "download",
    "sha1sum",
    "sha256sum",
    "safe_extract_single",
    "list_cache",
    "purge",
]

logger = logging.getLogger(__name__)

WEIGHT_EXTENSIONS = (".safetensors", ".pth", ".pt", ".params", ".bin")


class HubError(RuntimeError):
    """Base class of the hub's errors."""


class DownloadError(HubError):
    """A file could not be downloaded (after retries)."""


class ChecksumError(HubError):
    """A file's SHA-1 is not the expected one; the file was deleted."""


class OfflineError(HubError):
    """``ZOO_OFFLINE=1`` and the file is not in the cache."""


class UnsafeArchiveError(HubError):
    """A zip archive holds absolute paths, ``..`` entries, links or not exactly one weights file."""


_REPOS: dict[str, str] = {}


def zoo_home() -> Path:
    """Cache root: ``$ZOO_HOME`` or ``~/.zoo``."""
    return Path(os.environ.get("ZOO_HOME", "~/.zoo")).expanduser()


def cache_dir() -> Path:
    """Folder of downloaded weights files."""
    return zoo_home() / "weights"


def default_hub_dir() -> Path:
    """The local hub folder that ``publish`` writes to and the default ``ZOO_REPO_URL`` serves."""
    return zoo_home() / "hub"


def register_repo(key: str, default_url: str) -> None:
    """Declare a named repo; ``ZOO_REPO_URL_<KEY>`` overrides ``default_url``."""
    _REPOS[key] = default_url


def repo_url(key: str = "zoo") -> str:
    """Base URL of a repo, always ending in ``/``."""
    if key == "zoo":
        url = os.environ.get("ZOO_REPO_URL") or default_hub_dir().resolve().as_uri()
    else:
        env = "ZOO_REPO_URL_" + key.upper().replace("-", "_")
        if key not in _REPOS and env not in os.environ:
            raise HubError(f"unknown weights repo {key!r}; set {env} to its base URL")
        url = os.environ.get(env) or _REPOS[key]
    return url if url.endswith("/") else url + "/"


def resolve_url(url: str, repo: str = "zoo", file: str = "") -> str:
    """Absolute URL of a weights entry (``url`` may be relative to the repo's base URL)."""
    url = url or file
    if urllib.parse.urlparse(url).scheme in ("http", "https", "file"):
        return url
    return repo_url(repo) + url


def sha1sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-1 of a file."""
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _digest_for(path: Path, expected: str) -> str:
    """The file's digest of the kind ``expected`` names (SHA-1, or SHA-256 for ``"sha256:..."``)."""
    return sha256sum(path) if expected.startswith("sha256:") else sha1sum(path)


def _digest_matches(got: str, expected: str) -> bool:
    if expected.startswith(("sha256:", "sha1:")):
        return got.startswith(expected.split(":", 1)[1].lower())
    return got == expected


def _offline() -> bool:
    return os.environ.get("ZOO_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _timeouts() -> tuple[float, float]:
    read = float(os.environ.get("ZOO_TIMEOUT", "60"))
    return (min(read, 15.0), read)


def _retries() -> int:
    return max(1, int(os.environ.get("ZOO_RETRIES", "5")))


def fetch(file: str, sha1: str, url: str = "", repo: str = "zoo", progress: bool | None = None) -> Path:
    """Return the local path of a verified weights file, downloading it once if needed.

    Args:
        file: cache file name, ``{name}-{sha1[:8]}.{ext}``.
        sha1: full expected SHA-1 of the weights file (of the file inside, for a ``.zip`` URL), or
            ``"sha256:<hex>"``: a SHA-256 or the 8+ hex prefix of one (torch.hub file names), which
            the file's SHA-256 must start with.
        url: absolute URL or a path relative to ``repo``'s base URL (default: ``file``).
        repo: repo key for relative URLs.
        progress: show a progress bar (default: when stderr is a terminal).

    Processes that ask for the same file at once wait on a file lock; one downloads.
    """
    prefix = sha1.split(":", 1)[1] if sha1.startswith(("sha256:", "sha1:")) else ""
    if len(sha1) != 40 and len(prefix) < 8:
        raise ValueError(f"expected a full 40-hex sha1 (or 'sha1:'/'sha256:<8+ hex>') for {file}, got {sha1!r}")
    dest = cache_dir() / file
    dest.parent.mkdir(parents=True, exist_ok=True)
    lock_dir = zoo_home() / "locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    if _verified_before(dest, sha1):
        return dest
    with FileLock(str(lock_dir / (file + ".lock")), timeout=float(os.environ.get("ZOO_LOCK_TIMEOUT", "1800"))):
        if dest.exists():
            got = _digest_for(dest, sha1)
            if _digest_matches(got, sha1):
                _record_verified(dest, sha1)
                return dest
            logger.warning("cached %s fails its check (sha1 %s, expected %s); fetching it again", dest, got, sha1)
            dest.unlink()
        if _offline():
            raise OfflineError(
                f"{file} is not in the cache ({cache_dir()}) and ZOO_OFFLINE is set; "
                "unset ZOO_OFFLINE or copy the file into the cache"
            )
        source = resolve_url(url, repo, file)
        _download_verified(source, dest, sha1, progress)
        _record_verified(dest, sha1)
        return dest


def _stamp_path(dest: Path) -> Path:
    return dest.parent / ".verified" / (dest.name + ".json")


def _record_verified(dest: Path, expected: str) -> None:
    """Remember that ``dest``, as it is now (size, mtime), passed its check against ``expected``."""
    st = dest.stat()
    stamp = _stamp_path(dest)
    stamp.parent.mkdir(exist_ok=True)
    tmp = stamp.with_name(stamp.name + f".{os.getpid()}")
    tmp.write_text(json.dumps({"expected": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
    os.replace(tmp, stamp)


def _verified_before(dest: Path, expected: str) -> bool:
    """Whether ``dest`` passed its check before and has not changed since (size and mtime).

    A verified file is not hashed again on every load; a file that was replaced or touched is.
    """
    try:
        st = dest.stat()
        stamp = json.loads(_stamp_path(dest).read_text())
    except (OSError, ValueError):
        return False
    return stamp == {"expected": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _download_verified(source: str, dest: Path, sha1: str, progress: bool | None) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".tmp-") as tmp:
        name = Path(urllib.parse.urlparse(source).path).name or dest.name
        part = Path(tmp) / name
        download(source, part, progress=progress)
        if part.suffix == ".zip" and dest.suffix != ".zip":
            part = safe_extract_single(part, Path(tmp) / "extracted")
        got = _digest_for(part, sha1)
        if not _digest_matches(got, sha1):
            raise ChecksumError(
                f"{source}: checksum mismatch, expected {sha1} got {got}; the file was deleted. "
                "The server may hold another version of the file; check ZOO_REPO_URL"
            )
        if sha1.startswith(("sha256:", "sha1:")):  # only a prefix was known: log the full digests to record them
            logger.warning(
                "%s: upstream published only the hash prefix %s, which the file matches; record its full "
                "digests: sha1 %s, sha256 %s", dest.name, sha1, sha1sum(part), sha256sum(part)
            )
        os.replace(part, dest)
    logger.info("fetched %s", dest)


def download(url: str, dest: str | os.PathLike, progress: bool | None = None) -> Path:
    """Download ``url`` to ``dest`` (written to ``dest + '.part'`` then renamed).

    Streams with ``requests``; retries connection errors, timeouts and HTTP 5xx with exponential
    backoff, and resumes a dropped body with an HTTP ``Range`` request.  ``file://`` URLs are
    copied.  Raises :class:`DownloadError` when every attempt failed.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    scheme = urllib.parse.urlparse(url).scheme
    if scheme == "file":
        src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        if not src.is_file():
            raise DownloadError(f"{url}: no such file")
        shutil.copyfile(src, part)
        os.replace(part, dest)
        return dest
    if scheme not in ("http", "https"):
        raise DownloadError(f"unsupported URL scheme in {url!r}; use http://, https:// or file://")
    import requests

    attempts = _retries()
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            _download_once(requests, url, part, progress)
            os.replace(part, dest)
            return dest
        except _Fatal as err:
            part.unlink(missing_ok=True)
            raise DownloadError(str(err)) from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, _Retry) as err:
            last = err
            wait = min(0.5 * 2**attempt, 10.0)
            logger.warning("download of %s failed (%s); attempt %d/%d, retrying in %.1fs", url, err, attempt + 1, attempts, wait)
            if attempt + 1 < attempts:
                time.sleep(wait)
    part.unlink(missing_ok=True)
    raise DownloadError(f"could not download {url} after {attempts} attempts: {last}")


class _Retry(Exception):
    pass


class _Fatal(Exception):
    pass


def _download_once(requests, url: str, part: Path, progress: bool | None) -> None:
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, stream=True, timeout=_timeouts(), headers=headers) as r:
        if r.status_code >= 500 or r.status_code == 429:
            raise _Retry(f"HTTP {r.status_code}")
        if r.status_code == 416:  # range past the end: start over
            part.unlink(missing_ok=True)
            raise _Retry("HTTP 416, restarting")
        if r.status_code >= 400:
            raise _Fatal(f"{url}: HTTP {r.status_code} {r.reason}; check the URL and ZOO_REPO_URL")
        if have and r.status_code == 206:
            mode = "ab"
        else:
            mode, have = "wb", 0
        total = int(r.headers.get("Content-Length", 0)) + have or None
        with open(part, mode) as f, _progress_bar(total, have, part.name, progress) as bar:
            for chunk in r.iter_content(chunk_size=1 << 16):
                f.write(chunk)
                bar.update(len(chunk))
        if total is not None and part.stat().st_size < total:
            raise _Retry(f"body ended early ({part.stat().st_size} of {total} bytes)")


def _progress_bar(total: int | None, initial: int, desc: str, progress: bool | None):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty() and os.environ.get("ZOO_QUIET", "") != "1"
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=desc, disable=not progress, leave=False)


def safe_extract_single(archive: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Extract the one weights file of a zip archive, refusing anything unsafe.

    Rejects absolute paths, ``..`` components, symbolic links and archives that do not hold
    exactly one weights file (``.params``/``.pth``/``.safetensors``/...).  Returns its path.
    """
    out_dir = Path(out_dir)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as err:
        raise UnsafeArchiveError(f"{archive}: not a valid zip archive ({err})") from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        for m in zf.infolist():
            parts = Path(m.filename).parts
            if m.filename.startswith(("/", "\\")) or ".." in parts or ":" in m.filename.split("/")[0]:
                raise UnsafeArchiveError(f"{archive}: unsafe path {m.filename!r} in archive; refusing to extract")
            if stat.S_ISLNK(m.external_attr >> 16):
                raise UnsafeArchiveError(f"{archive}: {m.filename!r} is a symbolic link; refusing to extract")
        weights = [m for m in members if m.filename.lower().endswith(WEIGHT_EXTENSIONS)]
        if len(weights) != 1:
            names = [m.filename for m in members]
            raise UnsafeArchiveError(f"{archive}: expected exactly one weights file, found {names}")
        member = weights[0]
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / Path(member.filename).name
        with zf.open(member) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    return target


@dataclass(frozen=True)
class CachedFile:
    path: Path
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def list_cache() -> list[CachedFile]:
    """Weights files in the cache (downloaded and converted), with their sizes in bytes."""
    out = []
    for sub in ("weights", "converted"):
        folder = zoo_home() / sub
        if folder.is_dir():
            out += [CachedFile(p, p.stat().st_size) for p in sorted(folder.iterdir()) if p.is_file()]
    return out


def purge(name: str | None = None) -> list[Path]:
    """Delete cached files (all, or those of one model name); returns what was deleted."""
    removed = []
    for item in list_cache():
        stem = item.path.name.rsplit("-", 1)[0] if "-" in item.path.name else item.path.stem
        if name is None or stem == name:
            item.path.unlink(missing_ok=True)
            _stamp_path(item.path).unlink(missing_ok=True)
            removed.append(item.path)
    return removed
