"""Model construction for training: registry model, fine-tuning head, freezing, SyncBatchNorm."""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional, Sequence

import torch.nn as nn

from ..models._interface import apply_partial_bn
from ..weights import get_model

logger = logging.getLogger(__name__)

__all__ = ["build_model", "FreezeSpec", "frozen_prefixes", "apply_freeze"]

_BN = nn.modules.batchnorm._BatchNorm


def _pretrained_arg(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false", "none", ""):
        return value.lower() == "true"
    return value


def build_model(model_cfg: Mapping[str, Any], num_classes: Optional[int]) -> nn.Module:
    """``get_model(name, pretrained=..., num_classes=N, **kwargs)``: with weights and a new ``N`` the
    classifier starts fresh and every other weight is kept (fine-tuning)."""
    model = get_model(model_cfg["name"], pretrained=_pretrained_arg(model_cfg.get("pretrained", False)),
                      num_classes=model_cfg.get("num_classes") or num_classes, **dict(model_cfg.get("kwargs") or {}))
    prefixes = frozen_prefixes(model, int(model_cfg.get("frozen_stages") or 0), model_cfg.get("freeze") or ())
    model.zoo_freeze = FreezeSpec(prefixes, bool(model_cfg.get("partial_bn")))  # type: ignore[attr-defined]
    apply_freeze(model)
    return model


class FreezeSpec:
    """What stays frozen: parameter-name prefixes, and whether partial BN is on."""

    def __init__(self, prefixes: Sequence[str], partial_bn: bool) -> None:
        self.prefixes, self.partial_bn = tuple(prefixes), partial_bn


def frozen_prefixes(model: nn.Module, frozen_stages: int, extra: Sequence[str] = ()) -> list[str]:
    """Prefixes of the stem and ``layer1..layerN`` (ResNet-style naming), plus ``extra``.

    Raises:
        ValueError: ``frozen_stages > 0`` for a model without ``layer1``... children (use ``model.freeze``).
    """
    prefixes = list(extra)
    if frozen_stages <= 0:
        return prefixes
    names = [name for name, _ in model.named_modules() if name]
    stages = [f"layer{i}" for i in range(1, frozen_stages + 1)]
    found = {s: next((n for n in names if n == s or n.endswith("." + s)), None) for s in stages}
    if any(v is None for v in found.values()):
        raise ValueError(f"frozen_stages={frozen_stages}: {type(model).__name__} has no "
                         f"{', '.join(s for s, v in found.items() if v is None)} module; freeze by parameter-name "
                         "prefix instead, e.g. model.freeze=[features.0,features.1]")
    first = found["layer1"]
    parent = first.rsplit(".", 1)[0] + "." if "." in first else ""
    # the stem: every parameter registered before layer1 under the same parent
    for name, _ in model.named_parameters():
        if name.startswith(parent) and name[len(parent):].split(".")[0].startswith("layer"):
            break
        prefixes.append(name.rsplit(".", 1)[0])
    prefixes += [found[s] for s in stages]
    return sorted(set(prefixes))


def _matches(name: str, prefixes: Sequence[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def apply_freeze(model: nn.Module) -> None:
    """Freeze what ``model.zoo_freeze`` names; call again after every ``model.train()``.

    Frozen modules get ``requires_grad=False`` and their BatchNorms run in eval mode; partial BN
    freezes every BatchNorm but the first (statistics and affine: :func:`~zoo.models._interface.apply_partial_bn`).
    """
    spec: Optional[FreezeSpec] = getattr(model, "zoo_freeze", None)
    if spec is None:
        return
    for name, p in model.named_parameters():
        if _matches(name, spec.prefixes):
            p.requires_grad_(False)
    for name, bn in model.named_modules():
        if isinstance(bn, _BN) and _matches(name, spec.prefixes):
            bn.eval()
    if spec.partial_bn:
        apply_partial_bn(model)
