"""Datasets and loaders from a run config (training, validation, multi-view testing)."""
from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, default_collate

from ..data import VideoClassificationDataset, VideoDecodeError, eval_transforms, flip_label_map, train_transforms
from ..data.lists import class_names_for
from ..data.synthetic import make_synthetic_dataset
from .config import ConfigError
from .distributed import DistInfo, ShardSampler, TrainSampler

logger = logging.getLogger(__name__)

__all__ = ["center_time", "input_fn", "SeededDataset", "EvalSamples", "collate_eval", "VideoLoader", "prepare_data",
           "build_dataset", "train_loader", "eval_loader", "class_names_of", "batch_sources"]


def center_time(clips: torch.Tensor) -> torch.Tensor:
    """Subtract each pixel's mean over the frames of its clip: ``(..., C, T, H, W)`` -> same shape.

    A static background becomes zero and only what changes over time is left (``data.temporal_centering``);
    it is part of the model's input protocol, applied the same way in training, testing and inference.
    """
    return clips - clips.mean(dim=-3, keepdim=True)


def input_fn(cfg: Mapping[str, Any]):
    """The batch-level input function a config asks for (``None`` when there is none)."""
    return center_time if cfg["data"].get("temporal_centering") else None


class SeededDataset(Dataset):
    """Gives sample ``i`` of epoch ``e`` its own random stream, seeded from ``(seed, e, i)``.

    Random clip sampling and augmentation then depend on the sample alone, not on which process,
    DataLoader worker or resumed run draws it: the global RNG is forked around each load, so the
    model's own randomness (dropout) is untouched.
    """

    def __init__(self, dataset: VideoClassificationDataset, seed: int) -> None:
        self.dataset, self.seed, self.epoch = dataset, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        seed = int(np.random.SeedSequence([self.seed, self.epoch, int(index)]).generate_state(1)[0])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]


class EvalSamples(Dataset):
    """Evaluation view of a dataset: a video that cannot be decoded is reported, never replaced.

    ``samples[i]`` is ``(clip, label, i, None)``, or ``(None, label, i, {"path", "reason"})`` for a bad
    video; the file is also flagged in ``dataset.bad_files``. Batch with :func:`collate_eval`.
    """

    def __init__(self, dataset: VideoClassificationDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, int, int, Optional[dict[str, str]]]:
        try:
            clip, label = self.dataset.load_sample(index)
        except VideoDecodeError as error:
            self.dataset._mark_bad(index, error)
            path = str(self.dataset.video_path(index))
            reason = str(error).split(f"'{path}': ", 1)[-1]  # the message starts with the path; keep the why
            return None, self.dataset.records[index].label, index, {"path": path, "reason": reason}
        return clip, label, index, None


def collate_eval(batch: list) -> tuple:
    """:class:`EvalSamples` items -> ``(clips or None, labels (B,), indices (B,), skipped)``: only the good
    videos are in ``clips`` ``(B, [V,] C, T, H, W)``; ``skipped`` is ``[{"path", "reason"}]``."""
    good = [item for item in batch if item[0] is not None]
    clips = default_collate([item[0] for item in good]) if good else None
    labels = torch.tensor([item[1] for item in good], dtype=torch.long)
    indices = torch.tensor([item[2] for item in good], dtype=torch.long)
    skipped = [item[3] for item in batch if item[0] is None]
    return clips, labels, indices, skipped


class VideoLoader(DataLoader):
    """A DataLoader whose worker timeout names the videos: when a worker gives no batch within
    ``timeout`` seconds, a :class:`~zoo.data.VideoDecodeError` lists the files of that batch
    (torch's own error says only that it timed out)."""

    def __iter__(self) -> Iterator[Any]:
        iterator = super().__iter__()
        number = 0
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except RuntimeError as error:
                if "timed out" not in str(error):
                    raise
                raise VideoDecodeError(f"no batch within {self.timeout:g} s (data.timeout); one of these videos is "
                                       f"stuck: {', '.join(batch_sources(self, number))}") from None
            number += 1
            yield batch


def batch_sources(loader: DataLoader, number: int) -> list[str]:
    """Files of batch ``number`` of a loader whose sampler repeats its order (for errors about that batch)."""
    order = list(iter(loader.sampler)) if loader.sampler is not None else list(range(len(loader.dataset)))
    size = loader.batch_size or 1
    dataset = getattr(loader.dataset, "dataset", loader.dataset)
    chosen = order[number * size: (number + 1) * size]
    if hasattr(dataset, "video_path"):
        return [str(dataset.video_path(i)) for i in chosen]
    return [f"sample {i}" for i in chosen]


def _worker_timeout(cfg: Mapping[str, Any], batch_size: int) -> float:
    """Seconds to wait for a worker's batch: the per-video limit for every video of the batch."""
    workers, limit = int(cfg["data"]["num_workers"]), cfg["data"].get("timeout")
    return float(limit) * batch_size if workers > 0 and limit else 0.0


def prepare_data(cfg: Mapping[str, Any]) -> None:
    """Generate the synthetic dataset a config asks for (``data.synthetic``) and fill in its lists."""
    synth = cfg["data"].get("synthetic")
    if not synth:
        return
    args = dict(synth)
    root = Path(args.pop("root"))
    splits = make_synthetic_dataset(root, **args)
    data = cfg["data"]
    data["train_list"] = data["train_list"] or str(splits.train_list)
    data["val_list"] = data["val_list"] or str(splits.val_list)
    data["test_list"] = data["test_list"] or str(splits.val_list)


def class_names_of(cfg: Mapping[str, Any], list_file: str) -> Optional[list[str]]:
    """Class names from ``data.classes`` or a ``classes.txt`` beside the list (None if neither; a
    folder-per-class dataset names its classes by its folders)."""
    return class_names_for(cfg["data"].get("classes") or None, None if Path(list_file).is_dir() else list_file)


_COUNTS = (("data", "clip_len"), ("data", "frame_step"), ("data", "num_segments"), ("data", "batch_size"),
           ("test", "num_clips"))


def _check_counts(cfg: Mapping[str, Any]) -> None:
    """Counts that must be at least 1 (``test.num_clips=0`` is a usage error, not a crash in sampling)."""
    for section, key in _COUNTS:
        value = cfg[section][key]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"{section}.{key} must be a whole number of at least 1, got {value!r}")


def build_dataset(cfg: Mapping[str, Any], split: str, num_classes: Optional[int] = None) -> VideoClassificationDataset:
    """``split``: ``"train"`` (random clips, augmentation), ``"val"`` (one centred view) or ``"test"``
    (``test.num_clips`` x ``test.num_crops`` views per video)."""
    data, test = cfg["data"], cfg["test"]
    _check_counts(cfg)
    list_file = data[f"{split}_list"]
    if not list_file:
        raise ValueError(f"data.{split}_list is not set; give a list file (data.{split}_list=path) or data.synthetic")
    classes = class_names_of(cfg, list_file)
    mean, std = tuple(data["mean"]), tuple(data["std"])
    num_clips = num_crops = 1
    sampling = data["sampling"]
    if split == "train":
        flip_map = flip_label_map(classes) if (classes and data["flip_labels"]) else None
        transform = train_transforms(data["crop_size"], data["short_side"], kind=data["train_crop"], flip=data["flip"],
                                     flip_map=flip_map, mean=mean, std=std)
        mode = "train"
    else:
        if split == "test":
            num_clips, num_crops = int(test["num_clips"]), int(test["num_crops"])
            sampling = test.get("sampling") or sampling
        transform = eval_transforms(data["crop_size"], data["short_side"], num_crops=num_crops, mean=mean, std=std)
        mode = "test" if split == "test" else "val"
    return VideoClassificationDataset(
        list_file, data.get("root"), classes=classes, mode=mode, sampling=sampling,
        clip_len=data["clip_len"], frame_step=data["frame_step"], num_segments=data["num_segments"],
        num_clips=num_clips, num_crops=num_crops, temporal_jitter=data["temporal_jitter"] and split == "train",
        backend=data["backend"], transform=transform, on_error=data["on_error"], num_classes=num_classes,
        decode_short_side=data["short_side"], timeout=data.get("timeout"))


def _seed_worker(worker_id: int) -> None:
    """numpy / python RNGs of a DataLoader worker follow its torch seed (itself from the loader)."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def _loader_generator(seed: int, rank: int) -> torch.Generator:
    # the loader draws its workers' base seed from here, not from the global RNG, so creating an
    # iterator (e.g. after a resume) does not shift the model's own random stream (dropout)
    return torch.Generator().manual_seed(seed * 1000 + rank)


def train_loader(dataset: SeededDataset, cfg: Mapping[str, Any], info: DistInfo) -> DataLoader:
    """Shuffled, sharded (one :class:`TrainSampler` per rank), ``drop_last`` loader."""
    sampler = TrainSampler(dataset, info.world_size, info.rank, seed=int(cfg["train"]["seed"]))
    workers, size = int(cfg["data"]["num_workers"]), int(cfg["data"]["batch_size"])
    return VideoLoader(dataset, batch_size=size, sampler=sampler, num_workers=workers,
                       worker_init_fn=_seed_worker, pin_memory=info.device.type == "cuda", drop_last=True,
                       generator=_loader_generator(int(cfg["train"]["seed"]), info.rank),
                       timeout=_worker_timeout(cfg, size))


def eval_loader(dataset: Dataset, cfg: Mapping[str, Any], info: DistInfo, batch_size: Optional[int] = None) -> DataLoader:
    """Unshuffled loader over this rank's :class:`ShardSampler` share (no padding, no duplicates).

    With ``data.on_error=skip`` a video that cannot be decoded is left out of the batch and reported
    (:class:`EvalSamples`, :func:`collate_eval`) instead of being replaced by another one.
    """
    size = int(batch_size or cfg["data"].get("eval_batch_size") or cfg["data"]["batch_size"])
    collate = None
    if isinstance(dataset, VideoClassificationDataset) and dataset.on_error == "skip":
        dataset, collate = EvalSamples(dataset), collate_eval
    return VideoLoader(dataset, batch_size=size, sampler=ShardSampler(len(dataset), info.world_size, info.rank),
                       num_workers=int(cfg["data"]["num_workers"]), worker_init_fn=_seed_worker, collate_fn=collate,
                       pin_memory=info.device.type == "cuda", generator=_loader_generator(0, info.rank),
                       timeout=_worker_timeout(cfg, size))
