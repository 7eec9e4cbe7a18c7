"""Live parity with Hugging Face transformers: VideoMAE, TimeSformer, ViViT and V-JEPA 2.

Each case builds transformers' own classifier from a published configuration (the dicts below, as in
the Hub repos' ``config.json``) with random weights (``torch.manual_seed``, nothing downloaded), saves
its state dict as a safetensors file in the Hub's key layout, loads that file with
``zoo.get_model(name, pretrained=path)`` and compares the logits on one clip:
``max|diff| <= 1e-4 * max(1, max|logits|)``.  Real sizes run once per family (the biggest ones are
``slow``); reduced configurations (tiny widths, the same code paths) cover the rest.  A last group goes
through the Hub-architecture registry: ``config.json`` -> our model -> converted weights.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import torch
from safetensors.torch import save_file

import zoo
from zoo.registry import hub_architecture

transformers = pytest.importorskip("transformers", reason="transformers is not installed (pip install transformers)")

# --- published configurations (config.json of the Hub repos; labels left out: num_labels says how many) ------

VIDEOMAE_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                     image_size=224, patch_size=16, num_frames=16, tubelet_size=2, qkv_bias=True,
                     use_mean_pooling=True, hidden_act="gelu", layer_norm_eps=1e-12, num_labels=400)
VIDEOMAE_SMALL = dict(VIDEOMAE_BASE, hidden_size=384, num_attention_heads=6, intermediate_size=1536)
TIMESFORMER_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                        image_size=224, patch_size=16, num_frames=8, qkv_bias=True, hidden_act="gelu",
                        layer_norm_eps=1e-6, attention_type="divided_space_time", num_labels=400)
VIVIT_B = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
               image_size=224, num_frames=32, tubelet_size=[2, 16, 16], qkv_bias=True, hidden_act="gelu_fast",
               layer_norm_eps=1e-6, num_labels=400)
VJEPA2_VITL_SSV2 = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, mlp_ratio=4.0,
                        crop_size=256, patch_size=16, frames_per_clip=16, tubelet_size=2, qkv_bias=True,
                        hidden_act="gelu", layer_norm_eps=1e-6, num_pooler_layers=3, pred_hidden_size=384,
                        pred_num_hidden_layers=12, pred_num_attention_heads=12, num_labels=174)

TINY = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96)


def _tiny(config: dict, **changes: Any) -> dict:
    out = {**config, **{k: v for k, v in TINY.items() if k in config or k == "intermediate_size"}, **changes}
    if "mlp_ratio" in config:
        out.pop("intermediate_size", None)
    return out


# --- helpers ----------------------------------------------------------------------------------------------------

def _upstream(cls_name: str, config: dict, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    config_cls = getattr(transformers, cls_name.replace("ForVideoClassification", "Config"))
    model = getattr(transformers, cls_name)(config_cls(**config)).eval()
    _randomise_norms(model)
    return model


def _randomise_norms(model: torch.nn.Module) -> None:
    """LayerNorms and zero-initialised tokens start at 1/0; random values make their conversion count."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "token" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


def _save(model: torch.nn.Module, path, rename: Callable[[str], str] = lambda k: k) -> str:
    """The state dict in the Hub's key layout, as safetensors or (``.bin``) as a pickled ``pytorch_model.bin``."""
    state = {rename(k): v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    if str(path).endswith(".bin"):
        torch.save(state, str(path))
    else:
        save_file(state, str(path))
    return str(path)


def _clip(frames: int, size: int, batch: int = 2) -> torch.Tensor:
    """A smooth random clip ``(N, 3, T, H, W)`` (large-scale structure, like video)."""
    gen = torch.Generator().manual_seed(3)
    return torch.randn(batch, 3, frames, size, size, generator=gen).cumsum(-1).cumsum(-2) / 16


def _upstream_logits(model: torch.nn.Module, clip: torch.Tensor) -> torch.Tensor:
    key = "pixel_values_videos" if type(model).__name__.startswith("VJEPA2") else "pixel_values"
    with torch.no_grad():
        return model(**{key: clip.transpose(1, 2)}).logits


def _assert_parity(ours: torch.nn.Module, want: torch.Tensor, clip: torch.Tensor) -> None:
    with torch.no_grad():
        got = ours.eval()(clip)
    assert got.shape == want.shape
    diff = (got - want).abs().max().item()
    assert diff <= 1e-4 * max(1.0, want.abs().max().item()), f"max|diff| {diff:.3g} (max|logits| {want.abs().max():.3g})"


def _check(name: str, cls_name: str, config: dict, clip: torch.Tensor, tmp_path, *, rename=lambda k: k,
           file: str = "model.safetensors", **our_kwargs: Any) -> None:
    upstream = _upstream(cls_name, config)
    want = _upstream_logits(upstream, clip)
    path = _save(upstream, tmp_path / file, rename)
    ours = zoo.get_model(name, pretrained=path, **our_kwargs)
    assert ours.num_features == config["hidden_size"]
    _assert_parity(ours, want, clip)


def _hub_kwargs(cls_name: str, config: dict) -> dict:
    """Builder kwargs for a reduced configuration, as the Hub loader derives them from config.json."""
    kwargs = hub_architecture(cls_name).config_to_kwargs(_upstream(cls_name, config).config.to_dict())
    kwargs.pop("num_classes")
    return kwargs


# --- VideoMAE ---------------------------------------------------------------------------------------------------

def _videomae_hub_layout(key: str) -> str:
    """transformers 5 writes ``query.bias``/``value.bias``; the Hub files hold ``q_bias``/``v_bias``."""
    return key.replace("attention.attention.query.bias", "attention.attention.q_bias").replace(
        "attention.attention.value.bias", "attention.attention.v_bias")


def test_videomae_small_real_size(tmp_path):
    _check("videomae_vit_s_kinetics400", "VideoMAEForVideoClassification", VIDEOMAE_SMALL, _clip(16, 224, 1), tmp_path,
           rename=_videomae_hub_layout)


@pytest.mark.slow
def test_videomae_base_real_size(tmp_path):
    _check("videomae_vit_b_kinetics400", "VideoMAEForVideoClassification", VIDEOMAE_BASE, _clip(16, 224, 1), tmp_path)


@pytest.mark.parametrize("layout", ["hub", "transformers5"])
@pytest.mark.parametrize("mean_pooling", [True, False])
def test_videomae_reduced(tmp_path, layout, mean_pooling):
    config = _tiny(VIDEOMAE_BASE, image_size=32, num_frames=4, use_mean_pooling=mean_pooling, num_labels=7)
    rename = _videomae_hub_layout if layout == "hub" else (lambda k: k)
    _check("videomae_vit_b_kinetics400", "VideoMAEForVideoClassification", config, _clip(4, 32), tmp_path,
           rename=rename, **_hub_kwargs("VideoMAEForVideoClassification", config))



def test_videomae_weights_say_once_that_they_are_non_commercial(tmp_path, caplog, monkeypatch):
    import logging

    from zoo import weights
    from zoo.models import videomae

    card = zoo.model_card("videomae_vit_b_kinetics400")
    assert "CC-BY-NC-4.0" in card.default_weights().license
    monkeypatch.setattr(weights, "_NOTED_LICENCES", set())
    monkeypatch.setattr(videomae, "_warned_licence", False)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            weights._note_licence(card, card.default_weights())
        config = _tiny(VIDEOMAE_BASE, image_size=32, num_frames=4, num_labels=3)
        path = _save(_upstream("VideoMAEForVideoClassification", config), tmp_path / "m.safetensors")
        for _ in range(2):
            zoo.get_model("videomae_vit_b_kinetics400", pretrained=path,
                          **_hub_kwargs("VideoMAEForVideoClassification", config))
    notes = [r.getMessage() for r in caplog.records if "CC-BY-NC-4.0" in r.getMessage()]
    assert len(notes) == 2, notes  # one for the registered entry, one for converting VideoMAE weights


# --- TimeSformer ------------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_timesformer_base_real_size(tmp_path):
    _check("timesformer_base_kinetics400", "TimesformerForVideoClassification", TIMESFORMER_BASE, _clip(8, 224, 1),
           tmp_path)


@pytest.mark.parametrize("attention_type", ["divided_space_time", "joint_space_time"])
def test_timesformer_reduced(tmp_path, attention_type):
    config = _tiny(TIMESFORMER_BASE, image_size=64, num_frames=4, attention_type=attention_type, num_labels=5)
    _check("timesformer_base_kinetics400", "TimesformerForVideoClassification", config, _clip(4, 64), tmp_path,
           **_hub_kwargs("TimesformerForVideoClassification", config))



# --- ViViT ------------------------------------------------------------------------------------------------------

def _vivit_hub_layout(key: str) -> str:
    """transformers 5's ViViT names -> the Hub files' (``encoder.layer.N.attention.attention.query``, ...)."""
    for new, old in (("layers.", "encoder.layer."), ("attention.q_proj", "attention.attention.query"),
                     ("attention.k_proj", "attention.attention.key"), ("attention.v_proj", "attention.attention.value"),
                     ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
                     ("mlp.fc2", "output.dense")):
        key = key.replace(new, old)
    return key


@pytest.mark.slow
def test_vivit_b_real_size(tmp_path):
    _check("vivit_b_16x2_kinetics400", "VivitForVideoClassification", VIVIT_B, _clip(32, 224, 1), tmp_path,
           rename=_vivit_hub_layout)


@pytest.mark.parametrize("layout,file", [("hub", "pytorch_model.bin"), ("hub", "model.safetensors"),
                                         ("transformers5", "model.safetensors")])
def test_vivit_reduced(tmp_path, layout, file):
    config = _tiny(VIVIT_B, image_size=32, num_frames=4, num_labels=6)
    _check("vivit_b_16x2_kinetics400", "VivitForVideoClassification", config, _clip(4, 32), tmp_path,
           rename=_vivit_hub_layout if layout == "hub" else (lambda k: k), file=file,
           **_hub_kwargs("VivitForVideoClassification", config))


# --- V-JEPA 2 ---------------------------------------------------------------------------------------------------

@pytest.mark.heavy
def test_vjepa2_vitl_real_size(tmp_path):
    """ViT-L/16 at its SSv2 probe's size (16 frames, 256 px); the predictor in the file is dropped (minutes on 2 cores)."""
    _check("vjepa2_vitl_fpc16_256_sthsthv2", "VJEPA2ForVideoClassification", VJEPA2_VITL_SSV2, _clip(16, 256, 1), tmp_path)


@pytest.mark.slow
def test_vjepa2_vitl_real_size_small_clip(tmp_path):
    """The real ViT-L/16 and probe (every weight of the published shape: no position table) on a 4x64x64 clip.

    transformers takes the rotary grid from the config's crop size and frames, ours from the clip, so the
    config states the clip's size here; the weights are the same either way."""
    config = dict(VJEPA2_VITL_SSV2, crop_size=64, frames_per_clip=4)
    _check("vjepa2_vitl_fpc16_256_sthsthv2", "VJEPA2ForVideoClassification", config, _clip(4, 64, 1), tmp_path)


@pytest.mark.parametrize("head_dim", [16, 20])  # 20: rotary parts of 6 channels leave 2 channels unrotated
def test_vjepa2_reduced(tmp_path, head_dim):
    config = _tiny(VJEPA2_VITL_SSV2, hidden_size=3 * head_dim, num_attention_heads=3, crop_size=48, frames_per_clip=4,
                   pred_hidden_size=24, pred_num_attention_heads=2, pred_num_hidden_layers=1, num_pooler_layers=2,
                   mlp_ratio=48 / 11, num_labels=9)
    _check("vjepa2_vitl_fpc16_256_sthsthv2", "VJEPA2ForVideoClassification", config, _clip(4, 48), tmp_path,
           **_hub_kwargs("VJEPA2ForVideoClassification", config))


def test_vjepa2_encoder_file_gets_a_fresh_probe(tmp_path):
    """An encoder-only file (``VJEPA2Model``, encoder + predictor) loads; its tokens equal transformers'."""
    config = _tiny(VJEPA2_VITL_SSV2, crop_size=32, frames_per_clip=4, pred_hidden_size=24, pred_num_attention_heads=2,
                   pred_num_hidden_layers=1)
    torch.manual_seed(0)
    upstream = transformers.VJEPA2Model(transformers.VJEPA2Config(**config)).eval()
    _randomise_norms(upstream)
    path = _save(upstream, tmp_path / "encoder.safetensors")
    ours = zoo.get_model("vjepa2_vitl_fpc64_256", pretrained=path, num_classes=5,
                         **_hub_kwargs("VJEPA2ForVideoClassification", config)).eval()
    clip = _clip(4, 32)
    with torch.no_grad():
        want = upstream(pixel_values_videos=clip.transpose(1, 2), skip_predictor=True).last_hidden_state
        got = ours.encode(clip)
        assert ours(clip).shape == (2, 5)
    assert (got - want).abs().max() <= 1e-4 * max(1.0, want.abs().max().item())


# --- through the Hub-architecture registry: config.json -> our model -> converted weights ------------------------

HUB_CASES = {
    "VideoMAEForVideoClassification": (_tiny(VIDEOMAE_BASE, image_size=32, num_frames=4), (4, 32)),
    "TimesformerForVideoClassification": (_tiny(TIMESFORMER_BASE, image_size=32, num_frames=4), (4, 32)),
    "VivitForVideoClassification": (_tiny(VIVIT_B, image_size=32, num_frames=4), (4, 32)),
    "VJEPA2ForVideoClassification": (_tiny(VJEPA2_VITL_SSV2, crop_size=32, frames_per_clip=4, pred_hidden_size=24,
                                           pred_num_attention_heads=2, pred_num_hidden_layers=1), (4, 32)),
}


@pytest.mark.parametrize("cls_name", sorted(HUB_CASES))
def test_hub_architecture_builds_a_finetune_from_its_config(cls_name):
    """A community fine-tune: its own label set (3 labels), built and converted from config.json alone."""
    config, (frames, size) = HUB_CASES[cls_name]
    labels = {"0": "pouring", "1": "stirring", "2": "whisking"}
    config = {k: v for k, v in config.items() if k != "num_labels"}
    upstream = _upstream(cls_name, {**config, "id2label": labels})
    config_json = upstream.config.to_dict()  # what the repo's config.json holds
    assert config_json["architectures"] is None or cls_name in config_json["architectures"]
    arch = hub_architecture(cls_name)
    kwargs = arch.config_to_kwargs(config_json)
    assert kwargs["num_classes"] == 3
    ours = arch.builder(**kwargs)
    from zoo.registry import get_converter

    ours.load_state_dict(get_converter(arch.converter)(upstream.state_dict(), ours))
    clip = _clip(frames, size)
    _assert_parity(ours, _upstream_logits(upstream, clip), clip)
    spec = arch.input_from_config(config_json, {"size": {"shortest_edge": size + 4}, "crop_size": {"height": size, "width": size},
                                                "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]})
    assert (spec.clip_len, spec.crop_size, spec.short_side, spec.mean) == (frames, size, size + 4, (0.5, 0.5, 0.5))


def test_unknown_hub_architecture_names_the_ones_zoo_builds():
    with pytest.raises(KeyError, match="VideoMAEForVideoClassification") as err:
        hub_architecture("XCLIPModelForSomethingElse")
    assert "XCLIPModelForSomethingElse" in str(err.value)
