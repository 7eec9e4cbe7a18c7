"""TPN (GluonCV PyTorch zoo) against the shared upstream fixtures (../shared/fixtures/gluoncv/tpn_*.json).

Parity: upstream-keyed deterministic weights (``det_weights.det_state_dict``) go through the card's
``pth`` converter, load strictly, and the eval logits on the fixture's input must match upstream's
within ``1e-4 * max(1, max|ref|)`` (``det_weights.compare_logits``).  The ``*_custom`` case loads
the same weights the way a user would, from a ``.pth`` file via ``get_model(name, pretrained=path)``.
Cards are checked against the fixtures' published facts.  Skips when ../shared is absent.
"""
from __future__ import annotations


import pytest
import torch

from zoo.registry import get_converter, model_card
from zoo.weights import WeightsError, get_model
from zoo.models.tpn import TPNet
from _fixtures import gluoncv_fixture

R50_NAMES = ["tpn_resnet50_f8s8_kinetics400", "tpn_resnet50_f16s4_kinetics400", "tpn_resnet50_f32s2_kinetics400"]
R101_NAMES = ["tpn_resnet101_f8s8_kinetics400", "tpn_resnet101_f16s4_kinetics400", "tpn_resnet101_f32s2_kinetics400"]
ALL_NAMES = R50_NAMES + R101_NAMES + ["tpn_resnet50_f32s2_custom"]


def _run(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(x)


@pytest.mark.parametrize(
    "name",
    R50_NAMES + [pytest.param(n, marks=pytest.mark.slow) for n in R101_NAMES],
)
def test_matches_gluoncv_tpn_fixture(name, shared_dir, det_weights):
    fx = gluoncv_fixture(shared_dir, name)
    upstream = det_weights.det_state_dict(fx["state_dict"], fx["norm_prefixes"])
    model = get_model(name, num_classes=fx["num_classes"])
    state = get_converter(model_card(name).converters["pth"])(upstream, model)
    model.load_state_dict(state, strict=True)
    out = _run(model, det_weights.fixture_input(fx))
    ok, diff, tol = det_weights.compare_logits(out, fx)
    assert ok, f"{name}: max|delta| = {diff:.3g} > tolerance {tol:.3g}"


def test_custom_loads_upstream_pth_file(shared_dir, det_weights, tmp_path):
    """``get_model(custom, pretrained=<GluonCV-keyed .pth>)`` converts, loads and reproduces upstream."""
    fx = gluoncv_fixture(shared_dir, "tpn_resnet50_f32s2_custom")
    path = tmp_path / "tpn_resnet50_f32s2_kinetics400-upstream.pth"
    torch.save(det_weights.det_state_dict(fx["state_dict"], fx["norm_prefixes"]), path)
    model = get_model("tpn_resnet50_f32s2_custom", pretrained=str(path))
    ok, diff, tol = det_weights.compare_logits(_run(model, det_weights.fixture_input(fx)), fx)
    assert ok, f"custom via .pth: max|delta| = {diff:.3g} > tolerance {tol:.3g}"

    # Fine-tuning on N classes: every weight but the two classifiers comes from the file.
    tuned = get_model("tpn_resnet50_f32s2_custom", pretrained=str(path), num_classes=10)
    assert tuned.head.fc.out_features == 10 and tuned.aux_head.fc.out_features == 10
    loaded = model.state_dict()
    for key, value in tuned.state_dict().items():
        if key.startswith(("head.fc.", "aux_head.fc.")):
            continue
        assert torch.equal(value, loaded[key]), key
    assert _run(tuned, torch.randn(1, 3, 8, 64, 64)).shape == (1, 10)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_card_matches_fixture(name, shared_dir):
    fx = gluoncv_fixture(shared_dir, name)
    card = model_card(name)
    resolved = fx["upstream"]["config"]["resolved"]
    assert card.family == "tpn"
    assert card.dataset == ("custom" if name.endswith("_custom") else "kinetics400")
    assert card.num_classes == fx["num_classes"]
    assert (card.input.clip_len, card.input.frame_step, card.input.crop_size) == (
        resolved["CLIP_LEN"], resolved["FRAME_RATE"], resolved["CROP_SIZE"],
    )
    assert card.converters["pth"] == "gluoncv_tpn"
    (entry,) = card.weights
    (published,) = fx["pretrained_weights"]
    assert entry.sha1 == published["sha1"]
    assert published["url"].endswith(entry.url)
    assert entry.num_classes in (None, 400)
    parent = gluoncv_fixture(shared_dir, published["name"])  # the custom card cites its parent's accuracy
    assert entry.accuracy is not None and entry.accuracy.top1 == parent["published_accuracy"]["top1"]
    neck = fx["upstream"]["constructor_args"]["TPN_neck"]["constructor_args"]
    assert tuple(card.kwargs["temporal_rates"]) == tuple(neck["temporal_modulation_config"]["scales"])
    assert tuple(card.kwargs["downsample_scale"]) == tuple(neck["downsampling_config"]["scales"])
    assert [tuple(s) for s in card.kwargs["fusion_pool_scales"]] == [tuple(s) for s in neck["level_fusion_config"]["ds_scales"]]
    assert card.kwargs["depth"] == fx["upstream"]["constructor_args"]["depth"]


def test_state_dict_layout_matches_upstream(shared_dir):
    """Every upstream tensor has a home in our model and vice versa (counters aside), for both depths."""
    for name in ("tpn_resnet50_f8s8_kinetics400", "tpn_resnet101_f8s8_kinetics400"):
        fx = gluoncv_fixture(shared_dir, name)
        upstream = {k: torch.empty(shape, device="meta") for k, shape, _ in fx["state_dict"]}
        with torch.device("meta"):
            model = get_model(name)
        state = get_converter("gluoncv_tpn")(upstream, model)
        assert set(state) == set(model.state_dict())
        params = sum(v.numel() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked"))
        assert params == sum(v.numel() for k, v in upstream.items() if not k.endswith("num_batches_tracked"))


def test_converter_names_bad_keys(shared_dir):
    fx = gluoncv_fixture(shared_dir, "tpn_resnet50_f8s8_kinetics400")
    upstream = {k: torch.empty(shape, device="meta") for k, shape, _ in fx["state_dict"]}
    del upstream["TPN_neck.pyramid_fusion_op.0.weight"]
    upstream["TPN_neck.not_a_layer.weight"] = torch.empty(3, device="meta")
    upstream["conv1.weight"] = torch.empty(64, 3, 1, 5, 5, device="meta")
    with torch.device("meta"):
        model = get_model("tpn_resnet50_f8s8_kinetics400")
    with pytest.raises(WeightsError) as err:
        get_converter("gluoncv_tpn")(upstream, model)
    message = str(err.value)
    assert "neck.pyramid_fusion.conv.weight" in message  # missing
    assert "TPN_neck.not_a_layer.weight" in message  # unexpected
    assert "stem.conv.weight (from conv1.weight)" in message  # mis-shaped


def test_forward_skips_aux_head_and_training_outputs():
    torch.manual_seed(0)
    model = get_model("tpn_resnet50_f8s8_kinetics400", num_classes=5)
    assert isinstance(model, TPNet)
    calls = []
    model.aux_head.register_forward_hook(lambda *_: calls.append(1))
    x = torch.randn(2, 3, 8, 32, 32)
    logits = _run(model, x)
    assert logits.shape == (2, 5) and not calls

    model.train()
    with torch.no_grad():
        out, aux = model.forward_with_aux(x)
    assert out.shape == aux.shape == (2, 5) and calls == [1]
    loss = model.aux_loss(aux, torch.tensor([0, 3]))
    expected = 0.5 * torch.nn.functional.cross_entropy(aux, torch.tensor([0, 3]))
    assert torch.isfinite(loss) and torch.allclose(loss, expected)

    with torch.no_grad():
        features = get_model("tpn_resnet50_f8s8_kinetics400").eval().forward_features(x)
    assert features.shape == (2, 2048)


def test_training_forward_keeps_the_auxiliary_loss_for_the_engine():
    """In training mode ``forward`` runs the auxiliary head and ``auxiliary_loss`` is its weighted loss
    (the engine adds it, as GluonCV and mmaction2 train TPN); eval mode runs no auxiliary head."""
    import copy
    import pickle

    torch.manual_seed(0)
    model = get_model("tpn_resnet50_f8s8_kinetics400", num_classes=5, dropout_ratio=0.0)
    model.aux_head.dropout.p = 0.0
    x, target = torch.randn(2, 3, 8, 32, 32), torch.tensor([0, 3])
    model.train()
    logits = model(x)
    loss = model.auxiliary_loss(target)
    _, aux = model.forward_with_aux(x)
    assert torch.allclose(loss, 0.5 * torch.nn.functional.cross_entropy(aux, target), rtol=1e-5)
    assert model.auxiliary_loss(target) is None, "a loss is given once per forward"
    loss.backward()
    assert model.aux_head.fc.weight.grad is not None and logits.shape == (2, 5)

    model(x)  # pending again: copies, pickles and eval mode do not carry it
    copy.deepcopy(model), pickle.dumps(model)
    model.eval()
    assert model.auxiliary_loss(target) is None
    with torch.no_grad():
        model(x)
    assert model.auxiliary_loss(target) is None


@pytest.mark.slow
def test_resnet101_runs_on_clips_longer_than_its_config():
    """ResNet-101 TPNs pool their two levels at different rates; a 16-frame clip on the 8-frame
    config gives levels of 4 and 2 frames, which the top-down flow nearest-resizes (upstream would
    fail to broadcast)."""
    model = get_model("tpn_resnet101_f8s8_kinetics400", num_classes=3)
    assert _run(model, torch.randn(1, 3, 16, 32, 32)).shape == (1, 3)
