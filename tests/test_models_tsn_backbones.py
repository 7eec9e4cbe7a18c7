"""TSN / TSM on the 2D trunks mmaction2 takes from other libraries (ResNeXt, DenseNet, Swin, MobileOne).

Live parity with mmaction2 itself is in ``tests/test_parity_mmaction2.py``; here: the networks'
sizes against mmaction2's published parameter counts, MobileOne's branch folding, and the two timm
key layouts of the Swin converter.
"""
from __future__ import annotations

import pytest
import torch

import zoo
from zoo.errors import WeightsError
from zoo.models._tsn_backbones import MobileOne
from zoo.models.tsm import TemporalMobileOne
from zoo.models.tsn import convert_mmaction2_timm_swin, tsn_swin_b


def _randomise_batchnorm(model: torch.nn.Module, seed: int = 0) -> None:
    """BatchNorm statistics and affine parameters away from their identity init, so that folding them matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


@pytest.mark.parametrize("name, millions", [
    ("tsn_resnext101_32x4d_seg3_kinetics400", 42.95),
    ("tsn_densenet161_seg3_kinetics400", 27.36),
    ("tsn_swin_b_seg3_kinetics400", 87.15),
    ("tsn_mobileone_s4_seg8_kinetics400", 13.72),
    ("tsm_mobileone_s4_seg16_kinetics400", 13.72),
])
def test_parameter_counts_match_mmaction2s_published_figures(name: str, millions: float) -> None:
    """mmaction2's README gives each network's parameters (M, 2 decimals): the trunks are those networks."""
    model = zoo.get_model(name)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == millions


def test_resnext_block_is_grouped_with_its_inner_width() -> None:
    block = zoo.get_model("tsn_resnext101_32x4d_seg3_kinetics400").backbone.layer1[0]
    assert block.conv2.groups == 32 and block.conv2.in_channels == 128 and block.conv3.out_channels == 256


@pytest.mark.parametrize("arch", ["s0", "s4"])  # s0: four conv branches per block; s4: squeeze-excitation
def test_mobileone_fuse_keeps_the_outputs(arch: str) -> None:
    trunk = MobileOne(arch).double().eval()
    _randomise_batchnorm(trunk)
    frames = torch.randn(2, 3, 64, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = trunk.forward_map(frames)
        trunk.fuse()
        after = trunk.forward_map(frames)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in trunk.modules()), "every branch is folded"
    assert torch.allclose(after, before, rtol=1e-9, atol=1e-9 * before.abs().max().item())


def test_tsm_mobileone_shifts_within_runs_of_shift_segments() -> None:
    """With ``shift_segments=8`` on 16 frames, frames 8-15 never see frames 0-7 (two clips to the shift)."""
    model = TemporalMobileOne(5, arch="s0", num_segments=16, shift_segments=8).eval()
    clip = torch.randn(1, 3, 16, 32, 32, generator=torch.Generator().manual_seed(2))
    changed = clip.clone()
    changed[:, :, :8] += 1.0
    frames = lambda x: x.transpose(1, 2).reshape(16, 3, 32, 32)  # noqa: E731
    with torch.no_grad():
        a, b = model.backbone(frames(clip)), model.backbone(frames(changed))
    assert torch.equal(a[8:], b[8:]) and not torch.equal(a[:8], b[:8])
    with pytest.raises(ValueError, match="multiple of shift_segments"):
        TemporalMobileOne(5, arch="s0", num_segments=12, shift_segments=8)


def _timm_layout(model: torch.nn.Module, old: bool) -> dict[str, torch.Tensor]:
    """Our small per-frame Swin's state in mmaction2's timm layout: timm >= 0.9 (merge at the start of
    stages 1-3), or timm 0.6 (``old``: merge at the end of stages 0-2, index buffers and masks kept)."""
    state = {}
    for key, value in model.state_dict().items():
        if key.startswith("merges."):
            index, rest = key[len("merges."):].split(".", 1)
            key = f"backbone.layers.{int(index) + (0 if old else 1)}.downsample.{rest}"
        elif key.startswith("stages."):
            key = "backbone.layers." + key[len("stages."):].replace(".", ".blocks.", 1)
        elif key.startswith("fc."):
            key = "cls_head.fc_cls." + key[3:]
        else:
            key = "backbone." + key
        if key.endswith("patch_embed.proj.weight"):
            value = value.squeeze(2)  # timm's 2D kernel
        state[key] = value
    if old:
        state["backbone.layers.0.blocks.1.attn_mask"] = torch.zeros(4, 49, 49)
        state["backbone.layers.0.blocks.0.attn.relative_position_index"] = torch.zeros(49, 49, dtype=torch.long)
    return state


@pytest.mark.parametrize("old", [False, True], ids=["timm>=0.9", "timm0.6"])
def test_swin_converter_reads_both_timm_layouts(old: bool) -> None:
    small = dict(embed_dim=16, depths=(2, 1, 1, 1), num_heads=(1, 1, 1, 1))
    source_model, target = tsn_swin_b(7, **small), tsn_swin_b(7, **small)
    converted = convert_mmaction2_timm_swin(_timm_layout(source_model, old), target)
    ours = {k: v for k, v in source_model.state_dict().items()}
    assert converted.keys() == ours.keys()
    assert all(torch.equal(converted[k], ours[k]) for k in ours)


def test_swin_converter_refuses_a_key_it_does_not_know() -> None:
    small = dict(embed_dim=16, depths=(1, 1, 1, 1), num_heads=(1, 1, 1, 1))
    model = tsn_swin_b(7, **small)
    state = _timm_layout(model, old=False)
    state["backbone.head.fc.weight"] = torch.zeros(7, 128)
    with pytest.raises(WeightsError, match="head"):
        convert_mmaction2_timm_swin(state, model)


# one name per new trunk; frames and sizes small (Swin pads its 64 px frames to whole windows)
_FAST_PATH_CASES = [
    ("tsn_resnext101_32x4d_seg3_kinetics400", (1, 3, 2, 64, 64)),
    ("tsn_densenet161_seg3_kinetics400", (1, 3, 2, 64, 64)),
    ("tsn_swin_b_seg3_kinetics400", (1, 3, 2, 64, 64)),
    ("tsn_mobileone_s4_seg8_kinetics400", (1, 3, 2, 64, 64)),
    ("tsm_mobileone_s4_seg16_kinetics400", (1, 3, 16, 64, 64)),
]


def _eager(name: str, shape: tuple[int, ...]) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    model = zoo.get_model(name).eval()
    _randomise_batchnorm(model)
    clip = torch.randn(shape, generator=torch.Generator().manual_seed(3)).cumsum(-1).cumsum(-2) / 8
    with torch.no_grad():
        return model, clip, model(clip)


@pytest.mark.slow
@pytest.mark.parametrize("name, shape", _FAST_PATH_CASES, ids=[n for n, _ in _FAST_PATH_CASES])
def test_fast_path_and_onnx_match_eager(name: str, shape: tuple[int, ...], tmp_path) -> None:
    model, clip, ref = _eager(name, shape)
    tolerance = 1e-4 * max(1.0, float(ref.abs().max()))
    fast = zoo.optimize_for_inference(model, clip)
    assert float((fast(clip) - ref).abs().max()) <= tolerance, (name, fast.zoo_skipped)
    ort = pytest.importorskip("onnxruntime")
    path = zoo.export(model, tmp_path / "m.onnx", tuple(clip.shape))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = session.run(None, {"clip": clip.numpy()})[0]
    assert float(abs(out - ref.numpy()).max()) <= tolerance, name


def test_fused_mobileone_exports_and_matches() -> None:
    """The deploy form (``backbone.fuse()``) gives the multi-branch model's logits."""
    model, clip, ref = _eager("tsn_mobileone_s4_seg8_kinetics400", (1, 3, 2, 64, 64))
    model.backbone.fuse()
    with torch.no_grad():
        out = model(clip)
    assert float((out - ref).abs().max()) <= 1e-4 * max(1.0, float(ref.abs().max()))
