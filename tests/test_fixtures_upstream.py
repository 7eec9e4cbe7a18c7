"""Parity of zoo's ports of torchvision / ig65m / IBM video models against the upstream fixtures.

Each fixture (``shared/fixtures/<source>/<name>.json``) records an upstream model's state-dict
layout and its eval-mode logits on a deterministic input with deterministic weights
(``det_weights.py``).  We regenerate the upstream-keyed weights, run them through the card's
registered ``pth`` converter into our model (strict load), run the same input and compare with
``det_weights.compare_logits`` (tolerance ``1e-4 * max(1, max|ref|)``).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo import hub
from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError
from _fixtures import upstream_state_dict

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

pytestmark = pytest.mark.parity

# (fixture, registered name, input layout): "ncthw", or "ibm2d" for IBM's N x (T*3) x H x W.
CASES = [
    ("torchvision/s3d", "s3d_kinetics400", "ncthw"),
    ("torchvision/r3d_18", "r3d_18_kinetics400", "ncthw"),
    ("torchvision/mc3_18", "mc3_18_kinetics400", "ncthw"),
    ("torchvision/r2plus1d_18", "r2plus1d_18_kinetics400", "ncthw"),
    ("torchvision/swin3d_t", "swin3d_t_kinetics400", "ncthw"),
    ("ig65m/r2plus1d_34_8_kinetics", "r2plus1d_34_8_kinetics", "ncthw"),
    ("ig65m/r2plus1d_34_32_kinetics", "r2plus1d_34_32_kinetics", "ncthw"),
    ("ig65m/r2plus1d_34_8_ig65m", "r2plus1d_34_8_ig65m", "ncthw"),
    ("ig65m/r2plus1d_34_32_ig65m", "r2plus1d_34_32_ig65m", "ncthw"),
    ("ibm/i3d_resnet50_kinetics400", "ibm_i3d_resnet50_kinetics400", "ncthw"),
    ("ibm/i3d_resnet50_sthsthv2", "ibm_i3d_resnet50_sthsthv2", "ncthw"),
    ("ibm/r2plus1d_s3d_resnet50_kinetics400", "ibm_r2plus1d_resnet50_kinetics400", "ncthw"),
    ("ibm/tam_resnet50_kinetics400", "ibm_tam_resnet50_kinetics400", "ibm2d"),
    ("ibm/tam_resnet50_sthsthv2", "ibm_tam_resnet50_sthsthv2", "ibm2d"),
    ("ibm/tsn_resnet50_kinetics400", "ibm_tsn_resnet50_kinetics400", "ibm2d"),
]
# 16x224x224 transformers and the deeper Swin3D variants: 10-35 s each on 2 CPU cores.
SLOW_CASES = [
    ("torchvision/mvit_v1_b", "mvit_v1_b_kinetics400", "ncthw"),
    ("torchvision/mvit_v2_s", "mvit_v2_s_kinetics400", "ncthw"),
    ("torchvision/swin3d_s", "swin3d_s_kinetics400", "ncthw"),
    ("torchvision/swin3d_b", "swin3d_b_kinetics400", "ncthw"),
    ("ibm/i3d_resnet101_kinetics400", "ibm_i3d_resnet101_kinetics400", "ncthw"),
    ("ibm/i3d_resnet101_sthsthv2", "ibm_i3d_resnet101_sthsthv2", "ncthw"),
    ("ibm/tam_resnet101_kinetics400", "ibm_tam_resnet101_kinetics400", "ibm2d"),
    ("ibm/tam_resnet101_sthsthv2", "ibm_tam_resnet101_sthsthv2", "ibm2d"),
]


@pytest.fixture(scope="module")
def det(det_weights):
    return det_weights


def _load(fixture: str) -> dict:
    return json.loads((FIXTURES / f"{fixture}.json").read_text())


_upstream_weights = upstream_state_dict


def _our_input(det, fx: dict, layout: str) -> torch.Tensor:
    x = det.fixture_input(fx)
    if layout == "ibm2d":  # (N, T*3, H, W), channel = t*3 + c  ->  (N, 3, T, H, W)
        n, tc, h, w = x.shape
        x = x.view(n, tc // 3, 3, h, w).permute(0, 2, 1, 3, 4).contiguous()
    return x


def _check_parity(det, fixture: str, name: str, layout: str) -> None:
    fx = _load(fixture)
    card = model_card(name)
    assert card.num_classes == fx["num_classes"], f"{name}: card has {card.num_classes} classes, fixture {fx['num_classes']}"
    model = card.builder(num_classes=card.num_classes, **card.kwargs)
    state = get_converter(card.converters["pth"])(_upstream_weights(det, fx), model)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(_our_input(det, fx, layout))
    ok, diff, tol = det.compare_logits(out, fx)
    assert ok, f"{fx['fixture_id']} vs {name}: max|delta| = {diff:.3g} > tolerance {tol:.3g}"
    for key, info in fx.get("constant_buffers", {}).items():  # Swin3D's window index: ours must equal upstream's
        ours = dict(model.named_buffers())[_swin_buffer_name(key)]
        digest = hashlib.sha1(ours.to(torch.int64).numpy().astype("<i8").tobytes()).hexdigest()
        assert list(ours.shape) == info["shape"] and digest == info["sha1_of_int64_le_bytes"], key


def _swin_buffer_name(key: str) -> str:
    from zoo.models.swin3d import rename_index_key

    return rename_index_key(key)


@pytest.mark.parametrize("fixture,name,layout", CASES, ids=[c[0] for c in CASES])
def test_parity(det, fixture, name, layout):
    _check_parity(det, fixture, name, layout)


@pytest.mark.slow
@pytest.mark.parametrize("fixture,name,layout", SLOW_CASES, ids=[c[0] for c in SLOW_CASES])
def test_parity_slow(det, fixture, name, layout):
    _check_parity(det, fixture, name, layout)


def test_local_upstream_pth_converts(det, tmp_path):
    """``get_model(name, pretrained="upstream.pth")`` converts torchvision keys through the card."""
    fx = _load("torchvision/r3d_18")
    path = tmp_path / "r3d_18-upstream.pth"
    torch.save(_upstream_weights(det, fx), path)
    model = zoo.get_model("r3d_18_kinetics400", pretrained=str(path)).eval()
    with torch.no_grad():
        out = model(det.fixture_input(fx))
    ok, diff, tol = det.compare_logits(out, fx)
    assert ok, f"max|delta| {diff:.3g} > {tol:.3g}"


def test_converter_names_bad_keys(det):
    fx = _load("torchvision/r3d_18")
    state = _upstream_weights(det, fx)
    state.pop("layer1.0.conv1.0.weight")
    state["layer9.extra.weight"] = torch.zeros(1)
    model = model_card("mc3_18_kinetics400").builder(num_classes=400)
    with pytest.raises(WeightsError, match=r"missing: layer1\.0\.conv1\.weight.*unexpected: layer9\.extra\.weight.*shape mismatch: layer2\.0\.conv1\.weight"):
        get_converter("torchvision_video_resnet")(state, model)


def test_torchvision_cards_cite_published_weights():
    card = model_card("swin3d_b_kinetics400")
    default = card.default_weights()
    assert default.file == "swin3d_b_1k-24f7c7c6.pth" and default.sha256 == "24f7c7c6" and default.sha1 == ""
    assert default.accuracy.top1 == pytest.approx(79.427) and default.accuracy.reported_by == "torchvision"
    assert hub.resolve_url(default.url, default.repo) == "https://download.pytorch.org/models/swin3d_b_1k-24f7c7c6.pth"
    assert card.find_weights("7c6ae6fa").file == "swin3d_b_22k-7c6ae6fa.pth"
    for name in zoo.get_model_list(family="video_resnet") + zoo.get_model_list(family="mvit"):
        for entry in model_card(name).weights:
            if entry.repo in ("torchvision", "ig65m"):  # torch.hub file names (FAIR files publish no hash)
                assert entry.file.endswith(f"-{entry.sha256}.pth"), (name, entry.file)


def test_sha256_prefix_entry_downloads_and_verifies(tmp_path, monkeypatch, det):
    """A torch.hub-named file is fetched from the repo URL and checked by the prefix in its name."""
    fx = _load("torchvision/r3d_18")
    raw = tmp_path / "r3d_18.pth"
    torch.save(_upstream_weights(det, fx), raw)
    prefix = hashlib.sha256(raw.read_bytes()).hexdigest()[:8]
    served = tmp_path / "mirror" / f"r3d_18-{prefix}.pth"
    served.parent.mkdir()
    raw.rename(served)
    monkeypatch.setenv("ZOO_REPO_URL_TORCHVISION", served.parent.as_uri())
    path = hub.fetch(served.name, f"sha256:{prefix}", served.name, "torchvision")
    assert path.read_bytes() == served.read_bytes()
    wrong = "0" * 8 if prefix != "0" * 8 else "1" * 8
    with pytest.raises(hub.ChecksumError):
        hub.fetch(f"r3d_18-{wrong}.pth", f"sha256:{wrong}", served.name, "torchvision")


def test_local_ibm_tam_checkpoint_converts(det, tmp_path):
    """An IBM-style checkpoint (``{"state_dict": ...}`` with ``module.`` keys) loads through the card."""
    fx = _load("ibm/tam_resnet50_sthsthv2")
    path = tmp_path / "SSV2-TAM-ResNet-50-f32.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in _upstream_weights(det, fx).items()}}, path)
    model = zoo.get_model("ibm_tam_resnet50_sthsthv2", pretrained=str(path)).eval()
    with torch.no_grad():
        out = model(_our_input(det, fx, "ibm2d"))
    ok, diff, tol = det.compare_logits(out, fx)
    assert ok, f"max|delta| {diff:.3g} > {tol:.3g}"
