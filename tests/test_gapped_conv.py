"""GappedConv3d: the rewrite of gapped bf16 convolutions is exact, taken where needed, and never crashes."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn.functional as F

from zoo.models import _gapped_conv
from zoo.models._gapped_conv import GappedConv3d, cpu_has_amx_bf16, gapped_axes, gathered_conv3d

# (kernel, stride, padding, groups): SlowFast's lateral (5/8 in time), MViT v1's pooling (3/8 in space), and the
# other shapes that crashed on AMX (7/5, 8/3, 8/2, 16/5 as stride/kernel), with odd sizes and padding.
CASES = [
    ((5, 1, 1), (8, 1, 1), (2, 0, 0), 1),
    ((3, 3, 3), (1, 8, 8), (1, 1, 1), 4),
    ((5, 1, 1), (7, 1, 1), (2, 0, 0), 1),
    ((3, 1, 1), (8, 1, 1), (1, 0, 0), 1),
    ((2, 2, 2), (8, 3, 5), (0, 1, 0), 2),
    ((5, 3, 3), (16, 2, 2), (2, 1, 1), 1),
]


@pytest.mark.parametrize("kernel,stride,padding,groups", CASES)
def test_gathered_conv_equals_conv3d(kernel, stride, padding, groups):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 37, 19, 23, dtype=torch.float64)
    w = torch.randn(12, 8 // groups, *kernel, dtype=torch.float64)
    b = torch.randn(12, dtype=torch.float64)
    axes = gapped_axes(kernel, stride, (1, 1, 1))
    assert axes, "every case has a gapped axis"
    want = F.conv3d(x, w, b, stride, padding, 1, groups)
    got = gathered_conv3d(x, w, b, stride, padding, (1, 1, 1), groups, axes)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


def test_gathered_conv_in_bf16_agrees_with_fp32():
    torch.manual_seed(0)
    conv = GappedConv3d(16, 32, (5, 1, 1), (8, 1, 1), (2, 0, 0), bias=False)
    x = torch.randn(1, 16, 32, 14, 14)
    want = conv(x)
    got = gathered_conv3d(x.bfloat16(), conv.weight.bfloat16(), None, conv.stride, conv.padding, conv.dilation, 1,
                          conv.gapped).float()
    assert (got - want).abs().max() <= 0.02 * want.abs().max()


def test_only_gapped_bf16_on_amx_takes_the_rewrite(monkeypatch):
    calls = []
    real = _gapped_conv.gathered_conv3d
    monkeypatch.setattr(_gapped_conv, "gathered_conv3d", lambda *a: calls.append(a[-1]) or real(*a))
    monkeypatch.setattr(_gapped_conv, "cpu_has_amx_bf16", lambda: True)
    lateral = GappedConv3d(8, 16, (5, 1, 1), (8, 1, 1), (2, 0, 0))
    downsample = GappedConv3d(8, 16, 1, (1, 2, 2))  # ResNet's 2/1: runs on AMX, left alone
    x = torch.randn(1, 8, 16, 8, 8)
    lateral(x), downsample(x)
    assert calls == []  # fp32: plain convolution
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = lateral(x)
        downsample(x)
    assert calls == [(0,)] and out.dtype == torch.bfloat16
    lateral.bfloat16()(x.bfloat16())  # a model cast to bf16
    assert len(calls) == 2
    monkeypatch.setattr(_gapped_conv, "cpu_has_amx_bf16", lambda: False)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        lateral.float()(x)
    assert len(calls) == 2  # no AMX: the plain kernel runs


def test_state_dict_and_type_are_conv3d():
    conv = GappedConv3d(4, 8, (5, 1, 1), (8, 1, 1), (2, 0, 0))
    assert isinstance(conv, torch.nn.Conv3d)
    assert set(conv.state_dict()) == {"weight", "bias"}
    with pytest.raises(ValueError, match="zero padding"):
        GappedConv3d(4, 8, 3, 8, 1, padding_mode="reflect")


@pytest.mark.skipif(not cpu_has_amx_bf16(), reason="needs a CPU with AMX bf16 (the crash happens only there)")
def test_slowfast_lateral_in_bf16_does_not_crash_on_amx():
    code = textwrap.dedent(
        """
        import torch
        from zoo.models._gapped_conv import GappedConv3d
        conv = GappedConv3d(8, 16, (5, 1, 1), (8, 1, 1), (2, 0, 0), bias=False)
        x = torch.randn(1, 8, 32, 56, 56)
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            for _ in range(3):
                out = conv(x)
        print(tuple(out.shape))
        """
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "(1, 16, 4, 56, 56)" in run.stdout


def test_every_gapped_convolution_of_the_registry_is_a_gapped_conv3d():
    """A model built today or added later cannot carry a convolution that crashes bf16 on AMX."""
    import zoo
    from zoo.registry import all_cards

    seen = 0
    for card in all_cards():
        if card.name.endswith("_int8"):
            continue  # quantised twins of fp32 names checked here; their convs are quantised modules
        with torch.device("meta"):
            model = zoo.get_model(card.name)
        for where, module in model.named_modules():
            if isinstance(module, torch.nn.Conv3d) and gapped_axes(module.kernel_size, module.stride, module.dilation):
                assert isinstance(module, GappedConv3d), f"{card.name}: {where} {module}"
                seen += 1
    assert seen > 0  # SlowFast's laterals, MViT v1's pooling
