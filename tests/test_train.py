"""Training engine: config overrides, fine-tuning, freezing, bf16, accumulation, DDP, exact resume."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from _engine_helpers import ROOT, TINY, make_tiny_dataset, run_script, tiny_config, torchrun
from zoo.engine import load_config, train
from zoo.engine.checkpoint import load_checkpoint
from zoo.engine.config import ConfigError, apply_overrides, parse_override
from zoo.engine.modeling import build_model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(autouse=True)
def _restore_determinism():
    yield
    torch.use_deterministic_algorithms(False)


def _params(state: dict) -> dict:
    """Trainable tensors only (BN running statistics follow different paths under DDP)."""
    return {k: v for k, v in state.items() if "running_" not in k and "num_batches" not in k}


# ------------------------------------------------------------------ config
def test_override_values_are_parsed_as_yaml():
    assert parse_override("train.lr=1e-3") == (["train", "lr"], 1e-3, False)
    assert parse_override("model.kwargs.widths=[8, 16]")[1] == [8, 16]
    assert parse_override("model.pretrained=null")[1] is None
    assert parse_override("train.deterministic=true")[1] is True
    assert parse_override("+train.note=hello")[2] is True
    cfg = load_config(ROOT / "configs" / "simple3d_synthetic.yaml", ["train.lr=0.5", "model.kwargs.temporal_kernel=1",
                                                                      "+train.note=x"])
    assert cfg["train"]["lr"] == 0.5 and cfg["model"]["kwargs"]["temporal_kernel"] == 1
    assert cfg["model"]["kwargs"]["widths"] == [16, 32, 64, 128]  # from the file, kept
    assert cfg["train"]["note"] == "x" and cfg["train"]["momentum"] == 0.9  # default kept


def test_override_errors_name_the_key():
    with pytest.raises(ConfigError, match="train.lrr"):
        apply_overrides(load_config(), ["train.lrr=1"])
    with pytest.raises(ConfigError, match="key.sub=value"):
        parse_override("train.lr")
    with pytest.raises(ConfigError, match="is a value"):
        apply_overrides(load_config(), ["train.lr.x=1"])


def test_base_inheritance_of_config_files():
    cfg = load_config(ROOT / "configs" / "simple2d_synthetic.yaml")
    assert cfg["model"]["name"] == "simple2d_synthetic" and cfg["data"]["clip_len"] == 1
    assert cfg["train"]["optimizer"] == "adamw"  # inherited from simple3d_synthetic.yaml


# ---------------------------------------------------------- fine-tuning
def test_finetune_new_class_count_and_freezing(tmp_path, tiny):
    source = build_model({"name": "simple3d_synthetic", "kwargs": {"widths": [4, 8]}}, 8)
    weights = tmp_path / "pre.pth"
    torch.save(source.state_dict(), weights)
    cfg = tiny_config(tiny, tmp_path / "ft", f"model.pretrained={weights}", "model.num_classes=5",
                      "model.freeze=[features.0,features.1]", "model.partial_bn=true", "train.stop_after_steps=1",
                      "data.train_list=" + str(tiny.val_list), "data.flip=false")
    # val list labels are 0..4 -> five classes; the pretrained head had eight
    model = build_model(cfg["model"], 5)
    assert model.fc.out_features == 5
    assert torch.equal(model.features[3].weight, source.features[3].weight)  # backbone kept
    assert not model.features[0].weight.requires_grad and model.features[3].weight.requires_grad
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm3d)]
    assert not bns[1].training and not bns[1].weight.requires_grad  # partial BN: all but the first frozen
    summary = train(cfg)
    state = load_checkpoint(summary["checkpoint"])["model"]
    assert state["fc.weight"].shape == (5, 8)
    assert torch.equal(state["features.0.weight"], source.state_dict()["features.0.weight"])  # frozen: unchanged
    assert not torch.equal(state["features.3.weight"], source.state_dict()["features.3.weight"])  # trained


def test_frozen_stages_needs_resnet_style_layers():
    with pytest.raises(ValueError, match="model.freeze"):
        build_model({"name": "simple3d_synthetic", "frozen_stages": 1, "kwargs": {"widths": [4, 8]}}, 8)


# --------------------------------------------------- precision / accumulation
def test_bf16_autocast_step_on_cpu(tmp_path, tiny):
    cfg = tiny_config(tiny, tmp_path / "bf16", "train.amp=bf16", "train.stop_after_steps=1")
    torch.manual_seed(cfg["train"]["seed"])
    before = build_model(cfg["model"], 8).state_dict()
    summary = train(cfg)
    after = load_checkpoint(summary["checkpoint"])["model"]
    assert all(v.dtype == before[k].dtype for k, v in after.items())  # weights stay fp32
    assert all(torch.isfinite(v.float()).all() for v in after.values())
    assert not torch.equal(after["fc.weight"], before["fc.weight"])


def test_tpn_trains_its_auxiliary_head(tmp_path, tiny):
    """The engine adds the network's auxiliary loss: TPN's layer3 head learns too (without it no gradient
    reaches that head, and DistributedDataParallel stops at the second step on a parameter without one)."""
    cfg = tiny_config(tiny, tmp_path / "tpn", "model.name=tpn_resnet50_f8s8_kinetics400", "model.kwargs={}",
                      "data.clip_len=8", "data.frame_step=1", "train.stop_after_steps=1")
    torch.manual_seed(cfg["train"]["seed"])
    before = build_model(cfg["model"], 8).state_dict()
    after = load_checkpoint(train(cfg)["checkpoint"])["model"]
    assert not torch.equal(after["aux_head.fc.weight"], before["aux_head.fc.weight"])
    assert not torch.equal(after["head.fc.weight"], before["head.fc.weight"])


def test_gradient_accumulation_matches_a_big_batch(tmp_path, tiny):
    # BatchNorm frozen (eval statistics) so a sample's gradient does not depend on its batch mates
    bn = "[features.1,features.4,features.7,features.10]"
    common = [f"model.freeze={bn}", "train.stop_after_steps=2", "train.weight_decay=0", "train.deterministic=true"]
    big = train(tiny_config(tiny, tmp_path / "big", "data.batch_size=4", "train.accumulate=1", *common))
    acc = train(tiny_config(tiny, tmp_path / "acc", "data.batch_size=2", "train.accumulate=2", *common))
    a, b = load_checkpoint(big["checkpoint"])["model"], load_checkpoint(acc["checkpoint"])["model"]
    assert big["global_step"] == acc["global_step"] == 2
    for key in _params(a):
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)


# --------------------------------------------------------- resume / outputs
def test_kill_and_resume_gives_the_same_weights(tmp_path, tiny):
    extra = ["train.epochs=2", "train.deterministic=true", "train.val_every=1", "model.kwargs.dropout_ratio=0.5",
             "data.num_workers=1"]
    full = train(tiny_config(tiny, tmp_path / "full", *extra))
    stopped = train(tiny_config(tiny, tmp_path / "cut", *extra, "train.stop_after_steps=3"))  # mid-epoch 1
    assert stopped["stopped_early"] and stopped["global_step"] == 3
    ckpt = load_checkpoint(tmp_path / "cut" / "last.pth")  # weights_only=True
    assert ckpt["step_in_epoch"] == 3 and isinstance(ckpt["rng"][0]["torch"], torch.Tensor)
    resumed = train(tiny_config(tiny, tmp_path / "cut", *extra), resume="auto")
    assert resumed["global_step"] == full["global_step"] == 8
    a = load_checkpoint(tmp_path / "full" / "last.pth")
    b = load_checkpoint(tmp_path / "cut" / "last.pth")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    assert a["scheduler"]["last_epoch"] == b["scheduler"]["last_epoch"]
    # outputs: resolved config, per-epoch logs, best checkpoint, bad-video count
    assert yaml.safe_load((tmp_path / "full" / "config.yaml").read_text())["train"]["epochs"] == 2
    rows = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and "val_top1" in rows[0]
    assert (tmp_path / "full" / "log.csv").read_text().startswith("epoch,step,lr,train_loss")
    assert (tmp_path / "full" / "best.pth").is_file() and full["bad_videos_skipped"] == 0


def test_bad_videos_are_skipped_and_counted(tmp_path, tiny):
    broken = tmp_path / "data"
    broken.mkdir()
    lines = tiny.train_list.read_text().splitlines()
    (broken / "bad.mp4").write_bytes(b"not a video")
    for line in lines:
        rel = line.split()[0]
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        (broken / rel).symlink_to(tiny.root / rel)
    (broken / "train.txt").write_text("\n".join(lines + ["bad.mp4 8 1"]) + "\n")
    (broken / "classes.txt").write_text(tiny.classes_file.read_text())
    cfg = tiny_config(tiny, tmp_path / "bad", f"data.train_list={broken / 'train.txt'}", "data.batch_size=9",
                      "train.epochs=1")
    summary = train(cfg)
    assert summary["bad_videos_skipped"] == 1 and summary["bad_files"][0].endswith("bad.mp4")


# -------------------------------------------------------------- distributed
def test_torchrun_two_processes_match_one_process_with_accumulation(tmp_path, tiny):
    """2 ranks x batch 1 (DDP, gloo) == 1 process x batch 1 x 2 accumulation steps: same samples per step."""
    args = [*TINY, f"data.train_list={tiny.train_list}", "data.batch_size=1", "train.stop_after_steps=2",
            "train.weight_decay=0", "train.device=cpu"]
    proc = run_script([*torchrun(2), str(ROOT / "scripts" / "train_recognizer.py"), *args,
                       f"output.work_dir={tmp_path / 'ddp'}", "--quiet"])
    assert proc.stdout.count("bad videos skipped:") == 1, "only rank 0 prints the summary"
    single = train(load_config(None, [*args, "train.accumulate=2", f"output.work_dir={tmp_path / 'one'}"]))
    ddp = load_checkpoint(tmp_path / "ddp" / "last.pth")
    one = load_checkpoint(single["checkpoint"])
    assert ddp["world_size"] == 2 and len(ddp["rng"]) == 2 and ddp["global_step"] == one["global_step"] == 2
    for key, value in _params(one["model"]).items():
        torch.testing.assert_close(ddp["model"][key], value, rtol=1e-4, atol=1e-6, msg=key)
    assert not any(p.name.endswith(".tmp") for p in (tmp_path / "ddp").iterdir())


def test_frozen_stages_count_as_mmaction2_and_hold_after_train():
    """0 freezes the stem only, N the stem and N stages; the model keeps them frozen through ``train()``."""
    cfg = {"name": "i3d_resnet50_v1_kinetics400", "kwargs": {"layers": [1, 1, 1, 1]}}
    stem_only = build_model({**cfg, "frozen_stages": 0}, 4)
    frozen = {n.split(".")[0] for n, p in stem_only.named_parameters() if not p.requires_grad}
    assert frozen == {"stem"}
    two = build_model({**cfg, "frozen_stages": 2, "freeze": ["layer4"]}, 4).train()
    frozen = {n.split(".")[0] for n, p in two.named_parameters() if not p.requires_grad}
    assert frozen == {"stem", "layer1", "layer2", "layer4"}
    norms = {n.split(".")[0]: m.training for n, m in two.named_modules() if isinstance(m, torch.nn.BatchNorm3d)}
    assert norms == {"stem": False, "layer1": False, "layer2": False, "layer3": True, "layer4": False}


def test_freeze_names_a_module_the_model_lacks():
    with pytest.raises(ValueError, match="does not have"):
        build_model({"name": "simple3d_synthetic", "freeze": ["backbone.9"], "kwargs": {"widths": [4, 8]}}, 8)
