"""The Hugging Face Hub as a weights source, and ``hf-hub:`` ids, against a fake Hub on 127.0.0.1."""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn as nn
from safetensors.torch import save as save_safetensors

import zoo
from zoo import hub, pins
from zoo.convert.keys import Rule, convert
from zoo.errors import UnknownModelError, WeightsError
from zoo.models._interface import VideoClassifier
from zoo.models._published import hf_file
from zoo.registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model

import _fake_repos
from _http import FakeHub
from _shared import import_reference

REPO = "someone/tiny-video-ucf"
LABELS = ["ApplyEyeMakeup", "Basketball", "Drumming"]
ARCH = "TinyVideoForVideoClassification"


class TinyVideo(VideoClassifier):
    """(N, 3, T, H, W) clips -> (N, num_classes) logits; a stand-in for a Hub architecture."""

    def __init__(self, num_classes: int, width: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv3d(3, width, 3, padding=1)
        self.num_features = width
        self.dropout = nn.Identity()
        self.fc = nn.Linear(width, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x)).mean(dim=(2, 3, 4))


def tiny_video(num_classes: int, width: int = 4) -> TinyVideo:
    return TinyVideo(num_classes, width)


#: the "Hub layout" of TinyVideo: what transformers would call its keys
HUB_RULES = [Rule(r"tiny\.stem\.(weight|bias)", r"conv.\1"), Rule(r"classifier\.(weight|bias)", r"fc.\1")]


def hub_state(model: TinyVideo) -> dict[str, torch.Tensor]:
    return {"tiny.stem." + k[5:] if k.startswith("conv.") else "classifier." + k[3:]: v.clone()
            for k, v in model.state_dict().items()}


@pytest.fixture
def tiny_architecture():
    register_converter("hub_tiny_video", lambda state, model: convert(state, model, HUB_RULES, what="Hub TinyVideo"))
    register_hub_architecture(HubArchitecture(
        name=ARCH, family="tiny_video", builder=tiny_video, converter="hub_tiny_video",
        config_to_kwargs=lambda c: {"num_classes": len(c["id2label"]), "width": c["hidden_size"]},
        input_from_config=lambda c, p: InputSpec(clip_len=c["num_frames"], crop_size=p.get("crop_size", {}).get("height", 224),
                                                 short_side=p.get("size", {}).get("shortest_edge", 256),
                                                 mean=tuple(p.get("image_mean", (0.5,) * 3)), std=tuple(p.get("image_std", (0.5,) * 3))),
    ))


def repo_files(model: TinyVideo, weights: str = "model.safetensors") -> dict[str, bytes]:
    config = {"architectures": [ARCH], "hidden_size": model.num_features, "num_frames": 4,
              "id2label": {str(i): name for i, name in enumerate(LABELS)}, "label2id": {n: i for i, n in enumerate(LABELS)}}
    preprocessor = {"crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 40},
                    "image_mean": [0.45, 0.45, 0.45], "image_std": [0.225, 0.225, 0.225]}
    if weights == "model.safetensors":
        body = save_safetensors(hub_state(model))
    else:
        buffer = io.BytesIO()
        torch.save(hub_state(model), buffer)
        body = buffer.getvalue()
    return {"config.json": json.dumps(config).encode(), "preprocessor_config.json": json.dumps(preprocessor).encode(),
            weights: body, "README.md": b"# a tiny fine-tune\n"}


@pytest.fixture
def fake_hub(monkeypatch):
    with FakeHub() as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url.rstrip("/"))
        monkeypatch.setenv("ZOO_RETRIES", "3")
        yield server


@pytest.fixture
def reference() -> TinyVideo:
    torch.manual_seed(0)
    return TinyVideo(len(LABELS)).eval()


def clip() -> torch.Tensor:
    return torch.randn(2, 3, 4, 32, 32, generator=torch.Generator().manual_seed(1))


def same_outputs(model: nn.Module, reference: nn.Module) -> bool:
    with torch.no_grad():
        want, got = reference(clip()), model.eval()(clip())
    return bool((got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item()))


def register_pinned(name: str, commit: str, body: bytes, sha256: str | None = None) -> None:
    """A registered name whose weights are a pinned Hub file (as a family file would declare it)."""
    entry = hf_file(REPO, commit, "model.safetensors", converter="hub_tiny_video",
                    sha256=hashlib.sha256(body).hexdigest() if sha256 is None else sha256, size=len(body),
                    top1=50.0, reported_by="test", license="MIT")
    register_model(name, tiny_video, family="tiny_video", num_classes=len(LABELS), dataset="ucf101",
                   input=InputSpec(clip_len=4, crop_size=32, short_side=40), weights=[entry])


def cache_files() -> list[Path]:
    folder = hub.cache_dir()
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


# -- a pinned Hub file ---------------------------------------------------------------------------


def test_pinned_hub_file_end_to_end_is_checked_and_pinned_with_its_revision(fake_hub, tiny_architecture, reference,
                                                                           tmp_path, monkeypatch):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    register_pinned("tiny_hub_pinned", commit, files["model.safetensors"])
    monkeypatch.setenv("ZOO_LOCK", str(tmp_path / "zoo.lock"))
    model = zoo.get_model("tiny_hub_pinned", pretrained=True)
    assert same_outputs(model, reference)
    resolve = f"/{REPO}/resolve/{commit}/model.safetensors"
    assert fake_hub.count(resolve) == 1, "the file is fetched at the pinned commit, through the Hub's resolve URL"
    pin = pins.read_lock(tmp_path / "zoo.lock")[f"someone--tiny-video-ucf--{commit[:8]}--model.safetensors"]
    assert pin["sha256"] == hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert pin["revision"] == commit and pin["model"] == f"hf-hub:{REPO}"
    zoo.get_model("tiny_hub_pinned", pretrained=True)
    assert fake_hub.count(resolve) == 1, "a cached, verified file is not fetched again"


def test_zoo_repo_url_hf_wins_over_hf_endpoint(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/mirror")
    assert hub.repo_url("hf") == "http://127.0.0.1:9/mirror/"
    monkeypatch.setenv("ZOO_REPO_URL_HF", "http://127.0.0.1:9/other")
    assert hub.repo_url("hf") == "http://127.0.0.1:9/other/"
    monkeypatch.delenv("ZOO_REPO_URL_HF")
    monkeypatch.delenv("HF_ENDPOINT")
    assert hub.repo_url("hf") == "https://huggingface.co/"


def test_a_body_that_differs_from_the_reported_sha256_is_refused_and_not_cached(fake_hub, tiny_architecture, reference):
    files = repo_files(reference)
    lie = hashlib.sha256(b"other bytes").hexdigest()
    commit = fake_hub.add_repo(REPO, files, etags={"model.safetensors": lie})
    register_pinned("tiny_hub_lying", commit, files["model.safetensors"], sha256="")  # only the ETag can check it
    with pytest.raises(hub.ChecksumError, match=f"differs from {lie}.*ETag"):
        zoo.get_model("tiny_hub_lying", pretrained=True)
    assert cache_files() == [], "nothing of a refused download may stay in the cache"


def test_a_body_that_differs_from_the_pinned_sha256_is_refused_and_not_cached(fake_hub, tiny_architecture, reference):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    register_pinned("tiny_hub_wrong_pin", commit, files["model.safetensors"], sha256=hashlib.sha256(b"x").hexdigest())
    with pytest.raises(hub.ChecksumError, match="checksum mismatch"):
        zoo.get_model("tiny_hub_wrong_pin", pretrained=True)
    assert cache_files() == []


def test_a_small_file_is_checked_against_its_git_blob_etag(fake_hub):
    commit = fake_hub.add_repo(REPO, {"config.json": b"{}"}, etags={"config.json": "0" * 40})
    entry = hf_file(REPO, commit, "config.json", converter=None)
    with pytest.raises(hub.ChecksumError, match="git blob sha1"):
        hub.fetch(entry.file, entry.checksum, entry.url, entry.repo)
    assert cache_files() == []


def test_a_dropped_download_resumes_with_range(fake_hub, tiny_architecture, reference):
    files = repo_files(reference)
    body = files["model.safetensors"]
    commit = fake_hub.add_repo(REPO, files)
    cdn = f"/cdn/{hashlib.sha256(body).hexdigest()}"
    fake_hub.faults[cdn] = ["drop"]
    register_pinned("tiny_hub_resumed", commit, body)
    assert same_outputs(zoo.get_model("tiny_hub_resumed", pretrained=True), reference)
    ranges = [r for p, r in fake_hub.requests if p == cdn]
    assert ranges[0] is None and ranges[1] is not None and int(ranges[1].split("=")[1].rstrip("-")) > 0, ranges


@pytest.mark.parametrize("variable", ["ZOO_OFFLINE", "HF_HUB_OFFLINE"])
def test_offline_mode_opens_no_connection(variable, fake_hub, tiny_architecture, reference, monkeypatch):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    register_pinned("tiny_hub_offline", commit, files["model.safetensors"])
    monkeypatch.setenv(variable, "1")
    with pytest.raises(hub.OfflineError, match=f"{variable} is set"):
        zoo.get_model("tiny_hub_offline", pretrained=True)
    with pytest.raises(hub.OfflineError, match="never fetched here"):
        zoo.get_model(f"hf-hub:{REPO}")
    assert fake_hub.requests == []
    monkeypatch.delenv(variable)
    zoo.get_model(f"hf-hub:{REPO}")
    zoo.get_model("tiny_hub_offline", pretrained=True)
    seen = len(fake_hub.requests)
    monkeypatch.setenv(variable, "1")
    hub_repos_cards_forget()
    assert same_outputs(zoo.get_model(f"hf-hub:{REPO}"), reference), "an id fetched once resolves offline"
    assert same_outputs(zoo.get_model("tiny_hub_offline", pretrained=True), reference)
    assert len(fake_hub.requests) == seen


def hub_repos_cards_forget() -> None:
    """Forget the cards made in this process (as a new process would start)."""
    from zoo import hub_repos

    hub_repos._CARDS.clear()


# -- the user's Hugging Face cache --------------------------------------------------------------


def fill_hf_cache(root: Path, repo_id: str, commit: str, files: dict[str, bytes], branch: str = "main") -> None:
    """The Hub's cache layout: blobs named by digest, snapshot links to them, and a ref per branch."""
    folder = root / ("models--" + repo_id.replace("/", "--"))
    (folder / "blobs").mkdir(parents=True)
    (folder / "refs").mkdir()
    (folder / "refs" / branch).write_text(commit)
    snapshot = folder / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name, body in files.items():
        blob = folder / "blobs" / hashlib.sha256(body).hexdigest()
        blob.write_bytes(body)
        (snapshot / name).symlink_to(os.path.relpath(blob, snapshot))


@pytest.mark.parametrize("where", ["HF_HUB_CACHE", "HF_HOME"])
def test_a_file_in_the_hugging_face_cache_is_used_without_any_request(where, fake_hub, tiny_architecture, reference,
                                                                        tmp_path, monkeypatch):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    root = tmp_path / "hf-home" / "hub" if where == "HF_HOME" else tmp_path / "hf-cache"
    fill_hf_cache(root, REPO, commit, files)
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv(where, str(root.parent if where == "HF_HOME" else root))
    register_pinned("tiny_hub_cached", commit, files["model.safetensors"])
    assert same_outputs(zoo.get_model("tiny_hub_cached", pretrained=True), reference)
    assert fake_hub.requests == [], "a file the Hugging Face cache holds is not downloaded"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = zoo.get_model(f"hf-hub:{REPO}")  # resolved through the cache's refs/main, offline
    assert same_outputs(model, reference) and zoo.model_card(f"hf-hub:{REPO}").class_names == tuple(LABELS)
    assert fake_hub.requests == []


def test_a_damaged_file_in_the_hugging_face_cache_is_downloaded_instead(fake_hub, tiny_architecture, reference,
                                                                          tmp_path, monkeypatch):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    fill_hf_cache(tmp_path / "hf", REPO, commit, files)
    blob = tmp_path / "hf" / f"models--{REPO.replace('/', '--')}" / "blobs" / hashlib.sha256(files["model.safetensors"]).hexdigest()
    blob.write_bytes(b"damaged" + files["model.safetensors"][7:])
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    register_pinned("tiny_hub_damaged", commit, files["model.safetensors"], sha256="")
    assert same_outputs(zoo.get_model("tiny_hub_damaged", pretrained=True), reference)
    assert fake_hub.count(f"/{REPO}/resolve/{commit}/model.safetensors") == 1


# -- hf-hub: ids ---------------------------------------------------------------------------------


def test_hf_hub_repo_end_to_end_config_weights_and_labels(fake_hub, tiny_architecture, reference):
    commit = fake_hub.add_repo(REPO, repo_files(reference), license="apache-2.0")
    model = zoo.get_model(f"hf-hub:{REPO}")
    assert same_outputs(model, reference)
    card = zoo.model_card(f"hf-hub:{REPO}")
    assert card.class_names == tuple(LABELS) and card.num_classes == 3 and card.family == "tiny_video"
    assert (card.input.clip_len, card.input.crop_size, card.input.short_side) == (4, 32, 40)
    assert card.input.mean == (0.45, 0.45, 0.45)
    weights = card.default_weights()
    assert weights.url == f"{REPO}/resolve/{commit}/model.safetensors" and weights.license == "apache-2.0"
    assert fake_hub.count(f"/api/models/{REPO}/revision/main") == 1
    assert model.zoo_name == f"hf-hub:{REPO}"
    random = zoo.get_model(f"hf-hub:{REPO}", pretrained=False)
    assert isinstance(random, TinyVideo) and not same_outputs(random, reference)


def test_hf_hub_id_with_a_revision(fake_hub, tiny_architecture, reference):
    commit = fake_hub.add_repo(REPO, repo_files(reference), branch="v1")
    assert same_outputs(zoo.get_model(f"hf-hub:{REPO}@v1"), reference)
    assert same_outputs(zoo.get_model(f"hf-hub:{REPO}@{commit}"), reference)
    assert fake_hub.count(f"/{REPO}/resolve/v1/config.json") == 0, "files are fetched at the resolved commit"


def test_hf_hub_pytorch_model_bin_is_read_with_weights_only(fake_hub, tiny_architecture, reference):
    fake_hub.add_repo(REPO, repo_files(reference, weights="pytorch_model.bin"))
    assert same_outputs(zoo.get_model(f"hf-hub:{REPO}"), reference)


class _Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_hf_hub_pytorch_model_bin_that_would_run_code_is_refused(fake_hub, tiny_architecture, reference):
    files = repo_files(reference, weights="pytorch_model.bin")
    files["pytorch_model.bin"] = pickle.dumps({"tiny.stem.weight": _Boom()})
    fake_hub.add_repo(REPO, files)
    with pytest.raises(WeightsError, match="weights_only=True"):
        zoo.get_model(f"hf-hub:{REPO}")


def test_hf_hub_unknown_architecture_names_the_known_ones(fake_hub, tiny_architecture):
    fake_hub.add_repo(REPO, {"config.json": json.dumps({"architectures": ["WhisperForConditionalGeneration"]}).encode()})
    with pytest.raises(UnknownModelError, match=f"cannot build Hub architecture 'WhisperForConditionalGeneration'.*{ARCH}"):
        zoo.get_model(f"hf-hub:{REPO}")


def test_hf_hub_unknown_repo_and_bad_id_are_one_clear_line(fake_hub):
    with pytest.raises(WeightsError, match="did not list the repo.*HTTP 404"):
        zoo.get_model("hf-hub:nobody/nothing")
    with pytest.raises(UnknownModelError, match="not a Hub id"):
        zoo.model_card("hf-hub:just-a-name")


# -- an hf-hub: fine-tune of a real architecture (VideoMAE), end to end ------------------------------

UCF_LABELS = ["ApplyEyeMakeup", "ArmWrestling", "Basketball"]
VIDEOMAE_REPO = "someone/videomae-tiny-finetuned-ucf-sample"


def videomae_repo() -> tuple[dict[str, bytes], torch.nn.Module]:
    import_reference("transformers", "the VideoMAE repo is written by transformers")
    return _fake_repos.videomae_repo(UCF_LABELS)


def test_hf_hub_videomae_finetune_end_to_end(fake_hub):
    files, upstream = videomae_repo()
    fake_hub.add_repo(VIDEOMAE_REPO, files, license="cc-by-nc-4.0")
    model = zoo.get_model(f"hf-hub:{VIDEOMAE_REPO}").eval()
    card = zoo.model_card(f"hf-hub:{VIDEOMAE_REPO}")
    assert card.class_names == tuple(UCF_LABELS) and card.num_classes == 3 and card.family == "videomae"
    assert (card.input.clip_len, card.input.crop_size, card.input.short_side) == (4, 32, 36)
    assert card.default_weights().license == "cc-by-nc-4.0"
    video = clip()
    with torch.no_grad():
        want = upstream(pixel_values=video.transpose(1, 2)).logits
        got = model(video)
    assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())


def test_inference_script_prints_the_hub_repos_class_names(fake_hub, sample_video, tmp_path):
    import subprocess
    import sys

    files, _ = videomae_repo()
    fake_hub.add_repo(VIDEOMAE_REPO, files)
    root = Path(__file__).resolve().parents[1]
    run = subprocess.run([sys.executable, str(root / "scripts" / "inference.py"), "--model", f"hf-hub:{VIDEOMAE_REPO}",
                          str(sample_video), "--topk", "3", "--precision", "fp32"],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(root), "HF_ENDPOINT": fake_hub.url})
    assert run.returncode == 0, run.stderr[-2000:]
    line = next(ln for ln in run.stdout.splitlines() if ln.startswith(sample_video.name))
    assert all(label in line for label in UCF_LABELS), line


def test_zoo_info_shows_a_hub_repos_card(fake_hub, tiny_architecture, reference, capsys):
    from zoo.cli import main

    commit = fake_hub.add_repo(REPO, repo_files(reference))
    assert main(["info", f"hf-hub:{REPO}", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["class_names"] == LABELS and data["family"] == "tiny_video"
    assert data["weights"][0]["resolved_url"] == f"{fake_hub.url}{REPO}/resolve/{commit}/model.safetensors"


def test_a_pin_refuses_a_changed_file_of_the_hugging_face_cache(fake_hub, tiny_architecture, reference, tmp_path,
                                                                monkeypatch):
    files = repo_files(reference)
    commit = fake_hub.add_repo(REPO, files)
    fill_hf_cache(tmp_path / "hf", REPO, commit, files)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    register_pinned("tiny_hub_pinned_lock", commit, files["model.safetensors"])
    lock = tmp_path / "zoo.lock"
    pins.record(f"someone--tiny-video-ucf--{commit[:8]}--model.safetensors", "0" * 64, path=lock)
    monkeypatch.setenv("ZOO_LOCK", str(lock))
    with pytest.raises(hub.ChecksumError, match="differs from the pin"):
        zoo.get_model("tiny_hub_pinned_lock", pretrained=True)
    assert [p for p in hub.cache_dir().rglob("*") if p.is_file()] == [] and fake_hub.requests == []


def test_the_videomae_recipe_fine_tunes_an_hf_hub_repo_on_your_videos(fake_hub, tmp_path):
    from _engine_helpers import make_tiny_dataset
    from zoo.data import read_class_names
    from zoo.engine import load_config, train
    from zoo.engine.checkpoint import load_checkpoint

    files, _ = videomae_repo()
    fake_hub.add_repo(VIDEOMAE_REPO, files)
    tiny = make_tiny_dataset(tmp_path / "data")
    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "videomae_finetune.yaml", [
        f"model.name=hf-hub:{VIDEOMAE_REPO}", f"data.train_list={tiny.train_list}", "data.val_list=null",
        "data.batch_size=2", "data.num_workers=0", "data.clip_len=4", "data.frame_step=2", "train.stop_after_steps=2",
        "train.progress=false", f"output.work_dir={tmp_path / 'run'}"])
    assert (cfg["data"]["crop_size"], cfg["data"]["short_side"]) == (32, 36), "the protocol is the repo's"
    summary = train(cfg)
    state = load_checkpoint(summary["checkpoint"])
    classes = len(read_class_names(tiny.classes_file))
    assert classes != len(UCF_LABELS), "the test needs another class count than the repo's"
    assert summary["global_step"] == 2 and state["model"]["head.weight"].shape[0] == classes
    assert state["config"]["model"]["name"] == f"hf-hub:{VIDEOMAE_REPO}" and state["config"]["train"]["layer_decay"] == 0.75


def test_hub_conventions_digests_urls_and_cache_folders(tmp_path, monkeypatch):
    from zoo import hf_files

    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    assert hf_files.git_blob_sha1(empty) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob
    sha = "ab" * 32
    assert hf_files.reported_digest({"X-Linked-Etag": f'"{sha}"', "ETag": '"' + "c" * 40 + '"'}) == sha
    assert hf_files.reported_digest({"ETag": 'W/"' + "C" * 40 + '"'}) == "c" * 40
    assert hf_files.reported_digest({"ETag": '"not-a-digest-123"'}) == ""
    assert hf_files.parse_resolve_url("a/b/resolve/main/sub/config.json") == hf_files.HubFile("a/b", "main", "sub/config.json")
    assert hf_files.parse_resolve_url("gluon/models/x.zip") is None
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert hf_files.cache_root() == tmp_path / "home" / "hub"
    monkeypatch.delenv("HF_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert hf_files.cache_root() == tmp_path / ".cache" / "huggingface" / "hub"
