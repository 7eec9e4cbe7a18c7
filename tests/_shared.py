"""Where ``../shared`` (sample videos, class lists, parity fixtures) lives, and how a test asks for it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def require(path: Path) -> Path:
    """``path``, or skip the test when it is absent; under ``ZOO_REQUIRE_SHARED=1`` (CI) fail instead."""
    if path.exists():
        return path
    if os.environ.get("ZOO_REQUIRE_SHARED") == "1":
        pytest.fail(f"{path} is absent and ZOO_REQUIRE_SHARED=1: ../shared must be beside the checkout")
    pytest.skip(f"{path} is absent (shared test data lives beside the checkout)")


def import_reference(module: str, why: str):
    """Import a reference library (``transformers``), or skip the test when it is not installed; under
    ``ZOO_REQUIRE_REFERENCE=1`` (``make test``) fail instead."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        if os.environ.get("ZOO_REQUIRE_REFERENCE") == "1":
            pytest.fail(f"{module} is not importable ({err}) and ZOO_REQUIRE_REFERENCE=1: {why}")
        pytest.skip(f"{module} is not installed: {why} (pip install {module})")
