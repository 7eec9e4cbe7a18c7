"""A published model carries its input protocol and class names: loaded by name, it tests like its checkpoint."""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import zoo
from _engine_helpers import make_tiny_dataset, run_script, tiny_config
from zoo.engine import train
from zoo.engine.distributed import init_distributed
from zoo.engine.loading import load_model
from zoo.engine.testing import run_test
from zoo.manifest import ManifestError, register_manifest
from zoo.registry import _CARDS

NAME = "tiny_centered_published"


@pytest.fixture
def published(tmp_path, zoo_home):
    """A tiny simple3d trained with temporal centering and an unusual protocol, published from its checkpoint."""
    splits = make_tiny_dataset(tmp_path / "data")
    cfg = tiny_config(splits, tmp_path / "run", "data.temporal_centering=true", "data.new_step=1",
                      "data.short_side=36", "data.mean=[0.4,0.5,0.6]", "train.epochs=2")
    checkpoint = train(cfg)["checkpoint"]
    hub_dir = tmp_path / "hub"
    entry = zoo.publish(checkpoint, NAME, hub_dir=hub_dir, dataset="synthetic")  # arch from the checkpoint
    yield splits, checkpoint, hub_dir, entry
    _CARDS.pop(NAME, None)


def test_published_card_holds_the_training_protocol_and_class_names(published):
    splits, _, hub_dir, _ = published
    manifest = json.loads((hub_dir / "manifest.json").read_text())["models"][0]
    assert manifest["arch"] == "simple3d_synthetic" and manifest["kwargs"]["widths"] == [4, 8]
    assert manifest["input"] == {"clip_len": 4, "frame_step": 1, "num_segments": 1, "crop_size": 32, "short_side": 36,
                                 "mean": [0.4, 0.5, 0.6], "std": [0.25, 0.25, 0.25], "temporal_centering": True}
    card = zoo.model_card(NAME)
    assert card.input.temporal_centering and card.input.frame_step == 1 and card.input.short_side == 36
    assert card.input.mean == (0.4, 0.5, 0.6)
    assert list(card.class_names) == list(splits.classes) and len(card.class_names) == 8


def test_zoo_info_shows_the_published_protocol_and_classes(published, capsys):
    from zoo.cli import main

    splits = published[0]
    assert main(["info", NAME]) == 0
    out = capsys.readouterr().out
    assert "4 frames x step 1" in out and "temporal centering" in out
    assert f"classes:      {', '.join(splits.classes)}" in out


def test_reloaded_by_name_tests_like_the_checkpoint(published):
    splits, checkpoint, _, _ = published
    info = init_distributed("cpu")
    from_checkpoint = load_model(checkpoint=str(checkpoint))
    by_name = load_model(NAME)  # the published weights, and nothing else said
    assert by_name.classes == list(splits.classes)
    results = []
    for loaded in (from_checkpoint, by_name):
        cfg = {**loaded.cfg, "data": {**loaded.cfg["data"], "test_list": str(splits.val_list)}}
        results.append(run_test(loaded, cfg, info))
    (ckpt_result, ckpt_protocol, _), (name_result, name_protocol, names) = results
    assert name_protocol == ckpt_protocol and name_protocol["temporal_centering"] is True
    assert names == list(splits.classes)
    assert name_result.top1 == ckpt_result.top1
    np.testing.assert_allclose(name_result.scores, ckpt_result.scores, atol=1e-5)


def test_test_recognizer_by_name_needs_no_extra_flag(published, tmp_path):
    splits, checkpoint, hub_dir, _ = published
    env = {"ZOO_MANIFEST": str(hub_dir / "manifest.json"), "ZOO_HOME": str(tmp_path / "home")}
    by_ckpt = run_script([sys.executable, "scripts/test_recognizer.py", "--checkpoint", str(checkpoint), "--list",
                          str(splits.val_list), "--out", str(tmp_path / "t1"), "--device", "cpu", "--quiet"], env_extra=env)
    by_name = run_script([sys.executable, "scripts/test_recognizer.py", "--model", NAME, "--list", str(splits.val_list),
                          "--out", str(tmp_path / "t2"), "--device", "cpu", "--quiet"], env_extra=env)
    top1 = [json.loads(p.stdout.strip().splitlines()[-1])["top1"] for p in (by_ckpt, by_name)]
    assert top1[0] == top1[1]
    saved = json.loads((tmp_path / "t2" / "result.json").read_text())
    assert saved["protocol"]["temporal_centering"] is True
    assert list(saved["per_class_accuracy"]) == list(splits.classes)  # class names, not indices
    video = splits.root / splits.val_list.read_text().split()[0]
    out = run_script([sys.executable, "scripts/inference.py", "--model", NAME, str(video), "--topk", "2",
                      "--device", "cpu"], env_extra=env).stdout
    assert any(name in out for name in splits.classes), out


def test_manifest_input_and_classes_are_checked(tmp_path):
    base = {"name": "checked_manifest_model", "arch": "simple3d_synthetic", "num_classes": 3}
    for extra, message in (({"input": {"frames": 8}}, 'unknown "input" field'),
                           ({"classes": ["a", "b"]}, '2 "classes" for num_classes=3')):
        path = tmp_path / "manifest.json"
        path.write_text(json.dumps({"models": [{**base, **extra}]}))
        with pytest.raises(ManifestError, match=message):
            register_manifest(path)
    assert "checked_manifest_model" not in _CARDS
