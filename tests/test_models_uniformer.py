"""UniFormer (v1): the published sizes, the blocks' arithmetic, bad inputs and the mmaction2 converter.

Numerical parity with mmaction2 itself is in ``tests/test_parity_mmaction2.py`` (cases ``uniformer``
and, heavy, ``uniformer_s_full``); these tests need no reference venv.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import zoo
from zoo.errors import WeightsError
from zoo.models.uniformer import GlobalBlock, LocalBlock, UniFormer, convert_mmaction2_uniformer, uniformer_b, uniformer_s

SMALL = {"depths": (1, 1, 1, 1), "dims": (8, 16, 32, 64), "head_dim": 16}


def _params_m(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


def test_published_sizes_have_the_readme_parameter_counts():
    # mmaction2's README: UniFormer-S 21.4M, UniFormer-B 49.8M (Kinetics-400 classifier)
    with torch.device("meta"):
        assert round(_params_m(uniformer_s(400)), 1) == 21.4
        assert round(_params_m(uniformer_b(400)), 1) == 49.8


def test_local_block_by_its_definition():
    torch.manual_seed(0)
    block = LocalBlock(8).eval()
    for norm in (block.norm1, block.norm2):
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 2.0)
    x = torch.randn(2, 8, 3, 5, 5)
    with torch.no_grad():
        y = x + F.conv3d(x, block.pos_embed.weight, block.pos_embed.bias, padding=1, groups=8)
        local = block.conv2(F.conv3d(block.conv1(block.norm1(y)), block.attn.weight, block.attn.bias, padding=2, groups=8))
        y = y + local
        expected = y + block.mlp.fc2(F.gelu(block.mlp.fc1(block.norm2(y))))
        torch.testing.assert_close(block(x), expected)


def test_global_block_attends_over_every_position_in_space_and_time():
    torch.manual_seed(0)
    block = GlobalBlock(16, num_heads=2).eval()
    x = torch.randn(1, 16, 2, 3, 3)
    with torch.no_grad():
        base = block(x)
        moved = x.clone()
        moved[:, :, 1, 2, 2] += 1.0  # one position, far from (0, 0, 0) in time and space
        changed = (block(moved) - base).abs()
    # beyond the 3x3x3 position conv's reach, only attention can carry the change
    assert changed[:, :, 0, 0, 0].max() > 1e-4


def test_input_sides_must_be_multiples_of_32():
    model = UniFormer(5, **SMALL).eval()
    with pytest.raises(ValueError, match="multiples of 32"):
        model(torch.randn(1, 3, 4, 48, 64))
    assert model(torch.randn(1, 3, 4, 64, 32)).shape == (1, 5)


def test_widths_must_fit_the_heads():
    with pytest.raises(ValueError, match="head_dim"):
        UniFormer(5, depths=(1, 1, 1, 1), dims=(8, 16, 40, 64), head_dim=16)


def test_layer_ids_run_through_the_four_stages():
    model = UniFormer(5, depths=(1, 2, 1, 1), dims=(8, 16, 32, 64), head_dim=16)
    ids = {name: model.layer_id(name) for name, _ in model.named_parameters()}
    assert ids["patch_embed1.proj.weight"] == 0
    assert ids["blocks1.0.conv1.weight"] == 1
    assert ids["patch_embed2.proj.weight"] == 1 and ids["blocks2.1.conv1.weight"] == 3
    assert ids["blocks4.0.attn.qkv.weight"] == 5
    assert ids["norm.weight"] == ids["head.weight"] == 6 == max(ids.values())


def test_mmaction2_layout_round_trip_and_a_foreign_key_is_named():
    model = UniFormer(5, **SMALL).eval()
    source = {("cls_head.fc_cls." + k[5:]) if k.startswith("head.") else "backbone." + k: v
              for k, v in model.state_dict().items()}
    converted = convert_mmaction2_uniformer(source, model)
    assert converted.keys() == model.state_dict().keys()
    source["backbone.blocks1.0.extra.weight"] = torch.zeros(1)
    with pytest.raises(WeightsError, match="blocks1.0.extra.weight"):
        convert_mmaction2_uniformer(source, model)


def test_cards_follow_the_configs():
    for name, clip_len, depths in [("uniformer_s_in1k_f16s4_kinetics400", 16, (3, 4, 8, 3)),
                                   ("uniformer_b_in1k_f16s4_kinetics400", 16, (5, 8, 20, 7)),
                                   ("uniformer_b_in1k_f32s4_kinetics400", 32, (5, 8, 20, 7))]:
        card = zoo.model_card(name)
        assert (card.input.clip_len, card.input.frame_step, card.input.crop_size) == (clip_len, 4, 224)
        assert card.input.mean == pytest.approx((0.45,) * 3) and card.input.std == pytest.approx((0.225,) * 3)
        with torch.device("meta"):
            assert card.builder(num_classes=card.num_classes, **card.kwargs).depths == depths
        assert card.default_weights().converter == "mmaction2_uniformer"
