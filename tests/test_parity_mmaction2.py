"""Live numerical parity of zoo's mmaction2 names with mmaction2 1.2.0 itself.

Every architecture whose mmaction2 checkpoints zoo registers has a case here: the mmaction2
reference venv (``ZOO_MMACTION_PYTHON``, else ``.venv-mmaction/bin/python``; ``make mmaction-venv``)
runs ``tests/mmaction_ref/run_mmaction.py``, which builds the recognizer from mmaction2's own config
with seeded random weights (BatchNorm statistics included), saves it as mmaction2 saves a checkpoint
and writes its logits on a seeded clip.  zoo loads that file with
``get_model(name, pretrained=path)`` (the family's converter) and must give the same logits:
``max|ours - ref| <= 1e-4 * max(1, max|ref|)``.

Inputs are small (64 px, few frames) so the default run takes seconds per case; the outputs are
cached in ``.cache/mmaction_ref/`` keyed by the runner's and the cases' hash.  Full-size cases
(``heavy=True``) carry the ``slow`` and ``heavy`` marks and have a reference run of their own, so
that the default run never builds them.  Without the reference
venv every case skips, unless ``ZOO_REQUIRE_REFERENCE=1`` (``make test``), which fails instead.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

pytestmark = pytest.mark.parity

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "mmaction_ref" / "run_mmaction.py"
CACHE = ROOT / ".cache" / "mmaction_ref"
R = "recognition/"


@dataclass(frozen=True)
class MMCase:
    """One architecture: zoo's ``name`` against mmaction2's ``config`` (with ``model`` overrides)."""

    id: str
    name: str
    config: str
    input: tuple[int, ...]
    layout: str  # "2d": mmaction2's Recognizer2D, "3d": Recognizer3D, "omni": RecognizerOmni's backbone and head
    model: dict = field(default_factory=dict)
    zoo_kwargs: dict = field(default_factory=dict)  # zoo's side of a reduced ``model``
    seed: int = 0
    heavy: bool = False  # a full-size network: ``make test-heavy`` only
    # Both sides run the saved float32 weights in float64: with random weights some networks
    # (MobileOne's summed branches) grow activations to ~1e5, where a squeeze-excitation gate near
    # zero turns float32 rounding into percent-level differences between two correct implementations.
    double: bool = False


_MVIT_SMALL_CLIP = {"temporal_size": 4, "spatial_size": 64}

CASES = [
    MMCase("tsn_r50", "tsn_resnet50_seg3_kinetics400",
           R + "tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x3-100e_kinetics400-rgb.py", (2, 3, 3, 64, 64), "2d"),
    MMCase("c2d_nopool_r50", "c2d_resnet50_nopool_f8s8_kinetics400",
           R + "c2d/c2d_r50-in1k-pre-nopool_8xb32-8x8x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "2d"),
    MMCase("tsm_r50", "tsm_resnet50_seg8_kinetics400",
           R + "tsm/tsm_imagenet-pretrained-r50_8xb16-1x1x8-50e_kinetics400-rgb.py", (2, 3, 8, 64, 64), "2d"),
    MMCase("tsm_nl_r50", "tsm_nl_dotproduct_resnet50_seg8_kinetics400",
           R + "tsm/tsm_imagenet-pretrained-r50-nl-dot-product_8xb16-1x1x8-50e_kinetics400-rgb.py", (2, 3, 8, 64, 64), "2d"),
    MMCase("slowonly_r50", "slowonly_resnet50_f8s8_kinetics400",
           R + "slowonly/slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("i3d_r50", "i3d_resnet50_in1k_f32s2_kinetics400",
           R + "i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("i3d_r50_heavy", "i3d_resnet50_heavy_in1k_f32s2_kinetics400",
           R + "i3d/i3d_imagenet-pretrained-r50-heavy_8xb8-32x2x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("c2d_r50", "c2d_resnet50_f8s8_kinetics400",
           R + "c2d/c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("i3d_nl_dot", "i3d_nl_dotproduct_resnet50_in1k_f32s2_kinetics400",
           R + "i3d/i3d_imagenet-pretrained-r50-nl-dot-product_8xb8-32x2x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("i3d_nl_embedded", "i3d_nl_embeddedgaussian_resnet50_in1k_f32s2_kinetics400",
           R + "i3d/i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("i3d_nl_gaussian", "i3d_nl_gaussian_resnet50_in1k_f32s2_kinetics400",
           R + "i3d/i3d_imagenet-pretrained-r50-nl-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("slowonly_nl", "slowonly_nl_embeddedgaussian_resnet50_in1k_f8s8_kinetics400",
           R + "slowonly/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py",
           (1, 3, 8, 64, 64), "3d"),
    MMCase("c3d", "c3d_sports1m_f16s1_ucf101", R + "c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py",
           (1, 3, 16, 112, 112), "3d"),
    MMCase("tpn_slowonly_r50", "tpn_slowonly_resnet50_f8s8_kinetics400",
           R + "tpn/tpn-slowonly_r50_8xb8-8x8x1-150e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    # UniFormerV2 at a reduced size (the published ViT-B/16 and L/14 differ only in their widths and depths)
    MMCase("uniformerv2", "uniformerv2_b16_clip_u8_kinetics400",
           R + "uniformerv2/uniformerv2-base-p16-res224_clip_8xb32-u8_kinetics400-rgb.py", (2, 3, 4, 32, 32), "3d",
           model={"backbone": {"width": 64, "layers": 4, "heads": 4, "n_dim": 64, "n_head": 4, "return_list": [1, 2, 3],
                               "n_layers": 3, "mlp_dropout": [0.5] * 3, "input_resolution": 32, "t_size": 4,
                               "clip_pretrained": False}, "cls_head": {"in_channels": 64}},
           zoo_kwargs={"width": 64, "depth": 4, "heads": 4, "global_heads": 4, "global_layers": (1, 2, 3), "image_size": 32}),
    MMCase("swin_t", "swin3d_t_in1k_f32s2_kinetics400",
           R + "swin/swin-tiny-p244-w877_in1k-pre_8xb8-amp-32x2x1-30e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    MMCase("tanet_r50", "tanet_resnet50_seg8_sthsthv1",
           R + "tanet/tanet_imagenet-pretrained-r50_8xb8-1x1x8-50e_sthv1-rgb.py", (2, 3, 8, 64, 64), "2d"),
    # TIN: mmaction2's tin_shift op is a stand-in written from its CUDA kernel (run_mmaction.py);
    # tests/test_models_tin.py checks zoo's op against that definition and a hand-worked case
    MMCase("tin_r50", "tin_resnet50_seg8_sthsthv1",
           R + "tin/tin_imagenet-pretrained-r50_8xb6-1x1x8-40e_sthv1-rgb.py", (2, 3, 8, 64, 64), "2d"),
    MMCase("slowfast_r50", "slowfast_4x16_resnet50_e256_kinetics400",
           R + "slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py", (1, 3, 32, 64, 64), "3d"),
    MMCase("slowfast_r50_lateral_norm", "slowfast_8x8_resnet50_e256_steplr_kinetics400",
           R + "slowfast/slowfast_r50_8xb8-8x8x1-steplr-256e_kinetics400-rgb.py", (1, 3, 32, 64, 64), "3d"),
    MMCase("ircsn_r50", "ircsn_resnet50_ig65m_bnfrozen_f32s2_kinetics400",
           R + "csn/ircsn_ig65m-pretrained-r50-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb.py", (1, 3, 8, 64, 64), "3d"),
    # ip-CSN is published at depth 152 only: the reduced case builds both sides at depth 50
    MMCase("ipcsn_r50", "ipcsn_resnet152_f32s2_kinetics400", R + "csn/ipcsn_r152_32x2x1-180e_kinetics400-rgb.py",
           (1, 3, 8, 64, 64), "3d", model={"backbone": {"depth": 50}}, zoo_kwargs={"depth": 50}),
    # UniFormer (v1): reduced widths and depths (every stage kept, two heads per global block), and
    # UniFormer-S at full size on its card's clip
    MMCase("uniformer", "uniformer_s_in1k_f16s4_kinetics400",
           R + "uniformer/uniformer-small_imagenet1k-pre_16x4x1_kinetics400-rgb.py", (2, 3, 8, 64, 64), "3d",
           model={"backbone": {"depth": [1, 2, 2, 1], "embed_dim": [16, 32, 64, 128], "head_dim": 32},
                  "cls_head": {"in_channels": 128}},
           zoo_kwargs={"depths": (1, 2, 2, 1), "dims": (16, 32, 64, 128), "head_dim": 32}),
    MMCase("uniformer_s_full", "uniformer_s_in1k_f16s4_kinetics400",
           R + "uniformer/uniformer-small_imagenet1k-pre_16x4x1_kinetics400-rgb.py", (1, 3, 16, 224, 224), "3d",
           heavy=True),
    MMCase("slowfast_r101_r50", "slowfast_4x16_resnet101_resnet50_e256_kinetics400",
           R + "slowfast/slowfast_r101-r50_32xb8-4x16x1-256e_kinetics400-rgb.py", (1, 3, 32, 64, 64), "3d"),
    MMCase("x3d_s", "x3d_s_kinetics400_mmaction2", R + "x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py",
           (1, 3, 13, 64, 64), "3d"),
    # OmniSource: the video path of OmniResNet and OmniHead (its non-linear video head)
    MMCase("slowonly_omni_r50", "slowonly_resnet50_omnisource_f8s8_kinetics400",
           R + "omnisource/slowonly_r50_8xb16-8x8x1-256e_imagenet-kinetics400-rgb.py", (2, 3, 8, 64, 64), "omni"),
    MMCase("tpn_tsm_r50", "tpn_tsm_resnet50_seg8_sthsthv1",
           R + "tpn/tpn-tsm_imagenet-pretrained-r50_8xb8-1x1x8-150e_sthv1-rgb.py", (2, 3, 8, 64, 64), "2d"),
    MMCase("r2plus1d_r34", "r2plus1d_resnet34_f8s8_kinetics400",
           R + "r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py", (2, 3, 8, 64, 64), "3d"),
    # TRN: the runner records the frame tuples mmaction2's head draws at random; ours is given the same
    MMCase("trn_r50", "trn_resnet50_seg8_sthsthv2",
           R + "trn/trn_imagenet-pretrained-r50_8xb16-1x1x8-50e_sthv2-rgb.py", (2, 3, 8, 64, 64), "2d"),
    # TSN on backbones mmaction2 takes from other libraries (mmcls/mmpretrain, torchvision, timm): the
    # reference venv has mmpretrain and the pure-Python torchvision and timm (pure_python_extras.py)
    MMCase("tsn_resnext101", "tsn_resnext101_32x4d_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-rn101-32x4d_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 3, 64, 64), "2d"),
    MMCase("tsn_densenet161", "tsn_densenet161_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-dense161_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 3, 64, 64), "2d"),
    # timm's Swin is built for 224 px (its stage-4 window is the whole 7x7 grid): one clip of 2 frames
    MMCase("tsn_swin_b", "tsn_swin_b_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-swin-transformer_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 2, 224, 224), "2d"),
    MMCase("tsn_mobileone_s4", "tsn_mobileone_s4_seg8_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-mobileone-s4_8xb32-1x1x8-100e_kinetics400-rgb.py",
           (1, 3, 8, 64, 64), "2d", double=True),
    MMCase("tsm_mobileone_s4", "tsm_mobileone_s4_seg16_kinetics400",
           R + "tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py",
           (1, 3, 16, 64, 64), "2d", double=True),
]

#: Full-size inputs (224 px, the card's frames) of architectures whose default case is reduced: ``make test-heavy``.
CASES += [
    MMCase("tsn_resnext101_full", "tsn_resnext101_32x4d_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-rn101-32x4d_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 3, 224, 224), "2d", heavy=True),
    MMCase("tsn_densenet161_full", "tsn_densenet161_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-dense161_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 3, 224, 224), "2d", heavy=True),
    MMCase("tsn_swin_b_full", "tsn_swin_b_seg3_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-swin-transformer_8xb32-1x1x3-100e_kinetics400-rgb.py",
           (1, 3, 3, 224, 224), "2d", heavy=True),
    MMCase("tsn_mobileone_s4_full", "tsn_mobileone_s4_seg8_kinetics400",
           R + "tsn/custom_backbones/tsn_imagenet-pretrained-mobileone-s4_8xb32-1x1x8-100e_kinetics400-rgb.py",
           (1, 3, 8, 224, 224), "2d", double=True, heavy=True),
    MMCase("tsm_mobileone_s4_full", "tsm_mobileone_s4_seg16_kinetics400",
           R + "tsm/tsm_imagenet-pretrained-mobileone-s4_8xb16-1x1x16-50e_kinetics400-rgb.py",
           (1, 3, 16, 224, 224), "2d", double=True, heavy=True),
    # MViTv2-S (all 16 blocks) built for 4x64x64 clips on both sides; the SSv2 case feeds 48 px to a network built
    # for 64 px (relative positions resized, as mmaction2 tests its MViTv2-L built for 312 px at 224 px)
    MMCase("mvit_v2_s", "mvit_v2_s_converted_f16s4_kinetics400",
           R + "mvit/mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py", (2, 3, 4, 64, 64), "3d",
           model={"backbone": _MVIT_SMALL_CLIP}, zoo_kwargs=_MVIT_SMALL_CLIP),
    MMCase("mvit_v2_s_maskfeat", "mvit_v2_s_maskfeat_f16s4_kinetics400",
           R + "mvit/mvit-small-p244_k400-maskfeat-pre_8xb32-16x4x1-100e_kinetics400-rgb.py", (2, 3, 4, 64, 64), "3d",
           model={"backbone": _MVIT_SMALL_CLIP}, zoo_kwargs=_MVIT_SMALL_CLIP),
    MMCase("mvit_v2_s_other_size", "mvit_v2_s_k400_u16_sthsthv2",
           R + "mvit/mvit-small-p244_k400-pre_16xb16-u16-100e_sthv2-rgb.py", (1, 3, 4, 48, 48), "3d",
           model={"backbone": _MVIT_SMALL_CLIP}, zoo_kwargs=_MVIT_SMALL_CLIP),
    # TimeSformer and VideoMAE at a reduced width and depth (the published ViT-B differs only in its sizes)
    *(MMCase(f"timesformer_{kind}", f"timesformer_{kind.lower()}_f8s32_kinetics400",
             R + f"timesformer/timesformer_{kind}_8xb8-8x32x1-15e_kinetics400-rgb.py", (2, 3, 4, 64, 64), "3d",
             model={"backbone": {"num_frames": 4, "img_size": 64, "embed_dims": 192, "num_heads": 3,
                                 "num_transformer_layers": 3}, "cls_head": {"in_channels": 192}},
             zoo_kwargs={"num_frames": 4, "img_size": 64, "dim": 192, "num_heads": 3, "depth": 3})
      for kind in ("divST", "jointST", "spaceOnly")),
    MMCase("videomae_vit", "videomae_vit_b_f16s4_kinetics400",
           R + "videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py", (2, 3, 4, 64, 64), "3d",
           model={"backbone": {"img_size": 64, "num_frames": 4, "embed_dims": 192, "depth": 3, "num_heads": 3},
                  "cls_head": {"in_channels": 192}},
           zoo_kwargs={"dim": 192, "depth": 3, "num_heads": 3}),
    MMCase("videomaev2_vit_s", "videomaev2_vit_s_distilled_f16s4_kinetics400",
           R + "videomaev2/vit-small-p16_videomaev2-vit-g-dist-k710-pre_16x4x1_kinetics-400.py", (2, 3, 4, 64, 64), "3d",
           model={"backbone": {"img_size": 64, "num_frames": 4, "depth": 3}}, zoo_kwargs={"depth": 3}),
    # the same transformers at their published sizes and clips
    MMCase("mvit_v2_s_full", "mvit_v2_s_converted_f16s4_kinetics400",
           R + "mvit/mvit-small-p244_32xb16-16x4x1-200e_kinetics400-rgb.py", (1, 3, 16, 224, 224), "3d", heavy=True),
    MMCase("timesformer_divST_full", "timesformer_divst_f8s32_kinetics400",
           R + "timesformer/timesformer_divST_8xb8-8x32x1-15e_kinetics400-rgb.py", (1, 3, 8, 224, 224), "3d", heavy=True),
    MMCase("videomae_vit_b_full", "videomae_vit_b_f16s4_kinetics400",
           R + "videomae/vit-base-p16_videomae-k400-pre_16x4x1_kinetics-400.py", (1, 3, 16, 224, 224), "3d", heavy=True),
]
CASES_BY_ID = {c.id: c for c in CASES}


def reference_python() -> Path:
    """The mmaction2 venv's interpreter; skip (or fail under ``ZOO_REQUIRE_REFERENCE=1``) without one."""
    candidates = [os.environ.get("ZOO_MMACTION_PYTHON", ""), str(ROOT / ".venv-mmaction" / "bin" / "python")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    reason = "no mmaction2 reference venv (set ZOO_MMACTION_PYTHON or run `make mmaction-venv`)"
    if os.environ.get("ZOO_REQUIRE_REFERENCE") == "1":
        pytest.fail(f"{reason}, and ZOO_REQUIRE_REFERENCE=1")
    pytest.skip(reason)


def cases_key(cases: list[MMCase]) -> str:
    """Hash of the runner and a case table: a change to either regenerates the references."""
    digest = hashlib.sha256(RUNNER.read_bytes())
    digest.update(json.dumps([asdict(c) for c in cases], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def run_reference(cases: list[MMCase]) -> Path:
    """The folder of each case's ``<id>.pth`` / ``<id>.npz`` (``<id>.error`` where mmaction2 failed)."""
    python = reference_python()
    out = CACHE / cases_key(cases)
    done = out / "done"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        spec = out / "cases.json"
        spec.write_text(json.dumps([{**asdict(c), "input": list(c.input)} for c in cases]))
        run = subprocess.run([str(python), "-W", "ignore", str(RUNNER), "--cases", str(spec), "--out", str(out)],
                             capture_output=True, text=True, timeout=900)
        if not any(out.glob("*.npz")) and not any(out.glob("*.error")):
            pytest.fail(f"the mmaction2 runner wrote nothing (exit {run.returncode}):\n{run.stderr[-3000:]}")
        done.write_text(run.stderr[-3000:])
    return out


@pytest.fixture(scope="session")
def references() -> Path:
    """The default run's cases, all in one mmaction2 run."""
    return run_reference([c for c in CASES if not c.heavy])


@pytest.fixture(scope="session")
def heavy_references() -> Path:
    """The full-size cases, in a run of their own."""
    return run_reference([c for c in CASES if c.heavy])


def _param(case: MMCase):
    marks = [pytest.mark.slow, pytest.mark.heavy] if case.heavy else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_parity(case: MMCase, request: pytest.FixtureRequest) -> None:
    import zoo

    references = request.getfixturevalue("heavy_references" if case.heavy else "references")
    error = references / f"{case.id}.error"
    assert not error.exists(), f"mmaction2 itself failed on {case.id}:\n{error.read_text()[-2000:]}"
    data = np.load(references / f"{case.id}.npz")
    model = zoo.get_model(case.name, pretrained=str(references / f"{case.id}.pth"),
                          **case.zoo_kwargs).eval()
    if "relation_draws" in data.files:  # TRN: mmaction2's random draw of frame tuples, given to ours
        model.relations.set_draws(data["relation_draws"])
    clip = torch.from_numpy(data["input"])
    if case.double:
        model, clip = model.double(), clip.double()
    with torch.inference_mode():
        ours = model(clip).numpy()
    ref = data["logits"]
    assert ours.shape == ref.shape, f"{case.id}: zoo's logits {ours.shape} vs mmaction2's {ref.shape}"
    delta = float(np.abs(ours - ref).max())
    scale = max(1.0, float(np.abs(ref).max()))
    print(f"\nmmaction2 parity {case.name} input {tuple(case.input)}: max|delta| {delta:.2e} (scale {scale:.2f})")
    assert delta <= 1e-4 * scale, f"{case.id}: max|ours - mmaction2| = {delta:.3e} > 1e-4 * {scale:.3f}"
    # the input matters: the two clips of a batch (or a shuffled clip) give different logits
    assert float(np.abs(ref - ref.mean(axis=-1, keepdims=True)).max()) > 1e-3, f"{case.id}: constant logits"


def test_every_mmaction2_family_has_a_parity_case() -> None:
    """Each family that registers mmaction2 weights has a live case here (by converter)."""
    import zoo
    from zoo.registry import all_cards

    converters = {w.converter for c in all_cards() for w in c.weights if w.repo == "mmaction2"}
    covered = {w.converter for c in CASES for w in zoo.model_card(c.name).weights if w.repo == "mmaction2"}
    assert converters <= covered, f"mmaction2 converters without a parity case: {sorted(converters - covered)}"
    families = {c.family for c in all_cards() if any(w.repo == "mmaction2" for w in c.weights)}
    tested = {zoo.model_card(c.name).family for c in CASES}
    assert families <= tested, f"families with mmaction2 weights but no parity case: {sorted(families - tested)}"
