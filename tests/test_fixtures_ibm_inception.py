"""IBM S3D and inflated Inception I3D (``zoo.models.ibm_inception``): upstream parity, checkpoints, shapes.

Parity uses the IBM fixtures in ``shared/fixtures/ibm`` (see ``tests/test_fixtures_upstream.py``
for the method): det weights under IBM's keys -> the card's ``pth`` converter -> strict load ->
logits compared with ``det_weights.compare_logits``.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import zoo
from zoo import tables
from zoo.models.ibm_inception import IBMInception3d
from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError
from _fixtures import upstream_state_dict

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"

CASES = [
    ("ibm/s3d_kinetics400", "ibm_s3d_kinetics400"),
    ("ibm/i3d_inception_kinetics400", "ibm_i3d_inception_kinetics400"),
]


@pytest.fixture(scope="module")
def det(det_weights):
    return det_weights


def _load(fixture: str) -> dict:
    return json.loads((FIXTURES / f"{fixture}.json").read_text())


_upstream_weights = upstream_state_dict


def _meta_model(name: str, **kwargs) -> IBMInception3d:
    card = model_card(name)
    with torch.device("meta"):
        return card.builder(num_classes=card.num_classes, **{**card.kwargs, **kwargs})


@pytest.mark.parity
@pytest.mark.parametrize("fixture,name", CASES, ids=[c[0] for c in CASES])
def test_parity(det, fixture, name):
    fx = _load(fixture)
    card = model_card(name)
    assert card.num_classes == fx["num_classes"]
    model = card.builder(num_classes=card.num_classes, **card.kwargs)
    assert sum(p.numel() for p in model.parameters()) == fx["num_params"]
    state = get_converter(card.converters["pth"])(_upstream_weights(det, fx), model)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(det.fixture_input(fx))
    ok, diff, tol = det.compare_logits(out, fx)
    assert ok, f"{fx['fixture_id']} vs {name}: max|delta| = {diff:.3g} > tolerance {tol:.3g}"


@pytest.mark.parity
def test_local_upstream_pth_converts(det, tmp_path):
    """``get_model(name, pretrained="upstream.pth")`` converts IBM's keys through the card."""
    fx = _load("ibm/i3d_inception_kinetics400")
    path = tmp_path / "i3d_inception-upstream.pth"
    torch.save(_upstream_weights(det, fx), path)
    model = zoo.get_model("ibm_i3d_inception_kinetics400", pretrained=str(path)).eval()
    with torch.no_grad():
        out = model(det.fixture_input(fx))
    ok, diff, tol = det.compare_logits(out, fx)
    assert ok, f"max|delta| {diff:.3g} > {tol:.3g}"


def test_converter_names_bad_keys(det):
    """S3D keys do not fit the I3D model: the separable temporal convs are unexpected, the kernels mis-shaped."""
    state = _upstream_weights(det, _load("ibm/s3d_kinetics400"))
    with pytest.raises(WeightsError, match=r"unexpected: conv3\.conv_t\.weight.*shape mismatch: features\.conv1\.conv\.weight"):
        get_converter("ibm_inception3d")(state, _meta_model("ibm_i3d_inception_kinetics400"))
    state.pop("inception4c.branch2.1.conv_t.bias")
    with pytest.raises(WeightsError, match=r"missing: features\.mixed_4c\.branch3x3\.temporal\.conv\.bias"):
        get_converter("ibm_inception3d")(state, _meta_model("ibm_s3d_kinetics400"))


@pytest.mark.parametrize("name", [c[1] for c in CASES])
@pytest.mark.parametrize("without_t_stride,pooling", [(True, "max"), (False, "avg")])
def test_shapes(name, without_t_stride, pooling):
    model = _meta_model(name, without_t_stride=without_t_stride, pooling_method=pooling)
    x = torch.empty(2, 3, 16, 64, 96, device="meta")
    # S3D's last pool is 2x2x2 without padding: with stride 1 in time it drops one frame (as IBM's does).
    t_out = (16 - (name == "ibm_s3d_kinetics400")) if without_t_stride else 2
    assert tuple(model.forward_map(x).shape) == (2, 1024, t_out, 2, 3)
    assert tuple(model(x).shape) == (2, 400)
    assert tuple(model.forward_features(x).shape) == (2, 1024)


def test_variants_differ_where_ibm_does():
    s3d, i3d = _meta_model("ibm_s3d_kinetics400"), _meta_model("ibm_i3d_inception_kinetics400")
    assert s3d.features.conv1.conv.kernel_size == (3, 7, 7) and i3d.features.conv1.conv.kernel_size == (7, 7, 7)
    assert s3d.features.conv1.conv.stride == i3d.features.conv1.conv.stride == (1, 2, 2)
    assert s3d.features.mixed_3a.branch3x3.temporal.conv.bias is not None
    for model in (s3d, i3d):
        bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
        assert bns and all(m.eps == 1e-3 and m.momentum == 0.1 for m in bns)
    with pytest.raises(ValueError, match="pooling_method"):
        IBMInception3d(10, pooling_method="mean")


def test_cards():
    for _, name in CASES:
        card = model_card(name)
        assert card.weights == () and card.converters == {"pth": "ibm_inception3d"}
        assert card.input.mean == card.input.std == (0.5, 0.5, 0.5)
        counted = tables.count_model(card)
        assert (card.params_m, card.gflops) == pytest.approx((counted["params_m"], counted["gflops"]), abs=1e-3), name
    assert set(zoo.get_model_list(family="ibm_inception3d")) == {c[1] for c in CASES}
