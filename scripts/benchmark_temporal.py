"""Proof that the temporal architectures learn motion: train each briefly on the synthetic dataset.

The synthetic motion dataset's eight classes (translate left/right/up/down, rotate cw/ccw, grow,
shrink) have the same single-frame distribution, so a single-frame model should stay near chance
(12.5 %) while models that see time should not.  Every model is trained with the same budget
(optimizer, learning rate, epochs, batch size, clips) from scratch, in a CPU-sized configuration
(narrow backbones, 48 px frames, random left-right flips that swap the mirrored motion labels),
and evaluated on the validation split.

    python scripts/benchmark_temporal.py [--epochs 24 --num-train 256 --num-val 384 --size 48 \
        --threads 2 --out csv_tables/Action_Recognitions/synthetic_temporal_models.csv]

Writes the CSV (one row per model; the command is in its ``Command`` column) and logs a table.
The RGB models get 8 frames (every other frame of the 16-frame clips), temporally centred as in the
demo (each pixel's mean over the clip subtracted) except for the single-frame baseline, whose centred
variant is a separate row because the clip mean leaks motion into one frame; the flow models get 8
consecutive Farneback flow fields from the middle of the clip (extracted with
:mod:`zoo.flow.extract`, 8-bit, bound 20 px); the two-stream models get both.
"""
from __future__ import annotations

import argparse
import csv
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F


from zoo.data import SYNTHETIC_CLASSES, flip_label_map, make_synthetic_dataset  # noqa: E402
from zoo.data.lists import parse_list_file  # noqa: E402
from zoo.data.readers import VideoReader  # noqa: E402
from zoo.engine.data import center_time  # noqa: E402
from zoo.flow import FlowStackReader, extract_flow  # noqa: E402
from zoo.flow.extract import flow_folder  # noqa: E402
from zoo.models.lrcn import LRCN, lrcn_step_loss  # noqa: E402
from zoo.optimize import optimize_for_inference  # noqa: E402
from zoo.weights import get_model  # noqa: E402

logger = logging.getLogger("benchmark_temporal")

SMALL_RESNET = {"depth": 18, "widths": (16, 32, 64, 128)}
SMALL_TRUNK = {"widths": (16, 32, 64, 128)}
SMALL_FUSION = {"widths": (16, 32, 48, 48, 32), "kernels": (5, 3, 3, 3, 3), "conv1_stride": 2, "fc_width": 128,
                "dropout_ratio": 0.3}
FLOW_LEN = 8

# name, registry name, input kind, build kwargs, how it models time
MODELS = [
    ("single frame", "fusion_single_frame", "rgb_raw", SMALL_FUSION, "none (middle frame only)"),
    ("single frame, centred input", "fusion_single_frame", "rgb", SMALL_FUSION,
     "none, but centring subtracts the clip mean (a leak)"),
    ("late fusion", "fusion_late", "rgb", {**SMALL_FUSION, "num_frames": 8}, "first vs last frame at fc6"),
    ("early fusion", "fusion_early", "rgb", {**SMALL_FUSION, "num_frames": 8}, "conv1 over all frames"),
    ("slow fusion", "fusion_slow", "rgb", {**SMALL_FUSION, "num_frames": 8}, "conv1-3 merge time gradually"),
    ("multires (slow)", "fusion_multires", "rgb", {**SMALL_FUSION, "num_frames": 8}, "context + fovea, slow fusion"),
    ("LRCN", "lrcn_resnet18", "rgb", {"backbone_kwargs": SMALL_TRUNK, "hidden_size": 64, "dropout_ratio": 0.2},
     "LSTM over per-frame features"),
    ("TSM", "tsm_resnet50", "rgb", {**SMALL_RESNET, "dropout_ratio": 0.2}, "channel shift between frames"),
    ("TAM", "tam_resnet50", "rgb", {**SMALL_RESNET, "dropout_ratio": 0.2}, "depthwise temporal aggregation"),
    ("C2D", "c2d_resnet50", "rgb", {"layers": (1, 1, 1, 1), "widths": (8, 16, 32, 64), "stem_width": 16,
                                    "dropout_ratio": 0.2}, "temporal max-pools only"),
    ("X3D-XS (narrow)", "x3d_xs", "rgb", {"width_factor": 1.0, "depth_factor": 1.0, "head_width": 256,
                                          "dropout_ratio": 0.2}, "depthwise 3x3x3 convs"),
    ("simple3d (C3D-like)", "simple3d_synthetic", "rgb", {"widths": (16, 32, 64, 128), "dropout_ratio": 0.2},
     "3x3x3 convs"),
    ("temporal stream (flow)", "flow_resnet18", "flow", {"backbone_kwargs": SMALL_TRUNK, "flow_len": FLOW_LEN,
                                                        "dropout_ratio": 0.2}, "stacked optical flow"),
    ("two-stream (average)", "two_stream_resnet18", "both", {"backbone_kwargs": SMALL_TRUNK, "flow_len": FLOW_LEN,
                                                            "dropout_ratio": 0.2}, "RGB + flow, averaged logits"),
    ("two-stream (LSTM fusion)", "two_stream_resnet18_lstm", "both",
     {"backbone_kwargs": SMALL_TRUNK, "flow_len": FLOW_LEN // 2, "num_segments": 2, "hidden_size": 64,
      "dropout_ratio": 0.2}, "RGB + flow, LSTM over 2 segments"),
    ("two-stream Xception (average)", "two_stream_xception", "both",
     {"backbone_kwargs": {"widths": (16, 32, 48, 64, 96, 128, 128), "middle_blocks": 1}, "flow_len": FLOW_LEN,
      "dropout_ratio": 0.2}, "RGB + flow, averaged logits"),
]


def load_split(list_file: Path, flow_root: Path, size: int) -> dict[str, torch.Tensor]:
    """Decode every clip of a split into memory: rgb ``(N, 3, 16, S, S)``, flow ``(N, 2, 15, S, S)``, labels."""
    rgb, flow, labels = [], [], []
    for record in parse_list_file(list_file):
        with VideoReader(list_file.parent / record.path, backend="pyav", width=size, height=size) as reader:
            frames = reader.get_batch(list(range(len(reader))))
        rgb.append(torch.from_numpy(frames).permute(3, 0, 1, 2))
        stack = FlowStackReader(flow_folder(flow_root, record.path))
        flow.append(stack.clip(range(len(stack))))
        labels.append(record.label)
    return {"rgb": torch.stack(rgb), "flow": torch.stack(flow), "labels": torch.tensor(labels)}


def model_input(kind: str, split: dict[str, torch.Tensor], index: torch.Tensor, num_segments: int = 1,
                centering: bool = True):
    """The batch a model of input ``kind`` (rgb, rgb_raw, flow, both) takes.

    RGB is normalised with mean 0.5, std 0.25 and, with ``centering``, each pixel's mean over the clip's
    16 frames is subtracted (the demo's ``data.temporal_centering``), leaving what moves.  ``rgb_raw`` is
    never centred: the mean is taken over time, so a centred frame carries motion into a single-frame model.
    """
    rgb_all = (split["rgb"][index].float() / 255.0 - 0.5) / 0.25  # (B, 3, 16, S, S)
    if centering and kind != "rgb_raw":
        rgb_all = center_time(rgb_all)
    flow_all = split["flow"][index]  # (B, 2, 15, S, S)
    start = (flow_all.shape[2] - FLOW_LEN) // 2
    flow = flow_all[:, :, start : start + FLOW_LEN]
    if kind in ("rgb", "rgb_raw"):
        return rgb_all[:, :, ::2]  # 8 frames spanning the clip
    if kind == "flow":
        return flow
    # per segment: L flow fields and the RGB frame in their middle
    seg_len = FLOW_LEN // num_segments
    centres = [start + s * seg_len + seg_len // 2 for s in range(num_segments)]
    return (rgb_all[:, :, centres], flow)


def flip_batch(inputs, labels: torch.Tensor, flip_map: torch.Tensor):
    """Mirror half of the batch left-right; motion labels swap (left <-> right, cw <-> ccw), flow x negates."""
    chosen = torch.rand(len(labels)) < 0.5

    def mirror(x: torch.Tensor, is_flow: bool) -> torch.Tensor:
        x = x.clone()
        flipped = x[chosen].flip(-1)
        if is_flow:
            flipped[:, 0] = -flipped[:, 0]
        x[chosen] = flipped
        return x

    if isinstance(inputs, tuple):
        out = (mirror(inputs[0], False), mirror(inputs[1], True))
    else:
        out = mirror(inputs, inputs.shape[1] == 2)
    return out, torch.where(chosen, flip_map[labels], labels)


def train_and_evaluate(name: str, kind: str, kwargs: dict, train: dict, val: dict, args) -> dict:
    torch.manual_seed(args.seed)
    model = get_model(name, num_classes=8, **kwargs)
    params = sum(p.numel() for p in model.parameters()) / 1e6
    segments = kwargs.get("num_segments", 1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((len(train["labels"]) + args.batch_size - 1) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, total_steps=steps, pct_start=0.2)
    mapping = flip_label_map(SYNTHETIC_CLASSES)
    flip_map = torch.tensor([mapping.get(i, i) for i in range(len(SYNTHETIC_CLASSES))])
    start = time.time()
    for _ in range(args.epochs):
        model.train()
        order = torch.randperm(len(train["labels"]))
        for i in range(0, len(order), args.batch_size):
            index = order[i : i + args.batch_size]
            inputs, labels = flip_batch(model_input(kind, train, index, segments, args.centering), train["labels"][index], flip_map)
            logits = model(inputs)
            if isinstance(model, LRCN):  # the per-step loss of LRCN (see zoo.models.lrcn)
                loss = lrcn_step_loss(model.per_step_logits, labels)
            else:
                loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    train_seconds = time.time() - start
    model.eval()
    predictions, served_predictions = [], []
    served = None
    with torch.no_grad():
        for i in range(0, len(val["labels"]), 64):
            inputs = model_input(kind, val, torch.arange(i, min(i + 64, len(val["labels"]))), segments, args.centering)
            if served is None:  # the bf16 fast path, prepared on the first validation batch
                served = optimize_for_inference(model, example=inputs, precision="bf16")
            predictions.append(model(inputs).argmax(1))
            served_predictions.append(served(inputs).argmax(1))
    predictions, served_predictions = torch.cat(predictions), torch.cat(served_predictions)
    return {"params_m": params, "top1": 100.0 * (predictions == val["labels"]).float().mean().item(),
            "bf16_agreement": 100.0 * (served_predictions == predictions).float().mean().item(),
            "train_seconds": train_seconds, "final_loss": loss.item()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="/tmp/zoo_synthetic_temporal48", help="synthetic dataset + flow folder")
    parser.add_argument("--num-train", type=int, default=256)
    parser.add_argument("--num-val", type=int, default=384)
    parser.add_argument("--size", type=int, default=48, help="frame size the models see (px)")
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-centering", dest="centering", action="store_false",
                        help="feed RGB without subtracting each pixel's temporal mean")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 is much faster when the cores are shared with other jobs)")
    parser.add_argument("--only", nargs="*", default=None, help="benchmark only these rows (by name, substring)")
    parser.add_argument("--out", default="csv_tables/Action_Recognitions/synthetic_temporal_models.csv")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    torch.set_num_threads(args.threads)
    command = "python scripts/benchmark_temporal.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))

    t0 = time.time()
    root = Path(args.data)
    splits = make_synthetic_dataset(root / "videos", num_train=args.num_train, num_val=args.num_val, seed=args.seed,
                                    frames=16, size=64, workers=args.threads)
    for list_file in (splits.train_list, splits.val_list):
        extract_flow(list_file, root / "flow", short_side=args.size, workers=args.threads, progress=False)
    train = load_split(splits.train_list, root / "flow", args.size)
    val = load_split(splits.val_list, root / "flow", args.size)
    logger.info("data ready in %.0f s: %d train / %d val clips", time.time() - t0, len(train["labels"]), len(val["labels"]))

    rows = []
    for title, name, kind, kwargs, how in MODELS:
        if args.only and not any(o.lower() in title.lower() for o in args.only):
            continue
        result = train_and_evaluate(name, kind, kwargs, train, val, args)
        logger.info("%-32s top-1 %5.1f %%  bf16 agrees %5.1f %%  (%.2f M params, %.0f s, final loss %.2f)", title,
                    result["top1"], result["bf16_agreement"], result["params_m"], result["train_seconds"],
                    result["final_loss"])
        rows.append({
            "Model": title, "Registry name": name, "Temporal modelling": how,
            "Input": {"rgb": f"RGB 8x{args.size}x{args.size}" + (" centred" if args.centering else ""),
                      "rgb_raw": f"RGB 8x{args.size}x{args.size}", "flow": f"flow {FLOW_LEN}x{args.size}x{args.size}",
                      "both": f"RGB + flow {FLOW_LEN}x{args.size}x{args.size}"}[kind],
            "Params (M)": f"{result['params_m']:.2f}", "Epochs": args.epochs, "Train clips": len(train["labels"]),
            "Val clips": len(val["labels"]), "Top-1 (%)": f"{result['top1']:.1f}", "Chance (%)": "12.5",
            "bf16 fast path agrees with fp32 top-1 (%)": f"{result['bf16_agreement']:.1f}",
            "Train seconds": f"{result['train_seconds']:.0f}", "Command": command,
        })
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    logger.info("wrote %s; total %.0f s", out, time.time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
