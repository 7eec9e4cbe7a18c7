"""How close int8 (and bf16) come to fp32, per family, on the synthetic validation clips.

    python scripts/int8_agreement.py --out benchmarks/int8_agreement.csv

Two measurements, both on clips of ``zoo.data.make_synthetic_dataset``:

* ``simple3d_synthetic`` trained briefly on the synthetic training split: top-1 agreement of the int8
  and bf16 fast paths with fp32 on the whole validation split (a trained model, so agreement means what
  it says);
* one model of every family (the smallest, randomly initialised with BatchNorm statistics drawn at
  random, at the small input the fast-path tests use): int8 calibrated on a few validation clips,
  compared with fp32 on the others.  Random weights give nearly tied logits, so their top-1 agreement
  is a pessimistic figure; the relative logit error is the one to read.
"""
from __future__ import annotations

import argparse
import csv
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the per-family small inputs of the fast-path tests

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import zoo  # noqa: E402
from zoo.data import VideoReader, make_synthetic_dataset  # noqa: E402

logger = logging.getLogger("int8_agreement")
FIELDS = ["family", "model", "input", "weights", "int8_layers", "fp32_layers", "calibration_clips", "eval_clips",
          "int8_top1_agreement", "int8_relative_error", "bf16_top1_agreement", "bf16_relative_error", "seconds"]


def load_clips(list_file: Path, root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """All clips of a synthetic list as ``(N, 3, T, H, W)`` in [0, 1], and their labels ``(N,)``."""
    clips, labels = [], []
    for line in list_file.read_text().splitlines():
        path, _, label = line.split()
        with VideoReader(root / path) as reader:
            frames = reader.get_batch(list(range(len(reader))))
        clips.append(torch.from_numpy(frames).permute(3, 0, 1, 2).float() / 255)
        labels.append(int(label))
    return torch.stack(clips), torch.tensor(labels)


def normalise(clips: torch.Tensor) -> torch.Tensor:
    """The synthetic config's input: mean 0.5, std 0.25, each pixel's mean over time removed."""
    x = (clips - 0.5) / 0.25
    return x - x.mean(dim=2, keepdim=True)


def fit(clips: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """Clips resized (trilinear) to the ``(C, T, H, W)`` of ``shape``; two channels for optical-flow inputs."""
    x = F.interpolate(clips, size=tuple(shape[2:]), mode="trilinear", align_corners=False)
    return x[:, : shape[1]]


def compare(model: torch.nn.Module, precision: str, calibration: list[torch.Tensor], evaluation: list[torch.Tensor]):
    """``(served, agreement)`` of ``precision`` against the fp32 model on the evaluation batches."""
    served = zoo.optimize_for_inference(model, evaluation[0], precision=precision, calibration=calibration)
    with torch.no_grad():
        reference = torch.cat([model(x) for x in evaluation])
        output = torch.cat([served(x) for x in evaluation])
    return served, zoo.optimize.agreement(reference, output)


def layer_counts(served, model: torch.nn.Module) -> tuple[int, int]:
    """Convolution/linear layers of ``model`` running int8 in ``served``, and those left in fp32."""
    from zoo.convert.quantize import _QUANTIZABLE

    total = sum(1 for m in model.modules() if isinstance(m, _QUANTIZABLE))
    left = len(getattr(served, "zoo_int8", {}).get("float_layers", [])) if served.precision == "int8" else total
    return total - left, left


def trained_simple3d(train: tuple[torch.Tensor, torch.Tensor], epochs: int) -> torch.nn.Module:
    """``simple3d_synthetic`` trained for a few epochs on the synthetic training clips (8 frames, 56 px)."""
    torch.manual_seed(0)
    model = zoo.get_model("simple3d_synthetic", widths=(16, 32, 64, 128), dropout_ratio=0.1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.002, weight_decay=0.01)
    x, y = normalise(train[0][:, :, ::2, 4:60, 4:60]), train[1]
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 16):
            batch = order[start: start + 16]
            loss = F.cross_entropy(model(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        logger.info("simple3d epoch %d: loss %.3f", epoch + 1, loss.item())
    return model.eval()


def batches(x: torch.Tensor, size: int) -> list[torch.Tensor]:
    return list(x.split(size))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/int8_agreement.csv")
    parser.add_argument("--families", nargs="*", help="only these families (default: all)")
    parser.add_argument("--epochs", type=int, default=12, help="simple3d training epochs")
    parser.add_argument("--eval-clips", type=int, default=12, help="validation clips per family (random weights)")
    parser.add_argument("--no-trained", action="store_true", help="skip the trained simple3d row")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    warnings.filterwarnings("ignore")
    from test_optimize_export import FAMILIES, _input_for, _randomize_bn

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        splits = make_synthetic_dataset(tmp, num_train=160, num_val=48, frames=16, size=64, seed=0)
        root = Path(tmp)
        train, val = load_clips(splits.train_list, root), load_clips(splits.val_list, root)
    if not args.no_trained:
        started = time.monotonic()
        model = trained_simple3d(train, args.epochs)
        x = normalise(val[0][:, :, ::2, 4:60, 4:60])
        with torch.no_grad():
            accuracy = float((model(x).argmax(1) == val[1]).float().mean())
        logger.info("simple3d fp32 top-1 on the validation split: %.2f", accuracy)
        calibration, evaluation = batches(x[:8], 4), batches(x, 8)
        int8, int8_agree = compare(model, "int8", calibration, evaluation)
        _, bf16_agree = compare(model, "bf16", calibration, evaluation)
        rows.append(_row("simple3d", "simple3d_synthetic", x.shape, f"trained (fp32 top-1 {accuracy:.2f})",
                         layer_counts(int8, model), int8_agree, bf16_agree, 8, len(x), started))
        print(rows[-1], flush=True)
        _write(rows, args.out)
    for family in args.families or sorted(FAMILIES):
        name, started = FAMILIES[family], time.monotonic()
        try:
            model = zoo.get_model(name).eval()
            _randomize_bn(model)
            shape = _input_for(name).shape
            clips = normalise(fit(val[0][: args.eval_clips + 4], shape))
            calibration, evaluation = batches(clips[:4], 2), batches(clips[4:], 2)
            int8, int8_agree = compare(model, "int8", calibration, evaluation)
            _, bf16_agree = compare(model, "bf16", calibration, evaluation)
            rows.append(_row(family, name, shape, "random", layer_counts(int8, model), int8_agree, bf16_agree, 4,
                             len(clips) - 4, started))
        except Exception as err:  # noqa: BLE001 - one family failing is a result to record, not a stop
            rows.append({"family": family, "model": name, "weights": f"error: {type(err).__name__}: {err}"[:200]})
        print(rows[-1], flush=True)
        _write(rows, args.out)  # after every family: a long run that is stopped keeps what it measured
    print(f"written: {args.out}")
    return 0


def _write(rows: list[dict], path: str) -> None:
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def _row(family, name, shape, weights, layers, int8_agree, bf16_agree, calibration, evaluation, started) -> dict:
    quantized, left = layers
    return {"family": family, "model": name, "input": "x".join(map(str, shape)), "weights": weights,
            "int8_layers": quantized, "fp32_layers": left, "calibration_clips": calibration, "eval_clips": evaluation,
            "int8_top1_agreement": f"{int8_agree['top1']:.3f}", "int8_relative_error": f"{int8_agree['relative_error']:.4f}",
            "bf16_top1_agreement": f"{bf16_agree['top1']:.3f}", "bf16_relative_error": f"{bf16_agree['relative_error']:.4f}",
            "seconds": round(time.monotonic() - started, 1)}


if __name__ == "__main__":
    raise SystemExit(main())
