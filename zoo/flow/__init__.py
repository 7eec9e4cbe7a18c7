"""Optical flow for two-stream models: extraction to 8-bit images and flow-stack loading.

* :mod:`zoo.flow.extract`: dense flow (OpenCV Farneback, or TV-L1 when ``cv2.optflow`` exists)
  for every pair of consecutive frames, clipped to ``[-bound, bound]`` and stored as two
  grey-scale images per pair, ``flow_x_%05d.jpg`` and ``flow_y_%05d.jpg`` (1-based), the layout of
  the common UCF101/HMDB51/Kinetics flow releases.  CLI: ``python -m zoo.flow.extract LIST --out DIR``.
* :mod:`zoo.flow.dataset`: :class:`FlowStackReader` turns a folder of those images into
  ``(2L, H, W)`` stacks; :class:`FlowClipDataset` yields ``((rgb, flow), label)`` for
  :class:`zoo.models.two_stream.TwoStream`.
"""
from __future__ import annotations

import importlib

_LAZY = {
    "FlowClipDataset": "dataset", "FlowStackReader": "dataset",
    "compute_flow": "extract", "dequantize_flow": "extract", "extract_flow": "extract",
    "extract_video_flow": "extract", "quantize_flow": "extract",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    """Import submodules lazily (keeps ``python -m zoo.flow.extract`` warning-free)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
