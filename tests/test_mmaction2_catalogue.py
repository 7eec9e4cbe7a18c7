"""mmaction2's checkpoints in the catalogue: their entries, and their SHA-256 prefixes checked against served files.

mmaction2 names each file ``<config>_<date>-<sha256[:8]>.pth`` (its ``publish_model.py``).  Every
entry must be checked by that prefix; a loopback server (``tests/_http.py``) serves a checkpoint in
mmaction2's format under the repo's layout, and the hub must accept the file whose SHA-256 starts
with the prefix, record its full digest on first download (``ZOO_LOCK``), and refuse any other bytes.
"""
from __future__ import annotations

import hashlib
import io
import re

import pytest
import torch

import zoo
from zoo import hub, pins
from zoo.models._mmaction2 import mmaction2_file
from zoo.registry import all_cards

from _http import FaultyServer

BASE = "https://download.openmmlab.com/mmaction/"


def _mmaction2_entries():
    return [(card, w) for card in all_cards() for w in card.weights if w.repo == "mmaction2"]


def test_every_entry_is_checked_by_its_file_names_sha256_prefix():
    entries = _mmaction2_entries()
    assert len(entries) >= 29
    files = [w.file for _, w in entries]
    assert len(set(files)) == len(files), "one name per published file"
    for card, w in entries:
        prefix = re.fullmatch(r".+_\d{8}-([0-9a-f]{8})\.pth", w.file).group(1)
        assert w.checksum == f"sha256:{prefix}" and w.sha1 == "", card.name
        assert hub.resolve_url(w.url, w.repo, w.file) == f"{BASE}{w.url}" and w.url.endswith("/" + w.file), card.name
        assert w.license.startswith("Apache-2.0")
        if w.accuracy is None:  # mmaction2 publishes no accuracy for a few pretraining files
            assert "No accuracy is published" in card.description, card.name
        else:
            assert w.accuracy.top1 and w.accuracy.protocol.startswith("mmaction2 test"), card.name
        assert card.source.startswith("mmaction2 1.2.0, configs/recognition/"), card.name


def _checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"state_dict": {"cls_head.fc_cls.weight": torch.arange(6.0).reshape(2, 3)}, "meta": {}}, buffer)
    return buffer.getvalue()


@pytest.fixture
def served(monkeypatch, tmp_path):
    """A checkpoint served under mmaction2's layout; ZOO_LOCK records first downloads."""
    payload = _checkpoint_bytes()
    digest = hashlib.sha256(payload).hexdigest()
    folder = "v1.0/recognition/tsn/tsn_served-config"
    good = f"tsn_served-config_20990101-{digest[:8]}.pth"
    bad_prefix = f"{int(digest[:8], 16) ^ 1:08x}"
    bad = f"tsn_served-config_20990101-{bad_prefix}.pth"
    files = {f"/{folder}/{good}": payload, f"/{folder}/{bad}": payload}
    with FaultyServer(files) as srv:
        monkeypatch.setenv("ZOO_REPO_URL_MMACTION2", srv.url)
        monkeypatch.setenv("ZOO_LOCK", str(tmp_path / "zoo.lock"))
        yield srv, folder, good, bad, digest, payload


def test_a_served_file_is_accepted_by_its_prefix_and_its_full_digest_recorded(served):
    srv, folder, good, _, digest, payload = served
    entry = mmaction2_file(f"{BASE}{folder}/{good}", 1.0, 2.0, converter=None, config="tsn/x.py", protocol="mmaction2 test")
    assert entry.checksum == f"sha256:{digest[:8]}"
    path = hub.fetch(entry.file, entry.checksum, entry.url, entry.repo)
    assert path.read_bytes() == payload and srv.count(f"/{folder}/{good}") == 1
    assert pins.pinned_sha256(entry.file) == digest, "the full SHA-256 is recorded on first download"


def test_a_file_whose_sha256_does_not_start_with_the_names_prefix_is_refused(served):
    _, folder, _, bad, _, _ = served
    entry = mmaction2_file(f"{BASE}{folder}/{bad}", 1.0, 2.0, converter=None, config="tsn/x.py", protocol="mmaction2 test")
    with pytest.raises(hub.ChecksumError):
        hub.fetch(entry.file, entry.checksum, entry.url, entry.repo)
    assert not hub.cache_path(entry.file).exists(), "refused bytes are not kept"


def test_a_registered_name_refuses_other_bytes_at_its_url(monkeypatch):
    """The real entries are wired to the check: wrong bytes at a card's URL never load."""
    card = zoo.model_card("tsn_resnet50_seg3_kinetics400")
    entry = card.default_weights()
    with FaultyServer({"/" + entry.url: _checkpoint_bytes()}) as srv:
        monkeypatch.setenv("ZOO_REPO_URL_MMACTION2", srv.url)
        with pytest.raises(hub.ChecksumError):
            zoo.get_model(card.name, pretrained=True)
        assert srv.count("/" + entry.url) >= 1


def test_the_docs_page_lists_every_mmaction2_name():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "model_zoo" / "mmaction2.rst").read_text()
    listed = set(re.findall(r"\* - ``([a-z0-9_]+)``", page))
    names = {card.name for card, _ in _mmaction2_entries()}
    assert listed == names, f"not on the page: {sorted(names - listed)}; not registered: {sorted(listed - names)}"


#: Metafile URLs with no name of their own, and why (each card that follows another source says so).
METAFILE_URLS_LEFT_OUT = {
    BASE + "v1.0/recognition/uniformerv2/kinetics700/uniformerv2-large-p14-res336_clip-kinetics710-pre_u32_"
    "kinetics700-rgb_20221219-bfb9f401.pth":
        "the metafile's UniFormerV2-L/336 Kinetics-700 entry ends in the hash of the u8 Kinetics-700 file; "
        "uniformerv2_l14_336_clip_k710_u32_kinetics700 follows the README's file",
}


def _installed_metafiles():
    """mmaction2's recognition metafiles as the reference venv installs them (``mmaction/.mim/configs``)."""
    import subprocess
    from pathlib import Path

    from test_parity_mmaction2 import reference_python

    site = subprocess.run([str(reference_python()), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    return sorted(Path(site, "mmaction", ".mim", "configs", "recognition").glob("*/metafile.yml"))


def test_every_checkpoint_in_mmaction2s_metafiles_has_a_name():
    """Coverage, read from mmaction2 1.2.0 itself: every recognition file its metafiles list is registered,
    except the entries above (each with its reason).  Files are matched by name (``<config>_<date>-<sha256[:8]>``):
    where a metafile's folder differs from the README's link (UniFormerV2-B/16 Kinetics-710) the card
    follows the README, and one metafile URL starts with a stray ``(`` (TPN-TSM)."""
    import yaml

    metafiles = _installed_metafiles()
    assert len(metafiles) >= 20, f"only {len(metafiles)} metafiles found in the mmaction2 reference venv"
    urls = {model["Weights"].strip("()") for path in metafiles
            for model in yaml.safe_load(path.read_text()).get("Models", []) if model.get("Weights")}
    registered = {w.file for _, w in _mmaction2_entries()}
    missing = {url for url in urls if url.rpartition("/")[2] not in registered}
    assert missing == set(METAFILE_URLS_LEFT_OUT), (
        f"{len(missing)} of mmaction2's {len(urls)} files have no name: {sorted(missing - set(METAFILE_URLS_LEFT_OUT))}")
    print(f"\nmmaction2 metafiles: {len(urls)} distinct files, {len(urls) - len(missing)} named; "
          f"{len(registered)} mmaction2 files registered in all (the README links files the metafiles miss)")
