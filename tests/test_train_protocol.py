"""The model card drives the input protocol: training, testing and inference read clips the card's way,
a config holds overrides only, and card, config and dataset share one vocabulary."""
from __future__ import annotations

import logging

import pytest
import torch
import yaml

from _engine_helpers import ROOT, make_tiny_dataset
from zoo.data import VideoClassificationDataset
from zoo.engine import ConfigError, load_config, train
from zoo.engine.checkpoint import load_checkpoint
from zoo.engine.config import DEFAULTS, card_protocol
from zoo.engine.data import build_dataset
from zoo.engine.loading import load_model
from zoo.registry import model_card

PROTOCOL_KEYS = ("clip_len", "frame_step", "num_segments", "crop_size", "short_side", "mean", "std")
TINY_RUN = ["model.kwargs.widths=[4,8]", "data.batch_size=2", "data.num_workers=0", "train.stop_after_steps=1",
            "train.progress=false", "train.threads=2", "train.val_every=0"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def test_config_keys_are_the_card_field_names():
    spec = model_card("i3d_resnet50_v1_kinetics400").input
    protocol = card_protocol("i3d_resnet50_v1_kinetics400")
    assert all(key in DEFAULTS["data"] for key in protocol)
    assert {k: protocol[k] for k in PROTOCOL_KEYS} == {k: (list(v) if isinstance(v, tuple) else v)
                                                       for k, v in vars(spec).items() if k in PROTOCOL_KEYS}
    assert protocol["sampling"] == "dense" and card_protocol("resnet50_v1b_kinetics400")["sampling"] == "tsn"


def test_a_config_without_data_fields_trains_with_the_cards_protocol(tiny, tmp_path):
    config = tmp_path / "bare.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "simple3d_synthetic"},
                                      "data": {"train_list": str(tiny.train_list)}}))
    cfg = load_config(config, [*TINY_RUN, f"output.work_dir={tmp_path / 'run'}"])
    card = card_protocol("simple3d_synthetic")
    assert {k: cfg["data"][k] for k in card} == card
    assert (card["clip_len"], card["crop_size"]) != (DEFAULTS["data"]["clip_len"], DEFAULTS["data"]["crop_size"])
    clip, _ = build_dataset(cfg, "train")[0]
    assert tuple(clip.shape) == (3, card["clip_len"], card["crop_size"], card["crop_size"])
    summary = train(cfg)
    saved = load_checkpoint(summary["checkpoint"])["config"]["data"]
    assert summary["global_step"] == 1 and {k: saved[k] for k in card} == card


def test_a_file_and_an_override_win_over_the_card(tmp_path):
    config = tmp_path / "override.yaml"
    config.write_text(yaml.safe_dump({"model": {"name": "i3d_resnet50_v1_kinetics400"}, "data": {"crop_size": 160}}))
    cfg = load_config(config, ["data.clip_len=8"])
    card = card_protocol("i3d_resnet50_v1_kinetics400")
    assert cfg["data"]["crop_size"] == 160 and cfg["data"]["clip_len"] == 8
    assert cfg["data"]["frame_step"] == card["frame_step"] and cfg["data"]["short_side"] == card["short_side"]


def test_model_name_on_the_command_line_brings_its_own_card():
    cfg = load_config(ROOT / "configs" / "i3d_resnet50_finetune.yaml", ["model.name=resnet50_v1b_kinetics400"])
    card = card_protocol("resnet50_v1b_kinetics400")
    assert {k: cfg["data"][k] for k in card} == card and card["num_segments"] > 1


def test_an_unknown_model_name_is_one_config_error():
    with pytest.raises(ConfigError, match=r"model.name: unknown model 'i3d_resnet50_kinetics400'"):
        load_config(None, ["model.name=i3d_resnet50_kinetics400"])


@pytest.mark.parametrize("config", sorted(p.name for p in (ROOT / "configs").glob("*.yaml")))
def test_configs_hold_overrides_only(config):
    """No config file restates a protocol value its model's card already gives (setting back a value its
    ``_base_`` changed is an override)."""
    raw = yaml.safe_load((ROOT / "configs" / config).read_text()) or {}
    name = load_config(ROOT / "configs" / config)["model"]["name"]
    card = card_protocol(name)
    base = load_config(ROOT / "configs" / raw["_base_"], [f"model.name={name}"])["data"] if "_base_" in raw else card
    restated = {k: v for k, v in (raw.get("data") or {}).items() if k in card and v == card[k] == base.get(k)}
    assert not restated, f"{config} restates {name}'s card: {restated}"
    assert not {"new_length", "new_step", "from_card"} & set(raw.get("data") or {})


def test_training_testing_and_inference_read_the_same_card_protocol():
    name = "r2plus1d_v1_resnet18_kinetics400"
    trained = load_config(None, [f"model.name={name}"])["data"]
    tested = load_model(name, pretrained=False).cfg["data"]
    card = card_protocol(name)
    assert {k: trained[k] for k in card} == {k: tested[k] for k in card} == card


def test_gluoncv_names_still_work_with_a_warning(tmp_path, caplog, tiny):
    config = tmp_path / "old.yaml"
    config.write_text("data:\n  new_length: 4\n  new_step: 3\n  from_card: true\n")
    with caplog.at_level(logging.WARNING, logger="zoo.engine.config"):
        cfg = load_config(config, ["data.new_step=2"])
    assert (cfg["data"]["clip_len"], cfg["data"]["frame_step"]) == (4, 2)
    assert "new_length" not in cfg["data"] and "from_card" not in cfg["data"]
    assert caplog.text.count("data.new_length is deprecated, use data.clip_len") == 1  # said once, not per layer
    assert "data.new_step is deprecated, use data.frame_step" in caplog.text
    with pytest.warns(FutureWarning, match=r"new_length=\.\.\.\) is deprecated, use clip_len"):
        old = VideoClassificationDataset(tiny.train_list, mode="val", sampling="dense", new_length=3, new_step=2)
    new = VideoClassificationDataset(tiny.train_list, mode="val", sampling="dense", clip_len=3, frame_step=2)
    assert (old.clip_len, old.frame_step) == (new.clip_len, new.frame_step) == (3, 2)
    assert torch.equal(old[0][0], new[0][0])


def test_a_checkpoint_saved_with_the_old_names_loads_its_protocol(tmp_path):
    from zoo.engine.modeling import build_model

    model = build_model({"name": "simple3d_synthetic", "kwargs": {"widths": [4, 8]}}, 8)
    old_cfg = {"model": {"name": "simple3d_synthetic", "kwargs": {"widths": [4, 8]}},
               "data": {"new_length": 4, "new_step": 3, "crop_size": 32}}
    torch.save({"model": model.state_dict(), "config": old_cfg}, tmp_path / "old.pth")
    loaded = load_model(checkpoint=str(tmp_path / "old.pth"))
    assert (loaded.cfg["data"]["clip_len"], loaded.cfg["data"]["frame_step"]) == (4, 3)
