"""Export a model for deployment: ONNX (opset >= 17, dynamic batch axis) and TorchScript."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Sequence

import torch
import torch.nn as nn

from .catalogue import model_card

__all__ = ["export", "ExportError"]

logger = logging.getLogger(__name__)


class ExportError(RuntimeError):
    """A model that cannot be exported in the requested format; the message says why."""


def _example(model: nn.Module, shape: Sequence[int] | None) -> torch.Tensor:
    if shape is None and getattr(model, "zoo_name", None):
        shape = model_card(model.zoo_name).input.example_shape()
    if shape is None:
        raise ExportError("give the clip shape (N, C, T, H, W): the model has no card to read it from")
    return torch.randn(*shape, generator=torch.Generator().manual_seed(0))


def export(model: nn.Module, path: str | os.PathLike, input_shape: Sequence[int] | None = None, opset: int = 18,
           method: str = "torchscript") -> Path:
    """Write ``model`` (in eval mode) to ``path``: ``.onnx`` or ``.pt`` (TorchScript).

    Args:
        model: a zoo model.
        path: output file; the suffix picks the format.
        input_shape: the clip shape ``(N, C, T, H, W)``; default the card's input for batch 1.
            ONNX files take input ``"clip"`` of that shape with a dynamic batch axis and return
            ``"logits"`` ``(N, num_classes)``; ``T``, ``H`` and ``W`` are fixed to the given values.
        opset: ONNX opset (>= 17).
        method: ONNX exporter: ``"torchscript"`` (``torch.onnx.export(dynamo=False)``) or
            ``"dynamo"`` (``torch.export`` based).

    Raises:
        ExportError: with the exporter's reason, when the architecture cannot be exported.
    """
    path = Path(path)
    if opset < 17:
        raise ValueError("opset must be >= 17")
    model = model.eval()
    x = _example(model, input_shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        if path.suffix == ".onnx":
            _export_onnx(model, x, path, opset, method)
        elif path.suffix in (".pt", ".ts"):
            with torch.no_grad():
                scripted = torch.jit.trace(model, x, check_trace=False)
            scripted.save(str(path))
        else:
            raise ExportError(f"unknown export format {path.suffix!r}; use .onnx or .pt (TorchScript)")
    except ExportError:
        raise
    except Exception as err:
        path.unlink(missing_ok=True)
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ExportError(f"{type(model).__name__} cannot be exported to {path.suffix}: {type(err).__name__}: {first}") from err
    logger.info("exported %s to %s (input %s)", type(model).__name__, path, tuple(x.shape))
    return path


def _export_onnx(model: nn.Module, x: torch.Tensor, path: Path, opset: int, method: str) -> None:
    if method == "torchscript":
        batch_axis = {"dynamic_axes": {"clip": {0: "batch"}, "logits": {0: "batch"}}}
    elif method == "dynamo":
        batch_axis = {"dynamic_shapes": ({0: torch.export.Dim("batch", min=1, max=4096)},)}
    else:
        raise ValueError(f"method must be 'torchscript' or 'dynamo', not {method!r}")
    torch.onnx.export(model, (x,), str(path), opset_version=opset, input_names=["clip"], output_names=["logits"],
                      dynamo=method == "dynamo", **batch_axis)
