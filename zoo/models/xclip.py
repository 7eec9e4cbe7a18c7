"""X-CLIP (Ni et al., ECCV 2022): CLIP extended to video, classifying a clip against any list of label names.

The network, each part on the shared transformer blocks (:mod:`zoo.models._video_transformer`):

* a CLIP ViT over each frame whose blocks exchange one *message token* per frame across the frames
  (cross-frame communication, :class:`CrossFrameBlock`);
* a multi-frame integration transformer over the frames' projected class tokens -> the video embedding;
* CLIP's causal text transformer -> one embedding per label name (its end-of-text token, projected);
* a video-specific prompt generator: the label embeddings attend to the video's patch tokens and are
  shifted by ``alpha`` times the result;
* logits: ``exp(logit_scale) * cos(video, label)``.

As a zoo classifier (the model interface), ``forward_features`` returns the video embedding followed
by the frame-averaged patch tokens the prompt generator reads, flattened:
``(N, (1 + S) * P)`` with ``S`` patches per frame and ``P`` the projection width; the "classifier"
(``head``) holds one text embedding per class, set from label names with :meth:`XClip.set_labels`
(a tokenizer from the repo's ``tokenizer.json``, read with the ``tokenizers`` library).  Zero-shot:
``model.classify(clip, ["dancing", "cooking"])``.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..convert.keys import Rule, convert
from ..registry import HubArchitecture, InputSpec, register_converter, register_hub_architecture, register_model
from ._published import hf_file, hub_input
from ._video_transformer import Attention, Block, CrossAttention, Mlp, PatchEmbed2d, fuse_qkv
from .mvit import _drop_path

__all__ = ["XClip", "xclip", "ClipTokenizer", "convert_hf_xclip", "TOKENIZER_FILE"]

logger = logging.getLogger(__name__)

#: The tokenizer file an X-CLIP repo on the Hugging Face Hub carries beside its weights.
TOKENIZER_FILE = "tokenizer.json"


class CrossFrameBlock(Block):
    """X-CLIP's vision block on ``(N*T, 1 + S, D)`` frame tokens (frame-major batch).

    Each frame's class token becomes a message token (``message_fc``); the ``T`` messages of a video
    attend to each other (``message_attn``, pre-LayerNorm, residual); each frame's tokens then attend
    together with their frame's message (the message is dropped after the attention), then the MLP.
    """

    def __init__(self, dim: int, num_heads: int, num_frames: int, *, mlp_hidden: int, eps: float, act: str,
                 drop_path: float = 0.0) -> None:
        super().__init__(dim, num_heads, mlp_hidden=mlp_hidden, eps=eps, act=act)
        self.num_frames = num_frames
        self.message_fc = nn.Linear(dim, dim)
        self.message_ln = nn.LayerNorm(dim, eps=eps)
        self.message_attn = Attention(dim, num_heads)
        self.message_drop_path = drop_path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames, length, dim = x.shape
        message = self.message_fc(x[:, 0]).reshape(frames // self.num_frames, self.num_frames, dim)
        message = message + _drop_path(self.message_attn(self.message_ln(message)), self.message_drop_path, self.training)
        x = torch.cat([x, message.reshape(frames, 1, dim)], dim=1)
        x = (x + self.attn(self.norm1(x)))[:, :length]
        return x + self.mlp(self.norm2(x))


class CausalBlock(Block):
    """CLIP's text block: a pre-LayerNorm :class:`Block` whose tokens attend only to earlier tokens."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        heads = self.attn.num_heads
        q, k, v = self.attn.qkv(self.norm1(x)).reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, n, d)
        x = x + self.attn.proj(attended)
        return x + self.mlp(self.norm2(x))


class PromptBlock(nn.Module):
    """A prompt-generator layer on ``(N, K, P)`` label embeddings and ``(N, S, P)`` video tokens."""

    def __init__(self, dim: int, num_heads: int, eps: float, act: str) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = CrossAttention(dim, num_heads, bias=False)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = Mlp(dim, 4 * dim, act)

    def forward(self, text: torch.Tensor, visual: torch.Tensor) -> torch.Tensor:
        text = text + self.attn(self.norm1(text), visual)
        return text + self.mlp(self.norm2(text))


class VisionEncoder(nn.Module):
    """CLIP ViT with cross-frame messages: ``(N, C, T, H, W)`` -> frame class tokens ``(N, T, D)`` and
    the last block's patch tokens ``(N, T, S, D)``."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_hidden: int, patch_size: int, image_size: int,
                 num_frames: int, eps: float, act: str, drop_path: float) -> None:
        super().__init__()
        self.patch_embed = PatchEmbed2d(dim, patch_size, bias=False)
        self.image_size = image_size
        self.cls_token = nn.Parameter(torch.zeros(dim))
        self.pos_embed = nn.Parameter(torch.zeros(1 + (image_size // patch_size) ** 2, dim))
        self.norm_pre = nn.LayerNorm(dim, eps=eps)
        self.blocks = nn.ModuleList(CrossFrameBlock(dim, num_heads, num_frames, mlp_hidden=mlp_hidden, eps=eps, act=act,
                                                    drop_path=drop_path) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, _, t, h, w = x.shape
        if t != self.blocks[0].num_frames:
            raise ValueError(f"this X-CLIP takes clips of {self.blocks[0].num_frames} frames, got {t}")
        if (h, w) != (self.image_size, self.image_size):
            raise ValueError(f"X-CLIP takes {self.image_size}x{self.image_size} frames, got {h}x{w}; "
                             f"crop the frames to {self.image_size}")
        tokens = self.patch_embed(x)  # (N, T, S, D)
        tokens = tokens.reshape(n * t, -1, tokens.shape[-1])
        x = torch.cat([self.cls_token.expand(n * t, 1, -1), tokens], dim=1) + self.pos_embed
        x = self.norm_pre(x)
        for block in self.blocks:
            x = block(x)
        return self.norm(x[:, 0]).reshape(n, t, -1), x[:, 1:].reshape(n, t, -1, x.shape[-1])


class TextEncoder(nn.Module):
    """CLIP's text transformer: token ids ``(K, L)`` -> the final-normed end-of-text token ``(K, W)``.

    The end of each text is its largest token id (CLIP's end-of-text token has the largest id of
    its vocabulary); padding after it does not change the result (causal attention).
    """

    def __init__(self, vocab_size: int, width: int, depth: int, num_heads: int, mlp_hidden: int, context_length: int,
                 eps: float, act: str) -> None:
        super().__init__()
        self.token_embed = nn.Embedding(vocab_size, width)
        self.pos_embed = nn.Parameter(torch.zeros(context_length, width))
        self.blocks = nn.ModuleList(CausalBlock(width, num_heads, mlp_hidden=mlp_hidden, eps=eps, act=act)
                                    for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=eps)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if ids.shape[-1] > self.pos_embed.shape[0]:
            raise ValueError(f"texts of {ids.shape[-1]} tokens; X-CLIP reads at most {self.pos_embed.shape[0]}")
        x = self.token_embed(ids) + self.pos_embed[: ids.shape[-1]]
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x[torch.arange(x.shape[0], device=x.device), ids.argmax(dim=-1)]


class IntegrationTransformer(nn.Module):
    """Multi-frame integration: ``(N, T, P)`` frame embeddings -> ``(N, P)`` video embedding
    (learned frame positions, transformer blocks, a residual around them, the mean over frames)."""

    def __init__(self, dim: int, depth: int, num_heads: int, mlp_hidden: int, num_frames: int, eps: float, act: str) -> None:
        super().__init__()
        self.pos_embed = nn.Parameter(torch.zeros(1, num_frames, dim))
        self.blocks = nn.ModuleList(Block(dim, num_heads, mlp_hidden=mlp_hidden, eps=eps, act=act) for _ in range(depth))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames + self.pos_embed
        for block in self.blocks:
            x = block(x)
        return (x + frames).mean(dim=1)


class LabelEmbeddings(nn.Module):
    """The classifier: one label embedding ``(P,)`` per class in ``weight`` ``(K, P)``, set from label names
    (:meth:`XClip.set_labels`) or learned (after ``reset_classifier``, it is a cosine classifier)."""

    def __init__(self, num_classes: int, dim: int, std: float = 0.02) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(num_classes, dim) * std)
        self.labels: tuple[str, ...] = ()

    @property
    def out_features(self) -> int:
        return self.weight.shape[0]


class ClipTokenizer:
    """CLIP's tokenizer from a repo's ``tokenizer.json`` (the ``tokenizers`` library): label names ->
    token ids ``(K, L)``, padded to the longest, cut to ``context_length`` with the end token kept."""

    def __init__(self, path: str | os.PathLike, context_length: int = 77) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ImportError("X-CLIP reads label names with the tokenizers library: pip install tokenizers "
                              "(or the zeroshot extra)") from None
        self.path = Path(path)
        self.tokenizer = Tokenizer.from_file(str(path))
        self.context_length = context_length
        self.end_id = self.tokenizer.token_to_id("<|endoftext|>")
        if self.end_id is None:
            raise ValueError(f"{path} has no <|endoftext|> token; give the tokenizer.json of a CLIP / X-CLIP repo")

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        if isinstance(texts, str) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(f"give a list of non-empty label names, got {texts!r}")
        ids = [enc.ids for enc in self.tokenizer.encode_batch(list(texts))]
        ids = [row if len(row) <= self.context_length else row[: self.context_length - 1] + [self.end_id] for row in ids]
        width = max(len(row) for row in ids)
        return torch.tensor([row + [self.end_id] * (width - len(row)) for row in ids], dtype=torch.long)


class XClip(nn.Module):
    """X-CLIP: ``(N, 3, T, H, W)`` clips -> ``(N, num_classes)`` logits against the label embeddings in ``head``.

    Args (transformers' ``XCLIPConfig`` names in brackets):
        num_classes: label embeddings in the classifier (set them with :meth:`set_labels`).
        num_frames: ``T`` (``vision_config.num_frames``); image_size, patch_size: the frame crop and patches.
        vision_width, vision_depth, vision_heads, vision_mlp: the ViT (``hidden_size``, ``num_hidden_layers``,
            ``num_attention_heads``, ``intermediate_size``).
        mit_depth, mit_heads, mit_mlp: the integration transformer (``mit_*``; its width is ``embed_dim``).
        embed_dim: the joint video-text width ``P`` (``projection_dim``).
        text_width, text_depth, text_heads, text_mlp, vocab_size, context_length: the text transformer.
        prompt_layers, prompt_heads, prompt_alpha: the prompt generator.
        eps, act: LayerNorm epsilon and activation (``quick_gelu``).
    """

    classifier_name = "head"
    classifier_names = ("head",)
    #: ``forward`` classifies against the label embeddings in ``head``; the text encoder runs only in
    #: :meth:`set_labels` and :meth:`video_text_logits`.
    forward_uses_every_parameter = False
    #: ``get_model`` fetches this file from the weights' Hub repo and calls :meth:`load_tokenizer`.
    tokenizer_file = TOKENIZER_FILE

    def __init__(self, num_classes: int = 400, *, num_frames: int = 8, image_size: int = 224, patch_size: int = 32,
                 vision_width: int = 768, vision_depth: int = 12, vision_heads: int = 12, vision_mlp: int = 3072,
                 mit_depth: int = 1, mit_heads: int = 8, mit_mlp: int = 2048, embed_dim: int = 512,
                 text_width: int = 512, text_depth: int = 12, text_heads: int = 8, text_mlp: int = 2048,
                 vocab_size: int = 49408, context_length: int = 77, prompt_layers: int = 2, prompt_heads: int = 8,
                 prompt_alpha: float = 0.1, eps: float = 1e-5, act: str = "quick_gelu", drop_path: float = 0.0) -> None:
        super().__init__()
        self.visual = VisionEncoder(vision_width, vision_depth, vision_heads, vision_mlp, patch_size, image_size,
                                    num_frames, eps, act, drop_path)
        self.visual_proj = nn.Linear(vision_width, embed_dim, bias=False)
        self.mit = IntegrationTransformer(embed_dim, mit_depth, mit_heads, mit_mlp, num_frames, eps, act)
        self.prompts_visual_norm = nn.LayerNorm(vision_width, eps=eps)
        self.prompts_visual_proj = nn.Parameter(torch.randn(vision_width, embed_dim) * vision_width**-0.5)
        self.prompts_norm = nn.LayerNorm(embed_dim, eps=eps)
        self.prompts = nn.ModuleList(PromptBlock(embed_dim, prompt_heads, eps, act) for _ in range(prompt_layers))
        self.prompts_alpha = nn.Parameter(torch.full((embed_dim,), prompt_alpha))
        self.text = TextEncoder(vocab_size, text_width, text_depth, text_heads, text_mlp, context_length, eps, act)
        self.text_proj = nn.Linear(text_width, embed_dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(2.6592))
        self.embed_dim = embed_dim
        self.num_patches = (image_size // patch_size) ** 2
        self.num_features = embed_dim * (1 + self.num_patches)
        self.head = LabelEmbeddings(num_classes, embed_dim)
        self.tokenizer: ClipTokenizer | None = None
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)
        for p in (self.visual.cls_token, self.visual.pos_embed, self.text.pos_embed, self.mit.pos_embed):
            nn.init.normal_(p, std=0.02)

    # -- the two towers ----------------------------------------------------------------------------

    def encode_video(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, 3, T, H, W)`` -> video embedding ``(N, P)`` and frame-averaged patch tokens ``(N, S, P)``."""
        frames, patches = self.visual(x)
        video = self.mit(self.visual_proj(frames))
        tokens = (self.prompts_visual_norm(patches) @ self.prompts_visual_proj).mean(dim=1)
        return video, tokens

    def encode_text(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids ``(K, L)`` -> label embeddings ``(K, P)`` (before the video-specific prompts)."""
        return self.text_proj(self.text(ids))

    def logits(self, video: torch.Tensor, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Video embeddings ``(N, P)``, patch tokens ``(N, S, P)``, label embeddings ``(K, P)`` -> ``(N, K)``."""
        text = labels.unsqueeze(0).repeat(video.shape[0], 1, 1)  # a copy: module hooks refuse views of parameters
        visual = self.prompts_norm(tokens)
        prompt = text
        for block in self.prompts:
            prompt = block(prompt, visual)
        text = F.normalize(text + self.prompts_alpha * prompt, dim=-1)
        return self.logit_scale.exp() * torch.einsum("nd,nkd->nk", F.normalize(video, dim=-1), text)

    def video_text_logits(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` clips and ``(K, L)`` token ids -> ``(N, K)`` logits (transformers' ``logits_per_video``)."""
        return self.logits(*self.encode_video(x), self.encode_text(ids))

    # -- the model interface -----------------------------------------------------------------------

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, (1 + S) * P)``: the video embedding, then the ``S`` patch tokens."""
        video, tokens = self.encode_video(x)
        return torch.cat([video, tokens.flatten(1)], dim=1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, (1 + S) * P)`` -> ``(N, num_classes)`` logits against the label embeddings."""
        video, tokens = features[:, : self.embed_dim], features[:, self.embed_dim:].unflatten(1, (-1, self.embed_dim))
        return self.logits(video, tokens, self.head.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """Random label embeddings for ``num_classes`` classes (to learn, or to set with :meth:`set_labels`)."""
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        old = self.head.weight
        self.head = LabelEmbeddings(num_classes, self.embed_dim).to(device=old.device, dtype=old.dtype)

    # -- zero-shot ---------------------------------------------------------------------------------

    def load_tokenizer(self, path: str | os.PathLike) -> ClipTokenizer:
        """Use the ``tokenizer.json`` at ``path`` for label names (see :class:`ClipTokenizer`)."""
        self.tokenizer = ClipTokenizer(path, self.text.pos_embed.shape[0])
        return self.tokenizer

    def _tokenizer(self, tokenizer: ClipTokenizer | str | os.PathLike | None) -> ClipTokenizer:
        if isinstance(tokenizer, ClipTokenizer):
            return tokenizer
        if tokenizer is not None:
            return self.load_tokenizer(tokenizer)
        if self.tokenizer is None:
            raise ValueError("this X-CLIP has no tokenizer: load it with its weights (get_model(..., pretrained=True)) "
                             "or give tokenizer=PATH/TO/tokenizer.json")
        return self.tokenizer

    @torch.no_grad()
    def set_labels(self, names: Sequence[str], tokenizer: ClipTokenizer | str | os.PathLike | None = None) -> None:
        """Make the classifier the label names ``names`` (``forward`` then scores ``len(names)`` classes)."""
        ids = self._tokenizer(tokenizer)(list(names)).to(self.head.weight.device)
        self.head = LabelEmbeddings(len(names), self.embed_dim).to(self.head.weight.device, self.head.weight.dtype)
        self.head.weight.copy_(self.encode_text(ids))
        self.head.labels = tuple(names)

    @torch.no_grad()
    def classify(self, x: torch.Tensor, names: Sequence[str],
                 tokenizer: ClipTokenizer | str | os.PathLike | None = None) -> torch.Tensor:
        """Zero-shot: ``(N, 3, T, H, W)`` clips -> ``(N, len(names))`` probabilities of each label name."""
        ids = self._tokenizer(tokenizer)(list(names)).to(x.device)
        return self.video_text_logits(x, ids).softmax(dim=-1)


def xclip(num_classes: int = 400, **kwargs: Any) -> XClip:
    """Builder of every X-CLIP name (keyword arguments: :class:`XClip`'s)."""
    return XClip(num_classes, **kwargs)


# -- transformers' XCLIPModel keys -> ours -------------------------------------------------------

HF_XCLIP_RULES = [
    Rule(r".*position_ids", None),  # index buffers some older files carry
    Rule(r"vision_model\.embeddings\.class_embedding", "visual.cls_token"),
    Rule(r"vision_model\.embeddings\.patch_embedding\.weight", "visual.patch_embed.proj.weight"),
    Rule(r"vision_model\.embeddings\.position_embedding\.weight", "visual.pos_embed"),
    Rule(r"vision_model\.pre_layernorm\.(weight|bias)", r"visual.norm_pre.\1"),
    Rule(r"vision_model\.post_layernorm\.(weight|bias)", r"visual.norm.\1"),
    Rule(r"vision_model\.encoder\.layers\.(.*)", lambda m: "visual.blocks." + _block_key(m.group(1))),
    Rule(r"visual_projection\.weight", "visual_proj.weight"),
    Rule(r"mit\.position_embedding", "mit.pos_embed"),
    Rule(r"mit\.encoder\.layers\.(.*)", lambda m: "mit.blocks." + _block_key(m.group(1))),
    Rule(r"text_model\.embeddings\.token_embedding\.weight", "text.token_embed.weight"),
    Rule(r"text_model\.embeddings\.position_embedding\.weight", "text.pos_embed"),
    Rule(r"text_model\.encoder\.layers\.(.*)", lambda m: "text.blocks." + _block_key(m.group(1))),
    Rule(r"text_model\.final_layer_norm\.(weight|bias)", r"text.norm.\1"),
    Rule(r"text_projection\.weight", "text_proj.weight"),
    Rule(r"logit_scale", "logit_scale"),
    Rule(r"prompts_visual_layernorm\.(weight|bias)", r"prompts_visual_norm.\1"),
    Rule(r"prompts_visual_projection", "prompts_visual_proj"),
    Rule(r"prompts_generator\.layernorm\.(weight|bias)", r"prompts_norm.\1"),
    Rule(r"prompts_generator\.alpha", "prompts_alpha"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.norm1\.(weight|bias)", r"prompts.\1.norm1.\2"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.norm3\.(weight|bias)", r"prompts.\1.norm2.\2"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.cross_attn\.(q|k|v)_proj\.weight", r"prompts.\1.attn.\2.weight"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.cross_attn\.proj\.(weight|bias)", r"prompts.\1.attn.proj.\2"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.mlp\.0\.(weight|bias)", r"prompts.\1.mlp.fc1.\2"),
    Rule(r"prompts_generator\.decoder\.(\d+)\.mlp\.3\.(weight|bias)", r"prompts.\1.mlp.fc2.\2"),
]


def _block_key(rest: str) -> str:
    """``{i}.<transformers block key>`` -> ``{i}.<our block key>`` (attention projections already fused)."""
    index, _, key = rest.partition(".")
    for old, new in (("layer_norm1.", "norm1."), ("layer_norm2.", "norm2."), ("self_attn.qkv.", "attn.qkv."),
                     ("self_attn.out_proj.", "attn.proj."), ("message_attn.qkv.", "message_attn.qkv."),
                     ("message_attn.out_proj.", "message_attn.proj.")):
        if key.startswith(old):
            return f"{index}.{new}{key[len(old):]}"
    return f"{index}.{key}"  # mlp.fc1/fc2, message_fc, message_ln: the same names


@register_converter("hf_xclip")
def convert_hf_xclip(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """transformers' ``XCLIPModel`` state dict -> ours (separate q/k/v projections fused)."""
    state = {k.removeprefix("x_clip."): v for k, v in state.items()}
    for attn in ("self_attn", "message_attn"):
        state = fuse_qkv(state, f"{attn}.q_proj", f"{attn}.k_proj", f"{attn}.v_proj", f"{attn}.qkv")
    if "head.weight" not in state:  # the Hub's files carry no label embeddings: zeros until set_labels
        state["head.weight"] = torch.zeros(model.head.weight.shape, dtype=state["text_projection.weight"].dtype)
    return convert(state, model, [*HF_XCLIP_RULES, Rule(r"head\.weight", "head.weight")], what="transformers XCLIPModel")


# -- transformers' XCLIPConfig -> builder arguments ---------------------------------------------

#: our argument -> (sub-config, transformers' name)
_CONFIG_NAMES = {
    "num_frames": ("vision_config", "num_frames"), "image_size": ("vision_config", "image_size"),
    "patch_size": ("vision_config", "patch_size"), "vision_width": ("vision_config", "hidden_size"),
    "vision_depth": ("vision_config", "num_hidden_layers"), "vision_heads": ("vision_config", "num_attention_heads"),
    "vision_mlp": ("vision_config", "intermediate_size"), "mit_depth": ("vision_config", "mit_num_hidden_layers"),
    "mit_heads": ("vision_config", "mit_num_attention_heads"), "mit_mlp": ("vision_config", "mit_intermediate_size"),
    "eps": ("vision_config", "layer_norm_eps"), "act": ("vision_config", "hidden_act"),
    "drop_path": ("vision_config", "drop_path_rate"),
    "text_width": ("text_config", "hidden_size"), "text_depth": ("text_config", "num_hidden_layers"),
    "text_heads": ("text_config", "num_attention_heads"), "text_mlp": ("text_config", "intermediate_size"),
    "vocab_size": ("text_config", "vocab_size"), "context_length": ("text_config", "max_position_embeddings"),
    "embed_dim": ("", "projection_dim"), "prompt_layers": ("", "prompt_layers"),
    "prompt_heads": ("", "prompt_num_attention_heads"), "prompt_alpha": ("", "prompt_alpha"),
}


def config_to_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """An ``XCLIPModel`` ``config.json`` -> :func:`xclip` arguments (its defaults where the file is silent)."""
    parts = {"": config,
             "vision_config": config.get("vision_config") or config.get("vision_config_dict") or {},
             "text_config": config.get("text_config") or config.get("text_config_dict") or {}}
    kwargs = {ours: parts[part][name] for ours, (part, name) in _CONFIG_NAMES.items() if name in parts[part]}
    mit_width = parts["vision_config"].get("mit_hidden_size", kwargs.get("embed_dim", 512))
    if mit_width != kwargs.get("embed_dim", 512):
        raise ValueError(f"X-CLIP config: mit_hidden_size {mit_width} differs from projection_dim "
                         f"{kwargs.get('embed_dim', 512)}; the integration transformer reads projected frames")
    for key in ("image_size", "patch_size"):  # transformers allows (h, w) pairs; X-CLIP repos use squares
        if isinstance(kwargs.get(key), (list, tuple)):
            kwargs[key] = int(kwargs[key][0])
    labels = config.get("id2label") or {}
    return {"num_classes": max(1, len(labels)), **kwargs}


def input_from_config(config: Mapping[str, Any], preprocessor: Mapping[str, Any]) -> InputSpec:
    """Frames and crop from the config's vision part, resize and normalisation from ``preprocessor_config.json``."""
    vision = config.get("vision_config") or config.get("vision_config_dict") or {}
    return hub_input(vision, preprocessor, frames_key="num_frames", default_frames=8,
                     note="zero-shot: classes are label names (set_labels / --labels)")


register_hub_architecture(HubArchitecture(name="XCLIPModel", family="xclip", builder=xclip,
                                          config_to_kwargs=config_to_kwargs, converter="hf_xclip",
                                          input_from_config=input_from_config))


# -- names -----------------------------------------------------------------------------------------

_LICENSE = "MIT (microsoft/VideoX X-CLIP; Hugging Face Hub repos by Microsoft)"
_REPORTED = "Hugging Face model card (X-CLIP, Ni et al. 2022)"
_NOTE = ("X-CLIP's protocol spreads the T frames over the whole video (one per segment); a zoo clip takes T "
         "consecutive frames unless the protocol says otherwise")


def _register(name: str, repo_id: str, revision: str, *, file: str, dataset: str, num_classes: int,
              num_frames: int, patch_size: int, top1: float | None, top5: float | None, protocol: str = "") -> None:
    weights = hf_file(repo_id, revision, file, converter="hf_xclip", top1=top1, top5=top5, reported_by=_REPORTED,
                      protocol=protocol or "fully supervised, as the model card reports", license=_LICENSE,
                      default=True, num_classes=num_classes, pretraining=f"CLIP ViT-B/{patch_size} (OpenAI, image-text)",
                      description=f"{repo_id} on the Hugging Face Hub (transformers' XCLIPModel)")
    register_model(name, xclip, family="xclip", num_classes=num_classes, dataset=dataset,
                   kwargs={"num_frames": num_frames, "patch_size": patch_size},
                   input=InputSpec(clip_len=num_frames, crop_size=224, short_side=224, note=_NOTE),
                   weights=[weights], converters={"safetensors": "hf_xclip", "pth": "hf_xclip"},
                   source=f"https://huggingface.co/{repo_id}",
                   description=f"X-CLIP ViT-B/{patch_size}, {num_frames} frames: video encoder, text encoder and "
                               "prompt generator; zero-shot over any label names")


# Revisions: the commit where it is known, else "main"; sha256 "" where not recorded (the Hub's ETag checks
# the bytes, and ZOO_LOCK pins them on first use).
_register("xclip_base_patch32_8x_kinetics400", "microsoft/xclip-base-patch32", "a2e27a78a2b5d802e894b8a1ef14f3a8ce490963",
          file="model.safetensors", dataset="kinetics400", num_classes=400, num_frames=8, patch_size=32,
          top1=80.4, top5=95.0)
_register("xclip_base_patch32_16x_kinetics400", "microsoft/xclip-base-patch32-16-frames", "main",
          file="pytorch_model.bin", dataset="kinetics400", num_classes=400, num_frames=16, patch_size=32,
          top1=81.1, top5=95.5)
_register("xclip_base_patch16_8x_kinetics400", "microsoft/xclip-base-patch16", "45912a83e977ce2c92ddfe581a6ba031879638cf",
          file="model.safetensors", dataset="kinetics400", num_classes=400, num_frames=8, patch_size=16,
          top1=83.8, top5=95.7)
_register("xclip_base_patch16_16x_kinetics400", "microsoft/xclip-base-patch16-16-frames", "main",
          file="pytorch_model.bin", dataset="kinetics400", num_classes=400, num_frames=16, patch_size=16,
          top1=84.7, top5=96.8)
_register("xclip_base_patch16_8x_kinetics600", "microsoft/xclip-base-patch16-kinetics-600", "main",
          file="pytorch_model.bin", dataset="kinetics600", num_classes=600, num_frames=8, patch_size=16,
          top1=None, top5=None)
_register("xclip_base_patch16_16x_kinetics600", "microsoft/xclip-base-patch16-kinetics-600-16-frames",
          "bf4476cc2ef08771c2f91bfb182186ba36965314", file="pytorch_model.bin", dataset="kinetics600",
          num_classes=600, num_frames=16, patch_size=16, top1=85.8, top5=97.3)
_register("xclip_base_patch16_32x_zeroshot", "microsoft/xclip-base-patch16-zero-shot", "main",
          file="pytorch_model.bin", dataset="kinetics600", num_classes=600, num_frames=32, patch_size=16,
          top1=65.2, top5=None, protocol="zero-shot on Kinetics-600 after training on Kinetics-400, as the model card reports")
