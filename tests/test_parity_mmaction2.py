"""Live numerical parity of zoo's mmaction2 names with mmaction2 1.2.0 itself.

Every architecture whose mmaction2 checkpoints zoo registers has a case here: the mmaction2
reference venv (``ZOO_MMACTION_PYTHON``, else ``.venv-mmaction/bin/python``; ``make mmaction-venv``)
runs ``tests/mmaction_ref/run_mmaction.py``, which builds the recognizer from mmaction2's own config
with seeded random weights (BatchNorm statistics included), saves it as mmaction2 saves a checkpoint
and writes its logits on a seeded clip.  zoo loads that file with
``get_model(name, pretrained=path)`` (the family's converter) and must give the same logits:
``max|ours - ref| <= 1e-4 * max(1, max|ref|)``.

Inputs are small (64 px, few frames) so the default run takes seconds per case (full-size transformer
cases are marked `heavy`: `make test-heavy`); the outputs are
cached in ``.cache/mmaction_ref/`` keyed by the runner's and the cases' hash.  Without the reference
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
    layout: str  # "2d": mmaction2's Recognizer2D, "3d": Recognizer3D
    model: dict = field(default_factory=dict)
    zoo_kwargs: dict = field(default_factory=dict)  # zoo's side of a reduced ``model``
    seed: int = 0
    heavy: bool = False  # a full-size network: ``make test-heavy`` only


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
    """Hash of the runner and the case table: a change to either regenerates the references."""
    digest = hashlib.sha256(RUNNER.read_bytes())
    digest.update(json.dumps([asdict(c) for c in cases], sort_keys=True).encode())
    return digest.hexdigest()[:12]


def run_references(heavy: bool) -> Path:
    """The folder of the (heavy or default) cases' ``<id>.pth`` / ``<id>.npz`` (``<id>.error`` where mmaction2 failed)."""
    python = reference_python()
    cases = [c for c in CASES if c.heavy == heavy]
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
    """The default cases' reference folder (:func:`run_references`)."""
    return run_references(heavy=False)


@pytest.fixture(scope="session")
def heavy_references() -> Path:
    """The full-size cases' reference folder (:func:`run_references`)."""
    return run_references(heavy=True)


@pytest.mark.parametrize("case", [pytest.param(c, marks=[pytest.mark.heavy] if c.heavy else []) for c in CASES],
                         ids=[c.id for c in CASES])
def test_parity(case: MMCase, request: pytest.FixtureRequest) -> None:
    import zoo

    references = request.getfixturevalue("heavy_references" if case.heavy else "references")
    error = references / f"{case.id}.error"
    assert not error.exists(), f"mmaction2 itself failed on {case.id}:\n{error.read_text()[-2000:]}"
    data = np.load(references / f"{case.id}.npz")
    model = zoo.get_model(case.name, pretrained=str(references / f"{case.id}.pth"),
                          **case.zoo_kwargs).eval()
    with torch.inference_mode():
        ours = model(torch.from_numpy(data["input"])).numpy()
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
