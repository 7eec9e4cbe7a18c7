"""The shared 3D ResNet blocks and the I3D / I3D non-local / I3D-slow / SlowFast families.

Numerical parity with GluonCV itself is in ``test_gluoncv_parity.py``; here: every name builds,
shapes, gradients, consensus, BN modes, converter error reports.
"""
from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn

import zoo
from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError
from zoo.models import _resnet3d as r3d
from zoo.models.i3d_resnet import i3d_resnet
from zoo.models.i3d_slow import i3d_slow_resnet
from zoo.models.slowfast import SlowFast

MY_FAMILIES = ("i3d", "i3d_slow", "slowfast")
NAMES = [n for f in MY_FAMILIES for n in zoo.get_model_list(family=f)]
EXPECTED = {
    "i3d_resnet50_v1_kinetics400", "i3d_resnet101_v1_kinetics400", "i3d_resnet50_v1_ucf101",
    "i3d_resnet50_v1_hmdb51", "i3d_resnet50_v1_sthsthv2", "i3d_resnet50_v1_custom",
    "i3d_nl5_resnet50_v1_kinetics400", "i3d_nl10_resnet50_v1_kinetics400", "i3d_nl5_resnet101_v1_kinetics400",
    "i3d_nl10_resnet101_v1_kinetics400", "slowfast_4x16_resnet50_kinetics400", "slowfast_8x8_resnet50_kinetics400",
    "slowfast_4x16_resnet101_kinetics400", "slowfast_8x8_resnet101_kinetics400", "slowfast_16x8_resnet101_kinetics400",
    "slowfast_16x8_resnet101_50_50_kinetics400", "slowfast_4x16_resnet50_custom", "i3d_slow_resnet101_f16s4_kinetics700",
}


def test_every_gluoncv_name_is_registered():
    assert EXPECTED <= set(NAMES)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_name_builds(name):
    card = model_card(name)
    with torch.device("meta"):
        model = card.builder(num_classes=card.num_classes, **card.kwargs)
    assert model.head.fc.out_features == card.num_classes
    assert card.converters["params"] in ("gluoncv_i3d_resnet", "gluoncv_slowfast")
    get_converter(card.converters["params"])  # registered
    for entry in [w for w in card.weights if w.format != "pth"]:  # GluonCV-torch tags: test_fixtures_gluoncv_torch_resnets.py
        assert entry.format == "params" and entry.url.startswith("gluon/models/")


def test_custom_names_carry_their_kinetics_parent_weights():
    for name, parent in (("i3d_resnet50_v1_custom", "i3d_resnet50_v1_kinetics400"),
                         ("slowfast_4x16_resnet50_custom", "slowfast_4x16_resnet50_kinetics400")):
        entry, parent_entry = model_card(name).default_weights(), model_card(parent).default_weights()
        assert entry.sha1 == parent_entry.sha1 and entry.file == parent_entry.file
        assert entry.num_classes == 400


def test_published_weights_only_where_gluoncv_has_them():
    without = {n for n in EXPECTED if not model_card(n).weights}
    assert without == {"slowfast_4x16_resnet101_kinetics400", "slowfast_16x8_resnet101_kinetics400",
                       "slowfast_16x8_resnet101_50_50_kinetics400"}
    with pytest.raises(WeightsError, match="no published weights"):
        zoo.get_model("slowfast_16x8_resnet101_kinetics400", pretrained=True)


def _clip(n=2, t=8, s=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, t, s, s, generator=g)


SMALL = (1, 1, 1, 1)  # one block per stage: the real widths, a fraction of the compute


def test_i3d_nonlocal_forward_backward_and_shapes():
    model = i3d_resnet(num_classes=5, layers=(1, 2, 1, 1), nonlocal_stages=(1,), nonlocal_freq=(0, (0, 1), 0, 0))
    assert [b.nonlocal_block is not None for b in model.layer2] == [False, True]
    x = _clip()
    out = model(x)
    assert out.shape == (2, 5)
    out.sum().backward()
    assert model.stem.conv.weight.grad is not None and model.stem.conv.weight.grad.abs().sum() > 0
    assert model.layer2[1].nonlocal_block.theta.weight.grad is not None
    with torch.no_grad():
        feats = model.eval().forward_stages(x)
    # 8 frames: stem /2, pool1 /2, pool2 after layer1 /2 -> 1 frame; 32 px -> 8, 4, 2, 1
    assert [tuple(f.shape[1:]) for f in feats] == [(256, 2, 8, 8), (512, 1, 4, 4), (1024, 1, 2, 2), (2048, 1, 1, 1)]


def test_i3d_names_follow_gluoncv_patterns():
    with torch.device("meta"):
        nl5 = zoo.get_model("i3d_nl5_resnet50_v1_kinetics400")
        nl10 = zoo.get_model("i3d_nl10_resnet101_v1_kinetics400")
        slow = zoo.get_model("i3d_slow_resnet101_f16s4_kinetics700")
    assert sum(isinstance(m, r3d.NonLocal3d) for m in nl5.modules()) == 5
    assert sum(isinstance(m, r3d.NonLocal3d) for m in nl10.modules()) == 10
    assert [b.nonlocal_block is not None for b in nl5.layer2] == [False, True, False, True]
    assert [b.conv1.kernel_size[0] for b in nl5.layer2] == [3, 1, 3, 1]
    assert [b.conv1.kernel_size[0] for b in nl10.layer3] == [1 + 2 * (i % 2 == 0) for i in range(23)]
    assert nl5.stem.conv.kernel_size == (5, 7, 7) and "0" in nl5.stage_pools
    assert slow.stem.conv.kernel_size == (1, 7, 7) and len(slow.stage_pools) == 0
    assert [b.conv1.kernel_size[0] for b in slow.layer2] == [1] * 4
    assert [b.conv1.kernel_size[0] for b in slow.layer4] == [3] * 3


@pytest.mark.parametrize("builder,kwargs,t,dim", [
    (i3d_resnet, {"layers": SMALL}, 8, 2048),
    (i3d_slow_resnet, {"layers": SMALL}, 4, 2048),
    (SlowFast, {"layers": SMALL, "slow_frames": 4, "fast_frames": 16, "alpha": 4}, 20, 2304),
])
def test_feature_shapes(builder, kwargs, t, dim):
    model = builder(num_classes=7, **kwargs).eval()
    with torch.no_grad():
        assert model.forward_features(_clip(t=t, s=16)).shape == (2, dim)


def test_segmental_consensus_averages_views():
    plain = i3d_resnet(num_classes=4, layers=SMALL).eval()
    views = i3d_resnet(num_classes=4, layers=SMALL, num_segments=2, num_crop=2).eval()
    views.load_state_dict(plain.state_dict())
    x = _clip(n=8, t=8, s=16)
    with torch.no_grad():
        per_clip, grouped = plain.forward_features(x), views.forward_features(x)
        assert grouped.shape == (2, 2048)
        torch.testing.assert_close(grouped, per_clip.reshape(2, 4, -1).mean(1), rtol=1e-5, atol=1e-5)
        with pytest.raises(ValueError, match="num_segments \\* num_crop = 4"):
            views(_clip(n=6, t=8, s=16))


def test_slowfast_layouts():
    model = SlowFast(num_classes=3, layers=SMALL, slow_frames=4, fast_frames=16, alpha=4).eval()
    fast = _clip(n=1, t=16, s=16)
    fast_then_slow = torch.cat([fast, fast[:, :, ::4]], dim=2)
    with torch.no_grad():
        out = model(fast_then_slow)
        model.input_layout = "fast"
        torch.testing.assert_close(model(fast), out)
        model.input_layout = "fast_slow"
        with pytest.raises(ValueError, match="16 fast frames followed by 4 slow frames"):
            model(fast)
    assert out.shape == (1, 3)


def test_slowfast_50_50_temporal_kernels():
    with torch.device("meta"):
        model = zoo.get_model("slowfast_16x8_resnet101_50_50_kinetics400")
    kernels = [b.conv1.kernel_size[0] for b in model.slow_layers[2]]
    assert kernels == [3] * 6 + [1] * 17
    assert [b.conv1.kernel_size[0] for b in model.slow_layers[1]] == [1] * 4
    assert [b.conv1.kernel_size[0] for b in model.fast_layers[2]] == [3] * 6 + [1] * 17


def test_partial_bn_bn_frozen_and_frozen_stages():
    with torch.device("meta"):
        model = i3d_resnet(num_classes=3, layers=SMALL, partial_bn=True).train()
        assert model.stem.bn.training and not model.layer1[0].bn1.training and not model.layer4[0].bn3.training
        assert model.stem.bn.weight.requires_grad and not model.layer1[0].bn1.weight.requires_grad
        model = i3d_resnet(num_classes=3, layers=SMALL, bn_frozen=True).train()
        assert not model.stem.bn.training and not model.stem.bn.weight.requires_grad
        assert model.stem.conv.weight.requires_grad
        model = i3d_resnet(num_classes=3, layers=SMALL, frozen_stages=1).train()
        assert not model.layer1[0].conv1.weight.requires_grad and not model.layer1[0].bn1.training
        assert model.layer2[0].conv1.weight.requires_grad and model.layer2[0].bn1.training
        sf = SlowFast(num_classes=3, layers=SMALL, partial_bn=True).train()
        # TSN's partial BN: all but the first BatchNorm (the Fast stem's, built first)
        assert sf.fast_stem.bn.training and not sf.slow_stem.bn.training
        assert not sf.slow_layers[0][0].bn1.training and not sf.laterals[0].bn.training


# ---- converter error reports ------------------------------------------------------------------

_BN = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"}


def _gluon_key(key: str) -> str | None:
    """Our I3D key -> GluonCV's (the inverse of the converter), for building test sources."""
    if key.endswith("num_batches_tracked"):
        return None
    head, _, last = key.rpartition(".")
    is_bn = re.search(r"(^|\.)(bn\d?)$", head) is not None
    last = _BN[last] if is_bn else last
    if head == "stem.conv":
        return f"first_stage.0.{last}"
    if head == "stem.bn":
        return f"first_stage.1.{last}"
    if head == "head.fc":
        return f"fc.{last}"
    m = re.fullmatch(r"layer(\d)\.(\d+)\.(.+)", head)
    part = m[3].replace("downsample.conv", "downsample.0").replace("downsample.bn", "downsample.1").replace(".proj", ".W")
    return f"res_layers.{int(m[1]) - 1}.{m[2]}.{part}.{last}"


@pytest.fixture(scope="module")
def i3d_source():
    with torch.device("meta"):
        model = zoo.get_model("i3d_nl5_resnet50_v1_kinetics400", num_classes=6)
    g = torch.Generator().manual_seed(0)
    source = {}
    for key, tensor in model.state_dict().items():
        gkey = _gluon_key(key)
        if gkey:
            source[gkey] = torch.rand(tensor.shape, generator=g)
    # GluonCV files hold the same tensors a second time under the block's Sequential
    source["res_layers.0.0.bottleneck.0.weight"] = source["res_layers.0.0.conv1.weight"].clone()
    source["res_layers.1.1.bottleneck.8.W_bn.1.gamma"] = source["res_layers.1.1.nonlocal_block.bn.gamma"].clone()
    return model, source


def test_converter_maps_every_key(i3d_source):
    model, source = i3d_source
    state = get_converter("gluoncv_i3d_resnet")(source, model)
    assert set(state) == set(model.state_dict())
    torch.testing.assert_close(state["layer2.1.nonlocal_block.proj.weight"], source["res_layers.1.1.nonlocal_block.W.weight"])
    torch.testing.assert_close(state["layer1.0.bn1.weight"], source["res_layers.0.0.bn1.gamma"])


def test_converter_names_missing_unexpected_and_misshaped_keys(i3d_source):
    model, source = i3d_source
    convert = get_converter("gluoncv_i3d_resnet")
    broken = dict(source)
    del broken["res_layers.2.3.bn2.beta"]
    broken["res_layers.9.0.mystery.weight"] = torch.zeros(1)
    broken["first_stage.0.weight"] = torch.zeros(64, 3, 3, 7, 7)
    with pytest.raises(WeightsError) as err:
        convert(broken, model)
    text = str(err.value)
    assert "missing: layer3.3.bn2.bias" in text
    assert "res_layers.9.0.mystery.weight" in text
    assert "stem.conv.weight (from first_stage.0.weight): file (64, 3, 3, 7, 7) vs model (64, 3, 5, 7, 7)" in text
    conflicting = dict(source)
    conflicting["res_layers.0.0.bottleneck.0.weight"] = source["res_layers.0.0.conv1.weight"] + 1
    with pytest.raises(WeightsError, match=r"aliases disagree: res_layers\.0\.0\.bottleneck\.0\.weight"):
        convert(conflicting, model)


def test_slowfast_converter_reports_unexpected_key():
    with torch.device("meta"):
        model = zoo.get_model("slowfast_4x16_resnet50_kinetics400")
    with pytest.raises(WeightsError, match="lateral_res5.0.weight") as err:
        get_converter("gluoncv_slowfast")({"lateral_res5.0.weight": torch.zeros(1)}, model)
    assert "missing: fast_stem.conv.weight" in str(err.value)


# ---- the shared module ------------------------------------------------------------------------

def test_make_stage_checks_patterns():
    with pytest.raises(ValueError, match="3 entries for a stage of 2 blocks"):
        r3d.make_stage(r3d.Bottleneck3d, 64, 64, 2, block_kwargs=[{}, {}, {}])
    with pytest.raises(ValueError, match="no nonlocal_builder"):
        r3d.make_stage(r3d.Bottleneck3d, 64, 64, 2, nonlocal_blocks=[True, False])
    assert r3d.per_block(1, 3) == [1, 1, 1]
    with pytest.raises(ValueError):
        r3d.per_block((1, 0), 3)


def test_basic_block_stage_and_pluggable_conv_builder():
    class Factorised(nn.Sequential):
        """A (2+1)D conv that ends in its own BN + ReLU (so the block skips its own BN)."""

        norm_included = True

    def builder(cin, cout, *, stride, kernel_t, dilation=1):
        return Factorised(
            r3d.conv3d(cin, cout, (1, 3, 3), (1, stride[1], stride[2])),
            r3d.conv3d(cout, cout, (kernel_t, 1, 1), (stride[0], 1, 1)),
            nn.BatchNorm3d(cout), nn.ReLU(),
        )

    stage = r3d.make_stage(r3d.BasicBlock3d, 16, 32, 2, stride=2, conv_builder=builder)
    assert isinstance(stage[0].bn1, nn.Identity) and isinstance(stage[0].downsample, r3d.ConvBNAct)
    out = stage(torch.randn(1, 16, 4, 8, 8))
    assert out.shape == (1, 32, 2, 4, 4)


def test_nonlocal_starts_as_identity():
    block = r3d.NonLocal3d(8).eval()
    x = torch.randn(2, 8, 2, 3, 3)
    torch.testing.assert_close(block(x), x)


def test_nonlocal_pool_input_pools_before_phi_and_g():
    """``pool_input``: phi and g see the max-pooled input (PySlowFast's order), not pooled projections."""
    torch.manual_seed(0)
    after = r3d.NonLocal3d(8, sub_sample=True).eval()
    before = r3d.NonLocal3d(8, sub_sample=True, pool_input=True).eval()
    before.load_state_dict(after.state_dict())
    nn.init.ones_(after.bn.weight), nn.init.ones_(before.bn.weight)  # not an identity any more
    x = torch.randn(2, 8, 2, 4, 4)
    pooled = nn.functional.max_pool3d(x, (1, 2, 2))
    assert torch.allclose(before._pooled(before.phi, x), before.phi(pooled))
    assert torch.allclose(after._pooled(after.phi, x), nn.functional.max_pool3d(after.phi(x), (1, 2, 2)))
    assert not torch.allclose(before(x), after(x), atol=1e-4)
