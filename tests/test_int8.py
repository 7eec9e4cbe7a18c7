"""zoo.convert.quantize: int8 post-training quantisation (PyTorch FX, x86 backend) of zoo models."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import zoo
from zoo.convert.quantize import Int8Error, get_int8_model, int8_builder, int8_twin, quantize_int8


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
