"""The fine-tuning recipes under configs/: each parses, takes the card's protocol and trains a step."""
from __future__ import annotations

import pytest
import torch

from _engine_helpers import ROOT, make_tiny_dataset
from zoo.engine import load_config, train
from zoo.engine.checkpoint import load_checkpoint
from zoo.engine.config import card_protocol

RECIPES = sorted(p.name for p in (ROOT / "configs").glob("*_finetune.yaml"))
# reduced input per recipe: the tiny data has 8-frame 32 px clips
REDUCED = {
    "i3d_resnet50_finetune.yaml": ["data.clip_len=8", "data.frame_step=1"],
    "r2plus1d_resnet50_finetune.yaml": ["data.clip_len=8", "data.frame_step=1"],
    "slowfast_4x16_resnet50_finetune.yaml": ["data.clip_len=8", "data.frame_step=1", "model.kwargs.fast_frames=8",
                                             "model.kwargs.slow_frames=1"],
    "tsn_resnet50_finetune.yaml": ["data.num_segments=2"],
    "x3d_m_finetune.yaml": ["data.clip_len=4", "data.frame_step=2"],
    "videomae_finetune.yaml": ["data.clip_len=4", "data.frame_step=2", "model.kwargs.depth=2", "model.kwargs.dim=48",
                               "model.kwargs.num_heads=3"],
}
#: transformer recipes follow their upstream's AdamW recipe (with layer-wise lr decay); the CNNs use SGD
ADAMW = {"videomae_finetune.yaml"}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


def test_every_family_has_a_recipe():
    assert set(RECIPES) == set(REDUCED)


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_holds_the_card_protocol_and_an_sgd_recipe(recipe):
    cfg = load_config(ROOT / "configs" / recipe)
    card = card_protocol(cfg["model"]["name"])
    assert {k: cfg["data"][k] for k in card} == card  # nothing of the synthetic demo's protocol
    assert cfg["data"]["temporal_centering"] is False and cfg["data"]["synthetic"] is None
    assert cfg["model"]["pretrained"] is True and cfg["model"]["num_classes"] is None
    train_cfg = cfg["train"]
    if recipe in ADAMW:
        assert train_cfg["optimizer"] == "adamw" and train_cfg["layer_decay"] == 0.75 and train_cfg["accumulate"] == 1
    else:
        assert train_cfg["optimizer"] == "sgd" and train_cfg["momentum"] == 0.9 and train_cfg["accumulate"] == 1
    assert cfg["model"]["partial_bn"] == recipe.startswith("tsn")  # partial BN is TSN's (2D) recipe
    # another model on the command line brings its own card's protocol
    other = load_config(ROOT / "configs" / recipe, ["model.name=r2plus1d_v1_resnet18_kinetics400"])
    assert other["data"]["crop_size"] == 112 and other["data"]["clip_len"] == 16


@pytest.mark.parametrize("recipe", RECIPES)
def test_recipe_trains_a_step_at_reduced_input(recipe, tiny, tmp_path):
    cfg = load_config(ROOT / "configs" / recipe, [
        "model.pretrained=false", f"data.train_list={tiny.train_list}", "data.val_list=null", "data.crop_size=32",
        "data.short_side=32", "data.batch_size=2", "data.num_workers=0", "train.stop_after_steps=1",
        "train.progress=false", "train.threads=2", f"output.work_dir={tmp_path}", *REDUCED[recipe]])
    summary = train(cfg)
    state = load_checkpoint(summary["checkpoint"])
    assert summary["global_step"] == 1 and state["config"]["model"]["name"] == cfg["model"]["name"]
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())
