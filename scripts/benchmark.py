"""Benchmark registry models: params, GFLOPs/view, latency, throughput, peak memory, fraction of the
machine's matrix-multiply limit; optionally beside GluonCV (MXNet) in the same run.

    python scripts/benchmark.py 'i3d_resnet50_v1_kinetics400' --threads 2 --variants eager,fast --precisions fp32,bf16
    python scripts/benchmark.py --report           # four reference models (I3D, R(2+1)D, SlowFast, TSN) beside GluonCV
    python scripts/benchmark.py --report-transformers  # one video transformer per family; VideoMAE-B beside transformers
    python scripts/benchmark.py '*' --quick        # every registry model, batch 1, one run each
    python scripts/benchmark.py --all-bf16         # every registry model in bf16 (autocast, eager, fast), small inputs:
                                                   # a crash of any of them fails the run

Each (model, variant, precision, batch) row runs in its own process, so its peak memory is its own (with
--all-bf16, each model's rows share one process; a crash is still pinned on the variant that crashed).
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

import zoo
from zoo import benchmark as B

REPORT_MODELS = ["i3d_resnet50_v1_kinetics400", "r2plus1d_resnet18_kinetics400", "slowfast_4x16_resnet50_kinetics400", "resnet50_v1b_kinetics400"]
#: One video transformer per family (eager/fast, fp32/bf16, batch 1).
TRANSFORMER_MODELS = ["videomae_vit_b_kinetics400", "timesformer_base_kinetics400", "vivit_b_16x2_kinetics400",
                      "vjepa2_vitl_fpc16_256_sthsthv2", "xclip_base_patch32_8x_kinetics400"]
#: Names timed beside Hugging Face transformers' own implementation: name -> (class, config keyword arguments).
TRANSFORMERS_REFERENCE = {
    "videomae_vit_b_kinetics400": ("VideoMAEForVideoClassification",
                                   dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                                        image_size=224, num_frames=16, tubelet_size=2, num_labels=400)),
}
# the report's rows at batches above 1: what "batching helps" is measured on
REPORT_BATCHED = {("fast", "fp32"), ("fast", "bf16")}
ROOT = Path(__file__).resolve().parents[1]


def gluoncv_latency(name: str, shape: tuple[int, ...], threads: int, python: str, warmup: int = 2, repeat: int = 5) -> dict:
    """Time GluonCV's MXNet model of ``name`` (hybridized) in the reference venv, same threads and input."""
    script = ROOT / "scripts" / "gluoncv_timing.py"
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MXNET_CPU_WORKER_NTHREADS=str(threads), MXNET_ENGINE_TYPE="NaiveEngine")
    proc = subprocess.run(
        [python, "-W", "ignore", str(script), name, ",".join(map(str, shape)), str(warmup), str(repeat)],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"GluonCV timing of {name} failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def transformers_latency(name: str, shape: tuple[int, ...], precision: str, threads: int, warmup: int = 2,
                         repeat: int = 5) -> dict:
    """Time transformers' own model of ``name`` (random weights, its default attention) in turns with ours
    (eager, same precision), in a child process."""
    cmd = [sys.executable, __file__, "--one-transformers", name, "--precision", precision, "--threads", str(threads),
           "--warmup", str(warmup), "--repeat", str(repeat), "--input", ",".join(map(str, shape))]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_one_transformers(args: argparse.Namespace) -> None:
    """Ours (eager) and transformers' model of ``args.one_transformers`` timed in turns in one process, so that
    a machine shared with other work slows both alike; prints both medians and minima as JSON."""
    import time

    import transformers

    torch.set_num_threads(args.threads)
    cls_name, config = TRANSFORMERS_REFERENCE[args.one_transformers]
    config_cls = getattr(transformers, cls_name.replace("ForVideoClassification", "Config"))
    dtype = B._DTYPES[args.precision]
    theirs = getattr(transformers, cls_name)(config_cls(**config)).eval().to(dtype)
    ours = zoo.get_model(args.one_transformers).eval().to(dtype)
    x = torch.randn(*map(int, args.input.split(","))).to(dtype)
    calls = {"ours": lambda: ours(x), "theirs": lambda: theirs(pixel_values=x.transpose(1, 2)).logits}
    times: dict[str, list[float]] = {"ours": [], "theirs": []}
    with torch.inference_mode():
        for i in range(args.warmup + args.repeat):
            for who, call in calls.items():
                start = time.perf_counter()
                call()
                if i >= args.warmup:
                    times[who].append(time.perf_counter() - start)
    out = {f"{who}_ms_{stat.__name__}": stat(t) * 1e3 for who, t in times.items() for stat in (statistics.median, min)}
    print(json.dumps({**out, "attention": theirs.config._attn_implementation, "transformers": transformers.__version__}))


def run_one(args: argparse.Namespace) -> None:
    """The rows of one model, one JSON line each (printed as soon as measured): ``--variant`` may list
    several variants, run in turn in this process; one that raises prints ``{"error": ...}``."""
    torch.set_num_threads(args.threads)
    variants = args.variant.split(",")
    built = zoo.get_model(args.one) if len(variants) > 1 else None  # built once, a copy per row
    for i, variant in enumerate(variants):
        # a row changes its model: each gets a copy, but the last gets the built one (one copy less at the peak)
        model = built if built is None or i == len(variants) - 1 else copy.deepcopy(built)
        try:
            row = B.benchmark_model(args.one, variant, args.precision, args.batch, args.device, args.warmup, args.repeat,
                                    input_shape="small" if args.small else None, interleave_limit=args.interleave_limit,
                                    model=model)
            row["peak_mem_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        except Exception as err:  # noqa: BLE001 - reported as this row's failure; the next variant still runs
            if "," not in args.variant:
                raise
            row = {"error": f"{type(err).__name__}: {err}"}
        model = None  # freed before the next row's copy is made
        print(json.dumps(row), flush=True)


def child(args: argparse.Namespace, name: str, variant: str, precision: str, batch: int) -> dict | str:
    """One row measured in its own process, or the reason it failed (a crash names its signal)."""
    return children(args, name, [variant], precision, batch)[0]


def children(args: argparse.Namespace, name: str, variants: list[str], precision: str, batch: int) -> list[dict | str]:
    """The rows of ``variants`` measured in turn in one process (one import and one start for all), each a
    dict or the reason it failed.  A crash ends the process: the variant it hit is reported crashed and
    the ones after it run in a new process."""
    results: list[dict | str] = []
    while len(results) < len(variants):
        todo = variants[len(results):]
        cmd = [sys.executable, __file__, "--one", name, "--variant", ",".join(todo), "--precision", precision,
               "--batch", str(batch), "--threads", str(args.threads), "--device", args.device,
               "--warmup", str(args.warmup), "--repeat", str(args.repeat)]
        cmd += ["--small"] if args.small else []
        cmd += ["--interleave-limit"] if args.interleave_limit else []
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        results += [f"FAILED: {row['error']}" if "error" in row else row for row in lines]
        if proc.returncode < 0:
            results.append(f"CRASHED with signal {-proc.returncode} ({signal.Signals(-proc.returncode).name})")
        elif len(lines) < len(todo):
            results.append("FAILED: " + (proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"))
    return results


def measure(args: argparse.Namespace, name: str, batch: int):
    """``(variant, precision, row or failure)`` for every row of ``name`` at ``batch``: a process per row,
    so that its peak memory is its own, or with ``--all-bf16`` a process per model (a crash is still
    pinned on its variant)."""
    combos = [(variant, prec) for variant in args.variants.split(",") for prec in args.precisions.split(",")
              if B.applies(variant, prec) and not (args.report and batch != 1 and (variant, prec) not in REPORT_BATCHED)]
    if args.all_bf16:
        variants = [variant for variant, _ in combos]
        if zoo.model_card(name).int8 and "eager" in variants:  # already int8: casting it to bf16 is refused
            print(f"  {name}: eager bf16 does not apply (an int8 model)", flush=True)
            variants.remove("eager")
        return zip(variants, ["bf16"] * len(variants), children(args, name, variants, "bf16", batch))
    return ((variant, prec, child(args, name, variant, prec, batch)) for variant, prec in combos)


def write(args: argparse.Namespace, rows: list[dict], machine: str, limits: dict, failures: list[str]) -> None:
    """The rows as JSON and CSV; with ``--report`` also as reStructuredText for the docs' speed page."""
    if not rows:
        return
    B.write_results(rows, Path(args.out))
    if args.report:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        Path(args.out).with_suffix(".rst").write_text(B.report_rst(rows, machine, limits, failures, when))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pattern", nargs="?", default=None, help="registry wildcard")
    p.add_argument("--report", action="store_true", help="four reference models (I3D-R50, R(2+1)D-18, SlowFast-4x16, TSN-R50): eager/fast/compiled fp32/bf16 "
                   "and fast int8 at batch 1, fast fp32/bf16 at batch 8, beside GluonCV; also writes <out>.rst")
    p.add_argument("--quick", action="store_true", help="batch 1 only, 1 warm-up, 1 run (every model)")
    p.add_argument("--all-bf16", action="store_true", help="every registry model (or those the pattern matches) in "
                   "bf16: autocast, eager and fast, batch 1, small inputs, one run; any crash fails the run")
    p.add_argument("--interleave-limit", action="store_true", help="time a matrix multiply between the model's calls "
                   "(on a loaded machine the fraction of the limit then compares like with like; on with --report)")
    p.add_argument("--small", action="store_true", help="small inputs (at most 8 frames, 64 px where the model allows)")
    p.add_argument("--dataset", help="only names of this dataset (e.g. kinetics400)")
    p.add_argument("--with-weights", action="store_true", help="only names with published weights")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--variants", help="eager, autocast (bf16/fp16 only), fast, compiled (the fast path + torch.compile); "
                   "default eager,fast (eager with --quick)")
    p.add_argument("--precisions", help="fp32, bf16, fp16, int8 (fast path only); default fp32,bf16 (fp32 with --quick; "
                   "fp32,bf16,int8 with --report)")
    p.add_argument("--batches", help="default 1,4 (1,8 with --report: batch 8 for the fast path)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--report-transformers", action="store_true",
                   help="one video transformer per family, eager/fast fp32/bf16; VideoMAE-B beside transformers' own model")
    p.add_argument("--compare", choices=["gluoncv", "transformers"],
                   help="time GluonCV's MXNet model, or transformers' model (where one is known), beside ours")
    p.add_argument("--gluoncv-python", default=os.environ.get("ZOO_GLUONCV_PYTHON", str(ROOT / ".venv-ref" / "bin" / "python")),
                   help="the GluonCV reference venv's python (default: $ZOO_GLUONCV_PYTHON, else .venv-ref)")
    p.add_argument("--loading", action="store_true", help="also measure get_model(pretrained=True) load time")
    p.add_argument("--out", help="results prefix (default benchmarks/results/benchmark; report_cpu with --report, "
                   "which also writes <out>.rst for the docs)")
    p.add_argument("--one", help=argparse.SUPPRESS)
    p.add_argument("--one-transformers", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--variant", default="eager", help=argparse.SUPPRESS)
    p.add_argument("--precision", default="fp32", help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.one:
        run_one(args)
        return 0
    if args.one_transformers:
        run_one_transformers(args)
        return 0
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(args.threads)
    if args.report:
        names, args.compare, args.loading = REPORT_MODELS, args.compare or "gluoncv", True
        args.batches, args.variants = args.batches or "1,8", args.variants or "eager,fast,compiled"
        args.precisions = args.precisions or "fp32,bf16,int8"
        args.out = args.out or str(ROOT / "benchmarks" / "results" / "report_cpu")
        args.interleave_limit = True
    elif args.report_transformers:
        names, args.compare, args.batches = TRANSFORMER_MODELS, args.compare or "transformers", "1"
    else:
        names = zoo.get_model_list(args.pattern, dataset=args.dataset, pretrained=True if args.with_weights else None)
    if args.all_bf16:
        args.small, args.batches, args.warmup, args.repeat = True, "1", 0, 1
        args.variants, args.precisions = args.variants or "autocast,eager,fast", "bf16"
    if args.quick:
        args.batches, args.warmup, args.repeat = "1", 1, 1
        args.variants, args.precisions = args.variants or "eager", args.precisions or "fp32"
    args.variants, args.precisions = args.variants or "eager,fast", args.precisions or "fp32,bf16"
    args.batches = args.batches or "1,4"
    args.out = args.out or str(ROOT / "benchmarks" / "results" / "benchmark")
    if not names:
        print(f"no model matches {args.pattern!r}", file=sys.stderr)
        return 1
    machine = f"{B.machine_line(args.threads)}, device {args.device}"
    print(f"machine: {machine}")
    limits = {prec: B.matmul_limit(prec, args.device) for prec in args.precisions.split(",") if prec != "int8"}
    for prec, flops in limits.items():
        print(f"matmul limit ({prec}, 2048^3): {flops / 1e9:.1f} GFLOP/s")
    rows: list[dict] = []
    failures: list[str] = []
    for name in names:
        gluon, theirs = None, {}
        if args.compare == "transformers" and name in TRANSFORMERS_REFERENCE:
            shape = zoo.model_card(name).input.example_shape(1)
            for prec in args.precisions.split(","):
                try:
                    theirs[prec] = transformers_latency(name, shape, prec, args.threads, args.warmup, args.repeat)
                except Exception as err:  # report and continue: the reference is optional per model
                    print(f"  {name}: transformers reference ({prec}) not timed ({err})")
        if args.compare == "gluoncv":
            shape = zoo.model_card(name).input.example_shape(1)
            try:
                gluon = gluoncv_latency(name, shape, args.threads, args.gluoncv_python, args.warmup, args.repeat)
            except Exception as err:  # report and continue: the reference is optional per model
                print(f"  {name}: GluonCV reference not timed ({err})")
        for batch in map(int, args.batches.split(",")):
            for variant, prec, row in measure(args, name, batch):
                if isinstance(row, str):
                    failures.append(f"{name} {variant} {prec} b{batch}: {row}")
                    print(f"  {failures[-1]}", flush=True)
                    continue
                if row["achieved_gflops_per_s"] and prec in limits:
                    row["fraction_of_matmul_limit"] = row["achieved_gflops_per_s"] * 1e9 / limits[prec]
                if gluon and batch == 1:
                    row["gluoncv_ms"] = gluon["latency_ms_median"]
                    row["speedup_vs_gluoncv"] = gluon["latency_ms_median"] / row["latency_ms_median"]
                if prec in theirs and batch == 1 and variant == "eager":  # timed in turns with ours, one process
                    row["transformers_ms"] = theirs[prec]["theirs_ms_median"]
                    row["ours_in_turns_ms"] = theirs[prec]["ours_ms_median"]
                    row["speedup_vs_transformers"] = theirs[prec]["theirs_ms_median"] / theirs[prec]["ours_ms_median"]
                rows.append(row)
                extra = f"  vs GluonCV {row['speedup_vs_gluoncv']:.2f}x" if "speedup_vs_gluoncv" in row else ""
                if "speedup_vs_transformers" in row:
                    extra += (f"  vs transformers {prec} eager ({theirs[prec]['attention']} attention, timed in "
                              f"turns: ours {row['ours_in_turns_ms']:.0f} ms, theirs {row['transformers_ms']:.0f} ms) "
                              f"{row['speedup_vs_transformers']:.2f}x")
                if "bn_folded" in row:
                    extra += f"  [{row['bn_folded']} BN folded, {row['onednn_convs']} oneDNN convs"
                    extra += f"; not applied: {row['skipped']}]" if row["skipped"] else "]"
                frac = row.get("fraction_of_matmul_limit")
                if row.get("fraction_of_interleaved_limit"):
                    extra += f"  {row['fraction_of_interleaved_limit']:.2f} of the interleaved limit"
                print(f"{name:44s} {variant:5s} {prec:4s} b{batch:<3d} {row['latency_ms_median']:9.1f} ms "
                      f"(min {row['latency_ms_min']:.1f}, max {row['latency_ms_max']:.1f})  {row['clips_per_s']:7.2f} clips/s  "
                      f"{row['cpu_ms_per_clip']:7.0f} CPU-ms/clip  "
                      f"{(row['gflops'] or 0):7.1f} GFLOPs  {frac if frac is not None else float('nan'):.2f} of limit  "
                      f"{row['peak_mem_mib']:.0f} MiB{extra}", flush=True)
        if args.loading:
            load = B.loading_ratio(name)
            print(f"{name:44s} load: get_model(pretrained=True) {load['zoo_ms']:.1f} ms vs read+load_state_dict "
                  f"{load['read_and_load_ms']:.1f} ms -> ratio {load['ratio']:.2f}", flush=True)
            rows.append({"name": name, "variant": "loading", **load})
        write(args, rows, machine, limits, failures)  # after every model: a stopped run keeps what it measured
    print(f"wrote {args.out}.json and {args.out}.csv" + (f" and {args.out}.rst" if args.report else ""))
    if failures:  # a crash in any precision is a failure of the run, never a missing row
        print(f"{len(failures)} of {len(failures) + len(rows)} rows failed:", *failures, sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
