"""Every registered model has one interface: forward_features, forward_head, reset_classifier, num_features.

Each name is built with ``pretrained=False`` and run in eval mode on a small input of its card's shape
(few frames, small crops where the architecture allows), batch 1:

- ``forward(x)`` equals ``forward_head(forward_features(x))``;
- ``forward_features(x)`` is ``(N, num_features)``;
- ``reset_classifier(k)`` makes the head's output ``(N, k)`` and leaves every other weight as it was.

The whole file takes a few minutes on two idle cores; the biggest networks carry the ``slow`` mark.
"""
from __future__ import annotations

import pytest
import torch

import zoo
from _engine_helpers import cheapest_name_per_family
from zoo.registry import get_model_list, model_card

BATCH = 1
NEW_CLASSES = 13

#: Spatial size where an architecture needs more than the default 32 px.
_CROP = {
    "vgg16": 224,  # fc6 takes exactly 512 x 7 x 7
    "c3d": 112,  # fc6 takes exactly 512 x 1 x 4 x 4
    "s3d_kinetics400": 224,  # the fixed 2x7x7 average pool needs H, W >= 193
    "inceptionv3": 96,  # the unpadded Inception v3 stem needs >= 75 px
    "i3d_inceptionv3": 96,
    "mvit": 64,
    "xclip": 224,  # CLIP's learned position table is for 224 px frames
    "uniformerv2": 112,  # a multiple of both its patch sizes (14, 16)
}
#: Frames where an architecture needs other than 8 (the card's for those built for one clip length).
_FRAMES = {"c3d": 16, "p3d": 16, "s3d_kinetics400": 16, "tsn": 2, "lrcn": 4, "mvit": 4}
#: Constructor arguments that shrink a model built for one clip size.
_KWARGS = {"mvit": {"temporal_size": 4, "spatial_size": 64}, "uniformerv2": {"image_size": 112}}
#: Run with ``-m slow``: deep or wide networks, fixed large inputs, int8 quantisation.
_SLOW = ("resnet152", "resnet101", "16x8", "swin3d_b", "swin3d_s", "ircsn", "c3d", "s3d_kinetics400", "vgg16", "mvit", "_int8",
         "videomae_vit_h", "vjepa2_vith", "vjepa2_vitg", "xclip_base_patch16", "xclip_base_patch32_16x",
         "swin3d_l", "uniformerv2_l14")


def _lookup(table: dict, name: str, family: str, default):
    for key in (name, *sorted((k for k in table if name.startswith(k)), key=len, reverse=True), family):
        if key in table:
            return table[key]
    return default


def _fixed_frames(name: str) -> int | None:
    """T of a model built for one clip length (SlowFast, TSM/TAM, fusion), from its card."""
    card = model_card(name)
    if card.family in ("slowfast", "tsm", "tam", "c2d", "fusion", "xclip", "tanet", "tin", "trn"):
        return card.input.clip_len * card.input.num_segments
    return None


def _input(name: str, batch: int = BATCH):
    """A small input of the card's layout: ``(batch, C, T, H, W)``, or ``(rgb, flow)`` for two streams."""
    card = model_card(name)
    gen = torch.Generator().manual_seed(0)
    crop = _lookup(_CROP, name, card.family, 32)
    if name.endswith("_int8"):
        crop = max(crop, 64)  # PyTorch's quantised mean fails on the 1x1 map a 32-px ResNet ends in
    if card.family == "two_stream":
        segments, flow_len = card.kwargs.get("num_segments", 1), 10
        flow = torch.randn(batch, 2, segments * flow_len, crop, crop, generator=gen)
        if card.input.channels == 2:  # flow stream alone
            return flow
        return torch.randn(batch, 3, segments, crop, crop, generator=gen), flow
    frames = _fixed_frames(name) or _lookup(_FRAMES, name, card.family, 8)
    return torch.randn(batch, card.input.channels, frames, crop, crop, generator=gen)


def _build(name: str, x) -> torch.nn.Module:
    card = model_card(name)
    kwargs = dict(_lookup(_KWARGS, name, card.family, {}))
    if name.endswith("_int8"):
        kwargs["calibration"] = [x]
    return zoo.get_model(name, pretrained=False, **kwargs).eval()


def _params(names: list[str]) -> list:
    """Every name; the default run checks one name per distinct network (builder and its arguments): a name that
    only repeats an earlier one's network with other weights is marked heavy (``make test-heavy`` runs it)."""
    seen, params = set(), []
    for n in names:
        card = model_card(n)
        network = (card.builder, repr(sorted(card.kwargs.items())), n.endswith("_int8"))
        marks = [pytest.mark.slow] if any(s in n for s in _SLOW) else []
        if network in seen:
            marks.append(pytest.mark.heavy)
        seen.add(network)
        params.append(pytest.param(n, marks=marks))
    return params


@pytest.mark.parametrize("name", _params(get_model_list()))
def test_model_interface(name: str) -> None:
    x = _input(name)
    model = _build(name, x)
    with torch.no_grad():
        logits = model(x)
        features = model.forward_features(x)
        head = model.forward_head(features)
    assert features.shape == (BATCH, model.num_features), f"{name}: features {tuple(features.shape)}"
    assert logits.shape == (BATCH, model_card(name).num_classes)
    torch.testing.assert_close(head, logits, rtol=1e-4, atol=1e-4 * max(1.0, logits.abs().max().item()))

    before = {k: v.clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor) and v.is_floating_point()}
    model.reset_classifier(NEW_CLASSES)
    with torch.no_grad():  # forward is forward_head of forward_features (checked above), so one head suffices
        assert model.forward_head(features).shape == (BATCH, NEW_CLASSES)
    after = model.state_dict()
    resized = [k for k, v in before.items() if k in after and after[k].shape != v.shape]
    changed = [k for k, v in before.items() if k in after and after[k].shape == v.shape and not torch.equal(after[k], v)]
    assert resized or name.endswith("_int8"), f"{name}: no classifier was resized"  # int8: a packed classifier
    assert all(after[k].shape[0] == NEW_CLASSES for k in resized), f"{name}: resized {resized}"
    assert not changed, f"{name}: reset_classifier changed {changed[:5]}"


def test_reset_classifier_refuses_zero_classes() -> None:
    model = zoo.get_model("simple3d_synthetic")
    with pytest.raises(ValueError, match="num_classes must be at least 1"):
        model.reset_classifier(0)


def test_reset_classifier_also_resets_tpn_auxiliary_head() -> None:
    with torch.device("meta"):
        model = zoo.get_model("tpn_resnet50_f8s8_kinetics400")
    model.reset_classifier(7)
    assert model.head.fc.out_features == 7 and model.aux_head.fc.out_features == 7
    assert model.head.fc.weight.is_meta  # built where the old classifier lives


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, _ in cheapest_name_per_family()])
def test_a_training_step_reaches_every_parameter(name: str) -> None:
    """One network of every family: a training step (its auxiliary loss included) gives every trainable
    parameter a gradient, as DistributedDataParallel requires, unless the network says its forward
    leaves some out (then DDP is told to look for them, and some must really be left out)."""
    x = _input(name, batch=2)  # BatchNorm trains on more than one value per channel
    model = _build(name, x).train()
    logits = model(*x) if isinstance(x, tuple) else model(x)
    target = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = torch.nn.functional.cross_entropy(logits.float(), target)
    auxiliary = model.auxiliary_loss(target) if hasattr(model, "auxiliary_loss") else None
    (loss if auxiliary is None else loss + auxiliary).backward()
    unused = [k for k, p in model.named_parameters() if p.requires_grad and p.grad is None]
    if getattr(model, "forward_uses_every_parameter", True):
        assert not unused, f"{name}: no gradient for {unused[:5]} ({len(unused)})"
    else:
        assert unused, f"{name} says its forward leaves parameters out, but every one got a gradient"
