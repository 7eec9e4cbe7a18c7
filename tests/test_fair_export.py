"""The fast path and ONNX export match eager for the networks the FAIR names add to their families.

``tests/test_optimize_export.py`` covers the smallest model of each family; these are the other new
configurations: pytorchvideo's X3D (no BN on res2's first shortcut), its R(2+1)D-50 (temporal-then-
spatial middle convs), PySlowFast's I3D-NLN (non-local blocks that pool their input), its MViTv1 B-24 (stride-sized
pooling kernels), MViTv2-B/L and Rev-MViT-B (reduced clips: MViT is built for its clip size).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from test_optimize_export import _randomize_bn

CASES = {
    "x3d_xs_kinetics400_pytorchvideo": ({}, (1, 3, 4, 96, 96)),
    "r2plus1d_resnet50_f16s4_kinetics400": ({}, (1, 3, 8, 64, 64)),
    "i3d_nl_resnet50_f8s8_kinetics400": ({}, (1, 3, 8, 64, 64)),
    "mvit_b24_32x3_kinetics400": ({"temporal_size": 4, "spatial_size": 64}, (1, 3, 4, 64, 64)),
    "mvit_v2_b_32x3_kinetics400": ({"temporal_size": 4, "spatial_size": 64}, (1, 3, 4, 64, 64)),
    "mvit_v2_l_40x3_kinetics400": ({"temporal_size": 4, "spatial_size": 64}, (1, 3, 4, 64, 64)),
    "rev_mvit_b_16x4_kinetics400": ({"temporal_size": 4, "spatial_size": 64}, (1, 3, 4, 64, 64)),
}


@pytest.fixture(scope="module", params=sorted(CASES), ids=sorted(CASES))
def case(request):
    kwargs, shape = CASES[request.param]
    model = zoo.get_model(request.param, **kwargs).eval()
    _randomize_bn(model)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0)).cumsum(-1).cumsum(-2) / 8
    with torch.no_grad():
        ref = model(x)
    return request.param, model, x, ref


def test_fast_path_matches_eager(case):
    name, model, x, ref = case
    out = zoo.optimize_for_inference(model, x)(x)
    assert float((out - ref).abs().max()) <= 1e-4 * max(1.0, float(ref.abs().max())), name


def test_onnx_matches_eager(case, tmp_path):
    name, model, x, ref = case
    ort = pytest.importorskip("onnxruntime")
    path = zoo.export(model, tmp_path / "m.onnx", tuple(x.shape))
    out = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"clip": x.numpy()})[0]
    assert np.abs(out - ref.numpy()).max() <= 1e-4 * max(1.0, float(ref.abs().max())), name
