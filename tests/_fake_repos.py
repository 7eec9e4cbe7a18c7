"""Tiny Hugging Face Hub repos as transformers writes them (random weights), for the fake Hub in
``_http.FakeHub``: a VideoMAE fine-tune with its own labels and an X-CLIP with its tokenizer."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save as save_safetensors

PREPROCESSOR = {"crop_size": {"height": 32, "width": 32}, "size": {"shortest_edge": 36},
                "image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]}

#: A reduced XCLIPConfig: every part present (cross-frame messages, integration transformer, prompt
#: generator, causal text), small widths.
XCLIP_REDUCED = {
    "projection_dim": 32, "prompt_layers": 2, "prompt_num_attention_heads": 4, "prompt_alpha": 0.1,
    "vision_config": {"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                      "mit_hidden_size": 32, "mit_intermediate_size": 64, "mit_num_hidden_layers": 1,
                      "mit_num_attention_heads": 4, "image_size": 32, "patch_size": 16, "num_frames": 4},
    "text_config": {"hidden_size": 40, "intermediate_size": 80, "num_hidden_layers": 2, "num_attention_heads": 4,
                    "max_position_embeddings": 16},
}


def _nudge(model: torch.nn.Module, scale: float) -> torch.nn.Module:
    """Random weights off their initial constants (LayerNorms at 1/0 would hide conversion mistakes)."""
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * scale)
    return model.eval()


def _safetensors(model: torch.nn.Module) -> bytes:
    return save_safetensors({k: v.contiguous() for k, v in model.state_dict().items()})


def tiny_tokenizer(path: Path, words: list[str]) -> Path:
    """A CLIP-style BPE tokenizer trained with the ``tokenizers`` library on ``words``; the start and
    end-of-text tokens are added last, so the end token has the largest id (as in CLIP's vocabulary)."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE())  # characters it never saw are left out
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(words, trainers.BpeTrainer(vocab_size=120, show_progress=False))
    tokenizer.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    start, end = tokenizer.token_to_id("<|startoftext|>"), tokenizer.token_to_id("<|endoftext|>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<|startoftext|> $A <|endoftext|>", special_tokens=[("<|startoftext|>", start), ("<|endoftext|>", end)])
    tokenizer.save(str(path))
    return path


def xclip_upstream(config: dict, seed: int = 0) -> torch.nn.Module:
    """transformers' XCLIPModel from ``config`` with random weights."""
    import transformers

    torch.manual_seed(seed)
    return _nudge(transformers.XCLIPModel(transformers.XCLIPConfig(**config)), 0.02)


def xclip_repo(folder: Path, words: list[str]) -> tuple[dict[str, bytes], torch.nn.Module]:
    """The files of a tiny X-CLIP repo (config, preprocessor, weights, tokenizer trained on ``words``)
    and the upstream model they hold."""
    tokenizer = tiny_tokenizer(folder / "tokenizer.json", words)
    vocab = json.loads(tokenizer.read_text())["model"]["vocab"]
    config = {**XCLIP_REDUCED, "text_config": {**XCLIP_REDUCED["text_config"], "vocab_size": len(vocab) + 2}}
    upstream = xclip_upstream(config)
    config_json = {**upstream.config.to_dict(), "architectures": ["XCLIPModel"]}
    files = {"config.json": json.dumps(config_json).encode(),
             "preprocessor_config.json": json.dumps({**PREPROCESSOR, "size": {"shortest_edge": 32}}).encode(),
             "model.safetensors": _safetensors(upstream), "tokenizer.json": tokenizer.read_bytes()}
    return files, upstream


def videomae_repo(labels: list[str]) -> tuple[dict[str, bytes], torch.nn.Module]:
    """The files of a reduced VideoMAE fine-tune whose classes are ``labels``, and its upstream model."""
    import transformers

    config = transformers.VideoMAEConfig(hidden_size=48, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
                                         image_size=32, patch_size=16, num_frames=4, tubelet_size=2, use_mean_pooling=True,
                                         id2label=dict(enumerate(labels)), label2id={n: i for i, n in enumerate(labels)})
    torch.manual_seed(0)
    upstream = _nudge(transformers.VideoMAEForVideoClassification(config), 0.05)
    config_json = {**config.to_dict(), "architectures": ["VideoMAEForVideoClassification"]}
    files = {"config.json": json.dumps(config_json).encode(), "preprocessor_config.json": json.dumps(PREPROCESSOR).encode(),
             "model.safetensors": _safetensors(upstream)}
    return files, upstream
