"""Pieces of `make demo`: the hub round trip, and the whole job on a tiny scale (table and printed output)."""
from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import re
import subprocess

import torch

import zoo
from _engine_helpers import ROOT
from zoo.data.synthetic import SYNTHETIC_CLASSES


def _demo():
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_publish_serve_and_load_back_by_name(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_REPO_URL", raising=False)
    torch.manual_seed(1)
    model = zoo.get_model("simple3d_synthetic", widths=[4, 8]).eval()
    entry, loaded, url = _demo().publish_and_load(model, "tiny_demo_model", "simple3d_synthetic", {"widths": [4, 8]},
                                                  tmp_path / "hub")
    published = tmp_path / "hub" / entry.file
    assert hashlib.sha1(published.read_bytes()).hexdigest() == entry.sha1
    assert entry.file == f"tiny_demo_model-{entry.sha1[:8]}.safetensors"
    assert url.startswith("http://127.0.0.1:")
    assert zoo.list_cache()[0].path.read_bytes() == published.read_bytes()  # came through the server
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_tiny_demo_end_to_end(tmp_path, capsys):
    committed = {p: p.read_bytes() for p in (ROOT / "csv_tables").rglob("*") if p.is_file()}
    table = tmp_path / "demo" / "synthetic_2d_vs_3d.csv"  # the default: under the work dir
    overrides = ["data.synthetic.num_train=8", "data.synthetic.num_val=5", "data.synthetic.frames=8",
                 "data.synthetic.size=32", "data.synthetic.workers=1", "data.new_length=4", "data.crop_size=32",
                 "data.short_side=32", "data.batch_size=4", "model.kwargs.widths=[4,8]", "train.epochs=1",
                 "train.val_every=0", "train.progress=false", "test.num_clips=1", "test.num_crops=3"]
    status = _demo().main(["--work-dir", str(tmp_path / "demo"), "--num-fresh", "3", "--min-top1", "0",
                           "--threads", "1", *overrides])
    out = capsys.readouterr().out
    assert status == 0
    for text in ("multi-view test (1 clips x 3 crops", "published simple3d_synthetic_demo-", "pretrained=True",
                 "fresh clips", "max |trained - loaded| logits on a probe batch: 0.00e+00", "demo took"):
        assert text in out, text
    rows = list(csv.DictReader(table.open()))
    assert [r["model"] for r in rows] == ["simple3d_synthetic", "simple2d_synthetic"]
    assert [r["frames_per_view"] for r in rows] == ["4", "1"]
    assert all(r["command"].startswith(".venv/bin/python scripts/demo.py --work-dir") and float(r["chance"]) == 12.5 for r in rows)
    assert float(rows[0]["val_top1"]) >= 0 and int(rows[0]["num_train"]) == 8
    assert {p: p.read_bytes() for p in (ROOT / "csv_tables").rglob("*") if p.is_file()} == committed
    _printed_commands_reproduce_the_demo(out, tmp_path)


def _printed_commands_reproduce_the_demo(out: str, tmp_path) -> None:
    """The demo's closing commands run as printed; the by-name test gives the demo's fresh-clip top-1."""
    lines = out[out.index("next: test and run"):].splitlines()
    by_name = next(line.strip() for line in lines if "test_recognizer.py --model simple3d_synthetic_demo" in line)
    inference = next(line.strip() for line in lines if "inference.py --model simple3d_synthetic_demo" in line)
    assert by_name.startswith("ZOO_MANIFEST=") and "temporal" not in by_name  # no protocol flag needed
    demo_top1 = re.search(r"hub-loaded model on the fresh clips .*?top-1 ([0-9.]+)%", out).group(1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "ZOO_HOME": str(tmp_path / "user_home")}
    env.pop("ZOO_REPO_URL", None)
    tested = subprocess.run(f"{by_name} --out {tmp_path / 'by_name'} --quiet", shell=True, env=env, capture_output=True,
                            text=True, timeout=240)
    assert tested.returncode == 0, tested.stderr[-3000:]
    assert f"{json.loads(tested.stdout.strip().splitlines()[-1])['top1']:.2f}" == demo_top1
    ran = subprocess.run(inference, shell=True, env=env, capture_output=True, text=True, timeout=240)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert any(name in ran.stdout for name in SYNTHETIC_CLASSES), ran.stdout  # class names, not indices
