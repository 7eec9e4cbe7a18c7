"""The shared video-transformer blocks (zoo/models/_video_transformer.py) on their own."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from zoo.models._video_transformer import (Attention, Block, DividedSpaceTimeBlock, FactorisedEncoder, PatchEmbed2d,
                                           Rotary3d, TubeletEmbed, fuse_qkv, make_activation, resize_grid,
                                           sinusoid_table)


def test_attention_is_softmax_attention_with_fused_qkv():
    torch.manual_seed(0)
    attn = Attention(12, 3).eval()
    x = torch.randn(2, 5, 12)
    q, k, v = attn.qkv(x).chunk(3, dim=-1)
    heads = lambda t: t.reshape(2, 5, 3, 4).transpose(1, 2)  # noqa: E731
    weights = (heads(q) @ heads(k).transpose(-1, -2) / 2.0).softmax(-1)  # head_dim 4: scale 1/2
    want = attn.proj((weights @ heads(v)).transpose(1, 2).reshape(2, 5, 12))
    torch.testing.assert_close(attn(x), want, rtol=1e-5, atol=1e-5)


def test_rotary_attention_needs_the_grid_and_depends_on_positions():
    torch.manual_seed(0)
    block = Block(24, 2, rotary=True).eval()
    x = torch.randn(1, 8, 24)
    with pytest.raises(ValueError, match="token grid"):
        block(x)
    assert not torch.allclose(block(x, (2, 2, 2)), block(x, (1, 2, 4)))  # same tokens, other positions


def test_rotary_matches_transformers_vjepa2():
    modeling = pytest.importorskip("transformers.models.vjepa2.modeling_vjepa2")
    config = pytest.importorskip("transformers").VJEPA2Config(crop_size=64, patch_size=16, frames_per_clip=4,
                                                              hidden_size=60, num_attention_heads=3)
    theirs = modeling.VJEPA2RopeAttention(config, 60, 3)
    x = torch.randn(2, 3, 2 * 4 * 4, 20)
    want = theirs.apply_rotary_embeddings(x, theirs.get_position_ids(torch.zeros(2, 32, 60)))
    torch.testing.assert_close(Rotary3d(20)(x, (2, 4, 4)), want)


def test_sinusoid_table_matches_transformers_videomae():
    modeling = pytest.importorskip("transformers.models.videomae.modeling_videomae")
    assert torch.equal(sinusoid_table(40, 16), modeling.get_sinusoid_encoding_table(40, 16))


@pytest.mark.parametrize("old,new", [((14, 14), (4, 4)), ((14, 14), (6, 5)), ((8,), (3,)), ((8,), (12,)),
                                     ((7, 14, 14), (3, 9, 6))])
def test_resize_grid_nearest_picks_what_interpolate_picks(old, new):
    table = torch.randn(1, 1 + torch.tensor(old).prod().item(), 5)
    grid = table[:, 1:].reshape(1, *old, 5).movedim(-1, 1)
    want = F.interpolate(grid, size=new, mode="nearest").movedim(1, -1).reshape(1, -1, 5)
    out = resize_grid(table, old, new, extra_tokens=1)
    assert torch.equal(out[:, :1], table[:, :1]) and torch.equal(out[:, 1:], want)
    assert resize_grid(table, old, old, extra_tokens=1) is table


def test_divided_block_keeps_shapes_and_mixes_time_and_space():
    torch.manual_seed(0)
    block = DividedSpaceTimeBlock(16, 2).eval()
    x = torch.randn(1, 1 + 3 * 4, 16)
    out = block(x, num_frames=3)
    assert out.shape == x.shape
    moved = x.clone()
    moved[:, 1] += 1.0  # frame 0, patch 0: reaches frame 2 (time) and patch 3 of frame 0 (space)
    changed = (block(moved, num_frames=3) - out).abs().sum(-1)[0]
    assert changed[1 + 2 * 4] > 0 and changed[1 + 3] > 0


def test_factorised_encoder_pools_time_after_space():
    torch.manual_seed(0)
    encoder = FactorisedEncoder(16, 2, spatial_depth=1, temporal_depth=1, num_frames=4).eval()
    torch.nn.init.normal_(encoder.temporal_pos, std=0.02)  # a learned table (it starts at zero until trained)
    tokens = torch.randn(2, 4, 6, 16)
    out = encoder(tokens)
    assert out.shape == (2, 16)
    assert not torch.allclose(encoder(tokens.flip(1)), out)  # the temporal position embedding orders frames
    assert encoder(tokens[:, :2]).shape == (2, 16)  # fewer frames: the temporal table is resized


def test_patch_embeddings_token_layout():
    x = torch.randn(2, 3, 4, 32, 48)
    tube = TubeletEmbed(8, patch_size=16, tubelet_size=2)
    assert tube(x).shape == (2, 2 * 2 * 3, 8) and tube.grid_for(x.shape) == (2, 2, 3)
    assert PatchEmbed2d(8, patch_size=16)(x).shape == (2, 4, 6, 8)


def test_fuse_qkv_fills_the_missing_key_bias_with_zeros():
    w = {n: torch.randn(4, 4) for n in ("q", "k", "v")}
    state = {"l.attn.q.weight": w["q"], "l.attn.q.bias": torch.ones(4), "l.attn.k.weight": w["k"],
             "l.attn.v.weight": w["v"], "l.attn.v.bias": 2 * torch.ones(4), "other": torch.zeros(1)}
    fused = fuse_qkv(state, "attn.q", "attn.k", "attn.v", "attn.qkv")
    assert list(fused) == ["l.attn.qkv.weight", "l.attn.qkv.bias", "other"]
    assert torch.equal(fused["l.attn.qkv.weight"], torch.cat([w["q"], w["k"], w["v"]]))
    assert torch.equal(fused["l.attn.qkv.bias"], torch.tensor([1.0] * 4 + [0.0] * 4 + [2.0] * 4))


def test_activation_names():
    x = torch.linspace(-3, 3, 7)
    torch.testing.assert_close(make_activation("quick_gelu")(x), x * torch.sigmoid(1.702 * x))
    torch.testing.assert_close(make_activation("gelu_fast")(x), F.gelu(x, approximate="tanh"))
    with pytest.raises(ValueError, match="unknown activation 'swish2'"):
        make_activation("swish2")


def test_layer_ids_for_layerwise_lr_decay():
    import zoo

    model = zoo.get_model("videomae_vit_s_kinetics400")
    ids = {name: model.layer_id(name) for name, _ in model.named_parameters()}
    assert ids["patch_embed.proj.weight"] == 0
    assert ids["blocks.0.attn.qkv.weight"] == 1 and ids["blocks.11.mlp.fc2.bias"] == 12
    assert ids["head.weight"] == ids["fc_norm.weight"] == 13


def test_causal_attention_ignores_later_tokens():
    torch.manual_seed(0)
    block = Block(12, 3, causal=True, act="quick_gelu").eval()
    x = torch.randn(1, 5, 12)
    changed = x.clone()
    changed[:, 3:] += 1.0
    torch.testing.assert_close(block(changed)[:, :3], block(x)[:, :3])
    assert not torch.allclose(block(changed)[:, 3:], block(x)[:, 3:])
