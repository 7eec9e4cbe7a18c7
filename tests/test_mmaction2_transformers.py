"""Builder options that mmaction2's transformer checkpoints need, checked without mmaction2.

(Their numerical parity with mmaction2 itself is in ``tests/test_parity_mmaction2.py``.)
"""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo.models.fair_mvit import mvit_b, mvit_v2
from zoo.models.timesformer import TimeSformer


def test_mvit_v2_takes_other_clip_sizes_and_mvit_v1_names_the_size_it_needs():
    """MViTv2's relative positions are resized (mmaction2 tests its 312-px MViTv2-L at 224 px); MViTv1's
    absolute position table is not."""
    torch.manual_seed(0)
    v2 = mvit_v2(10, temporal_size=4, spatial_size=64).eval()
    with torch.no_grad():
        small, built = v2(torch.randn(1, 3, 4, 48, 48)), v2(torch.randn(1, 3, 4, 64, 64))
    assert small.shape == built.shape == (1, 10) and torch.isfinite(small).all()
    v1 = mvit_b(10, temporal_size=4, spatial_size=64).eval()
    with pytest.raises(ValueError, match="built for 4x64x64 clips"):
        v1(torch.randn(1, 3, 4, 48, 48))


def test_mvit_v2_widening_in_the_mlp_moves_the_width_change_one_block_earlier():
    in_attention = mvit_v2(10, temporal_size=4, spatial_size=64)
    in_mlp = mvit_v2(10, temporal_size=4, spatial_size=64, widen_in_attention=False)
    # MViTv2-S pools queries at block 1: the attention widens there, the MLP of block 0 otherwise
    assert in_attention.blocks[0].mlp.fc2.out_features == 96 and in_attention.blocks[1].attn.out_dim == 192
    assert in_mlp.blocks[0].mlp.fc2.out_features == 192 and in_mlp.blocks[1].attn.out_dim == 192
    assert in_mlp.blocks[0].attn.out_dim == 96 and in_mlp.blocks[0].proj is not None
    assert zoo.model_card("mvit_v2_s_maskfeat_f16s4_kinetics400").kwargs["widen_in_attention"] is False


def _space_only(**kwargs) -> TimeSformer:
    torch.manual_seed(0)
    return TimeSformer(5, dim=48, depth=2, num_heads=3, num_frames=4, img_size=32,
                       attention_type="space_only", **kwargs).eval()


def test_space_only_timesformer_sees_frames_separately_and_averages_them():
    model = _space_only()
    assert model.time_embed is None
    clip = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        out = model(clip)
        shuffled = model(clip[:, :, [2, 0, 3, 1]])
        joint = TimeSformer(5, dim=48, depth=2, num_heads=3, num_frames=4, img_size=32,
                            attention_type="joint_space_time").eval()
        joint.load_state_dict({**model.state_dict(), "time_embed": torch.randn(1, 4, 48)})
        joint_out, joint_shuffled = joint(clip), joint(clip[:, :, [2, 0, 3, 1]])
    assert torch.allclose(out, shuffled, atol=1e-5), "frames are averaged: their order does not matter"
    assert not torch.allclose(joint_out, joint_shuffled, atol=1e-3), "with a time table the order matters"
    assert not torch.allclose(out[0], out[1], atol=1e-4)


def test_an_unknown_attention_type_is_one_clear_error():
    with pytest.raises(ValueError, match="space_only"):
        TimeSformer(5, attention_type="spatial")
