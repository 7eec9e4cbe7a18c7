"""Measuring models honestly: counts, latency, throughput, peak memory, and the machine's own limit.

Every figure is measured in the same run as its reference: the matrix-multiply limit (achievable
FLOP/s of a large GEMM in the same precision and thread count) and, optionally, GluonCV's MXNet
model of the same architecture timed in the reference environment.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from .optimize import optimize_for_inference
from .catalogue import model_card
from .tables import count_model

__all__ = ["Timing", "time_callable", "matmul_limit", "benchmark_model", "loading_ratio", "machine_line", "cpu_isa"]

logger = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Timing:
    """Latency statistics of repeated calls (seconds)."""

    median: float
    min: float
    max: float
    runs: int


def time_callable(fn: Callable[[], object], warmup: int = 2, repeat: int = 5, sync: Callable[[], None] | None = None) -> Timing:
    """Median, min and max wall time of ``fn()`` after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return Timing(statistics.median(times), min(times), max(times), repeat)


def matmul_limit(precision: str = "fp32", device: str = "cpu", n: int = 2048, repeat: int = 10) -> float:
    """Achievable FLOP/s of an ``n x n`` matrix multiply in ``precision`` on ``device`` (its fastest run:
    a limit, so a run slowed by another process does not lower it)."""
    dtype = _DTYPES[precision]
    a = torch.randn(n, n, device=device).to(dtype)
    b = torch.randn(n, n, device=device).to(dtype)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    t = time_callable(lambda: a @ b, warmup=2, repeat=repeat, sync=sync)
    return 2 * n**3 / t.min


def machine_line(threads: int) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu} [{cpu_isa()}], {os.cpu_count()} logical CPUs, {threads} torch threads, torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def cpu_isa() -> str:
    """The matrix instructions this CPU offers to bf16/int8 kernels, e.g. ``"AMX-bf16 AMX-int8 AVX512-bf16 VNNI"``."""
    caps = torch.cpu.get_capabilities()
    names = {"amx_bf16": "AMX-bf16", "amx_int8": "AMX-int8", "avx512_bf16": "AVX512-bf16", "avx512_vnni": "VNNI",
             "avx_vnni": "AVX-VNNI", "avx512_f": "AVX512"}
    found = [label for key, label in names.items() if caps.get(key)]
    return " ".join(found) or "no AVX-512/AMX"


def benchmark_model(
    name: str,
    variant: str = "eager",
    precision: str = "fp32",
    batch: int = 1,
    device: str = "cpu",
    warmup: int = 2,
    repeat: int = 5,
    input_shape: tuple[int, ...] | None = None,
) -> dict:
    """Latency and throughput of one registered model at its card's input size.

    ``variant`` is ``"eager"`` (the model as built), ``"fast"`` (:func:`zoo.optimize_for_inference`) or
    ``"compiled"`` (the fast path with ``compile=True``; its compilation happens in the warm-up).
    Returns a JSON-ready dict (latency in ms, clips/s, GFLOPs per clip, params).
    """
    from .weights import get_model

    card = model_card(name)
    try:
        counts = count_model(card)
    except Exception as err:  # e.g. int8 names, whose builder quantises and cannot run on the meta device
        logger.info("%s: not counted on the meta device (%s); using the card's figures", name, err)
        counts = {"params_m": card.params_m, "gflops": card.gflops}
    shape = tuple(input_shape) if input_shape else card.input.example_shape(batch)
    x = _example_input(card, shape, device)
    model = get_model(name).eval().to(device)
    applied: dict = {}
    if variant in ("fast", "compiled"):
        runner = optimize_for_inference(model, x, precision=precision, compile=variant == "compiled")
        applied = {"bn_folded": runner.zoo_folded, "onednn_convs": runner.zoo_onednn, "skipped": "; ".join(runner.zoo_skipped)}
        call = lambda: runner(x)  # noqa: E731
    else:
        dtype = _DTYPES[precision]
        model = model.to(dtype)
        xd = tuple(part.to(dtype) for part in x) if isinstance(x, tuple) else x.to(dtype)

        def call():
            with torch.inference_mode():
                return model(xd)

    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t = time_callable(call, warmup, repeat, sync)
    gflops_clip = counts["gflops"] * (shape[2] / (card.input.clip_len or shape[2])) if counts["gflops"] else None
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "name": name,
        "variant": variant,
        "precision": precision,
        "device": device,
        "batch": shape[0],
        "input": list(shape),
        "params_m": counts["params_m"],
        "gflops": gflops_clip,
        "latency_ms_median": t.median * 1e3,
        "latency_ms_min": t.min * 1e3,
        "latency_ms_max": t.max * 1e3,
        "clips_per_s": shape[0] / t.median,
        "achieved_gflops_per_s": (gflops_clip * shape[0] / t.median) if gflops_clip else None,
        "peak_mem_mib": peak,
        **applied,
    }


def _example_input(card, shape: tuple[int, ...], device: str):
    """A random input of ``shape``; for two-stream models (layout ``(rgb ..., flow ...)``) the pair
    ``(rgb (N, 3, S, H, W), flow (N, 2, S*L, H, W))`` with ``S`` segments of ``L`` flow fields."""
    if not card.input.layout.startswith("(rgb"):
        return torch.randn(*shape, device=device)
    n, _, t, h, w = shape
    segments = card.input.num_segments
    return (torch.randn(n, 3, segments, h, w, device=device), torch.randn(n, 2, t, h, w, device=device))


def loading_ratio(name: str, repeat: int = 11) -> dict:
    """``get_model(name, pretrained=True)`` from a warm cache vs reading the file into a built model.

    The model's weights are published to a temporary hub first (so the cache is warm).
    """
    import tempfile

    from safetensors.torch import load_file

    from .manifest import publish
    from .weights import get_model

    with tempfile.TemporaryDirectory() as tmp:
        old = {k: os.environ.get(k) for k in ("ZOO_HOME", "ZOO_REPO_URL")}
        os.environ["ZOO_HOME"] = tmp
        try:
            entry = publish(get_model(name), f"bench_{name}", name)
            get_model(f"bench_{name}", pretrained=True)  # warm the cache
            cached = Path(tmp) / "weights" / entry.file
            built = get_model(name).eval()

            def baseline():
                built.load_state_dict(load_file(str(cached)))

            t_base = time_callable(baseline, warmup=1, repeat=repeat)
            t_zoo = time_callable(lambda: get_model(f"bench_{name}", pretrained=True), warmup=1, repeat=repeat)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return {"name": name, "zoo_ms": t_zoo.median * 1e3, "read_and_load_ms": t_base.median * 1e3, "ratio": t_zoo.median / t_base.median}


def write_results(rows: list[dict], out: Path) -> None:
    """Rows as JSON and CSV (``out.json``, ``out.csv``)."""
    import csv

    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=1) + "\n")
    keys = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    with open(out.with_suffix(".csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows([{k: (json.dumps(v) if isinstance(v, list) else v) for k, v in r.items()} for r in rows])


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use scripts/benchmark.py")
