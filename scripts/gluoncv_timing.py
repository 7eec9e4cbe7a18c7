"""Time one GluonCV MXNet action-recognition model (hybridized), for `benchmark.py --compare gluoncv`.

Runs in the GluonCV reference environment (`.venv-ref`), never in zoo's:
    python -W ignore scripts/gluoncv_timing.py NAME N,C,T,H,W WARMUP REPEAT
Prints one JSON line. Threads come from OMP_NUM_THREADS. 2D TSN models get GluonCV's own layout
(N*T, C, H, W); 3D models get (N, C, T, H, W).
"""
from __future__ import annotations

import inspect
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gluoncv_ref"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import mxnet as mx  # noqa: E402
from gluoncv.model_zoo import model_zoo  # noqa: E402
from make_reference import go_offline  # noqa: E402


def main() -> None:
    name, shape_text, warmup, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    n, c, t, h, w = (int(v) for v in shape_text.split(","))
    go_offline()
    factory = model_zoo._models[name]
    params = inspect.signature(factory).parameters
    kwargs = {"pretrained": False}
    if "pretrained_base" in params:
        kwargs["pretrained_base"] = False
    if "use_kinetics_pretrain" in params:
        kwargs["use_kinetics_pretrain"] = False
    is_2d = any(k in name for k in ("vgg16_", "inceptionv1_", "inceptionv3_", "_v1b_"))
    if is_2d:
        kwargs["num_segments"] = t
    net = factory(**kwargs)
    net.initialize(force_reinit=False)
    net.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.uniform(shape=(n * t, c, h, w) if is_2d else (n, c, t, h, w))
    for _ in range(warmup):
        net(x).wait_to_read()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        net(x).wait_to_read()
        times.append(time.perf_counter() - t0)
    print(json.dumps({"name": name, "latency_ms_median": 1e3 * statistics.median(times), "latency_ms_min": 1e3 * min(times), "mxnet": mx.__version__}))


if __name__ == "__main__":
    main()
