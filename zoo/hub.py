"""The weight hub: hash-named files, fetched once, checked by SHA-1, cached, shared by processes.

Files are named ``{name}-{sha1[:8]}.{ext}``; a file name is a plain base name (no folders, no
``..``, no drive), and everything the hub writes stays inside ``$ZOO_HOME``.  A relative URL is
joined to the base URL of its *repo*: ``"zoo"`` reads ``ZOO_REPO_URL`` (default: the local hub
folder ``$ZOO_HOME/hub/``); a manifest's files default to the manifest's own folder; other repos
are registered with :func:`register_repo` and read ``ZOO_REPO_URL_<KEY>``.

A download is written to ``{file}.part`` in the cache; a process killed mid-download leaves it,
and the next process resumes it with an HTTP ``Range`` request (the final hash decides; a bad
resume restarts from zero).  A read-only cache serves every valid file it holds.

Environment variables:

* ``ZOO_HOME``: cache root (default ``~/.zoo``); downloads live in ``$ZOO_HOME/weights``.
* ``ZOO_REPO_URL``: base URL of zoo's own weights (``http://``, ``https://`` or ``file://``); when
  set, it also serves the files of manifests that give no absolute URL (a mirror).
* ``ZOO_REPO_URL_<KEY>``: base URL of another registered repo (e.g. ``ZOO_REPO_URL_GLUONCV``).
* ``HF_ENDPOINT``: base URL of the Hugging Face Hub (the ``"hf"`` repo) where ``ZOO_REPO_URL_HF`` is
  not set; files of the Hub that its own cache already holds are used from there (see :mod:`zoo.hf_files`),
  and downloads are checked against the digest the Hub reports (``X-Linked-Etag`` / ``ETag``).
* ``ZOO_OFFLINE`` (or the Hub's ``HF_HUB_OFFLINE``): ``1`` opens no connection; a file that is not
  cached is an error.
* ``ZOO_TIMEOUT``: read timeout in seconds (default 60); ``ZOO_RETRIES``: attempts (default 5).
* ``ZOO_MAX_DOWNLOAD_BYTES``: size limit of a download (and of a file extracted from a zip) whose
  exact size is not known (default 8 GiB).
* ``ZOO_DOWNLOAD_DEADLINE``: seconds a whole download may take, all attempts together (default
  14400); a server that drips bytes slowly is cut there.
* ``ZOO_LOCK``: a lock file of pinned SHA-256 digests (see :mod:`zoo.pins`); bytes that differ from
  a pin are refused, and files not pinned yet are recorded on first use.
* ``ZOO_LOCK_TIMEOUT``: seconds to wait for another process's download of the same file (default 1800).
"""
from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
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
from typing import Any, BinaryIO, Iterator

from filelock import FileLock

from . import hf_files, pins

__all__ = [
    "HubError",
    "DownloadError",
    "ChecksumError",
    "OfflineError",
    "UnsafeArchiveError",
    "UnsafePathError",
    "zoo_home",
    "cache_dir",
    "cache_path",
    "check_file_name",
    "register_repo",
    "repo_url",
    "resolve_url",
    "fetch",
    "download",
    "offline",
    "sha1sum",
    "sha256sum",
    "safe_extract_single",
    "list_cache",
    "purge",
]

logger = logging.getLogger(__name__)

WEIGHT_EXTENSIONS = (".safetensors", ".pth", ".pt", ".params", ".bin", ".pyth", ".pkl")
DEFAULT_MAX_DOWNLOAD_BYTES = 8 * 2**30
DEFAULT_DOWNLOAD_DEADLINE = 4 * 3600.0
PART_SUFFIX = ".part"
_READ_ONLY_ERRNOS = (errno.EROFS, errno.EACCES, errno.EPERM)


class HubError(RuntimeError):
    """Base class of the hub's errors."""


class DownloadError(HubError):
    """A file could not be downloaded (after retries), or was larger than its limit."""


class ChecksumError(HubError):
    """A file's digest is not the expected one (or differs from its pin); the file was deleted."""


class OfflineError(HubError):
    """``ZOO_OFFLINE=1`` and the file is not in the cache."""


class UnsafeArchiveError(HubError):
    """A zip archive holds absolute paths, ``..`` entries, links, too many bytes or not exactly one weights file."""


class UnsafePathError(HubError, ValueError):
    """A file name that is not a plain base name, or a path that would leave ``$ZOO_HOME``."""


_REPOS: dict[str, str] = {}
_DRIVE = re.compile(r"^[A-Za-z]:")


def zoo_home() -> Path:
    """Cache root: ``$ZOO_HOME`` or ``~/.zoo``."""
    return Path(os.environ.get("ZOO_HOME", "~/.zoo")).expanduser()


def cache_dir() -> Path:
    """Folder of downloaded weights files."""
    return zoo_home() / "weights"


def default_hub_dir() -> Path:
    """The local hub folder that ``publish`` writes to and the default ``ZOO_REPO_URL`` serves."""
    return zoo_home() / "hub"


def check_file_name(name: str, what: str = "file name") -> str:
    """Return ``name`` if it is a plain base name, else raise :class:`UnsafePathError`.

    Refused: empty names, ``.``/``..``, names starting with ``.``, any ``/`` or ``\\``, drive
    letters (``C:``), absolute paths and NUL characters.
    """
    if (
        not isinstance(name, str) or not name or name.startswith(".") or "/" in name or "\\" in name
        or "\0" in name or _DRIVE.match(name) or os.path.isabs(name)
    ):
        raise UnsafePathError(
            f"{what} {name!r} is not a plain file name (no folders, '..', leading '.', drive or absolute path); "
            "fix the manifest or model card"
        )
    return name


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, checked on the resolved path to stay directly inside ``folder``."""
    path = folder / check_file_name(name)
    if path.resolve().parent != folder.resolve():
        raise UnsafePathError(f"{path} resolves to {path.resolve()}, outside {folder}; refusing to write there")
    return path


def cache_path(file: str) -> Path:
    """Where the weights file ``file`` lands in the cache (checked to stay inside it)."""
    return _inside(cache_dir(), file)


def register_repo(key: str, default_url: str) -> None:
    """Declare a named repo; ``ZOO_REPO_URL_<KEY>`` overrides ``default_url``."""
    _REPOS[key] = default_url


def repo_url(key: str = "zoo") -> str:
    """Base URL of a repo, always ending in ``/``.

    ``"zoo@<base URL>"`` is zoo's own repo with another default base (a manifest's folder):
    ``ZOO_REPO_URL`` still wins when set.
    """
    if key == "zoo" or key.startswith("zoo@"):
        fallback = key[4:] if key.startswith("zoo@") else default_hub_dir().resolve().as_uri()
        url = os.environ.get("ZOO_REPO_URL") or fallback
    else:
        env = "ZOO_REPO_URL_" + key.upper().replace("-", "_")
        if key not in _REPOS and env not in os.environ:
            raise HubError(f"unknown weights repo {key!r}; set {env} to its base URL")
        url = os.environ.get(env) or (hf_files.endpoint() if key == "hf" else None) or _REPOS[key]
    return url if url.endswith("/") else url + "/"


def resolve_url(url: str, repo: str = "zoo", file: str = "") -> str:
    """Absolute URL of a weights entry (``url`` may be relative to the repo's base URL)."""
    url = url or file
    if urllib.parse.urlparse(url).scheme in ("http", "https", "file"):
        return url
    return repo_url(repo) + url


def sha1sum(path: str | os.PathLike) -> str:
    """Hex SHA-1 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha1").hexdigest()


def sha256sum(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _no_published_hash(expected: str) -> bool:
    """The source publishes no digest at all (only a pin in ``ZOO_LOCK`` can check the bytes)."""
    return expected in ("", "sha256:", "sha1:")


def _digest_for(path: Path, expected: str) -> str:
    """The file's digest of the kind ``expected`` names (SHA-1, or SHA-256 for ``"sha256:..."``)."""
    return sha256sum(path) if expected.startswith("sha256:") or _no_published_hash(expected) else sha1sum(path)


def _digest_matches(got: str, expected: str) -> bool:
    if _no_published_hash(expected):
        return True
    if expected.startswith(("sha256:", "sha1:")):
        return got.startswith(expected.split(":", 1)[1].lower())
    return got == expected


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def offline() -> bool:
    """Whether ``ZOO_OFFLINE`` or the Hub's ``HF_HUB_OFFLINE`` switches the network off."""
    return _env_flag("ZOO_OFFLINE") or hf_files.offline()


_offline = offline


def _offline_variable() -> str:
    """The variable that switched the network off (for messages)."""
    return "ZOO_OFFLINE" if _env_flag("ZOO_OFFLINE") else "HF_HUB_OFFLINE"


def _env_number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise HubError(f"{name}={text!r} is not a number; set it to a number or unset it") from None


def _timeouts() -> tuple[float, float]:
    read = _env_number("ZOO_TIMEOUT", 60)
    return (min(read, 15.0), read)


def _retries() -> int:
    return max(1, int(_env_number("ZOO_RETRIES", 5)))


def _size_limit(size: int | None) -> int:
    """Most bytes a download may have: its known size, else ``ZOO_MAX_DOWNLOAD_BYTES``."""
    return int(size) if size else int(_env_number("ZOO_MAX_DOWNLOAD_BYTES", DEFAULT_MAX_DOWNLOAD_BYTES))


def _is_read_only(err: OSError) -> bool:
    return err.errno in _READ_ONLY_ERRNOS


def _disk_full(path: Path) -> DownloadError:
    return DownloadError(f"disk full while writing {path}; free some space or point ZOO_HOME at a larger disk")


def _check_checksum_form(file: str, expected: str) -> None:
    prefix = expected.split(":", 1)[1] if expected.startswith(("sha256:", "sha1:")) else ""
    if _no_published_hash(expected):
        return
    if len(expected) != 40 and len(prefix) < 8:
        raise ValueError(f"expected a full 40-hex sha1 (or 'sha1:'/'sha256:<8+ hex>') for {file}, got {expected!r}")


def fetch(
    file: str, sha1: str, url: str = "", repo: str = "zoo", progress: bool | None = None, size: int | None = None
) -> Path:
    """Return the local path of a verified weights file, downloading it once if needed.

    Args:
        file: cache file name, ``{name}-{sha1[:8]}.{ext}`` (a plain base name).
        sha1: full expected SHA-1 of the weights file (of the file inside, for a ``.zip`` URL), or
            ``"sha256:<hex>"``: a SHA-256 or the 8+ hex prefix of one (torch.hub file names), which
            the file's SHA-256 must start with; ``""`` where the source publishes no digest (then
            only a pin in ``ZOO_LOCK`` checks the bytes).
        url: absolute URL or a path relative to ``repo``'s base URL (default: ``file``).
        repo: repo key for relative URLs.
        progress: show a progress bar (default: when stderr is a terminal).
        size: exact size in bytes where known; a download of another size is an error.

    Processes that ask for the same file at once wait on a file lock; one downloads.  A
    read-only cache serves a valid file without the lock and without writing anything.
    """
    _check_checksum_form(file, sha1)
    dest = cache_path(file)
    stamp_key = _stamp_key(file, sha1)
    if _verified_before(dest, stamp_key):
        return dest
    try:
        lock = _file_lock(file)
        lock.acquire()
    except OSError as err:
        if not _is_read_only(err):
            raise
        return _serve_read_only(dest, sha1, err)
    try:
        if dest.exists():
            if _check_cached(dest, sha1):
                _record_verified(dest, _stamp_key(file, sha1))
                return dest
            dest.unlink()
        if repo == "hf" and _adopt_from_hf_cache(url, dest, sha1, size):
            _record_verified(dest, _stamp_key(file, sha1))
            return dest
        if _offline():
            variable = _offline_variable()
            raise OfflineError(
                f"{file} is not in the cache ({cache_dir()}) and {variable} is set; "
                f"unset {variable} or copy the file into the cache"
            )
        source = resolve_url(url, repo, file)
        _download_verified(source, dest, sha1, progress, size, trust_etag=repo == "hf")
        _record_verified(dest, _stamp_key(file, sha1))
        return dest
    finally:
        lock.release()


def _file_lock(file: str) -> FileLock:
    """The per-file lock that downloads, loads and purges of ``file`` take (creates the folders)."""
    lock_dir = zoo_home() / "locks"
    cache_dir().mkdir(parents=True, exist_ok=True)
    lock_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(_inside(lock_dir, file + ".lock")), timeout=_env_number("ZOO_LOCK_TIMEOUT", 1800))


def _check_cached(dest: Path, expected: str) -> bool:
    """Whether a cached file passes its check (and its pin, which a mismatch refuses)."""
    got = _digest_for(dest, expected)
    if not _digest_matches(got, expected):
        logger.warning("cached %s fails its check (got %s, expected %s); fetching it again", dest, got, expected)
        return False
    _check_pin(dest, dest.name, source=str(dest))
    return True


def _serve_read_only(dest: Path, expected: str, err: OSError) -> Path:
    """Serve a valid cached file from a cache this process cannot write to (no lock, no stamp)."""
    if dest.is_file() and _digest_matches(_digest_for(dest, expected), expected):
        _check_pin(dest, dest.name, source=str(dest), record=False)
        logger.info("serving %s from a read-only cache (%s)", dest, err.strerror)
        return dest
    state = "fails its check" if dest.is_file() else "is not in it"
    raise DownloadError(
        f"the cache {cache_dir()} is read-only ({err.strerror}) and {dest.name} {state}; "
        "point ZOO_HOME at a writable folder or ask the cache's owner to download it"
    ) from None


def _stamp_key(file: str, expected: str) -> str:
    """What a stamp records as checked: the source digest, and the pin when ``ZOO_LOCK`` is set."""
    if pins.lock_path() is None:
        return expected
    return f"{expected}|pin:{pins.pinned_sha256(file) or 'none'}"


def _stamp_path(dest: Path) -> Path:
    return dest.parent / ".verified" / (dest.name + ".json")


def _record_verified(dest: Path, key: str) -> None:
    """Remember that ``dest``, as it is now (size, mtime), passed its check against ``key``."""
    st = dest.stat()
    stamp = _stamp_path(dest)
    tmp = stamp.with_name(stamp.name + f".{os.getpid()}")
    try:
        stamp.parent.mkdir(exist_ok=True)
        tmp.write_text(json.dumps({"expected": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))
        os.replace(tmp, stamp)
    except OSError as err:  # a stamp only saves a hash next time
        logger.debug("could not write %s (%s)", stamp, err)


def _verified_before(dest: Path, key: str) -> bool:
    """Whether ``dest`` passed its check before and has not changed since (size and mtime).

    A verified file is not hashed again on every load; a file that was replaced or touched is.
    """
    try:
        st = dest.stat()
        stamp = json.loads(_stamp_path(dest).read_text())
    except (OSError, ValueError):
        return False
    return stamp == {"expected": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _check_pin(path: Path, file: str, source: str, record: bool = True, revision: str = "") -> None:
    """Refuse bytes that differ from ``file``'s pin in ``ZOO_LOCK``; record a first pin (with the Hub
    ``revision`` the file came from, where it has one)."""
    lock = pins.lock_path()
    if lock is None:
        return
    got = sha256sum(path)
    pinned = pins.pinned_sha256(file)
    if pinned is None:
        if record:
            pins.record(file, got, source, revision=revision)
        return
    if got != pinned:
        raise ChecksumError(
            f"{source}: sha256 {got} differs from the pin {pinned} of {file} in {lock}; the bytes changed "
            "since they were pinned. Remove the pin from the lock file only if the new file is trusted"
        )


def _adopt_from_hf_cache(url: str, dest: Path, expected: str, size: int | None = None) -> bool:
    """Link (else copy) a Hub file that the Hugging Face cache already holds into ``dest``, checked.

    The bytes are checked against ``expected`` (and ``size``) and, for an LFS blob (named by its
    SHA-256), against that name; a file that fails is left where it is and downloaded instead.
    """
    hub_file = hf_files.parse_resolve_url(url)
    found = hf_files.find_in_cache(hub_file) if hub_file else None
    if found is None or (size and found.stat().st_size != size):
        return False
    got = _digest_for(found, expected)
    blob_sha256 = found.name if re.fullmatch(r"[0-9a-f]{64}", found.name) else ""
    if (blob_sha256 and blob_sha256 != (got if len(got) == 64 else sha256sum(found))) or not _digest_matches(got, expected):
        logger.warning("%s in the Hugging Face cache fails its check; downloading it instead", found)
        return False
    part = dest.with_name(dest.name + PART_SUFFIX)
    part.unlink(missing_ok=True)
    try:
        os.link(found, part)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(found, part)
    try:
        _check_pin(part, dest.name, str(found), revision=hf_files.cached_commit(hub_file.repo_id, hub_file.revision) or "")
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    logger.info("using %s from the Hugging Face cache (%s)", dest.name, found)
    return True


def _download_verified(source: str, dest: Path, expected: str, progress: bool | None, size: int | None,
                       trust_etag: bool = False) -> None:
    """Download ``source`` (resuming a leftover ``.part``), check it, and move it to ``dest``.

    ``trust_etag``: the server is the Hugging Face Hub, whose answers report the digest of the bytes
    (:func:`zoo.hf_files.reported_digest`); the bytes must match it too.
    """
    is_zip = Path(urllib.parse.urlparse(source).path).suffix == ".zip" and dest.suffix != ".zip"
    part = dest.with_name(dest.name + (".zip" if is_zip else "") + PART_SUFFIX)
    for attempt in ("resume", "restart") if part.exists() else ("fresh",):
        try:
            _download_and_check(source, part, dest, expected, progress, size, is_zip, trust_etag)
            return
        except ChecksumError:
            if attempt != "resume":
                raise
            logger.warning("%s: the resumed download fails its check; downloading it again from the start", dest.name)


def _download_and_check(
    source: str, part: Path, dest: Path, expected: str, progress: bool | None, size: int | None, is_zip: bool,
    trust_etag: bool = False,
) -> None:
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".tmp-") as tmp:
        reported = _download_to(source, part, progress, None if is_zip else size)
        reported = _with_url_commit(reported, source) if trust_etag else _Reported()
        weights = part
        if is_zip:
            try:
                weights = safe_extract_single(part, Path(tmp), max_bytes=_size_limit(size))
            finally:
                part.unlink(missing_ok=True)
        got = _digest_for(weights, expected)
        try:
            if not _digest_matches(got, expected):
                raise ChecksumError(
                    f"{source}: checksum mismatch, expected {expected} got {got}; the file was deleted. "
                    "The server may hold another version of the file; check ZOO_REPO_URL"
                )
            _check_reported(weights, source, reported.digest, known_sha256=got if len(got) == 64 else "")
            _check_pin(weights, dest.name, source, revision=reported.commit)
        except ChecksumError:
            weights.unlink(missing_ok=True)
            raise
        if _no_published_hash(expected) and reported.digest:
            logger.info("%s: matches the sha256/git digest %s that the Hub reports", dest.name, reported.digest)
        elif _no_published_hash(expected) and pins.lock_path() is None:
            logger.warning("%s: its source publishes no hash; set ZOO_LOCK to pin its sha256 %s", dest.name, got)
        elif _is_prefix(expected) and pins.lock_path() is None:
            logger.warning(
                "%s: upstream published only the hash prefix %s, which the file matches; record its full "
                "digests (or set ZOO_LOCK to pin them): sha1 %s, sha256 %s",
                dest.name, expected, sha1sum(weights), sha256sum(weights),
            )
        os.replace(weights, dest)
    logger.info("fetched %s", dest)


def _is_prefix(expected: str) -> bool:
    """Whether ``expected`` is only the start of a digest (``"sha256:<8+ hex>"`` shorter than 64, ``"sha1:"`` than 40)."""
    kind, _, digest = expected.partition(":")
    return kind in ("sha256", "sha1") and len(digest) < (64 if kind == "sha256" else 40)


def _check_reported(path: Path, source: str, digest: str, known_sha256: str = "") -> None:
    """Refuse bytes that do not hash to the digest the Hub reported (a 64-hex SHA-256 or a 40-hex git blob SHA-1).

    ``known_sha256``: the file's SHA-256 where the caller computed it already.
    """
    if not digest:
        return
    got = (known_sha256 or sha256sum(path)) if len(digest) == 64 else hf_files.git_blob_sha1(path)
    if got != digest:
        kind = "sha256" if len(digest) == 64 else "git blob sha1"
        raise ChecksumError(
            f"{source}: {kind} {got} differs from {digest}, the digest the server reports (ETag); the file was "
            "deleted. The mirror in HF_ENDPOINT may serve damaged or other bytes"
        )


@dataclass(frozen=True)
class _Reported:
    """What a server said about the bytes it sent: a digest (Hub ETag) and the commit it resolved to."""

    digest: str = ""
    commit: str = ""


def _with_url_commit(reported: _Reported, source: str) -> _Reported:
    """``reported``, its commit taken from a ``/resolve/{commit}/`` URL where the server named none."""
    match = re.search(r"/resolve/([0-9a-f]{40})/", source)
    return _Reported(reported.digest, match.group(1)) if match and not reported.commit else reported


def download(url: str, dest: str | os.PathLike, progress: bool | None = None, size: int | None = None) -> Path:
    """Download ``url`` to ``dest`` (written to ``dest + '.part'`` then renamed).

    Streams with ``requests``; retries connection errors, timeouts and HTTP 5xx with exponential
    backoff, and resumes a dropped body (or a ``.part`` left by a killed process) with an HTTP
    ``Range`` request.  ``file://`` URLs are copied.  At most ``size`` bytes (exactly that many
    where given) or ``ZOO_MAX_DOWNLOAD_BYTES``, within ``ZOO_DOWNLOAD_DEADLINE`` seconds.  A
    host name that does not resolve is not retried.  Raises :class:`DownloadError`.
    """
    dest = Path(dest)
    part = dest.with_name(dest.name + PART_SUFFIX)
    _download_to(url, part, progress, size)
    os.replace(part, dest)
    return dest


def _download_to(url: str, part: Path, progress: bool | None, size: int | None) -> _Reported:
    """Download ``url`` into ``part``, resuming what ``part`` already holds; what the server reported."""
    scheme = urllib.parse.urlparse(url).scheme
    limit = _size_limit(size)
    try:
        if scheme == "file":
            _copy_local(url, part, limit, size)
            return _Reported()
        elif scheme in ("http", "https"):
            return _download_http(url, part, limit, size, progress)
        else:
            raise DownloadError(f"unsupported URL scheme in {url!r}; use http://, https:// or file://")
    except OSError as err:
        if err.errno == errno.ENOSPC:
            part.unlink(missing_ok=True)
            raise _disk_full(part) from None
        raise


def _copy_local(url: str, part: Path, limit: int, size: int | None) -> None:
    src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    if not src.is_file():
        raise DownloadError(f"{url}: no such file")
    have = src.stat().st_size
    if have > limit or (size and have != size):
        raise DownloadError(_size_message(url, have, limit, size))
    shutil.copyfile(src, part)


def _size_message(url: str, got: int, limit: int, size: int | None) -> str:
    if size:
        return f"{url}: {got} bytes where {size} were expected; the server holds another file"
    return (
        f"{url}: more than {limit} bytes, the download limit; stopped. Raise ZOO_MAX_DOWNLOAD_BYTES "
        "if the file is really that large"
    )


def _download_http(url: str, part: Path, limit: int, size: int | None, progress: bool | None) -> _Reported:
    import requests

    attempts = _retries()
    deadline = time.monotonic() + _env_number("ZOO_DOWNLOAD_DEADLINE", DEFAULT_DOWNLOAD_DEADLINE)
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return _download_once(requests, url, part, progress, _Budget(limit, size, deadline))
        except _Fatal as err:
            part.unlink(missing_ok=True)
            raise DownloadError(str(err)) from None
        except requests.TooManyRedirects:
            raise DownloadError(f"{url}: too many redirects (a redirect loop?); check the URL and ZOO_REPO_URL") from None
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError, _Retry) as err:
            if _name_not_resolved(err):
                host = urllib.parse.urlparse(url).hostname
                raise DownloadError(
                    f"{url}: cannot resolve host {host!r} (offline?); check the network, or set ZOO_OFFLINE=1 "
                    "to use only cached files"
                ) from None
            last = err
            wait = min(0.5 * 2**attempt, 10.0, max(0.0, deadline - time.monotonic()))
            logger.warning("download of %s failed (%s); attempt %d/%d", url, _short(err), attempt + 1, attempts)
            if attempt + 1 < attempts:
                time.sleep(wait)
    raise DownloadError(f"could not download {url} after {attempts} attempts: {_short(last)}")


def _short(err: Exception | None) -> str:
    """An exception's message on one line, without urllib3's object reprs."""
    text = str(err).splitlines()[0] if err is not None and str(err) else type(err).__name__
    return re.sub(r"<[^>]*object at 0x[0-9a-f]+>:? ?", "", text)


def _name_not_resolved(err: BaseException) -> bool:
    """Whether a connection error comes from DNS (a host that does not resolve: offline or a typo).

    requests wraps urllib3's ``NameResolutionError`` (itself from ``socket.gaierror``) in its own
    errors, as a cause, an argument or a ``reason``: follow all of them.
    """
    import socket

    from urllib3.exceptions import NameResolutionError

    seen: set[int] = set()
    todo: list[object] = [err]
    while todo:
        e = todo.pop()
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (socket.gaierror, NameResolutionError)):
            return True
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), *e.args]
    return False


class _Retry(Exception):
    pass


class _Fatal(Exception):
    pass


@dataclass(frozen=True)
class _Budget:
    """Limits of one download: most bytes, exact size (or None), and the monotonic deadline."""

    limit: int
    size: int | None
    deadline: float


def _open_for_write(path: Path, mode: str) -> BinaryIO:
    """Open a download's ``.part`` (a seam for tests that simulate a full disk)."""
    return open(path, mode)  # noqa: SIM115


def _download_once(requests, url: str, part: Path, progress: bool | None, budget: _Budget) -> _Reported:
    have = part.stat().st_size if part.exists() else 0
    if have > budget.limit:
        part.unlink()
        have = 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    with requests.get(url, stream=True, timeout=_timeouts(), headers=headers) as r:
        if r.status_code >= 500 or r.status_code == 429:
            raise _Retry(f"HTTP {r.status_code}")
        if r.status_code == 416:  # range past the end: start over
            part.unlink(missing_ok=True)
            raise _Retry("HTTP 416, restarting")
        if r.status_code >= 400:
            raise _Fatal(f"{url}: HTTP {r.status_code} {r.reason}; check the URL and ZOO_REPO_URL")
        if not (have and r.status_code == 206 and _range_start(r) == have):
            have = 0
        length = r.headers.get("Content-Length")
        total = int(length) + have if length and length.isdigit() else None
        if total is not None and (total > budget.limit or (budget.size and total != budget.size)):
            raise _Fatal(_size_message(url, total, budget.limit, budget.size))
        with _open_for_write(part, "ab" if have else "wb") as f, _progress_bar(total, have, part.name, progress) as bar:
            for chunk in _chunks(r, url, budget):
                have += len(chunk)
                if have > budget.limit:
                    raise _Fatal(_size_message(url, have, budget.limit, budget.size))
                f.write(chunk)
                bar.update(len(chunk))
        if total is not None and have < total:
            raise _Retry(f"body ended early ({have} of {total} bytes)")
        if budget.size and have != budget.size:
            raise _Fatal(_size_message(url, have, budget.limit, budget.size))
        return _reported(r)


def _reported(r) -> _Reported:
    """The digest and commit an answer (or the redirect before it, where the Hub puts them) reports."""
    for answer in (*r.history, r):
        digest = hf_files.reported_digest(answer.headers)
        if digest:
            return _Reported(digest, answer.headers.get("X-Repo-Commit", ""))
    return _Reported(commit=r.headers.get("X-Repo-Commit", ""))


def _range_start(r) -> int | None:
    """First byte of a 206 answer's ``Content-Range`` (``bytes START-END/TOTAL``)."""
    match = re.match(r"bytes (\d+)-", r.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _chunks(r, url: str, budget: _Budget) -> Iterator[bytes]:
    """The body as it arrives (each read returns what the socket has), cut at the deadline."""
    import urllib3

    while True:
        if time.monotonic() > budget.deadline:
            raise _Fatal(
                f"{url}: the download did not finish within ZOO_DOWNLOAD_DEADLINE "
                f"({_env_number('ZOO_DOWNLOAD_DEADLINE', DEFAULT_DOWNLOAD_DEADLINE):g} s); the server is too slow"
            )
        try:
            chunk = r.raw.read1(1 << 16, decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as err:  # a dropped or stalled connection
            raise _Retry(_short(err)) from None
        if not chunk:
            return
        yield chunk


def _progress_bar(total: int | None, initial: int, desc: str, progress: bool | None):
    from tqdm.auto import tqdm

    if progress is None:
        progress = sys.stderr.isatty() and os.environ.get("ZOO_QUIET", "") != "1"
    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, desc=desc, disable=not progress, leave=False)


def safe_extract_single(archive: str | os.PathLike, out_dir: str | os.PathLike, max_bytes: int | None = None) -> Path:
    """Extract the one weights file of a zip archive, refusing anything unsafe.

    Rejects absolute paths, ``..`` components, symbolic links, archives that do not hold
    exactly one weights file (``.params``/``.pth``/``.safetensors``/...), and a member larger than
    ``max_bytes`` (default ``ZOO_MAX_DOWNLOAD_BYTES``): extraction stops at the limit, whatever
    the archive declares.  Returns its path.
    """
    out_dir = Path(out_dir)
    limit = max_bytes or _size_limit(None)
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
        too_big = UnsafeArchiveError(
            f"{archive}: {member.filename!r} expands past {limit} bytes, the extraction limit; refusing it "
            "(raise ZOO_MAX_DOWNLOAD_BYTES if it is really that large)"
        )
        if member.file_size > limit:
            raise too_big
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / check_file_name(Path(member.filename).name, "archive member")
        try:
            _copy_limited(zf, member, target, limit)
        except OverflowError:
            target.unlink(missing_ok=True)
            raise too_big from None
        except OSError as err:
            target.unlink(missing_ok=True)
            if err.errno == errno.ENOSPC:
                raise _disk_full(target) from None
            raise
    return target


def _copy_limited(zf: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, limit: int) -> None:
    """Copy one member, raising OverflowError as soon as more than ``limit`` bytes came out."""
    written = 0
    with zf.open(member) as src, open(target, "wb") as dst:
        while block := src.read(1 << 20):
            written += len(block)
            if written > limit:
                raise OverflowError
            dst.write(block)


@dataclass(frozen=True)
class CachedFile:
    path: Path
    size: int
    partial: bool = False

    @property
    def name(self) -> str:
        return self.path.name


def list_cache(partial: bool = False) -> list[CachedFile]:
    """Weights files in the cache (downloaded and converted), with their sizes in bytes.

    ``partial=True`` adds the ``.part`` files of unfinished downloads (resumed by the next fetch).
    """
    out = []
    for sub in ("weights", "converted"):
        folder = zoo_home() / sub
        if not folder.is_dir():
            continue
        for p in sorted(folder.iterdir()):
            is_part = p.name.endswith(PART_SUFFIX)
            if p.is_file() and not p.name.startswith(".") and (partial or not is_part):
                out.append(CachedFile(p, p.stat().st_size, is_part))
    return out


def purge(name: str | None = None) -> list[Path]:
    """Delete cached files, partial downloads included (all, or one model name's); returns them.

    Each file is deleted under the same per-file lock that loading takes, so a purge never
    pulls a file from under a process that is checking it.
    """
    removed = []
    for item in list_cache(partial=True):
        if name is not None and pins.model_of_file(item.name) != name:
            continue
        file = item.name[: -len(PART_SUFFIX)] if item.partial else item.name
        file = file[: -len(".zip")] if item.partial and file.endswith(".zip") else file
        with _file_lock(file):
            item.path.unlink(missing_ok=True)
            _stamp_path(item.path).unlink(missing_ok=True)
        removed.append(item.path)
    if name is None:  # temporary folders of processes killed by an older zoo
        for leftover in cache_dir().glob(".tmp-*") if cache_dir().is_dir() else []:
            shutil.rmtree(leftover, ignore_errors=True)
    return removed


def lock_cached(out: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Pin every weights file in the cache into the lock file ``out``; returns the entries written."""
    entries = {
        item.name: {"sha256": sha256sum(item.path), "revision": "", "source": "", "model": pins.model_of_file(item.name)}
        for item in list_cache()
        if item.path.parent == cache_dir()
    }
    pins.update(Path(out), entries)
    return entries
