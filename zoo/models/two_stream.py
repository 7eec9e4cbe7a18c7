"""Two-stream networks (Simonyan & Zisserman 2014; Feichtenhofer et al. 2016; Wang et al. TSN 2016).

A *spatial* stream sees RGB frames (appearance); a *temporal* stream sees a stack of ``L``
consecutive optical-flow fields, ``x`` and ``y`` interleaved as ``2L`` input channels (motion).
Both are 2D CNNs (ResNet or Xception).  The temporal stream's first conv is initialised from the
RGB one by averaging its kernel over R, G, B and replicating the mean over the ``2L`` channels
(cross-modality initialisation, :func:`._backbones_small.flow_conv_weight`).

Input (what a training script feeds)::

    model((rgb, flow))  or  model({"rgb": rgb, "flow": flow})
    rgb:  (N, 3, S, H, W)      one RGB frame per segment (S = num_segments)
    flow: (N, 2, S * L, H, W)  per segment, L flow fields; channel 0 = x, 1 = y

A flow-only model (``modalities=("flow",)``) also accepts the flow tensor alone, an RGB-only one
the RGB tensor.  :class:`zoo.flow.FlowClipDataset` yields exactly these pairs.

Fusion of the streams:

* ``"average"``: each stream has its own classifier; the logits of every stream and segment are
  averaged (late score fusion).
* ``"lstm"``: per segment, the two streams' features are concatenated and an LSTM reads the ``S``
  segments in order; its last output is classified (a learned, recurrent fusion).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
import torch.nn as nn

from ..registry import InputSpec, register_model
from ._backbones_small import build_trunk, flow_conv_weight
from ._interface import VideoClassifier, segment_consensus

__all__ = ["TwoStream", "two_stream", "split_two_stream_input"]

MODALITIES = ("rgb", "flow")


def split_two_stream_input(x, modalities: Sequence[str]) -> dict[str, torch.Tensor]:
    """``(rgb, flow)`` / ``{"rgb": ..., "flow": ...}`` / a lone tensor -> ``{modality: tensor}``."""
    if isinstance(x, torch.Tensor):
        if len(modalities) != 1:
            raise TypeError("a two-stream model takes (rgb, flow) or {'rgb': rgb, 'flow': flow}, not one tensor")
        return {modalities[0]: x}
    if isinstance(x, Mapping):
        missing = [m for m in modalities if m not in x]
        if missing:
            raise KeyError(f"input dict lacks {missing}; it has {sorted(x)}")
        return {m: x[m] for m in modalities}
    if isinstance(x, (tuple, list)):
        if len(x) == 2 and len(modalities) == 2:
            return dict(zip(MODALITIES, x))
        if len(x) == 1 and len(modalities) == 1:
            return {modalities[0]: x[0]}
    raise TypeError(f"cannot read a {type(x).__name__} as input for streams {tuple(modalities)}")


class TwoStream(VideoClassifier):
    """Spatial (RGB) and/or temporal (stacked flow) 2D streams with average or LSTM fusion.

    ``forward``: see the module docstring -> logits ``(N, num_classes)``; ``forward_features`` gives the
    fused features: the streams' features averaged over segments and concatenated in ``modalities``
    order, ``(N, sum of feat dims)``, or the LSTM's last output ``(N, hidden_size)``.

    Args:
        backbone: ``"resnet18"``, ``"resnet50"``, ``"xception"``...; ``backbone_kwargs`` go to the trunk.
        flow_len: ``L``, flow fields per stack (the temporal stream has ``2L`` input channels).
        num_segments: ``S``, segments per clip.
        fusion: ``"average"`` or ``"lstm"``.
        modalities: ``("rgb", "flow")``, ``("flow",)`` or ``("rgb",)``.
        cross_modality_init: initialise the flow stream's first conv from the RGB stream's (when
            both exist and share the backbone), as the two-stream papers do with ImageNet weights.
        hidden_size: LSTM width for ``fusion="lstm"``.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: str = "resnet18",
        backbone_kwargs: dict | None = None,
        flow_len: int = 10,
        num_segments: int = 1,
        fusion: str = "average",
        modalities: Sequence[str] = MODALITIES,
        cross_modality_init: bool = True,
        hidden_size: int = 256,
        dropout_ratio: float = 0.5,
    ) -> None:
        super().__init__()
        if fusion not in ("average", "lstm"):
            raise ValueError(f"fusion must be 'average' or 'lstm', got {fusion!r}")
        modalities = tuple(modalities)
        if not modalities or any(m not in MODALITIES for m in modalities):
            raise ValueError(f"modalities must be a non-empty subset of {MODALITIES}, got {modalities}")
        self.modalities, self.fusion = modalities, fusion
        self.flow_len, self.num_segments = flow_len, num_segments
        kwargs = backbone_kwargs or {}
        if "rgb" in modalities:
            self.rgb = build_trunk(backbone, in_channels=3, **kwargs)
        if "flow" in modalities:
            self.flow = build_trunk(backbone, in_channels=2 * flow_len, **kwargs)
        self.dropout = nn.Dropout(dropout_ratio)
        dims = {m: getattr(self, m).feat_dim for m in modalities}
        self.stream_dims = dims
        self.classifier_name = "heads" if fusion == "average" else "fc"
        if fusion == "average":
            self.num_features = sum(dims.values())
            self.heads = nn.ModuleDict({m: nn.Linear(d, num_classes) for m, d in dims.items()})
        else:
            self.num_features = hidden_size
            self.lstm = nn.LSTM(sum(dims.values()), hidden_size, batch_first=True)
            self.fc = nn.Linear(hidden_size, num_classes)
        if cross_modality_init and len(modalities) == 2:
            self.init_flow_from_rgb()

    @torch.no_grad()
    def init_flow_from_rgb(self, rgb_state: Mapping[str, torch.Tensor] | None = None) -> None:
        """Copy an RGB trunk (``rgb_state``, e.g. ImageNet weights, else the spatial stream) into the
        flow stream; its first conv becomes :func:`flow_conv_weight` of the RGB one."""
        source = dict(rgb_state if rgb_state is not None else self.rgb.state_dict())
        conv_key = next(k for k, v in self.flow.state_dict().items() if v.ndim == 4)
        source[conv_key] = flow_conv_weight(source[conv_key], 2 * self.flow_len)
        self.flow.load_state_dict(source)

    def _frames(self, modality: str, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W)`` -> per-segment trunk input ``(N * S, C', H, W)``."""
        n, c, t, h, w = x.shape
        s = self.num_segments
        if modality == "rgb":
            if c != 3 or t != s:
                raise ValueError(f"rgb input must be (N, 3, S={s}, H, W), got {tuple(x.shape)}")
            return x.transpose(1, 2).reshape(n * s, 3, h, w)
        if c != 2 or t != s * self.flow_len:
            raise ValueError(f"flow input must be (N, 2, S*L={s * self.flow_len}, H, W), got {tuple(x.shape)}")
        # (N, 2, S*L, H, W) -> (N*S, L*2, H, W): channels x0, y0, x1, y1, ...
        return x.view(n, 2, s, self.flow_len, h, w).permute(0, 2, 3, 1, 4, 5).reshape(n * s, 2 * self.flow_len, h, w)

    def forward_features(self, x) -> torch.Tensor:
        """``(rgb, flow)`` or ``{"rgb", "flow"}`` (see the module docstring) -> ``(N, num_features)``."""
        inputs = split_two_stream_input(x, self.modalities)
        feats = [getattr(self, m)(self._frames(m, inputs[m])) for m in self.modalities]  # (N * S, F_m) each
        if self.fusion == "average":
            return torch.cat([segment_consensus(f, self.num_segments) for f in feats], dim=1)
        per_segment = [f.view(-1, self.num_segments, f.shape[-1]) for f in feats]  # (N, S, F_m)
        out, _ = self.lstm(self.dropout(torch.cat(per_segment, dim=2)))
        return out[:, -1]

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, num_features)`` -> ``(N, num_classes)``: each stream's classifier on its part of the
        features, logits averaged (``"average"``), or the classifier on the LSTM output (``"lstm"``)."""
        features = self.dropout(features)
        if self.fusion == "lstm":
            return self.fc(features)
        parts = features.split(list(self.stream_dims.values()), dim=1)
        return torch.stack([self.heads[m](part) for m, part in zip(self.stream_dims, parts)]).mean(dim=0)

    @property
    def classifier_names(self) -> tuple[str, ...]:
        """One classifier per stream (``heads.rgb``, ``heads.flow``), or the LSTM's ``fc``."""
        return ("fc",) if self.fusion == "lstm" else tuple(f"heads.{m}" for m in self.stream_dims)


def two_stream(num_classes: int, backbone: str = "resnet18", **kwargs) -> TwoStream:
    """Builder of :class:`TwoStream` (kwargs: ``flow_len``, ``num_segments``, ``fusion``, ``modalities``, ...)."""
    return TwoStream(num_classes, backbone=backbone, **kwargs)


_NOTE = ("input (rgb, flow) or {'rgb','flow'}: rgb (N,3,S,H,W) one frame per segment, flow (N,2,S*L,H,W) "
         "8-bit flow images mapped back to [-1, 1]; L=10 flow fields per segment")
_FLOW_NOTE = "flow (N,2,S*L,H,W), x and y of L=10 consecutive flow fields per segment"
for _name, _kwargs, _what in (
    ("two_stream_resnet18", {"backbone": "resnet18"}, "ResNet-18 streams, average fusion"),
    ("two_stream_resnet18_lstm", {"backbone": "resnet18", "fusion": "lstm", "num_segments": 3},
     "ResNet-18 streams, LSTM fusion over 3 segments"),
    ("two_stream_resnet50", {"backbone": "resnet50"}, "ResNet-50 streams, average fusion"),
    ("two_stream_xception", {"backbone": "xception"}, "Xception streams, average fusion"),
    ("two_stream_xception_lstm", {"backbone": "xception", "fusion": "lstm", "num_segments": 3},
     "Xception streams, LSTM fusion over 3 segments"),
    ("flow_resnet18", {"backbone": "resnet18", "modalities": ("flow",)}, "temporal (flow) stream alone, ResNet-18"),
    ("flow_xception", {"backbone": "xception", "modalities": ("flow",)}, "temporal (flow) stream alone, Xception"),
):
    _segments = _kwargs.get("num_segments", 1)
    register_model(
        _name,
        two_stream,
        family="two_stream",
        dataset="",
        num_classes=101,
        kwargs=_kwargs,
        input=InputSpec(clip_len=10, frame_step=1, num_segments=_segments, crop_size=224, short_side=256,
                        layout="(rgb NCSHW, flow NC(S*L)HW)" if "modalities" not in _kwargs else "NCTHW",
                        mean=(0.485, 0.456, 0.406) if "modalities" not in _kwargs else (0.5, 0.5, 0.5),
                        std=(0.229, 0.224, 0.225) if "modalities" not in _kwargs else (0.5, 0.5, 0.5),
                        note=_NOTE if "modalities" not in _kwargs else _FLOW_NOTE,
                        channels=3 if "modalities" not in _kwargs else 2),
        description=f"Two-stream network: {_what}; no weights.",
        source="zoo",
    )
