"""The hub as an attacker or an unlucky user meets it: hostile names, endless or dripping servers,
zip bombs, failed publishes, killed downloads, full disks, read-only caches, changed files."""
from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch

import zoo
from zoo import hub, pins
from zoo.manifest import ManifestError

from _http import FaultyServer

PAYLOAD = os.urandom(300_000)
SHA1 = hashlib.sha1(PAYLOAD).hexdigest()
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()
FILE = f"blob-{SHA1[:8]}.bin"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(monkeypatch):
    with FaultyServer({"/" + FILE: PAYLOAD}) as srv:
        monkeypatch.setenv("ZOO_REPO_URL", srv.url)
        monkeypatch.setenv("ZOO_RETRIES", "3")
        yield srv


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


# --- path safety -------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["../../x.pth", "/tmp/zoo-abs/x.pth", "sub/x.pth", "..\\x.pth", "C:x.pth", "..", ".x.pth"])
def test_hostile_file_names_plant_nothing(bad, tmp_path, zoo_home, monkeypatch):
    """A manifest or card naming a path (with the right sha1 of the served bytes) writes nowhere."""
    with FaultyServer({"/payload": PAYLOAD}) as srv:
        manifest = tmp_path / "manifest.json"
        manifest.write_text(json.dumps({"models": [{"name": "evil", "arch": "simple3d_synthetic", "weights": [
            {"sha1": SHA1, "file": bad, "url": srv.url + "payload"}]}]}))
        before = _files_under(tmp_path.parent)
        with pytest.raises(ManifestError, match="plain file name"):
            zoo.register_manifest(manifest)
        with pytest.raises(hub.UnsafePathError, match="plain file name"):
            hub.fetch(bad, SHA1, url=srv.url + "payload")
        assert srv.requests == [], "nothing is downloaded for a hostile name"
    assert _files_under(tmp_path.parent) == before
    assert not Path("/tmp/zoo-abs/x.pth").exists()


def test_cache_entry_linking_outside_is_refused(tmp_path, server):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"keep me")
    hub.cache_dir().mkdir(parents=True)
    (hub.cache_dir() / FILE).symlink_to(outside)
    with pytest.raises(hub.UnsafePathError, match="outside"):
        hub.fetch(FILE, SHA1)
    assert outside.read_bytes() == b"keep me" and server.requests == []


# --- size limits and deadline -----------------------------------------------------------------


def test_stream_without_length_is_cut_at_the_limit(server, monkeypatch):
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", "1000000")
    server.faults["/" + FILE] = ["endless"]
    t0 = time.monotonic()
    with pytest.raises(hub.DownloadError, match="ZOO_MAX_DOWNLOAD_BYTES") as err:
        hub.fetch(FILE, SHA1)
    assert time.monotonic() - t0 < 20 and "\n" not in str(err.value)
    assert all(p.stat().st_size <= 1_000_000 for p in _files_under(hub.zoo_home())), "nothing past the limit stays"
    assert not (hub.cache_dir() / (FILE + ".part")).exists()


def test_known_size_is_exact(server):
    with pytest.raises(hub.DownloadError, match=f"{len(PAYLOAD)} bytes where {len(PAYLOAD) - 1} were expected"):
        hub.fetch(FILE, SHA1, size=len(PAYLOAD) - 1)
    server.faults["/" + FILE] = ["endless"]  # no Content-Length: cut at the known size + 1
    with pytest.raises(hub.DownloadError, match="were expected"):
        hub.fetch(FILE, SHA1, size=len(PAYLOAD))
    assert hub.fetch(FILE, SHA1, size=len(PAYLOAD)).read_bytes() == PAYLOAD


def test_slow_drip_is_cut_by_the_deadline(server, monkeypatch):
    monkeypatch.setenv("ZOO_DOWNLOAD_DEADLINE", "1")
    monkeypatch.setenv("ZOO_TIMEOUT", "5")  # every piece arrives well within the read timeout
    server.slow_seconds = 8
    server.faults["/" + FILE] = ["drip"]
    t0 = time.monotonic()
    with pytest.raises(hub.DownloadError, match="ZOO_DOWNLOAD_DEADLINE"):
        hub.fetch(FILE, SHA1)
    assert time.monotonic() - t0 < 4


def _zip_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return buf.getvalue()


def test_zip_bomb_is_stopped_before_it_is_written(tmp_path, monkeypatch):
    bomb = _zip_of("net-0123abcd.params", bytes(50 * 2**20))
    assert len(bomb) < 2**20
    archive = tmp_path / "bomb.zip"
    archive.write_bytes(bomb)
    with pytest.raises(hub.UnsafeArchiveError, match="extraction limit"):
        hub.safe_extract_single(archive, tmp_path / "out", max_bytes=2**20)
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    # through fetch, with the default limit lowered
    monkeypatch.setenv("ZOO_MAX_DOWNLOAD_BYTES", str(2**20))
    with FaultyServer({"/net-0123abcd.zip": bomb}) as srv:
        with pytest.raises(hub.UnsafeArchiveError, match="extraction limit"):
            hub.fetch("net-0123abcd.params", "0" * 40, url=srv.url + "net-0123abcd.zip")
    assert sum(p.stat().st_size for p in _files_under(hub.zoo_home())) < 2**20


# --- publish ---------------------------------------------------------------------------------


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mode) for p in _files_under(folder)}


def test_failed_publish_leaves_the_hub_as_it_was(tmp_path, monkeypatch):
    net = zoo.get_model("simple3d_synthetic")
    hub_dir = tmp_path / "hub"
    zoo.publish(net, "team_net", "simple3d_synthetic", hub_dir=hub_dir)
    before = _snapshot(tmp_path)
    other = zoo.get_model("simple2d_synthetic").state_dict()
    failures = [
        (dict(name="simple2d_synthetic", arch="simple3d_synthetic"), "built-in"),
        (dict(name="../../escaped", arch="simple3d_synthetic"), "letters, digits"),
        (dict(name="ok_name", arch="no_such_arch"), "no_such_arch"),
    ]
    for kwargs, message in failures:
        with pytest.raises((ManifestError, KeyError), match=message):
            zoo.publish(net, hub_dir=hub_dir, **kwargs)
        assert _snapshot(tmp_path) == before, kwargs
    with pytest.raises(zoo.WeightsError, match="do not fit"):
        zoo.publish(other, "ok_name", "simple3d_synthetic", hub_dir=hub_dir)
    assert _snapshot(tmp_path) == before
    monkeypatch.setattr("zoo.manifest._update_manifest", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left")))
    with pytest.raises(OSError):
        zoo.publish(zoo.get_model("simple3d_synthetic"), "new_net", "simple3d_synthetic", hub_dir=hub_dir)
    assert _snapshot(tmp_path) == before, "a manifest write that fails takes its new file back"
    assert "team_net" in zoo.get_model_list("team_*"), "the hub still works"


@pytest.mark.parametrize("mask,mode", [(0o022, 0o644), (0o002, 0o664)])
def test_published_files_get_the_umask(tmp_path, mask, mode):
    old = os.umask(mask)
    try:
        entry = zoo.publish(zoo.get_model("simple3d_synthetic"), "shared_net", "simple3d_synthetic", hub_dir=tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / entry.file).stat().st_mode & 0o777 == mode
    assert (tmp_path / "manifest.json").stat().st_mode & 0o777 == mode


def test_readme_hub_sequence_finds_files_beside_the_manifest(tmp_path, monkeypatch):
    """publish(..., hub_dir="hub/"), register_manifest("hub/manifest.json"), get_model(..., pretrained=True)."""
    monkeypatch.chdir(tmp_path)
    net = zoo.get_model("simple3d_synthetic").eval()
    zoo.publish(net, "my_model", arch="simple3d_synthetic", hub_dir="hub/")
    zoo.register_manifest("hub/manifest.json")
    loaded = zoo.get_model("my_model", pretrained=True).eval()
    x = torch.randn(1, 3, 8, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), net(x))
    assert (hub.cache_dir() / zoo.model_card("my_model").default_weights().file).is_file()


def test_manifest_elsewhere_points_at_the_hub_folder(tmp_path):
    net = zoo.get_model("simple3d_synthetic").eval()
    entry = zoo.publish(net, "far_net", "simple3d_synthetic", hub_dir=tmp_path / "files", manifest=tmp_path / "m" / "manifest.json")
    assert zoo.model_card("far_net").default_weights().url == f"../files/{entry.file}"
    assert torch.equal(zoo.get_model("far_net", pretrained=True).state_dict()["fc.weight"], net.state_dict()["fc.weight"])


# --- killed downloads, purge, full disk ------------------------------------------------------


def test_download_killed_by_sigkill_is_resumed_by_a_new_process(server, zoo_home):
    server.faults["/" + FILE] = ["drip"]
    server.slow_seconds = 30
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_HOME": str(zoo_home), "ZOO_REPO_URL": server.url}
    child = subprocess.Popen([sys.executable, "-c", f"from zoo import hub; hub.fetch({FILE!r}, {SHA1!r})"], env=env)
    part = hub.cache_dir() / (FILE + ".part")
    deadline = time.monotonic() + 60
    while not (part.exists() and part.stat().st_size >= 640) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    have = part.stat().st_size
    assert 0 < have < len(PAYLOAD)
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD
    assert server.requests[-1] == ("/" + FILE, f"bytes={have}-"), "the new process resumes where the killed one stopped"
    assert not part.exists()


def test_bad_resume_restarts_cleanly(server):
    part = hub.cache_dir() / (FILE + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(os.urandom(1000))  # not the file's first bytes
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == ["bytes=1000-", None]


def test_cache_shows_and_purge_removes_partial_downloads(server, capsys):
    from zoo.cli import main

    part = hub.cache_dir() / (FILE + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(PAYLOAD[:1000])
    assert main(["cache"]) == 0
    out = capsys.readouterr().out
    assert f"{FILE}.part  (partial download" in out and "1 partial" in out
    assert main(["cache", "--purge"]) == 0
    assert not part.exists()


def test_purge_during_loads_does_not_fail_them(tmp_path, monkeypatch):
    import zoo.weights

    net = zoo.get_model("simple3d_synthetic")
    zoo.publish(net, "busy_net", "simple3d_synthetic", hub_dir=tmp_path / "hub")
    real_read = zoo.weights.read_weights
    purged = []

    def purge_first(path, fmt=None):  # another process purges between the fetch and the read
        if not purged:
            purged.extend(hub.purge("busy_net"))
        return real_read(path, fmt)

    monkeypatch.setattr(zoo.weights, "read_weights", purge_first)
    assert torch.equal(zoo.get_model("busy_net", pretrained=True).state_dict()["fc.weight"], net.state_dict()["fc.weight"])
    assert purged, "the purge ran during the load"
    monkeypatch.setattr(zoo.weights, "read_weights", real_read)
    stop = threading.Event()

    def purge_forever():
        while not stop.is_set():
            hub.purge("busy_net")

    purger = threading.Thread(target=purge_forever)
    purger.start()
    try:
        for _ in range(15):
            assert torch.equal(zoo.get_model("busy_net", pretrained=True).state_dict()["fc.weight"], net.state_dict()["fc.weight"])
    finally:
        stop.set()
        purger.join()


def test_disk_full_says_so_in_one_line(server, monkeypatch):
    class FullDisk(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hub, "_open_for_write", lambda path, mode: FullDisk())
    with pytest.raises(hub.DownloadError, match="disk full") as err:
        hub.fetch(FILE, SHA1)
    assert "\n" not in str(err.value) and not (hub.cache_dir() / (FILE + ".part")).exists()


# --- a read-only shared cache ----------------------------------------------------------------


def _make_read_only(home: Path, monkeypatch) -> None:
    """chmod the cache read-only; root ignores modes, so writes under it also fail with EROFS."""
    for p in [home, *home.rglob("*")]:
        if p.is_dir():
            p.chmod(0o555)
    real_open = os.open

    def no_write(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(home) in os.fspath(path):
            raise OSError(errno.EROFS, "Read-only file system", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    real_mkdir = Path.mkdir

    def no_mkdir(self, *args, **kwargs):
        if str(home) in str(self) and not self.is_dir():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", no_write)
    monkeypatch.setattr(Path, "mkdir", no_mkdir)


def test_read_only_cache_serves_valid_files(server, zoo_home, monkeypatch):
    path = hub.fetch(FILE, SHA1)
    hub._stamp_path(path).unlink()  # a valid file without its stamp, as another user may leave it
    try:
        _make_read_only(zoo_home, monkeypatch)
        assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD
        assert not hub._stamp_path(path).exists(), "no stamp is written"
        with pytest.raises(hub.DownloadError, match="read-only") as err:
            hub.fetch("other-0123abcd.bin", "0" * 40)
        assert "\n" not in str(err.value)
    finally:
        monkeypatch.undo()
        for p in [zoo_home, *zoo_home.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
    assert server.count("/" + FILE) == 1


# --- pins ------------------------------------------------------------------------------------


def test_lock_file_refuses_a_file_that_changed_between_downloads(server, tmp_path, monkeypatch):
    lock = tmp_path / "zoo.lock"
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    assert hub.fetch(FILE, "").read_bytes() == PAYLOAD  # a source that publishes no hash
    assert pins.read_lock(lock)[FILE]["sha256"] == SHA256 and pins.read_lock(lock)[FILE]["revision"] == ""
    server.files["/" + FILE] = os.urandom(300_000)  # the server now holds other bytes
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "other_machine"))
    with pytest.raises(hub.ChecksumError, match="zoo.lock") as err:
        hub.fetch(FILE, "")
    assert SHA256 in str(err.value)
    assert not _files_under(hub.cache_dir()), "refused bytes are not kept"


def test_prefix_only_entry_records_its_full_sha256(server, tmp_path, monkeypatch):
    lock = tmp_path / "zoo.lock"
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    hub.fetch(FILE, f"sha1:{SHA1[:8]}")
    assert pins.read_lock(lock)[FILE]["sha256"] == SHA256


def test_cached_file_is_checked_against_a_new_pin(server, tmp_path, monkeypatch):
    hub.fetch(FILE, SHA1)
    lock = tmp_path / "zoo.lock"
    pins.record(FILE, "0" * 64, path=lock)
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    with pytest.raises(hub.ChecksumError, match="differs from the pin"):
        hub.fetch(FILE, SHA1)


def test_zoo_lock_command_pins_and_enforces(tmp_path, monkeypatch, capsys):
    from zoo.cli import main

    net = zoo.get_model("simple3d_synthetic")
    entry = zoo.publish(net, "pinned_net", "simple3d_synthetic", hub_dir=tmp_path / "hub")
    monkeypatch.setenv("ZOO_MANIFEST", str(tmp_path / "hub" / "manifest.json"))
    lock = tmp_path / "project.lock"
    assert main(["lock", "pinned_net", "-o", str(lock), "-q"]) == 0
    assert "pinned 1 file(s)" in capsys.readouterr().out
    pinned = pins.read_lock(lock)[entry.file]
    assert pinned["sha256"] == hub.sha256sum(tmp_path / "hub" / entry.file) and pinned["model"] == "pinned_net"
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    assert zoo.get_model("pinned_net", pretrained=True) is not None
    data = json.loads(lock.read_text())
    data["files"][entry.file]["sha256"] = "f" * 64
    lock.write_text(json.dumps(data))
    with pytest.raises(hub.ChecksumError, match="project.lock"):
        zoo.get_model("pinned_net", pretrained=True)


# --- misleading errors -----------------------------------------------------------------------


def test_redirect_loop_is_one_line_with_the_url(server):
    server.redirects["/loop.bin"] = "/loop.bin"
    with pytest.raises(hub.DownloadError, match="redirect") as err:
        hub.fetch("loop-0123abcd.bin", "0" * 40, url=server.url + "loop.bin")
    assert server.url + "loop.bin" in str(err.value) and "\n" not in str(err.value)


def test_unresolvable_host_fails_fast_without_retries(monkeypatch, caplog):
    import socket

    calls = []

    def no_dns(*args, **kwargs):
        calls.append(args[0])
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    t0 = time.monotonic()
    with pytest.raises(hub.DownloadError, match="cannot resolve host 'weights.example'.*ZOO_OFFLINE"):
        hub.fetch(FILE, SHA1, url="https://weights.example/" + FILE)
    assert time.monotonic() - t0 < 2 and len(calls) == 1, "a DNS failure is not retried"
    assert "attempt" not in caplog.text


def test_three_hex_tag_is_refused():
    card = zoo.model_card("i3d_resnet50_v1_hmdb51")
    with pytest.raises(KeyError, match="4 or more hex"):
        card.find_weights(card.default_weights().tag[:3])
    assert card.find_weights(card.default_weights().tag[:4]) == card.default_weights()


def test_manifest_served_over_http_finds_its_files_beside_it(tmp_path):
    net = zoo.get_model("simple3d_synthetic").eval()
    entry = zoo.publish(net, "remote_net", "simple3d_synthetic", hub_dir=tmp_path / "hub")
    served = {f"/team/{p.name}": p.read_bytes() for p in (tmp_path / "hub").iterdir()}
    with FaultyServer(served) as srv:
        assert zoo.register_manifest(srv.url + "team/manifest.json") == ["remote_net"]
        loaded = zoo.get_model("remote_net", pretrained=True)
        assert srv.count(f"/team/{entry.file}") == 1
    assert torch.equal(loaded.state_dict()["fc.weight"], net.state_dict()["fc.weight"])


def test_manifest_list_keeps_urls_whole():
    from zoo.manifest import _split_manifest_list

    value = os.pathsep.join(["a/manifest.json", "http://127.0.0.1:8000/team/manifest.json", "https://h/m.yaml"])
    assert _split_manifest_list(value) == ["a/manifest.json", "http://127.0.0.1:8000/team/manifest.json", "https://h/m.yaml"]
