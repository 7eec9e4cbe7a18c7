"""Parity with GluonCV's PyTorch zoo through the shared fixtures (../shared/fixtures/gluoncv/*.json).

For each name: build upstream-keyed deterministic weights (``det_weights.det_state_dict``), convert them
with the card's ``pth`` converter, load strictly, run the fixture's input in eval mode and compare the
logits with the upstream model's (``det_weights.compare_logits``: max|delta| <= 1e-4 * max(1, max|ref|)).
Covers the R(2+1)D (v1, v2) and ir-CSN families; skips when ../shared is absent.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from zoo.registry import get_converter, model_card
from zoo.weights import get_model

pytestmark = pytest.mark.parity

# (zoo name, fixture name, extra get_model kwargs)
CASES = [
    ("r2plus1d_v1_resnet18_kinetics400", "r2plus1d_v1_resnet18_kinetics400", {}),
    ("r2plus1d_v1_resnet34_kinetics400", "r2plus1d_v1_resnet34_kinetics400", {}),
    ("r2plus1d_v1_resnet50_kinetics400", "r2plus1d_v1_resnet50_kinetics400", {}),
    ("r2plus1d_v1_resnet101_kinetics400", "r2plus1d_v1_resnet101_kinetics400", {}),
    ("r2plus1d_v1_resnet152_kinetics400", "r2plus1d_v1_resnet152_kinetics400", {}),
    ("r2plus1d_v1_resnet50_custom", "r2plus1d_v1_resnet50_custom", {}),
    ("r2plus1d_v2_resnet152_kinetics400", "r2plus1d_v2_resnet152_kinetics400", {}),
    ("ircsn_v2_resnet152_f32s2_kinetics400", "ircsn_v2_resnet152_f32s2_kinetics400", {}),
]


@pytest.fixture(scope="module")
def det_weights(shared_dir: Path):
    path = shared_dir / "fixtures" / "det_weights.py"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    spec = importlib.util.spec_from_file_location("det_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fixture(shared_dir: Path, name: str) -> dict:
    path = shared_dir / "fixtures" / "gluoncv" / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return json.loads(path.read_text())


@pytest.mark.parametrize("name, fixture_name, kwargs", CASES, ids=[c[0] for c in CASES])
def test_matches_gluoncv_torch_fixture(name, fixture_name, kwargs, shared_dir, det_weights):
    fx = _fixture(shared_dir, fixture_name)
    upstream = det_weights.det_state_dict(fx["state_dict"], fx["norm_prefixes"])
    card = model_card(name)
    model = get_model(name, num_classes=fx["num_classes"], **kwargs)
    state = get_converter(card.converters["pth"])(upstream, model)
    for key, value in model.state_dict().items():  # counters are not weights
        if key.endswith("num_batches_tracked"):
            state.setdefault(key, value)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(det_weights.fixture_input(fx))
    ok, diff, tol = det_weights.compare_logits(out, fx)
    assert ok, f"{name}: max|delta| = {diff:.3g} > tolerance {tol:.3g}"
