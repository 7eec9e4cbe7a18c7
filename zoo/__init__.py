"""zoo: a PyTorch model zoo for video action recognition.

>>> import zoo
>>> net = zoo.get_model("simple3d_synthetic")          # random init
>>> "simple3d_synthetic" in zoo.get_model_list("simple*")
True
"""
from __future__ import annotations

from .catalogue import get_model_list, list_datasets, model_card
from .export import export
from .hub import list_cache, purge
from .optimize import optimize_for_inference
from .manifest import publish, register_manifest
from .registry import (Accuracy, InputSpec, ModelCard, UnknownModelError, UnknownTagError, WeightsEntry,
                       register_converter, register_model)
from .weights import WeightsError, get_model, read_weights

__version__ = "0.1.0"

__all__ = ["Accuracy", "InputSpec", "ModelCard", "UnknownModelError", "UnknownTagError", "WeightsEntry", "WeightsError",
           "export", "optimize_for_inference", "get_model", "get_model_list", "list_cache", "list_datasets",
           "model_card", "publish", "purge", "read_weights", "register_converter", "register_manifest",
           "register_model"]
