"""Shared test fixtures: an isolated ZOO_HOME for every test, paths to ../shared."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterator

import pytest
import torch

# the GluonCV parity table is printed by the controller (also under xdist)
from _shared import SHARED, require
from gluoncv_ref.report import pytest_sessionstart, pytest_terminal_summary  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def zoo_home(tmp_path_factory, monkeypatch) -> Iterator[Path]:
    """Every test gets its own empty cache and hub; no test touches ~/.zoo."""
    home = tmp_path_factory.mktemp("zoo_home")
    monkeypatch.setenv("ZOO_HOME", str(home))
    for var in ("ZOO_REPO_URL", "ZOO_OFFLINE", "ZOO_MANIFEST", "ZOO_TIMEOUT", "ZOO_RETRIES", "ZOO_LOCK", "ZOO_MAX_DOWNLOAD_BYTES", "ZOO_DOWNLOAD_DEADLINE"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HF_ENDPOINT", "HF_HUB_OFFLINE", "HF_HOME", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hf-cache"))  # never the user's Hugging Face cache
    yield home
    shutil.rmtree(home, ignore_errors=True)  # converted weights of up to a few hundred MB per test


@pytest.fixture(autouse=True, scope="session")
def freed_memory_returned() -> Iterator[None]:
    """The fast path makes malloc keep every freed block (zoo.optimize.hold_freed_memory): right for a
    server, but a test worker would then hold the peak of its largest test until the session ends, and
    two workers' peaks together can exceed the machine.  Tests of the setting itself run it in a
    subprocess or patch it."""
    import zoo.optimize

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zoo.optimize, "hold_freed_memory", lambda: False)
        yield


@pytest.fixture(autouse=True)
def registry_snapshot() -> Iterator[None]:
    """Names and converters a test registers (or replaces) are gone when it ends."""
    from zoo import manifest, registry

    registry.get_model_list()  # the families are registered before the snapshot
    cards, converters, manifests = dict(registry._CARDS), dict(registry._CONVERTERS), set(manifest._LOADED_ENV)
    architectures = dict(registry._HUB_ARCHITECTURES)
    yield
    registry._HUB_ARCHITECTURES.clear()
    registry._HUB_ARCHITECTURES.update(architectures)
    registry._CARDS.clear()
    registry._CARDS.update(cards)
    registry._CONVERTERS.clear()
    registry._CONVERTERS.update(converters)
    manifest._LOADED_ENV.clear()
    manifest._LOADED_ENV.update(manifests)


def reregister(name: str, **changes) -> None:
    """Register ``name`` again with some card fields changed (the snapshot fixture restores it)."""
    from dataclasses import fields

    from zoo.registry import model_card, register_model

    card = model_card(name)
    values = {f.name: getattr(card, f.name) for f in fields(card)}
    values.update(changes)
    register_model(values.pop("name"), values.pop("builder"), replace_existing=True, **values)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the checkout; tests that need it skip when it is absent (fail under CI)."""
    require(SHARED)
    return SHARED


@pytest.fixture(scope="session")
def det_weights(shared_dir):
    """``shared/fixtures/det_weights.py``: the fixtures' deterministic weights and inputs."""
    import importlib.util

    path = shared_dir / "fixtures" / "det_weights.py"
    require(path)
    spec = importlib.util.spec_from_file_location("det_weights", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def sample_video(shared_dir) -> Path:
    path = shared_dir / "data" / "videos" / "arm_wrestling.mp4"
    require(path)
    return path
