"""GluonCV PyTorch zoo, ResNet families (TSN ResNet v1b, I3D ResNet / non-local, I3D-slow, SlowFast):
parity with every fixture of these families in ../shared/fixtures/gluoncv/, their published weights
entries, and loading a local GluonCV-torch ``.pth`` through ``get_model``.

Parity: upstream-keyed deterministic weights (``det_weights.det_state_dict``; GluonCV I3D's aliased keys
all set to the group's effective tensor), converted by the card's ``pth`` converter, loaded strictly,
run on the fixture input in eval mode; logits must match within ``1e-4 * max(1, max|ref|)``.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import torch

from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError, get_model
from _fixtures import gluoncv_fixture
from _shared import require

pytestmark = pytest.mark.parity

# (zoo name, fixture name); the SlowFast names shared with the MXNet zoo are "<name>_torch" here.
CASES = [
    ("resnet18_v1b_kinetics400", "resnet18_v1b_kinetics400"),
    ("resnet34_v1b_kinetics400", "resnet34_v1b_kinetics400"),
    ("resnet50_v1b_kinetics400", "resnet50_v1b_kinetics400"),
    ("resnet101_v1b_kinetics400", "resnet101_v1b_kinetics400"),
    ("resnet152_v1b_kinetics400", "resnet152_v1b_kinetics400"),
    ("resnet50_v1b_sthsthv2", "resnet50_v1b_sthsthv2"),
    ("resnet50_v1b_custom", "resnet50_v1b_custom"),
    ("i3d_resnet50_v1_kinetics400", "i3d_resnet50_v1_kinetics400"),
    ("i3d_resnet50_v1_sthsthv2", "i3d_resnet50_v1_sthsthv2"),
    ("i3d_resnet50_v1_custom", "i3d_resnet50_v1_custom"),
    ("i3d_nl5_resnet50_v1_kinetics400", "i3d_nl5_resnet50_v1_kinetics400"),
    ("i3d_nl10_resnet50_v1_kinetics400", "i3d_nl10_resnet50_v1_kinetics400"),
    ("i3d_slow_resnet50_f8s8_kinetics400", "i3d_slow_resnet50_f8s8_kinetics400"),
    ("i3d_slow_resnet50_f16s4_kinetics400", "i3d_slow_resnet50_f16s4_kinetics400"),
    ("i3d_slow_resnet50_f32s2_kinetics400", "i3d_slow_resnet50_f32s2_kinetics400"),
    ("i3d_slow_resnet50_f32s2_custom", "i3d_slow_resnet50_f32s2_custom"),
    ("slowfast_4x16_resnet50_kinetics400_torch", "slowfast_4x16_resnet50_kinetics400"),
    ("slowfast_4x16_resnet50_custom_torch", "slowfast_4x16_resnet50_custom"),
    ("slowfast_8x8_resnet50_kinetics400_torch", "slowfast_8x8_resnet50_kinetics400"),
    ("slowfast_16x8_resnet50_sthsthv2", "slowfast_16x8_resnet50_sthsthv2"),
]
# ResNet-101 3D networks at 8-64 frames: 10-30 s each on a shared CPU.
SLOW_CASES = [
    ("i3d_resnet101_v1_kinetics400", "i3d_resnet101_v1_kinetics400"),
    ("i3d_nl5_resnet101_v1_kinetics400", "i3d_nl5_resnet101_v1_kinetics400"),
    ("i3d_nl10_resnet101_v1_kinetics400", "i3d_nl10_resnet101_v1_kinetics400"),
    ("i3d_slow_resnet101_f8s8_kinetics400", "i3d_slow_resnet101_f8s8_kinetics400"),
    ("i3d_slow_resnet101_f16s4_kinetics400", "i3d_slow_resnet101_f16s4_kinetics400"),
    ("i3d_slow_resnet101_f16s4_kinetics700", "i3d_slow_resnet101_f16s4_kinetics700"),
    ("i3d_slow_resnet101_f32s2_kinetics400", "i3d_slow_resnet101_f32s2_kinetics400"),
    ("slowfast_4x16_resnet101_kinetics400_torch", "slowfast_4x16_resnet101_kinetics400"),
    ("slowfast_8x8_resnet101_kinetics400_torch", "slowfast_8x8_resnet101_kinetics400"),
    ("slowfast_16x8_resnet101_kinetics400_torch", "slowfast_16x8_resnet101_kinetics400"),
    ("slowfast_16x8_resnet101_50_50_kinetics400_torch", "slowfast_16x8_resnet101_50_50_kinetics400"),
]
ALL_CASES = CASES + SLOW_CASES


def _upstream_state(det_weights, fx: dict) -> dict[str, torch.Tensor]:
    """Upstream-keyed det weights; every key of an alias group holds the group's effective tensor."""
    state = det_weights.det_state_dict(fx["state_dict"], fx["norm_prefixes"])
    for group in fx.get("aliased_keys", {}).get("groups", []):
        for key in group["keys"]:
            state[key] = state[group["effective"]]
    return state


def _run_parity(name: str, fx: dict, det_weights) -> float:
    card = model_card(name)
    model = get_model(name, num_classes=fx["num_classes"])
    state = get_converter(card.converters["pth"])(_upstream_state(det_weights, fx), model)
    model.load_state_dict(state, strict=True)
    model.eval()
    with torch.no_grad():
        out = model(det_weights.fixture_input(fx))
    ok, diff, tol = det_weights.compare_logits(out, fx)
    assert ok, f"{name}: max|delta| = {diff:.3g} > tolerance {tol:.3g}"
    return diff


@pytest.mark.parametrize("name, fixture_name", CASES, ids=[c[0] for c in CASES])
def test_matches_gluoncv_torch_fixture(name, fixture_name, shared_dir, det_weights):
    _run_parity(name, gluoncv_fixture(shared_dir, fixture_name), det_weights)


@pytest.mark.slow
@pytest.mark.parametrize("name, fixture_name", SLOW_CASES, ids=[c[0] for c in SLOW_CASES])
def test_matches_gluoncv_torch_fixture_resnet101(name, fixture_name, shared_dir, det_weights):
    _run_parity(name, gluoncv_fixture(shared_dir, fixture_name), det_weights)


def test_every_fixture_of_these_families_is_covered(shared_dir):
    folder = require(shared_dir / "fixtures" / "gluoncv")
    families = ("resnet", "i3d_", "slowfast_")
    fixtures = {p.stem for p in folder.glob("*.json") if p.stem.startswith(families)}
    assert fixtures == {f for _, f in ALL_CASES}


@pytest.mark.parametrize("name, fixture_name", ALL_CASES, ids=[c[0] for c in ALL_CASES])
def test_published_torch_weights_entry(name, fixture_name, shared_dir):
    """The card lists GluonCV-torch's published file (sha1, URL layout, top-1) with the pth converter."""
    fx = gluoncv_fixture(shared_dir, fixture_name)
    card = model_card(name)
    torch_entries = [w for w in card.weights if w.format == "pth"]
    if not fx["pretrained_weights"]:
        assert not torch_entries, f"{name}: GluonCV publishes no PyTorch weights, the card lists {torch_entries}"
        return
    (published,) = fx["pretrained_weights"]
    (entry,) = torch_entries
    assert entry.sha1 == published["sha1"]
    assert entry.repo == "gluoncv" and entry.url == f"torch/models/{published['name']}-{published['sha1'][:8]}.pth"
    assert published["url"].endswith("/" + entry.url)
    assert entry.converter == card.converters["pth"]
    assert (entry.num_classes or card.num_classes) == (400 if "custom" in name else fx["num_classes"])
    accuracy = fx["published_accuracy"]
    if accuracy is not None:
        assert entry.accuracy is not None and entry.accuracy.top1 == pytest.approx(accuracy["top1"])
    mxnet_entries = [w for w in card.weights if w.format == "params"]
    # A name shared with the MXNet zoo keeps the MXNet weights as default; PyTorch-only names default to theirs.
    assert entry.default == (not mxnet_entries)
    if mxnet_entries:
        assert card.default_weights().format == "params"
        assert card.find_weights(entry.tag) is entry


def test_slowfast_torch_names_take_the_fast_clip_only():
    """`<name>_torch` SlowFast = the MXNet network on GluonCV-torch's input: Slow = every alpha-th Fast frame."""
    torch.manual_seed(0)
    ours = get_model("slowfast_4x16_resnet50_kinetics400_torch").eval()
    mxnet = get_model("slowfast_4x16_resnet50_kinetics400").eval()
    mxnet.load_state_dict(ours.state_dict())
    x = torch.randn(1, 3, 32, 32, 32)
    with torch.no_grad():
        fast_only = ours(x)
        concatenated = mxnet(torch.cat([x, x[:, :, ::8]], dim=2))
    torch.testing.assert_close(fast_only, concatenated)
    assert model_card("slowfast_4x16_resnet50_kinetics400_torch").input.clip_len == 32
    with pytest.raises(ValueError, match="fast frames"):
        mxnet(x)


def _save_upstream_pth(det_weights, fx: dict, path: Path) -> Path:
    torch.save(_upstream_state(det_weights, fx), path)
    return path


@pytest.mark.parametrize("name", ["resnet18_v1b_kinetics400", "i3d_slow_resnet50_f8s8_kinetics400"])
def test_get_model_converts_a_local_gluoncv_torch_pth(name, shared_dir, det_weights, tmp_path):
    fx = gluoncv_fixture(shared_dir, name)
    path = _save_upstream_pth(det_weights, fx, tmp_path / f"{name}.pth")
    model = get_model(name, pretrained=str(path)).eval()
    with torch.no_grad():
        out = model(det_weights.fixture_input(fx))
    ok, diff, tol = det_weights.compare_logits(out, fx)
    assert ok, f"{name} from a local .pth: max|delta| = {diff:.3g} > tolerance {tol:.3g}"


def test_local_pth_with_a_missing_key_names_it(shared_dir, det_weights, tmp_path):
    fx = gluoncv_fixture(shared_dir, "i3d_slow_resnet50_f8s8_kinetics400")
    state = _upstream_state(det_weights, fx)
    del state["layer3.2.conv2.weight"]
    state["layer9.0.conv1.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "broken.pth")
    with pytest.raises(WeightsError, match=r"missing: layer3\.2\.conv2\.weight.*unexpected: layer9\.0\.conv1\.weight"):
        get_model("i3d_slow_resnet50_f8s8_kinetics400", pretrained=str(tmp_path / "broken.pth"))


def test_torch_tag_downloads_from_gluoncv_layout(shared_dir, det_weights, tmp_path, monkeypatch):
    """`pretrained="<torch tag>"` on a name whose default is MXNet fetches `torch/models/{name}-{tag}.pth`."""
    from _http import FaultyServer

    from conftest import reregister
    from zoo.models._published import published

    name = "resnet18_v1b_kinetics400"
    fx = gluoncv_fixture(shared_dir, name)
    data = _save_upstream_pth(det_weights, fx, tmp_path / "served.pth").read_bytes()
    sha1 = hashlib.sha1(data).hexdigest()
    card = model_card(name)
    served = published(f"{name}-{sha1[:8]}.pth", card.converters["pth"], sha1=sha1)
    reregister(name, weights=tuple(w for w in card.weights if w.format != "pth") + (served,))
    url_path = f"/torch/models/{name}-{sha1[:8]}.pth"
    with FaultyServer({url_path: data}) as server:
        monkeypatch.setenv("ZOO_REPO_URL_GLUONCV", server.url)
        model = get_model(name, pretrained=sha1[:8]).eval()
        assert server.count(url_path) == 1
    assert model.zoo_weights == f"{name}:{sha1[:8]}"
    with torch.no_grad():
        out = model(det_weights.fixture_input(fx))
    ok, diff, tol = det_weights.compare_logits(out, fx)
    assert ok, f"max|delta| = {diff:.3g} > tolerance {tol:.3g}"


def test_a_file_for_another_name_says_which_names_it_fits(shared_dir, det_weights, tmp_path):
    """A GluonCV-PyTorch SlowFast .pth given to the MXNet-layout name names the `_torch` names it fits."""
    from zoo.weights import identify

    fx = gluoncv_fixture(shared_dir, "slowfast_4x16_resnet50_kinetics400")
    state = _upstream_state(det_weights, fx)
    assert identify(state, "pth") == ["slowfast_4x16_resnet50_custom_torch", "slowfast_4x16_resnet50_kinetics400_torch"]
    path = tmp_path / "slowfast_4x16_resnet50_kinetics400-1d1eadb2.pth"
    torch.save(state, path)
    with pytest.raises(WeightsError, match=r"these weights fit slowfast_4x16_resnet50_custom_torch, "
                                           r"slowfast_4x16_resnet50_kinetics400_torch") as err:
        get_model("slowfast_4x16_resnet50_kinetics400", pretrained=str(path))
    assert "missing" not in str(err.value)
    assert get_model("slowfast_4x16_resnet50_kinetics400_torch", pretrained=str(path)).zoo_weights == str(path)
