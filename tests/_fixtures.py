"""Helpers for the upstream parity fixtures in ``../shared/fixtures`` (see its README)."""
from __future__ import annotations

import json
from pathlib import Path

from _shared import require


def gluoncv_fixture(shared_dir: Path, name: str) -> dict:
    """The GluonCV PyTorch-zoo fixture ``name``; skips when it is absent."""
    path = require(shared_dir / "fixtures" / "gluoncv" / f"{name}.json")
    return json.loads(path.read_text())


def upstream_state_dict(det_weights, fx: dict) -> dict:
    """Upstream-keyed deterministic weights of fixture ``fx``; aliased keys take their group's effective tensor."""
    state = det_weights.det_state_dict(fx["state_dict"], fx["norm_prefixes"])
    for group in fx.get("aliased_keys", {}).get("groups", []):
        for key in group["keys"]:
            state[key] = state[group["effective"]]
    return state
