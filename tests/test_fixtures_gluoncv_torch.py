"""Parity with GluonCV's PyTorch zoo through the shared fixtures (../shared/fixtures/gluoncv/*.json).

For each name: build upstream-keyed deterministic weights (``det_weights.det_state_dict``), convert them
with the card's ``pth`` converter, load strictly, run the fixture's input in eval mode and compare the
logits with the upstream model's (``det_weights.compare_logits``: max|delta| <= 1e-4 * max(1, max|ref|)).
Covers the R(2+1)D (v1, v2) and ir-CSN families; skips when ../shared is absent.
"""
from __future__ import annotations


import pytest
import torch

from zoo.registry import get_converter, model_card
from zoo.weights import get_model
from _fixtures import gluoncv_fixture

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


@pytest.mark.parametrize("name, fixture_name, kwargs", CASES, ids=[c[0] for c in CASES])
def test_matches_gluoncv_torch_fixture(name, fixture_name, kwargs, shared_dir, det_weights):
    fx = gluoncv_fixture(shared_dir, fixture_name)
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
