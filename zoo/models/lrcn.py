"""LRCN: a per-frame CNN followed by an LSTM (Donahue et al., "Long-term Recurrent Convolutional
Networks", CVPR 2015).

Each frame goes through a 2D CNN (ResNet here) to a feature vector; an LSTM reads the ``T``
vectors in order and a linear layer classifies every step.  The paper trains with a loss at every
step and predicts by averaging the per-step predictions; ``predict="last"`` uses only the last step
(which has seen the whole clip).

Training with the per-step loss::

    logits = model(clips)                      # (N, K): what evaluation uses
    steps = model.per_step_logits              # (N, T, K), set by every forward
    loss = lrcn_step_loss(steps, labels)       # cross-entropy averaged over the T steps

A training loop that only knows ``loss(model(x), y)`` still works (it trains the prediction the
model makes in eval: the average or the last step).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_model
from ._backbones_small import build_trunk
from ._interface import VideoClassifier

__all__ = ["LRCN", "lrcn", "lrcn_step_loss"]


class LRCN(VideoClassifier):
    """Per-frame CNN -> LSTM -> per-step classifier.

    ``forward``: ``(N, 3, T, H, W)`` -> ``(N, num_classes)`` (the average over steps, or the last
    step), and stores ``per_step_logits`` ``(N, T, num_classes)``; ``forward_features`` gives the
    LSTM output averaged over steps (or the last one), ``(N, hidden_size)``.

    Args:
        backbone: 2D trunk name (``resnet18``, ``resnet50``, ``xception``) and ``backbone_kwargs``.
        hidden_size, num_layers: the LSTM.
        predict: ``"average"`` (the paper's video prediction) or ``"last"``.
        dropout_ratio: dropout on the CNN features and the LSTM outputs.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet18",
        backbone_kwargs: dict | None = None,
        hidden_size: int = 256,
        num_layers: int = 1,
        predict: str = "average",
        dropout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        if predict not in ("average", "last"):
            raise ValueError(f"predict must be 'average' or 'last', got {predict!r}")
        self.predict = predict
        self.cnn = build_trunk(backbone, **(backbone_kwargs or {}))
        self.dropout = nn.Dropout(dropout_ratio)
        self.lstm = nn.LSTM(self.cnn.feat_dim, hidden_size, num_layers, batch_first=True)
        self.num_features = hidden_size
        self.fc = nn.Linear(hidden_size, num_classes)
        self.per_step_logits: torch.Tensor | None = None

    def forward_steps(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> LSTM outputs ``(N, T, hidden_size)``."""
        n, c, t, h, w = x.shape
        feats = self.cnn(x.transpose(1, 2).reshape(n * t, c, h, w)).view(n, t, -1)
        out, _ = self.lstm(self.dropout(feats))
        return out

    def _reduce(self, steps: torch.Tensor) -> torch.Tensor:
        return steps.mean(dim=1) if self.predict == "average" else steps[:, -1]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> the LSTM outputs averaged over steps (or the last), ``(N, num_features)``."""
        return self._reduce(self.forward_steps(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, num_classes)``; sets ``self.per_step_logits`` ``(N, T, num_classes)``."""
        out = self.forward_steps(x)
        self.per_step_logits = self.fc(self.dropout(out))
        return self._reduce(self.per_step_logits)


def lrcn_step_loss(per_step_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy at every step: ``(N, T, K)`` logits, ``(N,)`` labels -> scalar (mean over N and T)."""
    n, t, k = per_step_logits.shape
    return F.cross_entropy(per_step_logits.reshape(n * t, k), labels.repeat_interleave(t))


def lrcn(num_classes: int, backbone: str = "resnet18", **kwargs) -> LRCN:
    """Builder of :class:`LRCN` (kwargs: ``backbone_kwargs``, ``hidden_size``, ``num_layers``, ``predict``, ...)."""
    return LRCN(num_classes, backbone=backbone, **kwargs)


def _register(name: str, kwargs: dict, what: str) -> None:
    register_model(
        name,
        lrcn,
        family="lrcn",
        dataset="",
        num_classes=101,
        kwargs=kwargs,
        input=InputSpec(clip_len=16, frame_step=1, crop_size=224, short_side=256,
                        note="frames in temporal order; per-step logits in model.per_step_logits for the per-step loss"),
        description=f"LRCN: {what} per frame, LSTM(256) over time, loss at every step; no weights.",
        source="zoo",
    )


_register("lrcn_resnet18", {"backbone": "resnet18"}, "ResNet-18")
_register("lrcn_resnet50", {"backbone": "resnet50"}, "ResNet-50")

