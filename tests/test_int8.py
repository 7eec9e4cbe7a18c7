"""zoo.convert.quantize: int8 post-training quantisation (PyTorch FX, x86 backend) of zoo models."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import zoo
from zoo.convert.quantize import Int8Error, int8_builder, int8_twin, quantize_int8
from zoo.weights import get_int8_model


def _clips(seed: int, n: int = 4, t: int = 8, size: int = 32) -> torch.Tensor:
    """Smooth structured clips (moving plane waves + ramps), different per sample."""
    g = torch.Generator().manual_seed(seed)
    tt, yy, xx = torch.meshgrid(torch.linspace(0, 1, t), torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    out = torch.zeros(n, 3, t, size, size)
    for i in range(n):
        for c in range(3):
            f = torch.rand(4, generator=g) * 3 - 1.5
            out[i, c] = torch.sin(3.14 * (f[0] * xx + f[1] * yy) + 6.28 * f[2] * tt + 6.28 * f[3]) + f[0] * yy - f[1] * xx
    return out


def _small_model(seed: int = 0) -> nn.Module:
    """simple3d with non-trivial BatchNorm statistics, so that folding BN into int8 convs matters."""
    torch.manual_seed(seed)
    model = zoo.get_model("simple3d_synthetic", widths=(8, 16, 32, 64))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            nn.init.uniform_(m.weight, 0.8, 1.2)
            nn.init.normal_(m.bias, 0, 0.1)
    return model.eval()


class FoldTime(nn.Module):
    """A TSN-like wrapper whose forward branches on the input's rank (not FX-traceable as a whole)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:
            n, c, t, h, w = x.shape
            x = x.transpose(1, 2).reshape(n * t, c, h, w)
            return self.fc(self.backbone(x).reshape(n, t, -1).mean(1))
        return self.fc(self.backbone(x))


def test_whole_model_becomes_int8_and_agrees_with_fp32():
    model = _small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q = quantize_int8(model, [_clips(1), _clips(2)])
    assert q.zoo_int8["quantized"] == ["<model>"]
    assert q.zoo_int8["float_layers"] == []
    int8_weights = [m.weight() for m in q.modules() if hasattr(m, "weight") and callable(m.weight)]
    assert int8_weights and all(w.dtype == torch.qint8 for w in int8_weights)
    for k, v in model.state_dict().items():  # the fp32 model is left as it was
        assert torch.equal(v, before[k]), k
    x = _clips(3, n=8)
    with torch.no_grad():
        y, yq = model(x), q(x)
    assert not torch.equal(y, yq)  # really quantised
    rel = ((yq - y).abs().max() / y.abs().max()).item()
    assert rel < 0.1, f"int8 deviates by {rel:.3g} of the fp32 logits' scale"
    assert (yq.argmax(1) == y.argmax(1)).float().mean().item() >= 0.75


def test_untraceable_forward_quantises_its_parts():
    torch.manual_seed(0)
    model = FoldTime().eval()
    q = quantize_int8(model, [_clips(4, n=2, t=3)])
    assert sorted(q.zoo_int8["quantized"]) == ["backbone", "fc"]
    assert q.zoo_int8["float_layers"] == []
    x = _clips(5, n=2, t=3)
    with torch.no_grad():
        y, yq = model(x), q(x)
    assert yq.shape == (2, 5)
    assert ((yq - y).abs().max() / y.abs().max()).item() < 0.1


def test_errors_name_the_way_out():
    with pytest.raises(Int8Error, match="at least one calibration batch"):
        quantize_int8(_small_model(), [])
    with pytest.raises(Int8Error, match="not available.*fp32"):
        quantize_int8(_small_model(), [_clips(1)], backend="no_such_backend")
    with pytest.raises(Int8Error, match="could be traced|convolution or linear"):
        quantize_int8(nn.Sequential(nn.ReLU()), [_clips(1)])


def test_int8_names_and_builder():
    assert int8_twin("resnet18_v1b_kinetics400_int8") == "resnet18_v1b_kinetics400"
    build = int8_builder("simple3d_synthetic")
    q = build(num_classes=8, calibration=[_clips(6)], widths=(8, 16, 32, 64))
    assert q.zoo_int8["quantized"] == ["<model>"]
    with torch.no_grad():
        assert q(_clips(7)).shape == (4, 8)


def test_get_int8_model_uses_the_fp32_twin():
    q = get_int8_model("simple3d_synthetic_int8", [_clips(8)], pretrained=False, widths=(8, 16, 32, 64))
    assert q.zoo_int8["backend"] == "x86"
    with torch.no_grad():
        assert q(_clips(9, n=2)).shape == (2, 8)


def test_get_model_builds_an_int8_name_without_calibration(caplog):
    import logging

    import zoo

    with caplog.at_level(logging.WARNING, logger="zoo.convert.quantize"):
        q = zoo.get_model("resnet18_v1b_kinetics400_int8")
    assert "get_int8_model('resnet18_v1b_kinetics400'" in caplog.text and "stand-in" in caplog.text
    assert q.zoo_int8["quantized"], "some part of the model runs in int8"
    x = torch.randn(1, 3, 7, 112, 112)
    with torch.no_grad():
        assert q(x).shape == (1, 400)


def test_fast_path_leaves_an_int8_model_int8_and_says_why():
    q = quantize_int8(_small_model(), [_clips(1)])
    x = _clips(5, n=2)
    with torch.no_grad():
        ref = q(x)
    fast = zoo.optimize_for_inference(q, x, precision="bf16")
    assert fast.dtype == torch.float32
    assert any("quantized (int8)" in reason for reason in fast.zoo_skipped), fast.zoo_skipped
    assert torch.equal(fast(x), ref)
    as_built = zoo.optimize_for_inference(q, x)  # nothing for the fp32 fast path to do either: it says so
    assert as_built.zoo_folded == as_built.zoo_onednn == 0
    assert any("runs as built" in reason for reason in as_built.zoo_skipped), as_built.zoo_skipped


# One model of several families, small inputs: (name, get_model kwargs, (T, size)).
INT8_FAMILIES = [
    ("simple3d_synthetic", {"widths": (8, 16, 32, 64)}, (8, 32)),
    ("inceptionv1_hmdb51", {}, (3, 64)),  # TSN: not traceable whole, quantised in parts
    ("r2plus1d_resnet18_kinetics400", {}, (8, 64)),
    ("i3d_resnet50_v1_hmdb51", {}, (8, 64)),
    ("lrcn_resnet18", {"backbone_kwargs": {"widths": (8, 16, 32, 64)}, "hidden_size": 16}, (4, 64)),
    ("ibm_tam_resnet50_sthsthv2", {}, (8, 64)),  # TAM: a functional depthwise conv3d whose weight int8 prepacks
]


def _randomize_bn(model: nn.Module) -> None:
    gen = torch.Generator().manual_seed(1)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            m.running_mean.copy_(0.1 * torch.randn(m.running_mean.shape, generator=gen))
            m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=gen))


@pytest.mark.parametrize("name,kwargs,size", INT8_FAMILIES, ids=[n for n, _, _ in INT8_FAMILIES])
def test_fast_path_int8_agrees_with_fp32(name, kwargs, size):
    """int8 from ``optimize_for_inference``: every conv/linear layer int8, logits within 25 % of the largest
    fp32 logit, and the same top-1 on every clip that is not a near tie (top-2 gap above twice the largest
    logit change).  Random weights are a hard case: many clips are near ties that any rounding may flip,
    and the deep Inception's logits move by up to ~15 % (3-6 % for the ResNets; the trained simple3d's
    figures are in benchmarks/int8_agreement.csv)."""
    torch.manual_seed(0)
    model = zoo.get_model(name, **kwargs).eval()
    _randomize_bn(model)
    t, hw = size
    calibration = [_clips(10, n=2, t=t, size=hw), _clips(11, n=2, t=t, size=hw)]
    evaluation = _clips(12, n=8, t=t, size=hw)
    served = zoo.optimize_for_inference(model, evaluation[:1], precision="int8", calibration=calibration)
    assert served.precision == "int8" and served.zoo_int8["float_layers"] == [], served.zoo_skipped
    assert served.zoo_agreement and served.zoo_agreement["relative_error"] < 0.25
    with torch.no_grad():
        reference, output = model(evaluation), served(evaluation)
    change = (output - reference).abs().max()
    assert 0 < change <= 0.25 * reference.abs().max(), f"{name}: logits changed by {change:.3g}"
    top2 = reference.topk(2, dim=1).values
    decided = (top2[:, 0] - top2[:, 1]) > 2 * change
    assert torch.equal(output.argmax(1)[decided], reference.argmax(1)[decided]), name


def test_fast_path_int8_needs_calibration_and_no_compile():
    model = _small_model()
    with pytest.raises(ValueError, match="calibration clips"):
        zoo.optimize_for_inference(model, _clips(1, n=1), precision="int8")
    with pytest.raises(ValueError, match="compile"):
        zoo.optimize_for_inference(model, _clips(1, n=1), precision="int8", calibration=[_clips(2)], compile=True)


def test_fast_path_int8_falls_back_to_fp32_and_says_why(monkeypatch):
    model = nn.Sequential(nn.Flatten(), nn.ReLU()).eval()  # nothing to quantise
    served = zoo.optimize_for_inference(model, _clips(1, n=1), precision="int8", calibration=[_clips(2)])
    assert served.precision == "fp32"
    assert any(reason.startswith("int8 does not apply") for reason in served.zoo_skipped), served.zoo_skipped
    # LRCN ends in a mean over a 1x1 map, where torch 2.13's quantised mean fails: it is taken in float
    lrcn = zoo.get_model("lrcn_resnet18", num_classes=5, backbone_kwargs={"widths": (8, 16, 32, 64)}, hidden_size=16)
    x = _clips(3, n=2, t=4, size=32)
    served = zoo.optimize_for_inference(lrcn.eval(), x, precision="int8", calibration=[x])
    assert served.precision == "int8", served.zoo_skipped
    # a quantised kernel that fails on the input still falls back to fp32, with its message
    import zoo.convert.quantize as quantize

    def failing(*args, **kwargs):
        raise RuntimeError("required rank 4 tensor to use channels_last format")

    monkeypatch.setattr(quantize, "quantize_int8", failing)
    served = zoo.optimize_for_inference(lrcn.eval(), x, precision="int8", calibration=[x])
    assert served.precision == "fp32" and "channels_last" in served.zoo_skipped[-1], served.zoo_skipped
    with torch.no_grad():
        assert torch.allclose(served(x), lrcn(x), atol=1e-4)


def test_int8_names_are_fast_path_instances():
    """GluonCV's _int8 names give what ``optimize_for_inference(twin, precision='int8')`` gives."""
    torch.manual_seed(0)
    clips = [_clips(13, n=1, t=7, size=64)]
    named = zoo.get_model("resnet18_v1b_kinetics400_int8", calibration=clips)
    torch.manual_seed(0)
    twin = zoo.get_model("resnet18_v1b_kinetics400")
    served = zoo.optimize_for_inference(twin, clips[0], precision="int8", calibration=clips)
    assert named.zoo_int8["quantized"] == served.zoo_int8["quantized"]
    x = _clips(14, n=1, t=7, size=64)
    with torch.no_grad():
        assert torch.allclose(named(x), served(x), atol=1e-5)


class StagesInAList(nn.Module):
    """SlowFast-like: stages kept in a ModuleList (never called itself), a lateral GappedConv3d (kernel 1,
    stride 4 in time), and a forward that branches on the input (not traceable as a whole)."""

    def __init__(self) -> None:
        super().__init__()
        from zoo.models._gapped_conv import GappedConv3d

        self.stages = nn.ModuleList([nn.Sequential(nn.Conv3d(3, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU()),
                                     nn.Sequential(nn.Conv3d(16, 8, 3, padding=1), nn.ReLU())])
        self.lateral = nn.Sequential(GappedConv3d(8, 8, (1, 1, 1), stride=(4, 1, 1)), nn.ReLU())
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5:
            raise ValueError("clips only")
        x = self.stages[0](x)
        x = self.stages[1](torch.cat([x, x], dim=1))
        return self.fc(self.lateral(x).mean(dim=(2, 3, 4)))


def test_members_of_module_lists_and_gapped_convolutions_become_int8():
    torch.manual_seed(0)
    model = StagesInAList().eval()
    q = quantize_int8(model, [_clips(1), _clips(2)])
    assert q.zoo_int8["float_layers"] == []  # every conv and linear, the ModuleList's and the gapped one's, is int8
    assert {"stages.0", "stages.1", "lateral", "fc"} <= set(q.zoo_int8["quantized"])
    with torch.no_grad():
        x = _clips(3)
        want, got = model(x), q(x)
    assert (got - want).abs().max() <= 0.1 * want.abs().max()
    assert type(model.lateral[0]).__name__ == "GappedConv3d"  # the caller's model is left as it was


@pytest.mark.slow
def test_slowfast_is_int8_throughout():
    from zoo.models.slowfast import SlowFast

    torch.manual_seed(0)
    model = SlowFast(num_classes=4, layers=(1, 1, 1, 1), slow_frames=4, fast_frames=16, alpha=4).eval()
    q = quantize_int8(model, [torch.randn(1, 3, 20, 32, 32)])
    assert q.zoo_int8["float_layers"] == []


class PooledToOnePosition(nn.Module):
    """S3D's ending: a fixed average pool to one position, then ``mean`` (torch's quantised mean fails there)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, 8, 3, padding=1)
        self.pool = nn.AvgPool3d((8, 32, 32))
        self.fc = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(torch.relu(self.conv(x))).mean(dim=(2, 3, 4)))


def test_a_mean_over_one_position_stays_int8_and_right():
    torch.manual_seed(0)
    model = PooledToOnePosition().eval()
    q = quantize_int8(model, [_clips(1), _clips(2)])
    assert q.zoo_int8["quantized"] == ["<model>"] and q.zoo_int8["float_layers"] == []
    with torch.no_grad():
        x = _clips(3)
        want, got = model(x), q(x)
    assert (got - want).abs().max() <= 0.05 * want.abs().max()


def test_transformer_int8_quantises_its_linear_layers_dynamically():
    """A video transformer's int8 is dynamic int8 on its linear layers (a range per input at run time): every
    nn.Linear becomes int8, the patch embedding stays fp32, and the logits stay close to fp32's."""
    torch.manual_seed(0)
    model = zoo.get_model("videomae_vit_s_sthsthv2").eval()
    evaluation = _clips(12, n=4, t=8, size=64)
    served = zoo.optimize_for_inference(model, evaluation[:1], precision="int8", calibration=[evaluation[:2]])
    assert served.precision == "int8" and served.zoo_int8["quantized"] == ["<linear layers, dynamic>"]
    assert served.zoo_int8["float_layers"] == ["patch_embed.proj"]
    linears = [m for m in served.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(linears) == sum(isinstance(m, nn.Linear) for m in model.modules())
    with torch.no_grad():
        reference, output = model(evaluation), served(evaluation)
    assert (output - reference).abs().max() < 0.15 * reference.abs().max()


def test_an_int8_model_takes_a_bf16_input_and_refuses_a_bf16_cast_in_one_line():
    """A bf16 clip (as a bf16 pipeline gives) runs on float32 inside; the model itself cast with .to(bfloat16)
    (its scales and float layers with it) is refused with a line that says what to do, not a dtype error deep inside."""
    torch.manual_seed(0)
    model = zoo.get_model("simple3d_synthetic", widths=(8, 16, 32, 64)).eval()
    clips = _clips(3, n=2, t=8, size=32)
    served = zoo.optimize_for_inference(model, clips[:1], precision="int8", calibration=[clips])
    with torch.no_grad():
        reference = served(clips)
        out = served.model(clips.bfloat16())
        assert out.dtype == torch.float32
        assert (out - reference).abs().max() < 0.05 * reference.abs().max()
        with pytest.raises(TypeError, match="do not call .to.torch.bfloat16. on it"):
            served.model.to(torch.bfloat16)(clips.bfloat16())
