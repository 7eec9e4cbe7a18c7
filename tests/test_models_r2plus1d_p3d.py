"""R(2+1)D and P3D (GluonCV MXNet zoo): names, builds, forward/backward, knobs, converters.

Numerical parity with GluonCV itself is checked by tests/test_gluoncv_parity.py (MXNet reference)
and tests/test_fixtures_gluoncv_torch.py (the PyTorch zoo's fixtures).
"""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import zoo
from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError, get_model

R2PLUS1D_NAMES = [f"r2plus1d_resnet{d}_kinetics400" for d in (18, 34, 50, 101, 152)]
P3D_NAMES = ["p3d_resnet50_kinetics400", "p3d_resnet101_kinetics400"]


def _clip(n: int, t: int, size: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, t, size, size, generator=g)


def test_names_and_cards():
    others = set(zoo.get_model_list("r2plus1d_resnet*")) - set(R2PLUS1D_NAMES)  # other upstreams' R(2+1)D networks
    assert set(R2PLUS1D_NAMES) <= set(zoo.get_model_list("r2plus1d_resnet*"))
    assert all(w.repo != "gluoncv" for n in others for w in model_card(n).weights), others
    assert zoo.get_model_list("p3d_*") == sorted(P3D_NAMES)
    for name in R2PLUS1D_NAMES + P3D_NAMES:
        card = model_card(name)
        assert card.dataset == "kinetics400" and card.num_classes == 400
        assert card.input.clip_len == 16
        assert card.input.crop_size == (112 if name.startswith("r2plus1d") else 224)
        assert card.converters["params"] in ("gluoncv_r2plus1d", "gluoncv_p3d")
        get_converter(card.converters["params"])  # registered
    # GluonCV publishes weights for R(2+1)D 18/34/50 and both P3Ds, not for R(2+1)D 101/152.
    with_weights = {n for n in R2PLUS1D_NAMES + P3D_NAMES if model_card(n).has_weights}
    assert with_weights == {*R2PLUS1D_NAMES[:3], *P3D_NAMES}
    for name in with_weights:
        entry = model_card(name).default_weights()
        assert entry.format == "params" and entry.repo == "gluoncv"
        assert entry.url == f"gluon/models/{name}-{entry.sha1[:8]}.zip"
        assert entry.accuracy is not None and 70 < entry.accuracy.top1 < 75


TORCH_ZOO_NAMES = [f"r2plus1d_v1_resnet{d}_kinetics400" for d in (18, 34, 50, 101, 152)] + [
    "r2plus1d_v1_resnet50_custom", "r2plus1d_v2_resnet152_kinetics400", "ircsn_v2_resnet152_f32s2_kinetics400",
]


@pytest.mark.parametrize("name", R2PLUS1D_NAMES + P3D_NAMES + TORCH_ZOO_NAMES)
def test_every_name_builds_on_meta(name):
    with torch.device("meta"):
        model = get_model(name)
    assert model.head.fc.out_features == 400
    feat = 512 if ("resnet18" in name or "resnet34" in name) else 2048
    assert model.head.fc.in_features == feat


def test_r2plus1d_mid_channels_follow_gluoncv():
    from zoo.models.r2plus1d import mid_channels

    with torch.device("meta"):
        model = get_model("r2plus1d_resnet18_kinetics400")
    # the stage's first block sizes both its (2+1)D convs from its own input width (64 -> 128)
    assert model.layer2[0].conv1.conv_s.out_channels == mid_channels(64, 128) == 230
    assert model.layer2[0].conv2.conv_s.out_channels == 230
    assert model.layer2[1].conv1.conv_s.out_channels == mid_channels(128, 128) == 288
    assert model.stem.conv.conv_s.out_channels == 45
    with torch.device("meta"):
        vmz = get_model("r2plus1d_v2_resnet152_kinetics400")
    # the VMZ layout sizes them from the block's own width, and uses BatchNorm eps 1e-3
    assert vmz.layer2[0].conv2.conv_s.out_channels == mid_channels(128, 128) == 288
    assert vmz.layer1[0].bn1.eps == 1e-3 and model.layer1[0].bn1.eps == 1e-5


def test_r2plus1d_forward_backward_and_shapes():
    model = get_model("r2plus1d_resnet18_kinetics400", num_classes=7)
    x = _clip(2, 8, 32)
    logits = model(x)
    assert logits.shape == (2, 7)
    logits.logsumexp(1).sum().backward()
    assert model.stem.conv.conv_s.weight.grad is not None
    assert model.layer4[-1].conv2.conv_t.weight.grad.abs().sum() > 0


def test_p3d_forward_backward_and_frame_check():
    model = get_model("p3d_resnet50_kinetics400", num_classes=5)
    x = _clip(2, 16, 48)
    out = model(x)
    assert out.shape == (2, 5)
    out.sum().backward()
    assert model.layer1[0].conv2.conv_t.weight.grad is not None
    designs = [b.conv2.design for layer in (model.layer1, model.layer2, model.layer3) for b in layer]
    assert designs[:7] == ["A", "B", "C", "A", "B", "C", "A"]
    model.eval()
    with pytest.raises(ValueError, match="16 to 31 frames"):
        model(_clip(1, 8, 32))


def test_forward_features():
    model = get_model("r2plus1d_resnet18_kinetics400").eval()
    with torch.no_grad():
        feat = model.forward_features(_clip(2, 8, 32))
    assert feat.shape == (2, 512)
    assert (feat >= 0).all()  # pooled post-ReLU activations


def test_consensus_averages_consecutive_clips():
    torch.manual_seed(0)
    single = get_model("r2plus1d_resnet18_kinetics400", num_classes=6).eval()
    multi = get_model("r2plus1d_resnet18_kinetics400", num_classes=6, num_segments=2, num_crop=2).eval()
    multi.load_state_dict(single.state_dict())
    x = _clip(8, 8, 32, seed=1)  # 2 videos x (2 segments x 2 crops)
    with torch.no_grad():
        out = multi(x)
        feats = single.forward_features(x).reshape(2, 4, -1).mean(1)
        expected = single.head.fc(feats)
    assert out.shape == (2, 6)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="multiple of num_segments"):
        multi(_clip(3, 8, 32))


def test_dropout_ratio_and_partial_bn():
    model = get_model("p3d_resnet50_kinetics400", dropout_ratio=0.2, partial_bn=True)
    assert model.head.dropout.p == 0.2
    model.train()
    assert model.stem.bn.training
    assert not model.layer1[0].bn1.training and not model.layer4[0].downsample.bn.training
    model = get_model("r2plus1d_resnet18_kinetics400", partial_bn=True).train()
    assert model.stem.conv.bn_s.training and not model.layer1[0].conv1.bn_s.training


def test_converter_names_missing_and_unexpected_keys():
    with torch.device("meta"):
        model = get_model("r2plus1d_resnet18_kinetics400")
    convert = get_converter("gluoncv_r2plus1d")
    with pytest.raises(WeightsError) as err:
        convert({"conv1.weight": torch.zeros(45, 3, 1, 7, 7), "bogus.gamma": torch.zeros(3)}, model)
    message = str(err.value)
    assert "missing" in message and "stem.bn.weight" in message
    assert "unexpected" in message and "bogus.weight" in message
    with pytest.raises(WeightsError, match="shape mismatch"):
        convert({"conv1.weight": torch.zeros(45, 3, 3, 7, 7)}, model)


def test_p3d_converter_lifts_2d_kernels():
    """P3D's stage 4 is 2D in GluonCV: ``(O, I, k, k)`` kernels land as ``(O, I, 1, k, k)``."""
    with torch.device("meta"):
        model = get_model("p3d_resnet50_kinetics400")
    ours = model.state_dict()
    inverse = {
        "stem.conv.": "conv1.", "stem.bn.": "bn1.", "downsample.conv.": "downsample.0.", "downsample.bn.": "downsample.1.",
        "conv2.conv_s.": "conv2.", "conv2.bn_s.": "bn2.", "conv2.conv_t.": "conv_temporal.", "conv2.bn_t.": "bn_temporal.",
        "head.fc.": "fc.",
    }
    source = {}
    for key, value in ours.items():
        if key.endswith("num_batches_tracked"):
            continue
        up = key
        for a, b in inverse.items():
            up = up.replace(a, b)
        if up.endswith(".weight") and value.ndim == 1:
            up = up[: -len("weight")] + "gamma"
        elif up.endswith(".bias") and not up.startswith("fc."):
            up = up[: -len("bias")] + "beta"
        shape = value.shape[:2] + value.shape[3:] if key.startswith("layer4") and value.ndim == 5 else value.shape
        source[up] = torch.randn(shape)
    converted = get_converter("gluoncv_p3d")(source, model)
    assert converted["layer4.0.conv2.weight"].shape == (512, 512, 1, 3, 3)
    assert torch.equal(converted["layer4.0.conv2.weight"][:, :, 0], source["layer4.0.conv2.weight"])
    assert torch.equal(converted["layer1.1.conv2.bn_t.weight"], source["layer1.1.bn_temporal.gamma"])
