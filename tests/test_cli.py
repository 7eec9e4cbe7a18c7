"""The `zoo` command: a thin layer, one-line errors, non-zero exits, no tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
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


def test_list_has_header_top1_and_weights_filter(capsys):
    assert main(["list", "--with-weights"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header, rows = lines[0].split(), lines[1:]
    assert header == ["NAME", "FAMILY", "DATASET", "TOP-1", "WEIGHTS"]
    names = [r.split()[0] for r in rows]
    assert names == zoo.get_model_list(pretrained=True) and all(zoo.model_card(n).weights for n in names)
    starts = {r.index(zoo.model_card(r.split()[0]).dataset or "-", len(r.split()[0]) + 2) for r in rows}
    assert starts == {lines[0].index("DATASET")}, "the family column never pushes the next one out of line"
    i3d = next(r for r in rows if r.startswith("i3d_resnet50_v1_kinetics400 "))
    assert i3d.split()[3] == f"{zoo.model_card('i3d_resnet50_v1_kinetics400').default_weights().accuracy.top1:.1f}"
    assert main(["list"]) == 0
    assert len(capsys.readouterr().out.splitlines()) - 1 == len(zoo.get_model_list()) > len(names)


@pytest.mark.parametrize("pattern", ["[", "no_such_model_*"])
def test_list_never_prints_nothing_silently(pattern, capsys):
    assert main(["list", pattern]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and f"no model name matches pattern {pattern!r}" in captured.err


def test_info_shows_where_weights_land_and_the_int8_note(capsys, zoo_home):
    assert main(["info", "i3d_resnet50_v1_kinetics400"]) == 0
    out = capsys.readouterr().out
    entry = zoo.model_card("i3d_resnet50_v1_kinetics400").default_weights()
    assert f"cached as {zoo_home / 'weights' / entry.file}" in out
    assert main(["info", "vgg16_ucf101_int8"]) == 0
    out = capsys.readouterr().out
    assert "see the int8 note" in out and "int8 note:    static post-training quantisation" in out


def test_closed_pipe_exits_quietly():
    proc = subprocess.Popen([sys.executable, "-m", "zoo.cli", "info", "i3d_resnet50_v1_kinetics400", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before zoo writes, as `| head -1` may be
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == "", err


def test_publish_with_escaping_name_is_refused(tmp_path):
    ckpt = tmp_path / "ckpt.safetensors"
    save_file(zoo.get_model("simple3d_synthetic").state_dict(), str(ckpt))
    hub_dir = tmp_path / "a" / "b" / "hub"
    proc = run_cli("publish", str(ckpt), "--name", "../../escaped", "--arch", "simple3d_synthetic", "--hub", str(hub_dir))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("*escaped*")) and not hub_dir.exists()


def test_three_hex_tag_is_a_one_line_error():
    proc = run_cli("download", "i3d_resnet50_v1_kinetics400", "--tag", "185")
    assert proc.returncode == 1 and "4 or more hex" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_identify_names_the_models_a_file_fits(tmp_path, capsys):
    net = zoo.get_model("simple3d_synthetic", num_classes=5)
    path = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    assert main(["identify", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("these weights fit ") and "simple3d_synthetic" in out
    save_file({"nothing.weight": torch.zeros(3, 3)}, str(tmp_path / "other.safetensors"))
    assert main(["identify", str(tmp_path / "other.safetensors")]) == 1
    assert "no registered model takes these weights" in capsys.readouterr().err
