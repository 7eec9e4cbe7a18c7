"""Generate GluonCV (MXNet) reference weights and outputs for the parity tests.

Run with the reference venv's interpreter (MXNet 1.9.1 + gluoncv 0.10.5.post0), never with zoo's:

    .venv-ref/bin/python -W ignore tests/gluoncv_ref/make_reference.py --out .cache/gluoncv_ref [--cases a,b]

For every case of ``tests/gluoncv_cases.py`` it builds the GluonCV model offline, gives it seeded
random weights (BatchNorm running mean/var, gamma and beta included, so that BatchNorm matters),
runs it in inference mode on a smooth, structured input and writes, keyed by
``case_key`` (hash of this script + the case spec):

    <out>/<id>-<key>.params   Block.save_parameters (structural names), what GluonCV publishes
    <out>/<id>-<key>.npz      input (zoo's layout), output, meta (JSON)
    <out>/<id>-<key>.error    the traceback, when GluonCV itself failed on the case

Cases whose files exist with the current key are skipped.  ``<out>/names.json`` lists the
action-recognition names of GluonCV's registry (to check the case table against).

Offline: factories that would fetch ImageNet or Kinetics weights are called with
``pretrained=False, pretrained_base=False, use_kinetics_pretrain=False`` where they take those
arguments; the 2D backbones the TSN classes construct themselves (the ResNetV1b TSN factories do
not forward ``pretrained_base``) are replaced, inside GluonCV's modules, by wrappers that build them
without weights and initialise them; any remaining call of ``get_model_file`` raises.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import json
import math
import os
import sys
import tempfile
import time
import traceback
import zlib
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MXNET_CPU_WORKER_NTHREADS", "1")
os.environ["MXNET_HOME"] = tempfile.mkdtemp(prefix="mxnet_home_")
os.environ["MXNET_GLUON_REPO"] = "http://127.0.0.1:9/"  # a download attempt fails at once

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gluoncv_cases import CASES, CASES_BY_ID, GLUONCV_ACTION_NAMES, ParityCase, case_key  # noqa: E402

import numpy as np  # noqa: E402
import mxnet as mx  # noqa: E402
import gluoncv  # noqa: E402
from gluoncv.model_zoo import model_store, model_zoo  # noqa: E402
from gluoncv.model_zoo import action_recognition as _ar  # noqa: E402

_BACKBONES = ("vgg16", "googlenet", "inception_v3", "resnet18_v1b", "resnet34_v1b", "resnet50_v1b",
              "resnet101_v1b", "resnet152_v1b")


def _no_download(name, *args, **kwargs):
    raise RuntimeError(f"the reference generator must not download weights (asked for {name!r})")


def _offline_backbone(fn):
    @functools.wraps(fn)
    def build(*args, pretrained=False, **kwargs):
        net = fn(*args, pretrained=False, **kwargs)
        net.initialize()
        return net

    return build


def go_offline() -> None:
    """Patch GluonCV so that building any action-recognition model opens no connection."""
    model_store.get_model_file = _no_download
    for module_name in dir(_ar):
        module = getattr(_ar, module_name)
        if not inspect.ismodule(module):
            continue
        for attr in _BACKBONES:
            if hasattr(module, attr):
                setattr(module, attr, _offline_backbone(getattr(module, attr)))


def action_names() -> list[str]:
    """Action-recognition names of GluonCV's registry (factories defined under action_recognition)."""
    return [n for n, f in model_zoo._models.items() if f.__module__.startswith("gluoncv.model_zoo.action_recognition")]


def int8_action_names() -> list[str]:
    bases = set(action_names())
    return [n for n in model_zoo.get_model_list() if n.endswith("_int8") and n[: -len("_int8")] in bases]


def build_model(case: ParityCase):
    factory = model_zoo._models[case.name]
    params = inspect.signature(factory).parameters
    kwargs = dict(case.gluon_kwargs, pretrained=False)
    if "pretrained_base" in params:
        kwargs["pretrained_base"] = False
    if "use_kinetics_pretrain" in params:
        kwargs["use_kinetics_pretrain"] = False
    net = factory(**kwargs)
    net.initialize()  # no-op for what the factory initialised; covers deferred blocks
    return net


def smooth_clips(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """``(B, C, T, H, W)`` clips of low-frequency moving patterns plus gradients, about unit scale.

    Every clip and channel gets its own few plane waves (1-3 cycles across the frame, drifting over
    time), a linear ramp and its own offset, so samples differ in large-scale structure, not only noise.
    """
    b, c, t, h, w = shape
    tt, yy, xx = np.meshgrid(np.linspace(0, 1, t), np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    out = np.empty(shape, dtype=np.float32)
    for i in range(b):
        for ch in range(c):
            img = np.zeros((t, h, w))
            for _ in range(4):
                fx, fy = rng.uniform(-1.5, 1.5, size=2)
                ft = rng.uniform(-1.0, 1.0)
                phase = rng.uniform(0, 2 * math.pi)
                img += rng.uniform(0.3, 1.0) * np.sin(math.pi * (fx * xx + fy * yy) + 2 * math.pi * ft * tt + phase)
            gx, gy, gt = rng.normal(0, 0.5, size=3)
            img += gx * xx + gy * yy + gt * (tt - 0.5) + rng.normal(0, 0.5)
            img += 0.05 * rng.standard_normal(img.shape)
            out[i, ch] = img
    return out


def make_input(case: ParityCase, net, rng: np.random.Generator) -> np.ndarray:
    """zoo-layout input of ``case`` (SlowFast: fast frames, then the slow subset)."""
    shape = case.input_shape
    if case.name.startswith("slowfast_"):
        fast, slow = int(net.fast_frames), int(net.slow_frames)
        alpha = fast // slow
        clip = smooth_clips(rng, (shape[0], shape[1], fast, shape[3], shape[4]))
        return np.concatenate([clip, clip[:, :, alpha - 1::alpha][:, :, :slow]], axis=2)
    return smooth_clips(rng, shape)


def to_gluon_layout(case: ParityCase, x: np.ndarray) -> np.ndarray:
    if case.layout == "tsn2d":
        n, c, t, h, w = x.shape
        return np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4).reshape(n * t, c, h, w))
    return x


class NormalPool:
    """Standard normal float32 numbers for big weights, fast: random windows of one fixed pool.

    Drawing hundreds of millions of fresh normals per run would dominate the generator's time;
    a window at a seeded random offset of a 16M-number pool is just as good a random weight.
    """

    def __init__(self, size: int = 1 << 24) -> None:
        self.pool = np.random.default_rng(12345).standard_normal(size, dtype=np.float32)

    def take(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        n = int(np.prod(shape))
        parts, left = [], n
        while left:
            k = min(left, self.pool.size)
            start = int(rng.integers(0, self.pool.size - k + 1))
            parts.append(self.pool[start:start + k])
            left -= k
        return (parts[0] if len(parts) == 1 else np.concatenate(parts)).reshape(shape)


@functools.lru_cache(maxsize=1)
def normal_pool() -> NormalPool:
    return NormalPool()


def randomize(net, rng: np.random.Generator) -> dict[str, int]:
    """Seeded random values for every parameter, chosen by its kind (name suffix).

    Conv/dense weights: He-normal (std sqrt(2 / fan_in)); BatchNorm: gamma U(0.8, 1.2), beta N(0, 0.1),
    running_mean N(0, 0.1), running_var U(0.5, 1.5), so that a wrong eps, a swapped mean/var or a
    BatchNorm that ignores its statistics all show in the output; biases N(0, 0.1).
    """
    kinds: dict[str, int] = {}
    for name, p in net.collect_params().items():
        shape = p.shape
        if name.endswith("running_var"):
            kind, value = "running_var", rng.uniform(0.5, 1.5, shape)
        elif name.endswith("running_mean"):
            kind, value = "running_mean", rng.normal(0, 0.1, shape)
        elif name.endswith("gamma"):
            kind, value = "gamma", rng.uniform(0.8, 1.2, shape)
        elif name.endswith(("beta", "bias")):
            kind, value = name.rsplit("_", 1)[-1], rng.normal(0, 0.1, shape)
        elif name.endswith("weight") and len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            kind, value = "weight", normal_pool().take(rng, shape) * np.float32(math.sqrt(2.0 / fan_in))
        else:
            kind, value = "other", rng.normal(0, 0.1, shape)
        kinds[kind] = kinds.get(kind, 0) + 1
        p.set_data(mx.nd.array(value, dtype=p.dtype))
    return kinds


def _has_deferred(net) -> bool:
    return any(p.shape is None or 0 in p.shape for p in net.collect_params().values())


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def generate(case: ParityCase, out: Path, key: str) -> dict:
    t0 = time.perf_counter()
    rng = np.random.default_rng(zlib.crc32(case.id.encode()) + case.seed)
    net = build_model(case)
    t_build = time.perf_counter() - t0
    x = make_input(case, net, rng)
    data = mx.nd.array(to_gluon_layout(case, x))
    params = out / f"{case.id}-{key}.params"
    if case.weights_from:
        base = CASES_BY_ID[case.weights_from]
        params = out / f"{base.id}-{case_key(base)}.params"
        if not params.exists():
            raise FileNotFoundError(f"{params} (weights of {base.id}) is missing; generate {base.id} first")
        net.load_parameters(str(params))
        kinds: dict = {"loaded_from": base.id}
    else:
        if _has_deferred(net):
            net.infer_shape(data)  # shapes of deferred parameters, without running the network
        kinds = randomize(net, rng)
    t1 = time.perf_counter()
    y = net(data).asnumpy()  # inference mode: not recording, BatchNorm uses running statistics
    t_forward = time.perf_counter() - t1
    if not case.weights_from:  # after the forward: deferred parameters get their values there
        _atomic(params, lambda p: net.save_parameters(str(p)))
    if not np.all(np.isfinite(y)):
        raise FloatingPointError(f"{case.id}: GluonCV output is not finite")
    meta = {
        "case": case.spec(), "key": key, "params": params.name, "gluon_input_shape": list(data.shape),
        "output_shape": list(y.shape), "init": kinds, "mxnet": mx.__version__, "gluoncv": gluoncv.__version__,
        "build_s": round(t_build, 3), "forward_s": round(t_forward, 3),
        "total_s": round(time.perf_counter() - t0, 3),
    }
    def write_npz(path: Path) -> None:
        with open(path, "wb") as f:
            np.savez(f, input=x, output=y, meta=json.dumps(meta))

    _atomic(out / f"{case.id}-{key}.npz", write_npz)
    return meta


def _remove_stale(out: Path, case: ParityCase, key: str) -> None:
    for path in out.glob(f"{case.id}-*"):
        stem = path.name[len(case.id) + 1:].split(".")[0]
        if len(stem) == 12 and stem != key and all(ch in "0123456789abcdef" for ch in stem):
            path.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="cache directory")
    parser.add_argument("--cases", default="", help="comma-separated case ids (default: all)")
    parser.add_argument("--force", action="store_true", help="regenerate even when cached")
    parser.add_argument("--names-only", action="store_true", help="write names.json only")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    go_offline()
    names = action_names()
    _atomic(out / "names.json", lambda p: p.write_text(json.dumps(
        {"action": names, "int8": int8_action_names(), "gluoncv": gluoncv.__version__, "mxnet": mx.__version__})))
    missing = sorted(set(names) - set(GLUONCV_ACTION_NAMES))
    if missing:
        print(f"warning: GluonCV names without a parity case: {missing}", flush=True)
    if args.names_only:
        return 0
    wanted = [c for c in CASES if not args.cases or c.id in args.cases.split(",")]
    unknown = set(filter(None, args.cases.split(","))) - {c.id for c in CASES}
    if unknown:
        parser.error(f"unknown case ids: {sorted(unknown)}")
    failures = 0
    t_all = time.perf_counter()
    for case in wanted:
        key = case_key(case)
        npz, err = out / f"{case.id}-{key}.npz", out / f"{case.id}-{key}.error"
        if npz.exists() and not args.force:
            continue
        _remove_stale(out, case, key)
        err.unlink(missing_ok=True)
        try:
            meta = generate(case, out, key)
            print(f"{case.id:48s} {str(meta['gluon_input_shape']):24s} build {meta['build_s']:6.2f}s "
                  f"forward {meta['forward_s']:6.2f}s total {meta['total_s']:6.2f}s", flush=True)
        except Exception:
            failures += 1
            err.write_text(traceback.format_exc())
            print(f"{case.id:48s} FAILED: {traceback.format_exc().strip().splitlines()[-1]}", flush=True)
    print(f"generated {len(wanted)} case(s) in {time.perf_counter() - t_all:.1f}s, {failures} failed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
