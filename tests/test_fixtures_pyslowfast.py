"""PySlowFast parity from files kept in the repository (``tests/fixtures/pyslowfast``), for machines without
PySlowFast's source (CI cannot reach GitHub; ``tests/test_parity_pytorchvideo.py`` skips its PySlowFast cases there).

Each fixture was written by ``tests/pytorchvideo_ref/make_reference.py --fixtures`` from a reduced
``FIXTURE_CASES`` entry: PySlowFast's own builder (small widths and depths, 10 classes), seeded random
weights saved in its layout (Caffe2 ``.pkl`` blobs or a ``.pyth``), two clips and its logits.  The test
loads the weights the way a user would, ``get_model(name, pretrained=path)`` with the reduced builder
arguments, and compares the logits: ``<= 1e-4 * max(1, max|ref|)``, and the difference between the two
clips' logits against its own scale (a model that ignored its input would fail there).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

import zoo
from pytorchvideo_ref.cases import FIXTURE_CASES, FairCase
from pytorchvideo_ref.harness import ABS_TOL

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "pyslowfast"
REGENERATE = ("regenerate with: .venv-ptv/bin/python tests/pytorchvideo_ref/make_reference.py "
              "--out tests/fixtures/pyslowfast --fixtures --pyslowfast-src <SlowFast checkout>")


def _weights(case: FairCase) -> Path:
    suffix = ".pkl" if case.kwargs.get("TEST.CHECKPOINT_TYPE") == "caffe2" else ".pyth"
    return FIXTURES / f"{case.id}{suffix}"


@pytest.mark.parametrize("case", FIXTURE_CASES, ids=[c.id for c in FIXTURE_CASES])
def test_matches_pyslowfast_fixture(case: FairCase) -> None:
    with np.load(FIXTURES / f"{case.id}.npz") as npz:
        made_from = json.loads(str(npz["case"]))
        inputs = [torch.from_numpy(npz[f"input{i}"]).float() for i in range(len(case.input_shapes))]
        ref = npz["logits"]
    assert made_from == json.loads(json.dumps(asdict(case), sort_keys=True)), \
        f"{case.id}: the fixture was made from another case definition; {REGENERATE}"
    model = zoo.get_model(case.zoo_name, pretrained=str(_weights(case)), **case.zoo_kwargs).eval()
    clip = torch.cat([inputs[1], inputs[0]], dim=2) if len(inputs) == 2 else inputs[0]  # SlowFast: Fast, then Slow
    with torch.inference_mode():
        ours = model(clip).numpy()
    assert ours.shape == ref.shape
    worst, scale = float(np.abs(ours - ref).max()), max(1.0, float(np.abs(ref).max()))
    print(f"PARITY {case.id} {case.zoo_name} input={[list(x.shape) for x in inputs]} max|d|={worst:.3g} "
          f"max|ref|={float(np.abs(ref).max()):.3g} (PySlowFast fixture)")
    assert worst <= ABS_TOL * scale, f"{case.id}: max|ours - ref| = {worst:.3g} > {ABS_TOL} * {scale:.3g}"
    diff_ref, diff_ours = ref[0] - ref[1], ours[0] - ours[1]
    assert np.abs(diff_ref).max() > 0, f"{case.id}: the reference gives the same logits for two clips"
    assert np.abs(diff_ours - diff_ref).max() <= 1e-2 * np.abs(diff_ref).max()


def test_fixtures_are_small_and_complete() -> None:
    """Every fixture case has its files, and together they stay small enough to keep in the repository."""
    files = [FIXTURES / f"{c.id}.npz" for c in FIXTURE_CASES] + [_weights(c) for c in FIXTURE_CASES]
    missing = [f.name for f in files if not f.is_file()]
    assert not missing, f"missing fixtures {missing}; {REGENERATE}"
    # a ResNet-50 wrapper of 320 tensors costs ~150 KB in torch's zip format however thin it is made
    assert sum(f.stat().st_size for f in FIXTURES.iterdir()) < 1_000_000
