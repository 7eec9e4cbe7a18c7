"""Registry look-ups, wildcards, suggestions, tags, num_classes changes, manifests."""
from __future__ import annotations

import dataclasses
import json
import logging

import pytest
import torch

import zoo
from conftest import reregister
from zoo.registry import WeightsEntry

from _engine_helpers import ROOT
from _http import FaultyServer

X = torch.linspace(-2, 2, 2 * 3 * 8 * 32 * 32).reshape(2, 3, 8, 32, 32).sin()


def _logits(model):
    with torch.no_grad():
        return model.eval()(X)


def test_list_with_wildcards_and_filters():
    names = zoo.get_model_list()
    assert names == sorted(names) and "simple3d_synthetic" in names
    builtin = [n for n in zoo.get_model_list("simple*") if not zoo.model_card(n).source.startswith("manifest")]
    assert builtin == ["simple2d_synthetic", "simple3d_synthetic"]
    assert zoo.get_model_list("*_synthetic", dataset="synthetic")
    assert zoo.get_model_list("simple*", dataset="nope") == []
    with_weights = zoo.get_model_list(pretrained=True)
    assert all(zoo.model_card(n).weights for n in with_weights)
    assert all(not zoo.model_card(n).weights for n in zoo.get_model_list(pretrained=False))


def test_unknown_name_suggests_close_names():
    with pytest.raises(KeyError) as err:
        zoo.get_model("simple3d_synthtic")
    assert isinstance(err.value, zoo.UnknownModelError)
    assert "simple3d_synthetic" in str(err.value)


def test_card_is_frozen_and_complete():
    card = zoo.model_card("simple3d_synthetic")
    assert card.family == "simple3d" and card.num_classes == 8 and card.input.clip_len == 8
    with pytest.raises(dataclasses.FrozenInstanceError):
        card.num_classes = 3  # type: ignore[misc]
    assert card.input.example_shape(2) == (2, 3, 8, 56, 56)


def test_builder_kwargs_pass_through():
    net = zoo.get_model("simple3d_synthetic", dropout_ratio=0.0, widths=(8, 8, 8, 16))
    assert net.dropout.p == 0.0 and net.forward_features(X).shape == (2, 16)
    assert zoo.get_model("simple3d_synthetic", num_classes=3)(X).shape == (2, 3)


@pytest.fixture
def two_versions(zoo_home):
    """A published name with two weights versions, served from the local hub folder."""
    a = zoo.get_model("simple3d_synthetic")
    b = zoo.get_model("simple3d_synthetic")
    ea = zoo.publish(a, "vnet", "simple3d_synthetic")
    eb = zoo.publish(b, "vnet", "simple3d_synthetic")  # newest becomes the default
    return a, b, ea, eb


def test_pretrained_true_tag_and_local_file(two_versions, zoo_home):
    a, b, ea, eb = two_versions
    assert torch.equal(_logits(zoo.get_model("vnet", pretrained=True)), _logits(b))
    assert torch.equal(_logits(zoo.get_model("vnet", pretrained=ea.tag[:6])), _logits(a))
    assert torch.equal(_logits(zoo.get_model("vnet", pretrained=str(zoo_home / "hub" / ea.file))), _logits(a))


def test_unknown_and_ambiguous_tags(two_versions):
    a, b, ea, eb = two_versions
    with pytest.raises(zoo.UnknownTagError) as err:
        zoo.get_model("vnet", pretrained="ffff0000")
    assert ea.tag in str(err.value) and eb.tag in str(err.value)
    card = zoo.model_card("vnet")
    # shares ea's first 4 hex digits, differs at the 5th: a distinct tag, an ambiguous 4-digit prefix
    fifth = "f" if ea.sha1[4] != "f" else "e"
    twin = WeightsEntry(sha1=ea.sha1[:4] + fifth + "0" * 35, file="x.safetensors")
    reregister("vnet", weights=card.weights + (twin,))
    with pytest.raises(zoo.UnknownTagError, match="ambiguous"):
        zoo.get_model("vnet", pretrained=ea.sha1[:4])


def test_num_classes_change_keeps_backbone_and_logs(two_versions, caplog):
    a, b, ea, eb = two_versions
    with caplog.at_level(logging.INFO, logger="zoo.weights"):
        net = zoo.get_model("vnet", pretrained=True, num_classes=3)
    assert "fc.weight" in caplog.text and "fc.bias" in caplog.text
    assert net.fc.out_features == 3
    for key, value in b.state_dict().items():
        if not key.startswith("fc."):
            assert torch.equal(net.state_dict()[key], value), key


def test_a_load_builds_the_model_once(two_versions, tmp_path):
    a, b, ea, eb = two_versions
    card, calls = zoo.model_card("vnet"), []

    def counting_builder(**kwargs):
        calls.append(kwargs)
        return card.builder(**kwargs)

    reregister("vnet", builder=counting_builder)
    net = zoo.get_model("vnet", pretrained=True, num_classes=5)
    assert len(calls) == 1 and net.fc.out_features == 5
    path = tmp_path / "b.pth"
    torch.save(b.state_dict(), path)
    calls.clear()
    assert torch.equal(_logits(zoo.get_model("vnet", pretrained=path)), _logits(b)) and len(calls) == 1


def test_pretrained_without_weights_names_an_alternative():
    with pytest.raises(zoo.WeightsError, match="no published weights"):
        zoo.get_model("simple2d_synthetic", pretrained=True)


def test_pretrained_build_skips_random_init(two_versions, monkeypatch):
    calls = []
    original = torch.nn.init.kaiming_normal_
    monkeypatch.setattr(torch.nn.init, "kaiming_normal_", lambda t, *a, **k: calls.append(t.device) or original(t, *a, **k))
    zoo.get_model("vnet", pretrained=True)
    assert all(d.type == "meta" for d in calls), "weights that get overwritten must not be initialised for real"


def test_skipping_init_in_one_thread_leaves_other_threads_initialising():
    """A meta build skips ``torch.nn.init`` in its own thread only: a model built elsewhere meanwhile is initialised."""
    import threading

    from zoo.state import skip_init

    inside, done, skipped = threading.Event(), threading.Event(), []

    def build_on_meta():
        with skip_init():
            inside.set()
            done.wait(10)
            skipped.append(torch.nn.init.constant_(torch.zeros(3), 5.0))

    worker = threading.Thread(target=build_on_meta)
    worker.start()
    assert inside.wait(10)
    try:
        assert torch.equal(torch.nn.init.constant_(torch.zeros(3), 5.0), torch.full((3,), 5.0))
        assert torch.nn.Linear(4, 4).weight.abs().sum() > 0
    finally:
        done.set()
        worker.join(10)
    assert len(skipped) == 1 and not skipped[0].any(), "inside skip_init the init is a no-op"
    assert torch.equal(torch.nn.init.constant_(torch.zeros(3), 5.0), torch.full((3,), 5.0))
    assert torch.nn.init.constant_.__module__ == "torch.nn.init", "the originals are back once no build skips"


def test_missing_local_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        zoo.get_model("simple3d_synthetic", pretrained=str(tmp_path / "none.safetensors"))


def test_user_manifest_from_env_over_http(zoo_home, tmp_path, monkeypatch):
    net = zoo.get_model("simple3d_synthetic", num_classes=5)
    hub_dir = tmp_path / "teamhub"
    entry = zoo.publish(net, "team_net", "simple3d_synthetic", hub_dir=hub_dir)
    manifest = json.loads((hub_dir / "manifest.json").read_text())
    assert manifest["models"][0]["num_classes"] == 5
    team_manifest = tmp_path / "team.json"
    manifest["models"][0]["name"] = "team_net2"
    team_manifest.write_text(json.dumps(manifest))
    with FaultyServer({"/" + entry.file: (hub_dir / entry.file).read_bytes()}) as srv:
        monkeypatch.setenv("ZOO_REPO_URL", srv.url)
        monkeypatch.setenv("ZOO_MANIFEST", str(team_manifest))
        loaded = zoo.get_model("team_net2", pretrained=True)
        assert srv.count("/" + entry.file) == 1
    assert torch.equal(_logits(loaded), _logits(net))


def test_manifest_errors_are_clear(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="bad.json"):
        zoo.register_manifest(bad)
    bad.write_text(json.dumps({"models": [{"name": "x", "arch": "no_such_arch"}]}))
    with pytest.raises(KeyError, match="no_such_arch"):
        zoo.register_manifest(bad)
    bad.write_text(json.dumps({"models": [{"name": "simple3d_synthetic", "arch": "simple3d_synthetic"}]}))
    with pytest.raises(ValueError, match="built-in"):
        zoo.register_manifest(bad)


def test_yaml_manifest(tmp_path):
    net = zoo.get_model("simple3d_synthetic")
    entry = zoo.publish(net, "yaml_net", "simple3d_synthetic", hub_dir=tmp_path / "h")
    text = f"models:\n  - name: yaml_net2\n    arch: simple3d_synthetic\n    num_classes: 8\n    weights:\n      - sha1: {entry.sha1}\n        file: {entry.file}\n        url: {(tmp_path / 'h' / entry.file).as_uri()}\n"
    (tmp_path / "m.yaml").write_text(text)
    assert zoo.register_manifest(tmp_path / "m.yaml") == ["yaml_net2"]
    assert torch.equal(_logits(zoo.get_model("yaml_net2", pretrained=True)), _logits(net))


def test_pretrained_model_holds_the_files_tensors_and_trains(two_versions):
    a, b, ea, eb = two_versions
    net = zoo.get_model("vnet", pretrained=True)
    state = net.state_dict()
    assert state.keys() == b.state_dict().keys()
    for key, value in b.state_dict().items():
        assert torch.equal(state[key], value) and state[key].dtype == value.dtype, key
    params = dict(net.named_parameters())
    assert params.keys() == dict(b.named_parameters()).keys()
    assert all(isinstance(p, torch.nn.Parameter) and p.requires_grad and not p.is_meta for p in params.values())
    assert not any(t.is_meta for t in net.buffers())
    stat = next(k for k in state if k.endswith("running_mean"))
    before = {k: v.clone() for k, v in params.items()} | {stat: state[stat].clone()}
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    net.train()(X).logsumexp(1).mean().backward()
    opt.step()
    assert all(p.grad is not None for p in params.values())
    assert all(not torch.equal(before[k], p) for k, p in params.items() if p.grad.abs().sum() > 0)
    assert not torch.equal(net.state_dict()[stat], before[stat]), "BatchNorm statistics are live buffers"


def test_weights_of_another_configuration_are_refused_not_reinitialised(tmp_path):
    """Only the classifier's class axis may differ; any other shape mismatch is an error naming the keys."""
    from safetensors.torch import save_file

    narrow = zoo.get_model("simple3d_synthetic", widths=(8, 16, 32, 64))
    path = tmp_path / "narrow.safetensors"
    save_file({k: v.contiguous() for k, v in narrow.state_dict().items()}, str(path))
    with pytest.raises(zoo.WeightsError, match=r"shape mismatch: .*\(8, 3, 3, 3, 3\) vs") as err:
        zoo.get_model("simple3d_synthetic", pretrained=str(path))
    assert "another architecture or configuration" in str(err.value)
    with pytest.raises(zoo.WeightsError, match="shape mismatch"):  # a new class count does not excuse it
        zoo.get_model("simple3d_synthetic", pretrained=str(path), num_classes=3)
    extra = {k: v.contiguous() for k, v in zoo.get_model("simple3d_synthetic").state_dict().items()}
    extra["head.extra"] = torch.zeros(2)
    save_file(extra, str(tmp_path / "extra.safetensors"))
    with pytest.raises(zoo.WeightsError, match="unexpected: head.extra"):
        zoo.get_model("simple3d_synthetic", pretrained=str(tmp_path / "extra.safetensors"), num_classes=3)


# --------------------------------------------------------------------------------------------
# The catalogue: names written where they live, counted figures from one place, card fixes
# --------------------------------------------------------------------------------------------


def test_every_registered_name_is_written_in_exactly_one_family_file():
    from pathlib import Path

    from zoo.registry import all_cards

    files = {p.name: p.read_text() for p in (Path(zoo.__file__).parent / "models").glob("*.py")}
    builtin = [c.name for c in all_cards() if not c.source.startswith("manifest")]
    assert len(builtin) >= 136
    where = {n: [f for f, text in files.items() if f'"{n}"' in text] for n in builtin}
    assert {n: fs for n, fs in where.items() if len(fs) != 1} == {}


def test_counted_figures_come_from_model_stats_only():
    from pathlib import Path

    from zoo.registry import all_cards, register_model

    stats = json.loads((Path(zoo.__file__).parent / "model_stats.json").read_text())
    for card in all_cards():
        if card.name in stats:
            assert (card.params_m, card.gflops) == (stats[card.name]["params_m"], stats[card.name]["gflops"]), card.name
    card = zoo.model_card("x3d_m")
    with pytest.raises(ValueError, match="disagrees with the counted"):
        register_model("x3d_m", card.builder, family="x3d", num_classes=400, replace_existing=True, gflops=1.0)


def test_registration_leak_probe_registers():
    from zoo.registry import register_model

    register_model("leak_probe_net", zoo.model_card("simple3d_synthetic").builder, family="simple3d", num_classes=2)
    assert "leak_probe_net" in zoo.get_model_list()


def test_registration_leak_probe_is_gone():
    """Runs after the test above (same file, same worker): the snapshot fixture removed its name."""
    assert "leak_probe_net" not in zoo.get_model_list()


def test_weights_version_with_its_own_input():
    from zoo.engine.config import card_protocol

    for name, tag in (("vgg16_ucf101", "05e319d4"), ("inceptionv3_ucf101", "0c453da8"), ("resnet50_v1b_hmdb51", "ba66ee4b")):
        card = zoo.model_card(name)
        assert card.input.num_segments == 3 and card.input_for(card.default_weights()) == card.input
        one = card.input_for(card.find_weights(tag))
        assert one.num_segments == 1 and one.crop_size == card.input.crop_size
        assert card_protocol(name, tag)["num_segments"] == 1 and card_protocol(name)["num_segments"] == 3


def test_audited_card_facts():
    for name in ("r3d_18_kinetics400", "mc3_18_kinetics400", "r2plus1d_18_kinetics400", "s3d_kinetics400"):
        assert zoo.model_card(name).input.frame_step == 2, name  # torchvision samples Kinetics at 15 fps
    entry = zoo.model_card("resnet50_v1b_sthsthv2").find_weights("cbb9167b")
    assert entry.recipe.endswith("/resnet50_v1b_sthsthv2.yaml")
    r2p1d = zoo.model_card("r2plus1d_v2_resnet152_kinetics400")
    assert (r2p1d.input.clip_len, r2p1d.input.frame_step) == (32, 2)  # GluonCV's config (CLIP_LEN 32, FRAME_RATE 2)


def test_every_builtin_name_is_written_literally_in_exactly_one_family_file():
    """Grepping a name lands on the one family file that registers it."""
    from zoo.catalogue import all_cards

    families = {path.name: path.read_text() for path in (ROOT / "zoo" / "models").glob("*.py")}
    for card in all_cards():
        if card.source.startswith("manifest"):
            continue
        holders = [name for name, text in families.items() if f'"{card.name}"' in text]
        assert len(holders) == 1, f"{card.name} is written in {holders or 'no family file'}"
        assert holders[0] == f"{card.family}.py" or card.family in families[holders[0]], (card.name, holders)
