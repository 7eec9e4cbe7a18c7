"""The `zoo` command: a thin layer, one-line errors, non-zero exits, no tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys

import torch
from safetensors.torch import save_file

import zoo
from zoo.cli import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "zoo.cli", *args], capture_output=True, text=True, timeout=120)


def test_list_info_and_json(capsys):
    assert main(["list", "simple*"]) == 0
    out = capsys.readouterr().out
    assert "simple3d_synthetic" in out and "simple2d_synthetic" in out
    assert main(["info", "simple3d_synthetic", "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["family"] == "simple3d" and card["input"]["clip_len"] == 8


def test_bad_input_is_one_line_error_without_traceback():
    for args in (["info", "simple3d_synthtic"], ["download", "simple2d_synthetic"], ["publish", "/nope.pth", "--name", "x", "--arch", "simple3d_synthetic"]):
        proc = run_cli(*args)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr, proc.stderr
        lines = [l for l in proc.stderr.splitlines() if l.strip()]
        assert len(lines) == 1 and "error" in lines[0], proc.stderr
    assert "simple3d_synthetic" in run_cli("info", "simple3d_synthtic").stderr


def test_publish_download_cache_purge(tmp_path, zoo_home, capsys, monkeypatch):
    net = zoo.get_model("simple3d_synthetic")
    ckpt = tmp_path / "ckpt.safetensors"
    save_file(net.state_dict(), str(ckpt))
    hub_dir = tmp_path / "hub"
    assert main(["publish", str(ckpt), "--name", "cli_net", "--arch", "simple3d_synthetic", "--hub", str(hub_dir)]) == 0
    assert "published cli_net" in capsys.readouterr().out
    monkeypatch.setenv("ZOO_REPO_URL", hub_dir.as_uri())
    monkeypatch.setenv("ZOO_MANIFEST", str(hub_dir / "manifest.json"))
    assert main(["download", "cli_net", "-q"]) == 0
    path = capsys.readouterr().out.strip()
    assert path.endswith(".safetensors") and torch.equal(zoo.read_weights(path)["fc.weight"], net.state_dict()["fc.weight"])
    assert main(["cache"]) == 0
    assert "1 file(s)" in capsys.readouterr().out
    assert main(["cache", "--purge"]) == 0
    assert zoo.list_cache() == []
