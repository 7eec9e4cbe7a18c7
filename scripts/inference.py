"""Classify videos with a trained model.

    # files, folders and list files -> top-k table (and --out preds.json / preds.csv)
    python scripts/inference.py --checkpoint runs/simple3d_synthetic/best.pth runs/synthetic/val
    python scripts/inference.py --model i3d_resnet50_v1_kinetics400 video.mp4 --topk 5 --out preds.csv
    # long videos: a prediction per window of one clip span, every --stride frames
    python scripts/inference.py --model NAME long.mp4 --stride 16
    # ... merged into segments (label, start, end, score) as a VIA project, to review in `zoo annotate`
    python scripts/inference.py --model NAME long.mp4 --stride 8 --segments-out long_via.json --min-segment 1
    # live: a webcam index, a stream URL, or a file played at its frame rate (--realtime)
    python scripts/inference.py --model NAME --live 0 --every 8 --output-video annotated.mp4
    # features: one .npy per video
    python scripts/inference.py --model NAME videos/ --feat-ext --out features/
    # bulk: a list over N processes into a folder; a rerun resumes, the end merges (predictions.jsonl)
    torchrun --nproc_per_node 4 scripts/inference.py --model NAME big_list.txt --out preds/
    python scripts/inference.py --merge --out preds/ big_list.txt   # merge what the parts hold so far

The model runs on the CPU fast path: ``--precision auto`` (default) is bf16 where the CPU has bf16
instructions and bf16 agrees with fp32 on a probe clip, else fp32; ``fp32``, ``bf16`` or ``int8``
choose (int8 calibrates on clips of the first ``--calibration-videos`` input videos). The precision
that ran is printed.

Class names come from ``--classes FILE``, else the checkpoint's dataset, else the card's dataset.
A zero-shot model (X-CLIP) classifies into any label names: ``--labels "dancing,cooking"`` or
``--labels-file FILE`` (else its card's dataset classes).
Protocol overrides are ``key=value`` arguments, as in the other scripts (``data.new_length=32``;
``--set`` is an older spelling of the same). A video that cannot be decoded is reported and skipped;
the others still get their predictions and a summary says how many were skipped and why. Errors are
one line (``--debug`` for the traceback).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import numpy as np

from zoo.data import VideoDecodeError
from zoo.engine.cli_errors import UsageError, positive_int, run_cli
from zoo.engine.config import apply_overrides
from zoo.engine.inference import (BulkOutput, Recognizer, VideoWriter, collect_videos, draw_label,
                                  frame_source, write_predictions)
from zoo.optimize import PRECISIONS, describe_precision
from zoo.engine.loading import load_model, split_model_kwargs

logger = logging.getLogger("inference")


def _table(predictions, k: int) -> str:
    lines = []
    for p in predictions:
        span = f" [{p.extra['start_s']:.2f}-{p.extra['end_s']:.2f}s]" if "start_s" in p.extra else ""
        ranked = "  ".join(f"{label} {score:.3f}" for label, score in zip(p.labels[:k], p.scores[:k]))
        lines.append(f"{Path(p.source).name}{span}: {ranked}")
    return "\n".join(lines)


def _split_inputs(items: list[str]) -> tuple[list[str], list[str]]:
    """``key=value`` arguments are overrides, everything else is an input (a path that exists stays one)."""
    inputs, overrides = [], []
    for item in items:
        (overrides if "=" in item and not Path(item).exists() else inputs).append(item)
    return inputs, overrides


def _device(name: str) -> str:
    import torch

    return ("cuda" if torch.cuda.is_available() else "cpu") if name == "auto" else name


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="video files, folders, or list files; and key=value overrides")
    parser.add_argument("--model", help="registry name")
    parser.add_argument("--weights", default="true", help="true (default weights), a tag, a file, or false")
    parser.add_argument("--checkpoint", help="a train_recognizer.py checkpoint")
    parser.add_argument("--classes", help="class-name file (one per line)")
    parser.add_argument("--labels", help='zero-shot models (X-CLIP): label names to classify into, "name1,name2,..."')
    parser.add_argument("--labels-file", help="zero-shot models: a file of label names, one per line")
    parser.add_argument("--topk", type=positive_int, default=5)
    parser.add_argument("--num-clips", type=positive_int, default=1, help="clips per video (scores averaged)")
    parser.add_argument("--num-crops", type=int, default=1, choices=(1, 3, 10))
    parser.add_argument("--stride", type=positive_int, help="sliding windows: a prediction every STRIDE frames")
    parser.add_argument("--segments-out", metavar="FILE.json",
                        help="with --stride: windows merged into segments (same top class, score >= "
                             "--segment-threshold), written as a VIA 3 project for `zoo annotate` or VIA")
    parser.add_argument("--segment-threshold", type=float, default=0.5, metavar="P",
                        help="--segments-out: a window joins a segment when its top score is at least P (default 0.5)")
    parser.add_argument("--min-segment", type=float, default=0.0, metavar="S",
                        help="--segments-out: drop segments shorter than S seconds (default 0)")
    parser.add_argument("--ignore-label", action="append", default=[], metavar="NAME",
                        help="--segments-out: a class that makes no segment (a no-action class; repeatable)")
    parser.add_argument("--live", help="webcam index, stream URL, or a video file to play")
    parser.add_argument("--every", type=positive_int, default=8, help="live: predict every K frames")
    parser.add_argument("--realtime", action="store_true", help="live: play a file at its frame rate")
    parser.add_argument("--max-frames", type=positive_int, help="live: stop after this many frames")
    parser.add_argument("--output-video", help="live: write the frames with the prediction drawn on them")
    parser.add_argument("--feat-ext", action="store_true", help="write one feature vector (.npy) per video to --out")
    parser.add_argument("--out", help="predictions file (.json or .csv); a folder for --feat-ext, or for resumable "
                        "bulk inference (per-rank parts merged into predictions.jsonl; always under torchrun)")
    parser.add_argument("--merge", action="store_true", help="only merge the per-rank parts in the --out folder")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto (bf16 where the CPU has it and it agrees with fp32, else fp32), fp32, bf16, int8")
    parser.add_argument("--calibration-videos", type=positive_int, default=4, metavar="N",
                        help="int8: calibrate on one clip of each of the first N input videos")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help=argparse.SUPPRESS)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    return parser


def _world() -> tuple[int, int]:
    """``(rank, world size)`` from torchrun's environment (``(0, 1)`` without it)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _bulk_mode(args: argparse.Namespace) -> bool:
    """Resumable bulk inference: predictions (not live, not features) into a folder, or any torchrun run."""
    into_folder = bool(args.out) and Path(args.out).suffix.lower() not in (".json", ".csv")
    return not args.live and not args.feat_ext and (into_folder or _world()[1] > 1)


def _check_flags(args: argparse.Namespace) -> None:
    if args.merge:
        if not args.out or Path(args.out).suffix:
            raise UsageError("--merge merges the per-rank parts of an --out FOLDER; give --out FOLDER")
        return
    if _world()[1] > 1 and (args.live or args.feat_ext or not args.out or Path(args.out).suffix.lower() in (".json", ".csv")):
        raise UsageError("under torchrun, inference.py classifies videos into an --out FOLDER (per-rank parts, "
                         "merged at the end); --live, --feat-ext and a single output file are for one process")
    if args.precision == "int8" and args.live:
        raise UsageError("--precision int8 calibrates on the input videos, and --live has none; use auto, fp32 or bf16")
    if not args.model and not args.checkpoint:
        raise UsageError("give a model name (--model NAME) or a training checkpoint (--checkpoint PATH)")
    if not args.inputs and not args.live:
        raise UsageError("give videos / folders / list files, or --live SOURCE")
    if args.live and args.inputs:
        raise UsageError(f"--live reads one source; {args.inputs[0]} cannot be classified in the same run")
    if args.live and (args.stride or args.feat_ext):
        raise UsageError(f"{'--stride' if args.stride else '--feat-ext'} does not apply to --live "
                         "(live predictions come every --every frames)")
    if not args.live and (args.output_video or args.realtime or args.max_frames):
        raise UsageError("--output-video, --realtime and --max-frames are for --live")
    if args.stride and args.feat_ext:
        raise UsageError("--stride and --feat-ext cannot be combined")
    if args.segments_out and not args.stride:
        raise UsageError("--segments-out merges sliding windows; add --stride FRAMES")
    if args.segments_out and Path(args.segments_out).suffix.lower() != ".json":
        raise UsageError(f"--segments-out writes a VIA project (.json), not {Path(args.segments_out).suffix or 'a file without extension'}")
    if args.segments_out and _bulk_mode(args):
        raise UsageError("--segments-out is for one process writing --out FILE (or no --out), not bulk inference into a folder")


def _zero_shot_labels(args: argparse.Namespace) -> list[str] | None:
    """Label names of ``--labels "a,b"`` or ``--labels-file F`` (one per line), or None."""
    if args.labels and args.labels_file:
        raise UsageError("give --labels or --labels-file, not both")
    if args.labels_file:
        from zoo.data import read_class_names

        return read_class_names(args.labels_file)
    if args.labels is None:
        return None
    names = [name.strip() for name in args.labels.split(",") if name.strip()]
    if not names:
        raise UsageError(f'--labels {args.labels!r} names no label; write --labels "name1,name2,..."')
    return names


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_intermixed_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args.inputs, overrides = _split_inputs(list(args.inputs))
    if args.set:
        logger.warning("--set is an older spelling; give overrides as key=value arguments")
    _check_flags(args)
    videos = collect_videos(args.inputs) if args.inputs else []
    if args.merge:
        return _merge(BulkOutput(args.out), videos or None)
    weights = {"true": True, "false": False}.get(str(args.weights).lower(), args.weights)
    model_kwargs, overrides = split_model_kwargs(overrides + list(args.set))
    loaded = load_model(args.model, pretrained=weights, checkpoint=args.checkpoint, kwargs=model_kwargs,
                        labels=_zero_shot_labels(args))
    if loaded.tag == "random":
        logger.warning("%s has random weights (--weights false): its predictions mean nothing", loaded.name)
    loaded.cfg = apply_overrides(loaded.cfg, overrides)
    recognizer = Recognizer.from_loaded(loaded, args.classes, num_crops=args.num_crops, device=_device(args.device),
                                        precision=args.precision, calibration_videos=videos[: args.calibration_videos])
    print(f"precision: {describe_precision(recognizer.model)}")
    if _bulk_mode(args):
        return _bulk(recognizer, videos, args)
    if args.live:
        return _live(recognizer, args)
    if args.feat_ext:
        return _features(recognizer, videos, args)
    return _predict(recognizer, videos, args)


def _live(recognizer: Recognizer, args: argparse.Namespace) -> int:
    # frames written to --output-video keep the source size; otherwise decode at the model's size
    short_side = None if args.output_video else recognizer.short_side
    frames, fps = frame_source(args.live, realtime=args.realtime, max_frames=args.max_frames, short_side=short_side)
    writer = VideoWriter(args.output_video, fps) if args.output_video else None
    label, predictions, count = "", [], 0
    try:
        for frame, prediction in recognizer.live(frames, args.every, k=args.topk):
            count += 1
            if prediction is not None:
                predictions.append(prediction)
                label = f"{prediction.labels[0]} {prediction.scores[0]:.2f}"
                print(f"frame {prediction.extra['frame']:6d} ({prediction.extra['frame'] / fps:7.2f}s): "
                      + "  ".join(f"{lab} {s:.3f}" for lab, s in zip(prediction.labels, prediction.scores)),
                      flush=True)
            if writer is not None:
                writer.write(draw_label(frame, label) if label else frame)
    finally:
        frames.close()
        if writer is not None:
            writer.close()
    if writer is not None:
        print(f"annotated video: {args.output_video}")
    if args.out:
        print(f"predictions: {write_predictions(predictions, args.out)}")
    if not predictions:
        print(f"{args.live}: the stream ended after {count} frame(s), before one clip of {recognizer.window} frames; "
              "no prediction", file=sys.stderr)
        return 1
    return 0


def _each_video(videos: list[Path], work) -> tuple[list, list[tuple[Path, str]]]:
    """``work(video)`` for every video; a video that cannot be decoded is reported and skipped."""
    results, skipped = [], []
    for video in videos:
        try:
            results.append((video, work(video)))
        except VideoDecodeError as error:
            reason = str(error).split(f"'{video}': ", 1)[-1]
            logger.warning("skipping %s: %s", video, reason)
            skipped.append((video, reason))
    return results, skipped


def _report_skipped(total: int, skipped: list[tuple[Path, str]], what: str) -> int:
    """Print the skipped videos; exit code 1 when no video gave a result."""
    if not skipped:
        return 0
    shown = ", ".join(f"{video.name} ({reason})" for video, reason in skipped[:5])
    more = f", and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    print(f"{total - len(skipped)} of {total} videos {what}, {len(skipped)} skipped: {shown}{more}", file=sys.stderr)
    return 1 if len(skipped) == total else 0


def _features(recognizer: Recognizer, videos: list[Path], args: argparse.Namespace) -> int:
    out_dir = Path(args.out or "features")
    out_dir.mkdir(parents=True, exist_ok=True)
    results, skipped = _each_video(videos, lambda video: recognizer.video_features(video, args.num_clips))
    for video, feature in results:
        target = out_dir / f"{video.stem}.npy"
        np.save(target, feature.astype(np.float32))
        print(f"{video.name}: feature {feature.shape} -> {target}")
    return _report_skipped(len(videos), skipped, "have features")


def _predictions_of(recognizer: Recognizer, args: argparse.Namespace):
    """``video -> [Prediction, ...]``: sliding windows with ``--stride``, else one prediction per video."""
    if args.stride:
        return lambda video: recognizer.sliding_windows(video, args.stride, k=args.topk)
    return lambda video: [recognizer.predict_video(video, k=args.topk, num_clips=args.num_clips)]


def _bulk(recognizer: Recognizer, videos: list[Path], args: argparse.Namespace) -> int:
    """This rank's share into its part file (skipping what is done); rank 0 merges once all have finished."""
    from tqdm import tqdm

    rank, world = _world()
    out = BulkOutput(args.out, rank, world)
    todo = out.todo(videos)
    share = len(videos[rank::world])
    print(f"rank {rank} of {world}: {share - len(todo)} of its {share} videos already done, {len(todo)} to classify",
          file=sys.stderr)
    predict = _predictions_of(recognizer, args)
    for video in tqdm(todo, desc=f"rank {rank}", disable=args.quiet, dynamic_ncols=True):
        try:
            out.record(video, predict(video))
        except VideoDecodeError as error:
            reason = str(error).split(f"'{video}': ", 1)[-1]
            logger.warning("skipping %s: %s", video, reason)
            out.record(video, error=reason)
    if world > 1:
        _wait_for_all_ranks()
    return _merge(out, videos) if rank == 0 else 0


def _wait_for_all_ranks() -> None:
    """Join a gloo group only now, as the barrier before the merge (ranks may finish hours apart)."""
    import datetime

    import torch.distributed as dist

    dist.init_process_group("gloo", timeout=datetime.timedelta(days=7))
    try:
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _merge(out: BulkOutput, videos: list[Path] | None) -> int:
    path, done, missing = out.merge(videos)
    print(f"predictions: {path} ({done} videos; {missing} without a prediction, see {out.folder / out.FAILED} "
          "for those that could not be decoded; rerun to retry them)" if missing else
          f"predictions: {path} ({done} videos)")
    return 1 if done == 0 else 0


def _predict(recognizer: Recognizer, videos: list[Path], args: argparse.Namespace) -> int:
    results, skipped = _each_video(videos, _predictions_of(recognizer, args))
    predictions = [p for _, found in results for p in found]
    if predictions:
        print(_table(predictions, args.topk))
    if args.out:
        print(f"predictions: {write_predictions(predictions, args.out)}")
    if args.segments_out:
        _write_segments(predictions, [video for video, _ in results], recognizer.classes, args)
    return _report_skipped(len(videos), skipped, "classified")


def _write_segments(predictions, videos: list[Path], classes: list[str], args: argparse.Namespace) -> None:
    """Windows (top class of each) merged into segments, written as a VIA project of the videos' names."""
    from zoo.data.annotations import merge_windows, write_via_project

    windows = []
    for p in predictions:
        start_s, end_s = p.extra["start_s"], p.extra["end_s"]
        frame = (end_s - start_s) / (p.extra["end_frame"] - p.extra["start_frame"] + 1)
        windows.append((Path(p.source).name, start_s, round(end_s - frame, 3), p.labels[0], p.scores[0]))
    segments = merge_windows(windows, args.segment_threshold, args.min_segment, args.ignore_label)
    names = [video.name for video in videos]
    path = write_via_project(segments, args.segments_out, labels=classes, videos=names, name="predictions")
    folders = {str(video.parent) for video in videos}
    folder = folders.pop() if len(folders) == 1 else "FOLDER"
    print(f"segments: {path} ({len(segments)} in {len(names)} video(s)); review them: zoo annotate {folder} "
          f"--labels {args.classes or 'CLASSES'} --out {path}")


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
