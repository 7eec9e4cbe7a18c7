"""Training, evaluation and inference engine behind ``scripts/train_recognizer.py``,
``scripts/test_recognizer.py`` and ``scripts/inference.py``.

* :mod:`~zoo.engine.config`: defaults, YAML files, ``key.sub=value`` overrides.
* :mod:`~zoo.engine.trainer`: :func:`train` (DDP, AMP, accumulation, checkpoints, exact resume).
* :mod:`~zoo.engine.evaluate`: multi-view scores, accuracies, confusion matrix.
* :mod:`~zoo.engine.testing`: :func:`run_test` (a list file -> reports, reproduced results).
* :mod:`~zoo.engine.inference`: :class:`Recognizer` (files, sliding windows, live streams, features).
* :mod:`~zoo.engine.distributed`, :mod:`~zoo.engine.checkpoint`, :mod:`~zoo.engine.data`: helpers.
"""
from __future__ import annotations

from .config import DEFAULTS, ConfigError, apply_overrides, load_config, save_config
from .trainer import train

__all__ = ["DEFAULTS", "ConfigError", "apply_overrides", "load_config", "save_config", "train"]
