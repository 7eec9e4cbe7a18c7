"""Pieces of `make demo`: the hub round trip, and the whole job on a tiny scale (table and printed output)."""
from __future__ import annotations

import csv
import hashlib
import importlib.util

import torch

import zoo
from _engine_helpers import ROOT


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
    table = tmp_path / "table.csv"
    overrides = ["data.synthetic.num_train=8", "data.synthetic.num_val=5", "data.synthetic.frames=8",
                 "data.synthetic.size=32", "data.synthetic.workers=1", "data.new_length=4", "data.crop_size=32",
                 "data.short_side=32", "data.batch_size=4", "model.kwargs.widths=[4,8]", "train.epochs=1",
                 "train.val_every=0", "train.progress=false", "test.num_clips=1", "test.num_crops=3"]
    status = _demo().main(["--work-dir", str(tmp_path / "demo"), "--num-fresh", "3", "--min-top1", "0",
                           "--table", str(table), "--threads", "1", *overrides])
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
