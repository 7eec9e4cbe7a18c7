"""The weight hub against a loopback HTTP server with injected faults."""
from __future__ import annotations

import hashlib
import io
import json
import multiprocessing as mp
import os
import pickle
import stat
import zipfile
from pathlib import Path

import pytest
import torch

import zoo
from zoo import hub
from zoo.weights import WeightsError, read_weights

from _http import FaultyServer

PAYLOAD = os.urandom(300_000)
SHA1 = hashlib.sha1(PAYLOAD).hexdigest()
FILE = f"blob-{SHA1[:8]}.bin"


@pytest.fixture
def server(monkeypatch):
    with FaultyServer({"/" + FILE: PAYLOAD}) as srv:
        monkeypatch.setenv("ZOO_REPO_URL", srv.url)
        monkeypatch.setenv("ZOO_RETRIES", "3")
        yield srv


def test_fetch_downloads_verifies_and_caches(server):
    path = hub.fetch(FILE, SHA1)
    assert path.read_bytes() == PAYLOAD
    assert path == hub.cache_dir() / FILE
    hub.fetch(FILE, SHA1)
    assert server.count("/" + FILE) == 1, "a verified cached file must not be downloaded again"


def test_dropped_connection_resumes_with_range(server):
    server.faults["/" + FILE] = ["drop"]
    path = hub.fetch(FILE, SHA1)
    assert path.read_bytes() == PAYLOAD
    ranges = [r for p, r in server.requests if p == "/" + FILE]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert int(ranges[1].split("=")[1].rstrip("-")) > 0, "the second request must resume, not restart"


def test_http_500_is_retried(server):
    server.faults["/" + FILE] = ["500", "500"]
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD
    assert server.count("/" + FILE) == 3


def test_persistent_500_fails_clearly(server):
    server.faults["/" + FILE] = ["500"] * 5
    with pytest.raises(hub.DownloadError, match="after 3 attempts"):
        hub.fetch(FILE, SHA1)
    assert not (hub.cache_dir() / FILE).exists()


def test_wrong_bytes_give_clear_error_and_leave_nothing(server):
    server.faults["/" + FILE] = ["corrupt"]
    with pytest.raises(hub.ChecksumError) as err:
        hub.fetch(FILE, SHA1)
    assert SHA1 in str(err.value) and "expected" in str(err.value) and "got" in str(err.value)
    leftovers = [p for p in hub.cache_dir().rglob("*") if p.is_file()]
    assert leftovers == [], f"nothing may stay in the cache: {leftovers}"


def test_slow_server_times_out_instead_of_hanging(server, monkeypatch):
    monkeypatch.setenv("ZOO_TIMEOUT", "0.5")
    monkeypatch.setenv("ZOO_RETRIES", "2")
    server.slow_seconds = 3
    server.faults["/" + FILE] = ["slow", "slow"]
    import time

    t0 = time.monotonic()
    with pytest.raises(hub.DownloadError, match="(?i)timed out|timeout"):
        hub.fetch(FILE, SHA1)
    assert time.monotonic() - t0 < 6


def test_404_is_not_retried(server):
    with pytest.raises(hub.DownloadError, match="404"):
        hub.fetch("missing-0123abcd.bin", "0" * 40)
    assert server.count("/missing-0123abcd.bin") == 1


def test_corrupt_cache_file_is_fetched_again(server):
    path = hub.fetch(FILE, SHA1)
    path.write_bytes(b"garbage")
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD
    assert server.count("/" + FILE) == 2


def test_offline_mode_opens_no_connection(server, monkeypatch):
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    with pytest.raises(hub.OfflineError, match="ZOO_OFFLINE"):
        hub.fetch(FILE, SHA1)
    assert server.requests == []
    monkeypatch.delenv("ZOO_OFFLINE")
    hub.fetch(FILE, SHA1)
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD, "cached files work offline"
    assert server.count("/" + FILE) == 1


def test_file_url_repo(tmp_path, monkeypatch):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / FILE).write_bytes(PAYLOAD)
    monkeypatch.setenv("ZOO_REPO_URL", repo.as_uri())
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD


def _zip_bytes(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


def test_zip_archive_is_extracted_and_checked(tmp_path, monkeypatch):
    params = f"net-{SHA1[:8]}.params"
    with FaultyServer({f"/gluon/models/net-{SHA1[:8]}.zip": _zip_bytes({params: PAYLOAD})}) as srv:
        path = hub.fetch(params, SHA1, url=srv.url + f"gluon/models/net-{SHA1[:8]}.zip")
    assert path.name == params and path.read_bytes() == PAYLOAD
    assert not list(hub.cache_dir().glob("*.zip")), "the archive is not kept"


@pytest.mark.parametrize("entries,symlink", [({"../evil.params": PAYLOAD}, None), ({"/abs/evil.params": PAYLOAD}, None), ({}, "link.params"), ({"a.params": PAYLOAD, "b.params": PAYLOAD}, None)])
def test_unsafe_zip_is_rejected(tmp_path, entries, symlink):
    archive = tmp_path / "x.zip"
    archive.write_bytes(_zip_bytes(entries, symlink))
    out = tmp_path / "out"
    with pytest.raises(hub.UnsafeArchiveError):
        hub.safe_extract_single(archive, out)
    assert not (tmp_path / "evil.params").exists()
    assert not out.exists() or not any(out.iterdir())


class _RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_malicious_pth_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"fc.weight": _RunsCode(marker)}, f)
    with pytest.raises(WeightsError, match="weights_only"):
        read_weights(evil)
    assert not marker.exists(), "the pickle's code must never run"
    # and through get_model
    with pytest.raises(WeightsError):
        zoo.get_model("simple3d_synthetic", pretrained=str(evil))
    assert not marker.exists()


def _load_in_process(args):
    home, repo, name, q = args
    os.environ["ZOO_HOME"] = home
    os.environ["ZOO_REPO_URL"] = repo
    os.environ["ZOO_MANIFEST"] = str(Path(home) / "hub" / "manifest.json")
    import zoo as z

    model = z.get_model(name, pretrained=True).eval()
    x = torch.linspace(-1, 1, 2 * 3 * 8 * 32 * 32).reshape(2, 3, 8, 32, 32)
    with torch.no_grad():
        return model(x).numpy().tobytes()


def test_four_processes_download_once(zoo_home, tmp_path):
    net = zoo.get_model("simple3d_synthetic").eval()
    entry = zoo.publish(net, "proc_net", "simple3d_synthetic")
    served = {"/" + entry.file: (zoo_home / "hub" / entry.file).read_bytes()}
    x = torch.linspace(-1, 1, 2 * 3 * 8 * 32 * 32).reshape(2, 3, 8, 32, 32)
    with torch.no_grad():
        expected = net(x).numpy().tobytes()
    with FaultyServer(served) as srv:
        ctx = mp.get_context("spawn")
        with ctx.Pool(4) as pool:
            outs = pool.map(_load_in_process, [(str(zoo_home), srv.url, "proc_net", None)] * 4)
        assert srv.count("/" + entry.file) == 1, "concurrent processes must download the file once"
    assert all(o == expected for o in outs), "all four processes get the same correct model"


def test_list_and_purge_cache(server):
    hub.fetch(FILE, SHA1)
    items = hub.list_cache()
    assert [i.name for i in items] == [FILE] and items[0].size == len(PAYLOAD)
    assert hub.purge("other") == []
    assert hub.purge("blob") == [hub.cache_dir() / FILE]
    assert hub.list_cache() == []


def test_publish_writes_hash_named_file_and_manifest(zoo_home, tmp_path):
    net = zoo.get_model("simple3d_synthetic")
    hub_dir = tmp_path / "myhub"
    entry = zoo.publish(net, "my_net", "simple3d_synthetic", hub_dir=hub_dir)
    file = hub_dir / entry.file
    assert file.exists() and entry.file == f"my_net-{hub.sha1sum(file)[:8]}.safetensors"
    manifest = json.loads((hub_dir / "manifest.json").read_text())
    assert manifest["models"][0]["name"] == "my_net" and manifest["models"][0]["weights"][0]["sha1"] == hub.sha1sum(file)
    # same weights, same bytes, same name
    again = zoo.publish(net, "my_net", "simple3d_synthetic", hub_dir=hub_dir)
    assert again.file == entry.file


def test_prefix_only_sha1_is_checked_by_prefix_and_logged(server, caplog):
    """GluonCV's alternate hashtags publish only sha1[:8]: the file must match that prefix."""
    import logging

    with caplog.at_level(logging.WARNING, logger="zoo.hub"):
        path = hub.fetch(FILE, f"sha1:{SHA1[:8]}")
    assert path.read_bytes() == PAYLOAD and SHA1 in caplog.text, "the full digest is logged to be recorded"
    hub.purge()
    with pytest.raises(hub.ChecksumError):
        hub.fetch(FILE, "sha1:00000000")
    assert not (hub.cache_dir() / FILE).exists()


def test_gluoncv_alternate_tags_are_selectable():
    card = zoo.model_card("i3d_resnet50_v1_hmdb51")
    alt = card.find_weights("0d0ad559")
    assert alt.checksum == "sha1:0d0ad559" and not alt.default and alt.accuracy.top1 == 48.5
    assert card.default_weights().tag == "2ec6bf01"


def test_verified_file_is_not_rehashed_until_it_changes(server, monkeypatch):
    path = hub.fetch(FILE, SHA1)
    calls = []
    original = hub.sha1sum
    monkeypatch.setattr(hub, "sha1sum", lambda p, *a: calls.append(p) or original(p, *a))
    hub.fetch(FILE, SHA1)
    assert calls == [], "an unchanged verified file is not hashed again"
    path.write_bytes(PAYLOAD[:-1] + bytes([PAYLOAD[-1] ^ 1]))  # same size, new mtime, wrong bytes
    assert hub.fetch(FILE, SHA1).read_bytes() == PAYLOAD and calls, "a changed file is checked again"
