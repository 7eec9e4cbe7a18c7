"""Model construction for training: registry model, fine-tuning head, freezing."""
from __future__ import annotations

import logging
from typing import Any, Mapping, Optional

import torch.nn as nn

from ..models._interface import VideoClassifier
from ..weights import get_model

logger = logging.getLogger(__name__)

__all__ = ["build_model"]


def _pretrained_arg(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false", "none", ""):
        return value.lower() == "true"
    return value


def build_model(model_cfg: Mapping[str, Any], num_classes: Optional[int]) -> nn.Module:
    """``get_model(name, pretrained=..., num_classes=N, **kwargs)`` in train mode: with weights and a new ``N``
    the classifier starts fresh and every other weight is kept (fine-tuning).

    ``frozen_stages``, ``freeze`` (module names) and ``partial_bn`` go to the model's own
    :meth:`~zoo.models._interface.VideoClassifier.freeze` and ``partial_bn``, so they hold after every
    ``model.train()``.

    Raises:
        ValueError: freezing asked of a model that is not a :class:`VideoClassifier`, or of stages or
            modules it does not have.
    """
    model = get_model(model_cfg["name"], pretrained=_pretrained_arg(model_cfg.get("pretrained", False)),
                      num_classes=model_cfg.get("num_classes") or num_classes, **dict(model_cfg.get("kwargs") or {}))
    frozen_stages = int(model_cfg.get("frozen_stages", -1))
    names = tuple(model_cfg.get("freeze") or ())
    partial_bn = bool(model_cfg.get("partial_bn"))
    if frozen_stages >= 0 or names or partial_bn:
        if not isinstance(model, VideoClassifier):
            raise ValueError(f"{model_cfg['name']} ({type(model).__name__}) cannot freeze stages, modules or "
                             "BatchNorms; leave model.frozen_stages, model.freeze and model.partial_bn unset")
        model.partial_bn = model.partial_bn or partial_bn
        model.freeze(model.bn_frozen, max(model.frozen_stages, frozen_stages), (*model.frozen_names, *names))
    return model.train()
