"""End to end: ``get_model(name, pretrained=True)`` downloads a GluonCV archive, checks, converts, caches.

A user with internet gets GluonCV's published ``{name}-{sha1[:8]}.zip`` (holding the ``.params``
whose SHA-1 GluonCV's model store lists) from ``{repo}/gluon/models/``.  Here a loopback server
(127.0.0.1 only) plays that repo with a reference ``.params`` made by GluonCV itself in the reference
venv; the card is given that file's SHA-1 for the duration of the test.
"""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
import torch

from _http import FaultyServer
from gluoncv_cases import CASES_BY_ID
from gluoncv_ref.harness import assert_close, checkout, compare

pytestmark = pytest.mark.parity

# Small models first: the archive is built and served in memory.
CANDIDATES = ("resnet18_v1b_kinetics400", "r2plus1d_resnet18_kinetics400", "i3d_resnet50_v1_kinetics400",
              "c3d_kinetics400")


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """``(case, zip bytes, url path, sha1)`` of a GluonCV-made ``.params`` in GluonCV's archive layout."""
    import zoo
    from zoo.hub import sha1sum

    registered = [n for n in CANDIDATES if n in zoo.get_model_list()]
    if not registered:
        pytest.fail(f"none of {CANDIDATES} is registered yet")
    case = CASES_BY_ID[registered[0]]
    with checkout(case) as refs:
        x, ref, params = refs.load(case)
        sha1 = sha1sum(params)
        stem = f"{case.name}-{sha1[:8]}"
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            z.write(params, f"{stem}.params")
    return case, x, ref, buf.getvalue(), f"/gluon/models/{stem}.zip", sha1


@pytest.fixture
def card_with_weights(published, monkeypatch):
    """The case's card, temporarily publishing the reference file as its default GluonCV weights."""
    from conftest import reregister
    from zoo.models._published import published as weights_entry
    from zoo.registry import model_card

    case, _, _, _, _, sha1 = published
    card = model_card(case.name)
    converter = card.converters.get("params") or next((w.converter for w in card.weights if w.format == "params"), None)
    assert converter, f"{case.name} has no converter for GluonCV .params files"
    reregister(case.name, weights=(weights_entry(f"{case.name}-{sha1[:8]}.params", converter, sha1=sha1, default=True),))
    return model_card(case.name)


def test_pretrained_true_downloads_converts_and_caches(published, card_with_weights, monkeypatch, zoo_home):
    import zoo

    case, x, ref, archive, url_path, sha1 = published
    with FaultyServer({url_path: archive}) as server:
        monkeypatch.setenv("ZOO_REPO_URL_GLUONCV", server.url)
        model = zoo.get_model(case.name, pretrained=True, **case.our_kwargs).eval()
        assert server.count(url_path) == 1
        with torch.inference_mode():
            ours = model(torch.from_numpy(x)).numpy()
        assert_close(case.id, compare(ours, ref))

        converted = list((zoo_home / "converted").glob(f"{case.name}-{sha1[:8]}*.safetensors"))
        assert len(converted) == 1, list((zoo_home).rglob("*"))
        # Again, by default and by tag: served from the converted cache, no request.
        again = zoo.get_model(case.name, pretrained=True, **case.our_kwargs).eval()
        by_tag = zoo.get_model(case.name, pretrained=sha1[:8], **case.our_kwargs).eval()
        assert server.count(url_path) == 1
        with torch.inference_mode():
            for m in (again, by_tag):
                np.testing.assert_array_equal(m(torch.from_numpy(x)).numpy(), ours)


def test_archive_with_other_content_is_rejected(published, card_with_weights, monkeypatch, zoo_home):
    """The server holds a file whose SHA-1 is not the card's: nothing is cached, the error says so."""
    import zoo
    from zoo.hub import ChecksumError

    case, _, _, archive, url_path, sha1 = published
    stem = url_path.rsplit("/", 1)[1][:-len(".zip")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(f"{stem}.params", zipfile.ZipFile(io.BytesIO(archive)).read(f"{stem}.params")[:-4] + b"\0\0\0\0")
    with FaultyServer({url_path: buf.getvalue()}) as server:
        monkeypatch.setenv("ZOO_REPO_URL_GLUONCV", server.url)
        with pytest.raises(ChecksumError, match="checksum mismatch"):
            zoo.get_model(case.name, pretrained=True)
    converted = zoo_home / "converted"
    assert not converted.exists() or not list(converted.glob("*.safetensors"))
    assert not (zoo_home / "weights" / f"{stem}.params").exists()
