"""Numerical parity of zoo's FAIR ports with pytorchvideo 0.1.5 and PySlowFast's own code.

Each case of ``tests/pytorchvideo_ref/cases.py`` is generated in the pytorchvideo reference venv
(``ZOO_PYTORCHVIDEO_PYTHON``; PySlowFast's code from ``ZOO_PYSLOWFAST_SRC``) by
``pytorchvideo_ref/make_reference.py``: the upstream network with seeded random weights, saved as a
``.pyth`` in its own key layout, and its logits on a seeded clip.  The test loads that file with
``zoo.get_model(name, pretrained=path)`` (the family's converter picks the layout), runs the same clip
and compares:

- all logits: ``max|ours - ref| <= 1e-4 * max(1, max|ref|)``;
- the input-dependent part, ``ref[0] - ref[1]`` (cases with two clips), against its own scale: a model
  that ignored its input would fail there.

Full-size networks that take more than a few seconds are marked ``slow`` and ``heavy``; the default
run keeps one real-size case per architecture where that is quick, and reduced ones otherwise.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from pytorchvideo_ref.cases import CASES, FairCase
from pytorchvideo_ref.harness import ABS_TOL, reference

pytestmark = pytest.mark.parity


def _param(case: FairCase):
    marks = [pytest.mark.slow, pytest.mark.heavy] if case.heavy else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_parity(case: FairCase) -> None:
    import zoo

    pyth, inputs, ref = reference(case)
    model = zoo.get_model(case.zoo_name, pretrained=str(pyth), **case.zoo_kwargs).eval()
    clip = [torch.from_numpy(x) for x in inputs]
    if len(clip) == 2:  # [Slow, Fast] upstream; zoo's SlowFast takes Fast then Slow frames along T
        clip = [torch.cat([clip[1], clip[0]], dim=2)]
    with torch.inference_mode():
        ours = model(clip[0]).float().numpy()
    assert ours.shape == ref.shape, f"{case.id}: zoo's logits {ours.shape} vs upstream's {ref.shape}"
    worst = float(np.abs(ours - ref).max())
    scale = max(1.0, float(np.abs(ref).max()))
    print(f"PARITY {case.id} {case.zoo_name} input={[list(x.shape) for x in inputs]} "
          f"max|d|={worst:.3g} max|ref|={float(np.abs(ref).max()):.3g} ({case.source})")
    assert worst <= ABS_TOL * scale, f"{case.id}: max|ours - ref| = {worst:.3g} > {ABS_TOL} * {scale:.3g}"
    if len(ref) > 1:
        diff_ref, diff_ours = ref[0] - ref[1], ours[0] - ours[1]
        assert np.abs(diff_ref).max() > 0, f"{case.id}: the upstream model gives the same logits for two clips"
        assert np.abs(diff_ours - diff_ref).max() <= 1e-2 * np.abs(diff_ref).max()
