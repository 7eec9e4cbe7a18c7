"""The FAIR names (PySlowFast and pytorchvideo checkpoints): cards, URLs, and pins for hash-less files."""
from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo import hub
from zoo.registry import all_cards

FAIR_REPOS = {"pyslowfast": "https://dl.fbaipublicfiles.com/pyslowfast/",
              "pytorchvideo": "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/"}


def _fair_cards():
    return [c for c in all_cards() if any(w.repo in FAIR_REPOS for w in c.weights)]


def test_fair_cards_say_where_their_weights_come_from():
    cards = _fair_cards()
    assert len(cards) >= 8
    for card in cards:
        entry = card.default_weights()
        assert entry.repo in FAIR_REPOS, card.name
        url = hub.resolve_url(entry.url, entry.repo, entry.file)
        assert url.startswith(FAIR_REPOS[entry.repo]) and url.endswith((".pyth", ".pkl")), (card.name, url)
        assert entry.sha1 == entry.sha256 == "" and entry.tag == "", f"{card.name}: no hash is published"
        assert entry.license.startswith("Apache-2.0"), card.name
        assert entry.accuracy is not None and entry.accuracy.protocol, f"{card.name}: accuracy with its protocol"
        assert (entry.accuracy.top1 or entry.accuracy.mean_ap) > 0, card.name
        assert entry.converter and entry.converter in card.converters.values(), card.name
        assert hub.pins.model_of_file(entry.file) == card.name
        assert card.input.clip_len > 0 and card.input.frame_step > 0 and card.input.mean and card.input.std
        assert card.source and card.dataset


def test_hashless_entry_downloads_once_and_pins_its_sha256(tmp_path, monkeypatch):
    """No published hash: the first download records the file's SHA-256 in ZOO_LOCK; a changed file is refused."""
    name = "x3d_xs_kinetics400"
    entry = zoo.model_card(name).default_weights()
    mirror = tmp_path / "mirror"
    (mirror / entry.url).parent.mkdir(parents=True)
    state = zoo.get_model(name).state_dict()
    pysf = _pyslowfast_layout(state)
    torch.save({"model_state": pysf, "epoch": 1}, mirror / entry.url)
    lock = tmp_path / "zoo.lock"
    monkeypatch.setenv("ZOO_REPO_URL_PYSLOWFAST", mirror.as_uri())
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    model = zoo.get_model(name, pretrained=True)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    pins = json.loads(lock.read_text())["files"]
    assert pins[entry.file]["sha256"] == hub.sha256sum(mirror / entry.url)
    assert pins[entry.file]["model"] == name
    # another machine sharing the pin file gets other bytes at the URL: refused
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "other_home"))
    pysf["head.projection.bias"] = pysf["head.projection.bias"] + 1
    torch.save({"model_state": pysf, "epoch": 2}, mirror / entry.url)
    with pytest.raises(hub.ChecksumError, match="differs from the pin"):
        zoo.get_model(name, pretrained=True)


def _pyslowfast_layout(state: dict) -> dict:
    """Our X3D state dict in PySlowFast's key layout (the inverse of the family's rule table)."""
    import re

    blocks = {"downsample.conv": "branch1", "downsample.bn": "branch1_bn", "conv1.conv": "branch2.a",
              "conv1.bn": "branch2.a_bn", "conv2": "branch2.b", "bn2": "branch2.b_bn", "se.fc1": "branch2.se.fc1",
              "se.fc2": "branch2.se.fc2", "conv3.conv": "branch2.c", "conv3.bn": "branch2.c_bn"}
    fixed = {"stem.0": "s1.pathway0_stem.conv_xy", "stem.1": "s1.pathway0_stem.conv", "stem.2": "s1.pathway0_stem.bn",
             "conv5.conv": "head.conv_5", "conv5.bn": "head.conv_5_bn", "fc1": "head.lin_5", "fc": "head.projection"}
    out = {}
    for key, value in state.items():
        module, _, tensor = key.rpartition(".")
        m = re.fullmatch(r"stages\.(\d)\.(\d+)\.(.+)", module)
        if m:
            out[f"s{int(m[1]) + 2}.pathway0_res{m[2]}.{blocks[m[3]]}.{tensor}"] = value
        elif module == "fc1":
            out[f"head.lin_5.{tensor}"] = value[:, :, None, None, None]
        else:
            out[f"{fixed[module]}.{tensor}"] = value
    return out
