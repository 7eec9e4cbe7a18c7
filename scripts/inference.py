"""Classify videos with a trained model.

    # files, folders and list files -> top-k table (and --out preds.json / preds.csv)
    python scripts/inference.py --checkpoint runs/simple3d_synthetic/best.pth runs/synthetic/val
    python scripts/inference.py --model i3d_resnet50_v1_kinetics400 video.mp4 --topk 5 --out preds.csv
    # long videos: a prediction per window of one clip span, every --stride frames
    python scripts/inference.py --model NAME long.mp4 --stride 16
    # live: a webcam index, a stream URL, or a file played at its frame rate (--realtime)
    python scripts/inference.py --model NAME --live 0 --every 8 --output-video annotated.mp4
    # features: one .npy per video
    python scripts/inference.py --model NAME videos/ --feat-ext --out features/

Class names come from ``--classes FILE``, else the checkpoint's dataset, else the card's dataset.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from zoo.engine.config import apply_overrides  # noqa: E402
from zoo.engine.inference import (Recognizer, VideoWriter, collect_videos, draw_label, frame_source,  # noqa: E402
                                  write_predictions)
from zoo.engine.loading import load_model, split_model_kwargs  # noqa: E402


def _table(predictions, k: int) -> str:
    lines = []
    for p in predictions:
        span = f" [{p.extra['start_s']:.2f}-{p.extra['end_s']:.2f}s]" if "start_s" in p.extra else ""
        ranked = "  ".join(f"{label} {score:.3f}" for label, score in zip(p.labels[:k], p.scores[:k]))
        lines.append(f"{Path(p.source).name}{span}: {ranked}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", help="video files, folders, or list files")
    parser.add_argument("--model", help="registry name")
    parser.add_argument("--weights", default="true", help="true (default weights), a tag, a file, or false")
    parser.add_argument("--checkpoint", help="a train_recognizer.py checkpoint")
    parser.add_argument("--classes", help="class-name file (one per line)")
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--num-clips", type=int, default=1, help="clips per video (scores averaged)")
    parser.add_argument("--num-crops", type=int, default=1, choices=(1, 3, 10))
    parser.add_argument("--stride", type=int, help="sliding windows: a prediction every STRIDE frames")
    parser.add_argument("--live", help="webcam index, stream URL, or a video file to play")
    parser.add_argument("--every", type=int, default=8, help="live: predict every K frames")
    parser.add_argument("--realtime", action="store_true", help="live: play a file at its frame rate")
    parser.add_argument("--max-frames", type=int, help="live: stop after this many frames")
    parser.add_argument("--output-video", help="live: write the frames with the prediction drawn on them")
    parser.add_argument("--feat-ext", action="store_true", help="write one feature vector (.npy) per video to --out")
    parser.add_argument("--out", help="predictions file (.json or .csv), or the folder for --feat-ext")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="protocol overrides, e.g. data.new_length=32 data.crop_size=224")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.inputs and not args.live:
        parser.error("give videos / folders / list files, or --live SOURCE")
    weights = {"true": True, "false": False}.get(str(args.weights).lower(), args.weights)
    model_kwargs, overrides = split_model_kwargs(list(args.set))
    loaded = load_model(args.model, pretrained=weights, checkpoint=args.checkpoint, kwargs=model_kwargs)
    loaded.cfg = apply_overrides(loaded.cfg, overrides)
    recognizer = Recognizer.from_loaded(loaded, args.classes, num_crops=args.num_crops, device=args.device)

    if args.live:
        frames, fps = frame_source(args.live, realtime=args.realtime, max_frames=args.max_frames)
        writer = VideoWriter(args.output_video, fps) if args.output_video else None
        label, predictions = "", []
        try:
            for frame, prediction in recognizer.live(frames, args.every, k=args.topk):
                if prediction is not None:
                    predictions.append(prediction)
                    label = f"{prediction.labels[0]} {prediction.scores[0]:.2f}"
                    print(f"frame {prediction.extra['frame']:6d} ({prediction.extra['frame'] / fps:7.2f}s): "
                          + "  ".join(f"{lab} {s:.3f}" for lab, s in zip(prediction.labels, prediction.scores)),
                          flush=True)
                if writer is not None:
                    writer.write(draw_label(frame, label) if label else frame)
        finally:
            if writer is not None:
                writer.close()
        if writer is not None:
            print(f"annotated video: {args.output_video}")
        if args.out:
            print(f"predictions: {write_predictions(predictions, args.out)}")
        return 0

    videos = collect_videos(args.inputs)
    if args.feat_ext:
        out_dir = Path(args.out or "features")
        out_dir.mkdir(parents=True, exist_ok=True)
        for video in videos:
            feature = recognizer.video_features(video, args.num_clips)
            target = out_dir / f"{video.stem}.npy"
            np.save(target, feature.astype(np.float32))
            print(f"{video.name}: feature {feature.shape} -> {target}")
        return 0
    predictions = []
    for video in videos:
        if args.stride:
            predictions += recognizer.sliding_windows(video, args.stride, k=args.topk)
        else:
            predictions.append(recognizer.predict_video(video, k=args.topk, num_clips=args.num_clips))
    print(_table(predictions, args.topk))
    if args.out:
        print(f"predictions: {write_predictions(predictions, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
