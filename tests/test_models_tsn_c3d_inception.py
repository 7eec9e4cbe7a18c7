"""TSN 2D (ResNet v1b, VGG-16, Inception v1/v3), C3D and I3D-Inception: names, shapes, consensus, converters.

Numerical parity with GluonCV itself is checked by ``tests/test_gluoncv_parity.py``; here the
GluonCV key layout is exercised through files written with zoo's own MXNet ``.params`` writer.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn as nn

import zoo
from zoo.convert.mxnet_params import save_params
from zoo.models._backbones2d import gluon_module_name
from zoo.models.c3d import C3D
from zoo.models.i3d_inception import I3DInception
from zoo.models.tsn import TSN, TSNResNetV1b
from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError

GLUONCV_NAMES = [
    *(f"{arch}_{ds}" for arch in ("vgg16", "inceptionv1", "inceptionv3") for ds in ("ucf101", "hmdb51", "kinetics400", "sthsthv2")),
    *(f"resnet{d}_v1b_{ds}" for d in (18, 34, 50, 101, 152) for ds in ("kinetics400", "sthsthv2")),
    "resnet50_v1b_ucf101", "resnet50_v1b_hmdb51", "resnet50_v1b_custom", "resnet18_v1b_custom",
    "c3d_kinetics400", "i3d_inceptionv1_kinetics400", "i3d_inceptionv3_kinetics400",
]  # fmt: skip


def _meta_model(name: str, **kwargs) -> nn.Module:
    card = model_card(name)
    with torch.device("meta"):
        return card.builder(num_classes=card.num_classes, **{**card.kwargs, **kwargs})


def _gluon_state(model: nn.Module, seed: int = 0) -> dict[str, np.ndarray]:
    """A random state under GluonCV's parameter names for ``model`` (what its .params would hold)."""
    rng = np.random.default_rng(seed)
    top = model.gluon_names if isinstance(model, I3DInception) else type(model).GLUON_NAMES
    out = {}
    for mod_name, m in model.named_modules():
        is_bn = isinstance(m, nn.modules.batchnorm._BatchNorm)
        if not (is_bn or isinstance(m, (nn.Conv2d, nn.Conv3d, nn.Linear))):
            continue
        g = gluon_module_name(mod_name, top)
        names = {"weight": "gamma", "bias": "beta", "running_mean": "running_mean", "running_var": "running_var"} if is_bn else {"weight": "weight", "bias": "bias"}
        for ours, theirs in names.items():
            t = getattr(m, ours, None)
            if t is not None and t.numel() > 1_000_000:  # big fc layers: values do not matter, time does
                out[f"{g}.{theirs}"] = np.full(t.shape, 0.01, np.float32)
            elif t is not None:
                v = rng.uniform(0.5, 1.5, t.shape) if ours == "running_var" else rng.normal(0, 0.05, t.shape)
                out[f"{g}.{theirs}"] = v.astype(np.float32)
    return out


@pytest.mark.parametrize("name", GLUONCV_NAMES)
def test_every_gluoncv_name_builds(name: str) -> None:
    card = model_card(name)
    assert card.family in {"tsn", "c3d", "i3d_inception"}
    assert "params" in card.converters
    get_converter(card.converters["params"])
    model = _meta_model(name)
    assert model.fc.out_features == card.num_classes
    for entry in [w for w in card.weights if w.format != "pth"]:  # GluonCV-torch tags: test_fixtures_gluoncv_torch_resnets.py
        assert entry.format == "params" and entry.converter == card.converters["params"]
        assert entry.accuracy is not None and entry.accuracy.top1 is not None


def test_weights_where_gluoncv_publishes_them() -> None:
    with_weights = {n for n in GLUONCV_NAMES if model_card(n).has_weights}
    assert with_weights == {
        "vgg16_ucf101", "inceptionv1_kinetics400", "inceptionv3_ucf101", "inceptionv3_kinetics400",
        *(f"resnet{d}_v1b_kinetics400" for d in (18, 34, 50, 101, 152)),
        "resnet50_v1b_sthsthv2", "resnet50_v1b_hmdb51", "resnet18_v1b_custom", "resnet50_v1b_custom",
        "c3d_kinetics400", "i3d_inceptionv1_kinetics400", "i3d_inceptionv3_kinetics400",
    }  # fmt: skip
    # a *_custom name loads its Kinetics-400 parent's file
    assert model_card("resnet50_v1b_custom").weights[0].sha1 == model_card("resnet50_v1b_kinetics400").weights[0].sha1


def test_tsn_forward_backward_and_consensus() -> None:
    torch.manual_seed(0)
    model = zoo.get_model("resnet18_v1b_kinetics400", num_classes=5)
    clip = torch.randn(2, 3, 3, 32, 32)
    loss = model(clip).logsumexp(dim=1).sum()
    loss.backward()
    assert model.fc.weight.grad is not None and model.backbone.conv1.weight.grad.abs().sum() > 0

    model.eval()
    with torch.no_grad():
        logits = model(clip)
        per_frame = torch.stack([model(clip[:, :, t]) for t in range(3)], dim=1)  # (N, C, H, W) frames
        assert logits.shape == (2, 5)
        torch.testing.assert_close(logits, per_frame.mean(dim=1), rtol=1e-4, atol=1e-5)
        # GluonCV's own layout: (N * segments, C, H, W) with num_segments set
        model.num_segments = 3
        frames = clip.transpose(1, 2).reshape(6, 3, 32, 32)
        torch.testing.assert_close(model(frames), logits, rtol=1e-4, atol=1e-5)
        with pytest.raises(ValueError, match="multiple of"):
            model(frames[:5])


def test_3d_consensus_over_consecutive_clips() -> None:
    torch.manual_seed(0)
    one = zoo.get_model("i3d_inceptionv1_kinetics400", num_classes=4).eval()
    two = zoo.get_model("i3d_inceptionv1_kinetics400", num_classes=4, num_segments=2).eval()
    two.load_state_dict(one.state_dict())
    clips = torch.randn(4, 3, 8, 32, 32)
    with torch.no_grad():
        single = one.forward_features(clips)
        assert single.shape == (4, 1024)
        torch.testing.assert_close(two.forward_features(clips), single.reshape(2, 2, -1).mean(dim=1), rtol=1e-4, atol=1e-5)


def test_feature_shapes() -> None:
    def out_shape(name: str, shape: tuple[int, ...], features: bool = False) -> tuple[int, ...]:
        with torch.device("meta"):
            model = _meta_model(name).eval()
            return tuple((model.forward_features if features else model)(torch.empty(shape)).shape)

    assert out_shape("c3d_kinetics400", (2, 3, 16, 112, 112), features=True) == (2, 4096)
    assert out_shape("c3d_kinetics400", (2, 3, 16, 112, 112)) == (2, 400)
    assert out_shape("i3d_inceptionv3_kinetics400", (1, 3, 8, 96, 96), features=True) == (1, 2048)
    assert out_shape("inceptionv3_ucf101", (1, 3, 2, 299, 299), features=True) == (1, 2048)
    assert out_shape("vgg16_kinetics400", (1, 3, 2, 224, 224), features=True) == (1, 4096)
    assert out_shape("inceptionv1_hmdb51", (1, 3, 2, 224, 224)) == (1, 51)
    assert out_shape("resnet152_v1b_sthsthv2", (1, 3, 2, 112, 112), features=True) == (1, 2048)
    with pytest.raises(ValueError, match="16x112x112"):
        out_shape("c3d_kinetics400", (1, 3, 16, 128, 128))


def test_inflated_inception_kernels() -> None:
    model = _meta_model("i3d_inceptionv3_kinetics400")
    branch = model.features.mixed_6b.branches[1]  # 1x1 -> 1x7 -> 7x1 in 2D
    assert branch[1].conv.kernel_size == (7, 1, 7) and branch[1].conv.padding == (3, 0, 3)
    assert branch[2].conv.kernel_size == (7, 7, 1) and branch[2].conv.padding == (3, 3, 0)
    reduce = model.features.mixed_6a.branches[0][0].conv  # 3x3 stride 2, unpadded in 2D
    assert reduce.stride == (2, 2, 2) and reduce.padding == (1, 0, 0)
    assert model.features.conv1a.bn.eps == 1e-3
    assert _meta_model("resnet50_v1b_kinetics400").backbone.bn1.eps == 1e-5


def test_partial_bn_freezes_all_but_the_first_batchnorm() -> None:
    model = zoo.get_model("inceptionv1_ucf101").train()
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms[0].training and not any(m.training for m in norms[1:])
    # TSN's partial BN: the frozen BatchNorms' scale and shift are frozen too; the first one trains
    assert norms[0].weight.requires_grad and not any(m.weight.requires_grad or m.bias.requires_grad for m in norms[1:])
    plain = zoo.get_model("resnet18_v1b_kinetics400").train()
    assert all(m.training for m in plain.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize("name", ["resnet18_v1b_kinetics400", "inceptionv1_kinetics400", "i3d_inceptionv1_kinetics400"])
def test_gluoncv_params_file_round_trip(name: str, tmp_path) -> None:
    model = _meta_model(name)
    state = _gluon_state(model)
    if name.startswith("i3d_"):  # GluonCV writes its classifier under two names
        state["head.1.weight"], state["head.1.bias"] = state["output.weight"], state["output.bias"]
    path = tmp_path / f"{name}.params"
    save_params(path, state)
    loaded = zoo.get_model(name, pretrained=str(path))
    np.testing.assert_array_equal(loaded.fc.weight.detach().numpy(), state["output.weight"])
    first_conv = next(m for m in loaded.modules() if isinstance(m, (nn.Conv2d, nn.Conv3d)))
    first_src = next(k for k in state if k.endswith("weight") and state[k].ndim >= 4)
    np.testing.assert_array_equal(first_conv.weight.detach().numpy(), state[first_src])


@pytest.mark.parametrize("name", ["c3d_kinetics400", "i3d_inceptionv3_kinetics400", "vgg16_ucf101", "inceptionv3_kinetics400"])
def test_converter_covers_every_key(name: str) -> None:
    """Big models: convert on the meta device (every key mapped, every shape checked)."""
    model = _meta_model(name)
    source = {k: torch.from_numpy(v) for k, v in _gluon_state(model).items()}
    converted = get_converter(model_card(name).converters["params"])(source, model)
    assert set(converted) == set(model.state_dict())  # counters the .params lack start at 0
    head = {"c3d_kinetics400": "fc8", "vgg16_ucf101": "output"}.get(name, "output")
    assert converted["fc.weight"] is source[f"{head}.weight"]


def test_custom_name_keeps_everything_but_the_classifier(tmp_path) -> None:
    state = _gluon_state(_meta_model("resnet18_v1b_kinetics400"))
    path = tmp_path / "k400.params"
    save_params(path, state)
    model = zoo.get_model("resnet18_v1b_custom", pretrained=str(path), num_classes=7)
    assert model.fc.out_features == 7
    np.testing.assert_array_equal(model.backbone.layer4[1].bn2.running_var.numpy(), state["layer4.1.bn2.running_var"])


def test_converter_errors_name_the_keys() -> None:
    model = _meta_model("resnet18_v1b_kinetics400")
    state = {k: torch.from_numpy(v) for k, v in _gluon_state(model).items()}
    convert = get_converter("gluoncv_tsn")
    assert set(convert(dict(state), model)) == set(model.state_dict())

    broken = dict(state)
    del broken["layer2.0.downsample.1.running_mean"]
    broken["layer9.extra.weight"] = torch.zeros(1)
    broken["conv1.weight"] = torch.zeros(64, 3, 5, 5)  # a classifier of another width is no error: the loader fits it
    with pytest.raises(WeightsError) as err:
        convert(broken, model)
    msg = str(err.value)
    assert "layer2.0.downsample.1.running_mean" in msg and "backbone.layer2.0.downsample.1.running_mean" in msg
    assert "layer9.extra.weight" in msg
    assert "conv1.weight" in msg and "(64, 3, 5, 5)" in msg

    with pytest.raises(WeightsError, match="TSN"):
        convert(state, _meta_model("c3d_kinetics400"))
    i3d = _meta_model("i3d_inceptionv1_kinetics400")
    i3d_state = {k: torch.from_numpy(v) for k, v in _gluon_state(i3d).items()}
    i3d_state["head.1.weight"] = i3d_state["output.weight"] + 1
    with pytest.raises(WeightsError, match=r"aliases disagree: head\.1\.weight"):
        get_converter("gluoncv_i3d_inception")(i3d_state, i3d)


def test_input_specs_follow_gluoncv_recipes() -> None:
    assert model_card("resnet50_v1b_kinetics400").input.num_segments == 7
    assert model_card("vgg16_ucf101").input.num_segments == 3
    assert model_card("resnet50_v1b_sthsthv2").input.num_segments == 8
    assert model_card("inceptionv3_kinetics400").input.crop_size == 299
    c3d = model_card("c3d_kinetics400").input
    assert (c3d.clip_len, c3d.crop_size) == (16, 112)
    assert model_card("i3d_inceptionv3_kinetics400").input.crop_size == 299
    assert isinstance(_meta_model("resnet34_v1b_kinetics400"), TSNResNetV1b) and issubclass(TSNResNetV1b, TSN)
    assert isinstance(_meta_model("c3d_kinetics400"), C3D)
