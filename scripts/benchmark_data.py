#!/usr/bin/env python
"""Throughput of the zoo.data training pipeline against two references.

Measured in one run, same list, same clip settings, same number of loader
workers and batch size (steady state: the first batch, i.e. worker start-up,
is not timed; each method runs ``--rounds`` times interleaved, best kept):

1. **zoo**: ``VideoClassificationDataset`` (decord, decode-time resize to
   ``--decode-size``, TSN train sampling) + ``train_transforms`` (TSN
   multi-scale crop to ``--size``, flip, normalise) in a torch DataLoader.
2. **decode limit**: decord ``VideoReader(...).get_batch`` of frame indices
   drawn by the same sampler, nothing else, in the same DataLoader set-up.
3. **GluonCV**: ``VideoClsCustom(video_loader=True, use_decord=True,
   data_aug='v1')`` + ``VideoGroupTrainTransform`` with an MXNet DataLoader,
   run by ``--gluoncv-python`` (skipped with a message if absent).

zoo runs in two layouts: ``float`` (the whole transform, ending in
normalised float ``(C, T, H, W)``, inside the workers) and ``uint8`` (crop +
flip in the workers, batched ``ToFloatTensor`` normalisation of the
``(N, T, H, W, C)`` uint8 batch in the consuming loop, as a GPU training loop
would do on the device; it moves 4x fewer bytes between processes).

Because wall-clock rates on a shared machine are noisy, the script also
prints CPU seconds per clip measured in-process (one thread, no loader):
decode-only vs the zoo pipeline.

Targets: zoo >= 0.8x the decode limit and >= 1.5x GluonCV.

Usage: ``python scripts/benchmark_data.py [--workers 2] [--list LIST --root DIR]``
(default list: the shared sample videos, repeated; else a synthetic set).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, List, Optional

REPO = Path(__file__).resolve().parents[1]

import torch  # noqa: E402
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from zoo.data import VideoClassificationDataset, train_transforms  # noqa: E402
from zoo.data.transforms import IMAGENET_MEAN, IMAGENET_STD, ToFloatTensor  # noqa: E402
from zoo.data.sampling import sample_clips  # noqa: E402

SHARED_VIDEOS = REPO.parent / "shared" / "data" / "videos"
TARGET_DECODE, TARGET_GLUONCV = 0.8, 1.5


class DecodeOnly(Dataset):
    """The decode limit: decord get_batch of the sampler's indices, nothing else."""

    def __init__(self, dataset: VideoClassificationDataset, width: int, height: int) -> None:
        self.paths = [str(dataset.video_path(i)) for i in range(len(dataset))]
        self.dataset, self.width, self.height = dataset, width, height

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> torch.Tensor:
        import decord

        reader = decord.VideoReader(self.paths[index], width=self.width, height=self.height, num_threads=1)
        ds = self.dataset
        clips = sample_clips(len(reader), strategy=ds.sampling, mode=ds.mode, new_length=ds.clip_len,
                             new_step=ds.frame_step, num_segments=ds.num_segments)
        return torch.from_numpy(reader.get_batch([i for c in clips for i in c]).asnumpy())


def steady_rate(batches: Iterable, batch_len) -> float:
    """Clips per second after the first batch."""
    iterator = iter(batches)
    next(iterator)
    count, start = 0, time.perf_counter()
    for batch in iterator:
        count += batch_len(batch)
    return count / max(time.perf_counter() - start, 1e-9)


def cpu_seconds_per_clip(dataset: Dataset, count: int, finish=None) -> float:
    """In-process CPU time per sample (torch single-threaded)."""
    torch.set_num_threads(1)
    start = time.process_time()
    for index in range(count):
        sample = dataset[index % len(dataset)]
        if finish is not None:
            finish(sample)
    return (time.process_time() - start) / count


def default_list(work: Path, repeat: int) -> Path:
    """List of the shared sample videos repeated, or a synthetic dataset."""
    videos = sorted(SHARED_VIDEOS.glob("*.mp4")) if SHARED_VIDEOS.is_dir() else []
    if videos:
        lines = [f"{v} 0 {k}" for _ in range(repeat) for k, v in enumerate(videos)]
        path = work / "bench_list.txt"
        path.write_text("\n".join(lines) + "\n")
        print(f"list: {len(lines)} clips from {', '.join(v.name for v in videos)} (shared sample videos)")
        return path
    from zoo.data import make_synthetic_dataset

    splits = make_synthetic_dataset(work / "synthetic", num_train=repeat * 2, num_val=1, frames=96, size=(256, 340))
    print(f"list: synthetic {splits.train_list}")
    return splits.train_list


GLUONCV_SCRIPT = r"""
import json, sys, time
import mxnet as mx  # before decord (import order matters for this build)
from gluoncv.data import VideoClsCustom
from gluoncv.data.transforms import video
a = json.loads(sys.argv[1])
transform = video.VideoGroupTrainTransform(size=(a["size"], a["size"]), scale_ratios=[1.0, 0.875, 0.75, 0.66],
                                           mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
ds = VideoClsCustom(root=a["root"], setting=a["list"], train=True, test_mode=False, new_length=a["new_length"],
                    new_step=a["new_step"], num_segments=1, video_loader=True, use_decord=True,
                    new_width=a["width"], new_height=a["height"], data_aug="v1", transform=transform)
rates = []
for _ in range(a["rounds"]):
    loader = mx.gluon.data.DataLoader(ds, batch_size=a["batch_size"], shuffle=False, num_workers=a["workers"],
                                      last_batch="keep")
    it = iter(loader)
    next(it)
    n, t0 = 0, time.perf_counter()
    for x, y in it:
        n += x.shape[0]
    rates.append(n / (time.perf_counter() - t0))
print("RESULT " + json.dumps(max(rates)))
"""


def run_gluoncv(python: str, args: argparse.Namespace, list_file: Path, root: str) -> Optional[float]:
    """Clips/s of GluonCV's VideoClsCustom, or None when its venv is missing."""
    if not Path(python).exists():
        print(f"GluonCV reference skipped: {python} not found (build the venv or pass --gluoncv-python)")
        return None
    env = dict(os.environ)
    decord_dir = Path(tempfile.mkdtemp(prefix="zoo_gcv_decord_"))
    probe = subprocess.run([python, "-c", "import decord"], capture_output=True)
    if probe.returncode != 0:  # reuse this venv's decord wheel (pure C library, numpy-1 compatible)
        import decord

        (decord_dir / "decord").symlink_to(Path(decord.__file__).parent)
        env["PYTHONPATH"] = str(decord_dir) + os.pathsep + env.get("PYTHONPATH", "")
    payload = dict(root=root, list=str(list_file), new_length=args.new_length, new_step=args.new_step,
                   width=args.decode_size[1], height=args.decode_size[0], size=args.size,
                   batch_size=args.batch_size, workers=args.workers, rounds=args.rounds)
    done = subprocess.run([python, "-W", "ignore", "-c", GLUONCV_SCRIPT, json.dumps(payload)],
                          capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        print(f"GluonCV reference failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
        return None
    return float(json.loads(lines[-1][7:]))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", default=None, help="GluonCV list file (default: shared sample videos)")
    parser.add_argument("--root", default="", help="prefix of the list paths")
    parser.add_argument("--repeat", type=int, default=16, help="copies of each sample video in the default list")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--new-length", type=int, default=32)
    parser.add_argument("--new-step", type=int, default=2)
    parser.add_argument("--size", type=int, default=224, help="crop size")
    parser.add_argument("--decode-size", type=int, nargs=2, default=[256, 340], metavar=("H", "W"))
    parser.add_argument("--rounds", type=int, default=3, help="repetitions per method (best kept)")
    parser.add_argument("--cpu-clips", type=int, default=12, help="clips for the CPU-time measurement")
    parser.add_argument("--gluoncv-python", default="/tmp/gcvref/bin/python")
    parser.add_argument("--skip-gluoncv", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="zoo_bench_"))
    list_file = Path(args.list) if args.list else default_list(work, args.repeat)
    height, width = args.decode_size
    common = dict(mode="train", sampling="tsn", clip_len=args.new_length, frame_step=args.new_step,
                  backend="decord", decode_width=width, decode_height=height, num_classes=1000)
    root = (args.root or None) if args.list else "/"
    ours = VideoClassificationDataset(list_file, root, transform=train_transforms(args.size, kind="multiscale"), **common)
    ours_u8 = VideoClassificationDataset(list_file, root, transform=train_transforms(args.size, output="uint8"), **common)
    normalise = ToFloatTensor(IMAGENET_MEAN, IMAGENET_STD)
    raw = DecodeOnly(ours, width, height)
    loader = dict(batch_size=args.batch_size, num_workers=args.workers)
    rounds = []
    for _ in range(args.rounds):  # interleaved, so each round compares methods under similar load
        batches = (normalise(x) for x, _ in DataLoader(ours_u8, **loader))
        rounds.append({"decode": steady_rate(DataLoader(raw, **loader), len),
                       "zoo": steady_rate(DataLoader(ours, **loader), lambda b: len(b[1])),
                       "zoo_u8": steady_rate(batches, len)})
    rates = {key: max(r[key] for r in rounds) for key in rounds[0]}
    paired = {key: statistics.median(r[key] / r["decode"] for r in rounds) for key in ("zoo", "zoo_u8")}
    cpu = {"decode": cpu_seconds_per_clip(raw, args.cpu_clips),
           "zoo": cpu_seconds_per_clip(ours, args.cpu_clips),
           "zoo_u8": cpu_seconds_per_clip(ours_u8, args.cpu_clips, lambda s: normalise(s[0]))}
    gluoncv = None if args.skip_gluoncv else run_gluoncv(args.gluoncv_python, args, list_file, args.root)
    print(f"settings: new_length={args.new_length} new_step={args.new_step} decode {width}x{height} -> "
          f"multiscale crop {args.size} + flip + normalise; workers={args.workers} batch={args.batch_size} "
          f"torch threads/worker=1; {len(ours)} clips x {args.rounds} rounds (best)")
    print(f"decode limit (decord get_batch): {rates['decode']:7.2f} clips/s   cpu {cpu['decode'] * 1000:6.1f} ms/clip")
    print(f"zoo pipeline, float in workers:  {rates['zoo']:7.2f} clips/s   cpu {cpu['zoo'] * 1000:6.1f} ms/clip")
    print(f"zoo pipeline, uint8 + batched normalise: {rates['zoo_u8']:7.2f} clips/s   cpu {cpu['zoo_u8'] * 1000:6.1f} ms/clip")
    for name, key in (("float", "zoo"), ("uint8", "zoo_u8")):
        ratio, cpu_ratio = rates[key] / rates["decode"], cpu["decode"] / cpu[key]
        verdict = "OK" if ratio >= TARGET_DECODE else "BELOW TARGET"
        print(f"zoo ({name}) / decode limit = {ratio:.2f}x wall-clock best-of (target >= {TARGET_DECODE}x) {verdict}; "
              f"median of per-round ratios {paired[key]:.2f}x; {cpu_ratio:.2f}x by CPU time")
    if gluoncv:
        print(f"GluonCV VideoClsCustom:          {gluoncv:7.2f} clips/s")
        for name, key in (("float", "zoo"), ("uint8", "zoo_u8")):
            ratio = rates[key] / gluoncv
            print(f"zoo ({name}) / GluonCV = {ratio:.2f}x (target >= {TARGET_GLUONCV}x) "
                  f"{'OK' if ratio >= TARGET_GLUONCV else 'BELOW TARGET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
