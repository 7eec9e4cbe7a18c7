"""Helpers for the upstream parity fixtures in ``../shared/fixtures`` (see its README)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest


def gluoncv_fixture(shared_dir: Path, name: str) -> dict:
    """The GluonCV PyTorch-zoo fixture ``name``; skips when it is absent."""
    path = shared_dir / "fixtures" / "gluoncv" / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    return json.loads(path.read_text())
