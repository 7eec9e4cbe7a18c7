"""Layer-wise learning-rate decay (``train.layer_decay``), as VideoMAE's fine-tuning recipe uses it."""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo.engine.config import DEFAULTS
from zoo.engine.optim import build_optimizer, build_scheduler


def _train(**changes):
    return {**DEFAULTS["train"], "optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.05, **changes}


def _group_of(optimizer: torch.optim.Optimizer, param: torch.nn.Parameter) -> dict:
    return next(g for g in optimizer.param_groups if any(p is param for p in g["params"]))


def test_each_depth_learns_at_lr_times_decay_to_its_distance_from_the_head():
    model = zoo.get_model("videomae_vit_s_kinetics400", num_classes=5, depth=3, dim=48, num_heads=3)
    optimizer = build_optimizer(model, _train(layer_decay=0.75))
    head = _group_of(optimizer, model.head.weight)
    assert head["lr"] == pytest.approx(1e-3) and head["weight_decay"] == 0.05
    for i, block in enumerate(model.blocks):  # depth i + 1 of 0..4
        group = _group_of(optimizer, block.mlp.fc1.weight)
        assert group["lr"] == pytest.approx(1e-3 * 0.75 ** (4 - (i + 1))) and group["weight_decay"] == 0.05
        assert _group_of(optimizer, block.norm1.weight)["weight_decay"] == 0.0
    embed = _group_of(optimizer, model.patch_embed.proj.weight)
    assert embed["lr"] == pytest.approx(1e-3 * 0.75 ** 4)
    every = [p for g in optimizer.param_groups for p in g["params"]]
    assert len(every) == len(list(model.parameters())) == len({id(p) for p in every}), "each parameter exactly once"


def test_the_schedule_keeps_each_groups_scale():
    model = zoo.get_model("videomae_vit_s_kinetics400", num_classes=5, depth=2, dim=48, num_heads=3)
    optimizer = build_optimizer(model, _train(layer_decay=0.5, warmup_epochs=1.0))
    build_scheduler(optimizer, _train(layer_decay=0.5, warmup_epochs=1.0, epochs=2), steps_per_epoch=4)
    head, embed = _group_of(optimizer, model.head.weight), _group_of(optimizer, model.patch_embed.proj.weight)
    assert embed["lr"] / head["lr"] == pytest.approx(0.5 ** 3)


def test_without_layer_decay_the_groups_are_as_before():
    model = zoo.get_model("simple3d_synthetic")
    groups = build_optimizer(model, _train()).param_groups
    assert [g["weight_decay"] for g in groups] == [0.05, 0.0] and all(g["lr"] == 1e-3 for g in groups)


def test_layer_decay_on_a_model_without_depths_is_one_clear_error():
    with pytest.raises(ValueError, match="layer_decay needs a transformer"):
        build_optimizer(zoo.get_model("simple3d_synthetic"), _train(layer_decay=0.75))
    with pytest.raises(ValueError, match=r"must be in \(0, 1\]"):
        build_optimizer(zoo.get_model("videomae_vit_s_kinetics400", depth=1), _train(layer_decay=1.5))
