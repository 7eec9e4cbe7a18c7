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

__all__ = ["Timing", "time_callable", "matmul_limit", "benchmark_model", "loading_ratio", "machine_line", "cpu_isa",
           "VARIANTS", "applies", "small_input_shape", "time_interleaved", "report_rst"]

logger = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
#: ``eager``: the model as built, cast to the precision; ``autocast``: the fp32 model under ``torch.autocast``
#: (what users who call it themselves run); ``fast``: :func:`zoo.optimize_for_inference`; ``compiled``: the fast
#: path with ``compile=True``.
VARIANTS = ("eager", "autocast", "fast", "compiled")


def applies(variant: str, precision: str) -> bool:
    """Whether ``variant`` runs in ``precision``: int8 is the fast path's only, autocast is for reduced precisions."""
    if precision == "int8":
        return variant == "fast"
    if variant == "autocast":
        return precision in ("bf16", "fp16")
    return True


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


def time_interleaved(fns: list[Callable[[], object]], warmup: int = 2, repeat: int = 5,
                     sync: Callable[[], None] | None = None) -> list[Timing]:
    """Timings of ``fns`` called in turn (A, B, A, B, ...): on a machine other jobs load, their ratio holds
    even when their absolute times do not."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, spent in zip(fns, times):
            if sync:
                sync()
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            spent.append(time.perf_counter() - t0)
    return [Timing(statistics.median(t), min(t), max(t), repeat) for t in times]


def _matmul(precision: str, device: str, n: int = 2048) -> tuple[Callable[[], object], float]:
    """An ``n x n`` matrix multiply in ``precision`` and its FLOPs."""
    a = torch.randn(n, n, device=device).to(_DTYPES[precision])
    b = torch.randn(n, n, device=device).to(_DTYPES[precision])
    return (lambda: a @ b), 2.0 * n**3


def matmul_limit(precision: str = "fp32", device: str = "cpu", n: int = 2048, repeat: int = 10) -> float:
    """Achievable FLOP/s of an ``n x n`` matrix multiply in ``precision`` on ``device`` (its fastest run:
    a limit, so a run slowed by another process does not lower it)."""
    matmul, flops = _matmul(precision, device, n)
    sync = torch.cuda.synchronize if device.startswith("cuda") else None
    t = time_callable(matmul, warmup=2, repeat=repeat, sync=sync)
    return flops / t.min


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
    input_shape: tuple[int, ...] | str | None = None,
    interleave_limit: bool = False,
    model: torch.nn.Module | None = None,
) -> dict:
    """Latency and throughput of one registered model at its card's input size.

    ``variant`` is one of :data:`VARIANTS` (``"compiled"`` compiles in the warm-up); ``precision`` ``"int8"``
    (fast path only) calibrates on the timed input itself (its speed, not its accuracy, is measured).
    ``input_shape`` ``"small"`` picks :func:`small_input_shape` (batch ``batch``).
    ``interleave_limit`` times a matrix multiply of the same precision between the model's calls: the row
    then has ``matmul_gflops_per_s_interleaved`` (median) and ``fraction_of_interleaved_limit``, the
    fraction of the machine the model used while the machine was in the same state (int8: of the bf16 one).
    ``model``: the built model of ``name`` to time (a row changes it: pass a copy), instead of building one.
    Returns a JSON-ready dict (latency in ms, clips/s, process CPU time per clip, GFLOPs per clip, params).
    """
    from .weights import get_model

    card = model_card(name)
    try:
        counts = _count_once(card)
    except Exception as err:  # e.g. int8 names, whose builder quantises and cannot run on the meta device
        logger.info("%s: not counted on the meta device (%s); using the card's figures", name, err)
        counts = {"params_m": card.params_m, "gflops": card.gflops}
    if variant not in VARIANTS or not applies(variant, precision):
        raise ValueError(f"variant {variant!r} does not run in {precision!r} (variants: {', '.join(VARIANTS)}; "
                         "int8 is the fast path's only, autocast needs bf16 or fp16)")
    if input_shape == "small":
        shape = small_input_shape(name, batch)
    else:
        shape = tuple(input_shape) if input_shape else card.input.example_shape(batch)
    x = _example_input(card, shape, device)
    model = (model if model is not None else get_model(name)).eval().to(device)
    applied: dict = {}
    if variant in ("fast", "compiled"):
        # the fast path checks each step on a probe: one clip of the input is enough, and cheaper than the batch
        probe = x[:1] if isinstance(x, torch.Tensor) else tuple(part[:1] for part in x)
        calibration = [probe] if precision == "int8" else None
        runner = optimize_for_inference(model, probe, precision=precision, compile=variant == "compiled",
                                        calibration=calibration)
        applied = {"ran_as": runner.precision, "bn_folded": runner.zoo_folded, "onednn_convs": runner.zoo_onednn,
                   "skipped": "; ".join(runner.zoo_skipped)}
        call = lambda: runner(x)  # noqa: E731
    elif variant == "autocast":
        def call():
            with torch.inference_mode(), torch.autocast(torch.device(device).type, dtype=_DTYPES[precision]):
                return model(x)
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
    for _ in range(warmup):
        call()
    limit: dict = {}
    cpu_spent = [0.0]

    def model_call():
        before = _cpu_seconds()
        call()
        cpu_spent[0] += _cpu_seconds() - before

    if interleave_limit:
        matmul, matmul_flops = _matmul("bf16" if precision == "int8" else precision, device)
        t, t_matmul = time_interleaved([model_call, matmul], 1, repeat, sync)
        limit = {"matmul_gflops_per_s_interleaved": matmul_flops / t_matmul.median / 1e9}
    else:
        t = time_callable(model_call, 0, repeat, sync)
    cpu_per_clip = cpu_spent[0] / (repeat * shape[0])
    # the card's count is for its own input: scale by frames and by pixels (a convolution's work grows with both)
    crop = card.input.crop_size or shape[-1]
    scale = (shape[2] / (card.input.clip_len or shape[2])) * (shape[-2] * shape[-1] / crop**2)
    gflops_clip = counts["gflops"] * scale if counts["gflops"] else None
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if limit and gflops_clip:
        limit["fraction_of_interleaved_limit"] = gflops_clip * shape[0] / t.median / limit["matmul_gflops_per_s_interleaved"]
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
        "cpu_ms_per_clip": cpu_per_clip * 1e3,
        "achieved_gflops_per_s": (gflops_clip * shape[0] / t.median) if gflops_clip else None,
        "peak_mem_mib": peak,
        **limit,
        **applied,
    }


_COUNTS: dict[str, dict] = {}


def _count_once(card) -> dict:
    """:func:`count_model` of ``card``, counted once per process (rows of one model share it)."""
    if card.name not in _COUNTS:
        _COUNTS[card.name] = count_model(card)
    return _COUNTS[card.name]


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far: what a clip costs whatever else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def small_input_shape(name: str, batch: int = 1) -> tuple[int, ...]:
    """A small input shape ``(N, C, T, H, W)`` that ``name`` accepts: at most 8 frames and 64 px where it can.

    Candidates from smallest to the card's own input are tried on the meta device (no compute), so an
    architecture that fixes its frames or crop (SlowFast, C3D's fc6, S3D's pool) gets the smallest it takes.
    """
    card = model_card(name)
    full = card.input.example_shape(batch)
    n, c, t, h, w = full
    candidates = [(n, c, min(t, 8), min(h, 64), min(w, 64)), (n, c, t, min(h, 64), min(w, 64)),
                  (n, c, t, min(h, 112), min(w, 112))]
    for shape in candidates:
        if _runs_on_meta(card, shape):
            return shape
    return full


def _runs_on_meta(card, shape: tuple[int, ...]) -> bool:
    try:
        with torch.device("meta"), torch.no_grad():
            model = card.builder(num_classes=card.num_classes, **card.kwargs).eval()
            model(_example_input(card, shape, "meta"))
        return True
    except Exception:  # any failure means "not this shape"; the next candidate is tried
        return False


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


def _find(rows: list[dict], name: str, variant: str, precision: str, batch: int = 1) -> dict | None:
    return next((r for r in rows if r["name"] == name and r.get("variant") == variant and r.get("precision") == precision
                 and r.get("batch") == batch), None)


def _list_table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *body]:
        lines += [f"   * - {row[0]}", *(f"     - {cell}" for cell in row[1:])]
    return lines + [""]


def _fraction(row: dict | None) -> float | None:
    """The row's fraction of the matmul limit: the one timed between its own calls where there is one."""
    if row is None:
        return None
    return row.get("fraction_of_interleaved_limit") or row.get("fraction_of_matmul_limit")


def _batch_gain(one: dict | None, eight: dict | None) -> str:
    if not one or not eight:
        return "-"
    text = f"{one['clips_per_s']:.2f} / {eight['clips_per_s']:.2f} ({eight['clips_per_s'] / one['clips_per_s']:.2f}x"
    if one.get("fraction_of_interleaved_limit") and eight.get("fraction_of_interleaved_limit"):
        text += f"; {eight['fraction_of_interleaved_limit'] / one['fraction_of_interleaved_limit']:.2f}x of the limit"
    return text + ")"


def report_rst(rows: list[dict], machine: str, limits: dict[str, float], failures: list[str], when: str) -> str:
    """The ``--report`` rows as reStructuredText for the docs: the machine line, batch-1 latency beside GluonCV,
    and the targets (fraction of the matmul limit, batch 8 against batch 1, int8 against fast bf16)."""
    names = list(dict.fromkeys(r["name"] for r in rows if r.get("variant") != "loading"))
    limit_text = ", ".join(f"{prec} {flops / 1e9:.1f} GFLOP/s" for prec, flops in limits.items())
    out = [f"Measured by ``python scripts/benchmark.py --report`` ({when}).", "",
           f"Machine: {machine}. Matrix-multiply limit (2048 x 2048 x 2048, same run): {limit_text}.", ""]
    columns = [(v, p) for v in VARIANTS for p in ("fp32", "bf16", "int8")
               if any(_find(rows, n, v, p) for n in names)]
    body = []
    for name in names:
        first = next(r for r in rows if r["name"] == name and "input" in r)
        cells = [name, "x".join(map(str, first["input"][1:])), f"{first['gluoncv_ms']:.0f}" if "gluoncv_ms" in first else "-"]
        for variant, precision in columns:
            row = _find(rows, name, variant, precision)
            frac = _fraction(row)
            cells.append("-" if row is None else f"{row['latency_ms_median']:.0f}" + (f" ({frac:.2f})" if frac else ""))
        body.append(cells)
    out += ["Batch 1, median latency in ms (fraction of the same precision's matmul limit; int8's of the bf16 one):", ""]
    out += _list_table(["model", "input", "GluonCV MXNet", *(f"{v} {p}" for v, p in columns)], body)
    body = []
    for name in names:
        cells = [name]
        for precision in ("fp32", "bf16"):
            frac = _fraction(_find(rows, name, "fast", precision))
            cells.append(f"{frac:.2f}" if frac else "-")
        for precision in ("fp32", "bf16"):
            one, eight = _find(rows, name, "fast", precision, 1), _find(rows, name, "fast", precision, 8)
            cells.append(_batch_gain(one, eight))
        bf16, int8 = _find(rows, name, "fast", "bf16"), _find(rows, name, "fast", "int8")
        cells.append(f"{bf16['latency_ms_median'] / int8['latency_ms_median']:.2f}x" if bf16 and int8 else "-")
        body.append(cells)
    out += ["The targets: the fast path's fraction of the matmul limit; clips/s at batch 1 / batch 8 (their "
            "ratio, then the ratio of their fractions of the limit, which discounts a change of load between the "
            "two rows); int8's speed over fast bf16 at batch 1:", ""]
    out += _list_table(["model", "fast fp32 of limit", "fast bf16 of limit", "fast fp32 clips/s b1 / b8",
                        "fast bf16 clips/s b1 / b8", "int8 vs fast bf16"], body)
    if failures:
        out += ["Rows that failed:", "", *(f"* ``{line}``" for line in failures), ""]
    return "\n".join(out)


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
