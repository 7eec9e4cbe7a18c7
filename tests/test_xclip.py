"""X-CLIP: parity with transformers' XCLIPModel (random weights, published and reduced configurations),
the zero-shot classifier, and zero-shot end to end on a real video through a fake Hugging Face Hub."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import zoo
from zoo.models.xclip import ClipTokenizer, config_to_kwargs, input_from_config

from _fake_repos import XCLIP_REDUCED, tiny_tokenizer, xclip_upstream
from _fake_repos import xclip_repo as _xclip_repo
from _http import FakeHub
from _shared import import_reference

ROOT = Path(__file__).resolve().parents[1]
NAME = "xclip_base_patch32_8x_kinetics400"
LABELS = ["arm wrestling", "cooking pasta", "dancing ballet", "riding a bike"]

transformers = import_reference("transformers", "X-CLIP's parity and Hub tests build transformers' XCLIPModel")


REDUCED = XCLIP_REDUCED


def upstream_model(config: dict, seed: int = 0):
    return xclip_upstream(config, seed)


def token_ids(vocab_size: int, lengths: list[int], seed: int = 1) -> torch.Tensor:
    """``(K, max(lengths))`` ids: each text ends in the end token (the largest id), then padding with it."""
    gen = torch.Generator().manual_seed(seed)
    end, width = vocab_size - 1, max(lengths)
    rows = []
    for n in lengths:
        body = torch.randint(0, end, (n - 1,), generator=gen).tolist()
        rows.append(body + [end] * (width - n + 1))
    return torch.tensor(rows)


def assert_close(got: torch.Tensor, want: torch.Tensor) -> None:
    scale = max(1.0, want.abs().max().item())
    assert got.shape == want.shape
    assert (got - want).abs().max().item() <= 1e-4 * scale, (got - want).abs().max().item()


def compare(config: dict, tmp_path: Path, batch: int = 2) -> None:
    upstream = upstream_model(config)
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(path))
    kwargs = config_to_kwargs(upstream.config.to_dict())
    kwargs.pop("num_classes")
    ours = zoo.get_model(NAME, pretrained=path, num_classes=3, **kwargs).eval()
    frames, size = kwargs.get("num_frames", 8), kwargs.get("image_size", 224)
    clip = torch.randn(batch, 3, frames, size, size, generator=torch.Generator().manual_seed(2))
    ids = token_ids(upstream.config.text_config.vocab_size, [5, 9, 3])
    with torch.no_grad():
        want = upstream(input_ids=ids, pixel_values=clip.transpose(1, 2)).logits_per_video
        got = ours.video_text_logits(clip, ids)
    assert_close(got, want)


def test_parity_with_transformers_reduced_config(tmp_path):
    compare(REDUCED, tmp_path)


@pytest.mark.slow
def test_parity_with_transformers_published_config(tmp_path):
    """The published configuration (transformers' defaults are microsoft/xclip-base-patch32's)."""
    compare({}, tmp_path, batch=1)


def test_config_to_kwargs_reads_a_published_config():
    config = transformers.XCLIPConfig(vision_config={"patch_size": 16, "num_frames": 16}).to_dict()
    kwargs = config_to_kwargs(config)
    assert kwargs["patch_size"] == 16 and kwargs["num_frames"] == 16 and kwargs["embed_dim"] == 512
    assert kwargs["vision_width"] == 768 and kwargs["text_depth"] == 12 and kwargs["vocab_size"] == 49408
    spec = input_from_config(config, {"crop_size": {"height": 224, "width": 224}, "size": {"shortest_edge": 224}})
    assert (spec.clip_len, spec.crop_size) == (16, 224)


def reduced_model(tmp_path: Path):
    upstream = upstream_model(REDUCED)
    kwargs = config_to_kwargs(upstream.config.to_dict())
    kwargs.pop("num_classes")
    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(path))
    return upstream, zoo.get_model(NAME, pretrained=path, num_classes=3, **kwargs).eval()


def test_labels_make_the_classifier_and_forward_is_the_video_text_logits(tmp_path):
    words = " ".join(LABELS).split()
    tokenizer_path = tiny_tokenizer(tmp_path / "tokenizer.json", words)
    config = {**REDUCED, "text_config": {**REDUCED["text_config"], "vocab_size": 122}}
    upstream = upstream_model(config)
    save_file({k: v.contiguous() for k, v in upstream.state_dict().items()}, str(tmp_path / "m.safetensors"))
    kwargs = {k: v for k, v in config_to_kwargs(upstream.config.to_dict()).items() if k != "num_classes"}
    model = zoo.get_model(NAME, pretrained=tmp_path / "m.safetensors", **kwargs).eval()
    tokenizer = ClipTokenizer(tokenizer_path, context_length=16)
    ids = tokenizer(LABELS)
    assert ids[:, 0].eq(tokenizer.tokenizer.token_to_id("<|startoftext|>")).all()
    assert ids.argmax(dim=1).tolist() == [len(tokenizer.tokenizer.encode(n).ids) - 1 for n in LABELS]
    clip = torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(3))
    model.set_labels(LABELS, tokenizer)
    assert model.head.labels == tuple(LABELS) and model.head.out_features == 4
    with torch.no_grad():
        logits = model(clip)
        want = upstream(input_ids=ids, pixel_values=clip.transpose(1, 2)).logits_per_video
    assert_close(logits, want)
    assert torch.equal(logits, model.forward_head(model.forward_features(clip)))
    probs = model.classify(clip, LABELS[:2], tokenizer)
    assert probs.shape == (2, 2) and torch.allclose(probs.sum(dim=1), torch.ones(2))
    with pytest.raises(ValueError, match="non-empty label names"):
        model.classify(clip, [], tokenizer)
    model.reset_classifier(7)
    assert model(clip).shape == (2, 7)


def test_a_long_label_is_cut_to_the_context_length_keeping_its_end(tmp_path):
    tokenizer = ClipTokenizer(tiny_tokenizer(tmp_path / "t.json", ["a", "b"]), context_length=5)
    ids = tokenizer(["a b a b a b a b", "a"])
    end = tokenizer.tokenizer.token_to_id("<|endoftext|>")
    assert ids.shape == (2, 5) and ids[0, -1] == end and ids[1].tolist()[2:] == [end] * 3


def test_a_clip_of_another_frame_count_is_one_clear_error(tmp_path):
    _, model = reduced_model(tmp_path)
    with pytest.raises(ValueError, match="clips of 4 frames, got 6"):
        model(torch.randn(1, 3, 6, 32, 32))


# -- zero-shot through the Hub, on a real video ------------------------------------------------------


def xclip_repo(tmp_path: Path):
    return _xclip_repo(tmp_path, " ".join(LABELS).split())


@pytest.fixture
def fake_hub(monkeypatch):
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        yield server


def test_zero_shot_from_python_through_an_hf_hub_id(fake_hub, tmp_path):
    files, upstream = xclip_repo(tmp_path)
    fake_hub.add_repo("someone/xclip-tiny", files)
    model = zoo.get_model("hf-hub:someone/xclip-tiny").eval()
    assert model.tokenizer is not None, "the tokenizer comes from the repo with the weights"
    clip = torch.randn(1, 3, 4, 32, 32, generator=torch.Generator().manual_seed(4))
    probs = model.classify(clip, LABELS)
    ids = model.tokenizer(LABELS)
    with torch.no_grad():
        want = upstream(input_ids=ids, pixel_values=clip.transpose(1, 2)).logits_per_video.softmax(dim=-1)
    assert_close(probs, want)


def test_zero_shot_end_to_end_on_a_real_video_with_inference_script(fake_hub, tmp_path, sample_video):
    files, _ = xclip_repo(tmp_path)
    fake_hub.add_repo("someone/xclip-tiny", files)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": fake_hub.url}
    labels_file = tmp_path / "labels.txt"
    labels_file.write_text("\n".join(LABELS) + "\n")
    for flag in (["--labels", ",".join(LABELS)], ["--labels-file", str(labels_file)]):
        out = tmp_path / f"preds{len(flag[1])}.json"
        run = subprocess.run([sys.executable, str(ROOT / "scripts" / "inference.py"), "--model", "hf-hub:someone/xclip-tiny",
                              str(sample_video), *flag, "--topk", "4", "--precision", "fp32", "--out", str(out)],
                             capture_output=True, text=True, env=env, timeout=300)
        assert run.returncode == 0, run.stderr[-2000:]
        line = next(ln for ln in run.stdout.splitlines() if ln.startswith(sample_video.name))
        assert sorted(label for label in LABELS if label in line) == sorted(LABELS), line
        predictions = json.loads(out.read_text())
        scores = predictions[0]["scores"] if isinstance(predictions, list) else next(iter(predictions.values()))["scores"]
        assert len(scores) == 4 and abs(sum(scores) - 1) < 1e-3


def test_a_zero_shot_repo_without_labels_asks_for_them(fake_hub, tmp_path, sample_video):
    files, _ = xclip_repo(tmp_path)
    fake_hub.add_repo("someone/xclip-tiny", files)
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "inference.py"), "--model", "hf-hub:someone/xclip-tiny",
                          str(sample_video)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "HF_ENDPOINT": fake_hub.url})
    assert run.returncode == 2 and "--labels" in run.stderr and "Traceback" not in run.stderr, run.stderr[-1000:]


def test_labels_for_a_model_that_is_not_zero_shot_is_one_clear_line(tmp_path, sample_video):
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "inference.py"), "--model", "c3d_kinetics400",
                          "--weights", "false", str(sample_video), "--labels", "a,b"],
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert run.returncode != 0 and "zero-shot models" in run.stderr and "Traceback" not in run.stderr
