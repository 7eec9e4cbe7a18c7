"""Video data pipeline: readers, sampling, clip transforms, datasets, tools.

Stand-alone: nothing here imports the rest of :mod:`zoo`.

Quick start::

    from zoo.data import VideoClassificationDataset, make_synthetic_dataset, train_transforms
    train_list, val_list, classes = make_synthetic_dataset("/tmp/synthetic", num_train=160, num_val=48)
    ds = VideoClassificationDataset(train_list, sampling="dense", clip_len=8, frame_step=2,
                                    transform=train_transforms(56, short_side=64), on_error="skip")
    clip, label = ds[0]          # clip: (C, T, H, W) float32
"""
from __future__ import annotations

import importlib
from importlib import resources
from typing import Dict, List

from .check import BadVideo, check_videos
from .dataset import VideoClassificationDataset
from .errors import ListFileError, VideoDecodeError
from .lists import VideoRecord, parse_list_file, read_class_names, scan_class_folders, write_list_file
from .readers import VideoReader
from .sampling import sample_clips, slowfast_positions
from .transforms import (CenterCrop, Compose, MultiScaleCrop, Normalize, RandomCrop, RandomHorizontalFlip,
                         RandomResizedCrop, Resize, ResizeShortSide, TenCrop, ThreeCrop, ToFloatTensor, eval_transforms,
                         flip_label_map, train_transforms)

_CLASS_FILES: Dict[str, str] = {
    "kinetics400": "kinetics400.txt", "k400": "kinetics400.txt",
    "kinetics600": "kinetics600.txt", "k600": "kinetics600.txt",
    "kinetics700": "kinetics700.txt", "k700": "kinetics700.txt",
    "ucf101": "ucf101.txt", "hmdb51": "hmdb51.txt",
    "sthv2": "sthv2.txt", "ssv2": "sthv2.txt", "somethingsomethingv2": "sthv2.txt",
}


def class_names(dataset: str) -> List[str]:
    """Class names (index = label) of a known dataset.

    ``dataset``: ``kinetics400`` / ``k400``, ``kinetics600``, ``kinetics700``,
    ``ucf101``, ``hmdb51``, ``sthv2`` / ``ssv2`` / ``something-something-v2``
    or ``synthetic``. Kinetics names use spaces (``"air drumming"``).
    """
    key = dataset.lower().replace("-", "").replace("_", "")
    if key == "synthetic":
        from .synthetic import SYNTHETIC_CLASSES

        return list(SYNTHETIC_CLASSES)
    if key not in _CLASS_FILES:
        known = sorted(set(_CLASS_FILES) | {"synthetic"})
        raise KeyError(f"no class list for {dataset!r}; known: {', '.join(known)}")
    text = resources.files(__package__).joinpath("classes", _CLASS_FILES[key]).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


_LAZY = {
    "make_synthetic_dataset": "synthetic", "SyntheticSplits": "synthetic", "SYNTHETIC_CLASSES": "synthetic",
    "prepare_ucf101": "prepare", "prepare_hmdb51": "prepare", "prepare_kinetics400": "prepare",
    "prepare_sthv2": "prepare",
}


def __getattr__(name: str):
    """Import the CLI modules lazily (keeps ``python -m zoo.data.synthetic`` warning-free)."""
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BadVideo", "CenterCrop", "Compose", "ListFileError", "MultiScaleCrop", "Normalize", "RandomCrop",
           "RandomHorizontalFlip", "RandomResizedCrop", "Resize", "ResizeShortSide", "SYNTHETIC_CLASSES",
           "SyntheticSplits", "TenCrop", "ThreeCrop", "ToFloatTensor", "VideoClassificationDataset", "VideoDecodeError",
           "VideoReader", "VideoRecord", "check_videos", "class_names", "eval_transforms", "flip_label_map",
           "make_synthetic_dataset", "parse_list_file", "prepare_hmdb51", "prepare_kinetics400", "prepare_sthv2",
           "prepare_ucf101", "read_class_names", "sample_clips", "scan_class_folders", "slowfast_positions",
           "train_transforms", "write_list_file"]
