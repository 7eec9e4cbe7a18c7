"""The interface every zoo model has, with timm's names, and the pieces all families share for it.

:class:`VideoClassifier` is the base class of every registered network:

* ``forward_features(x) -> (N, num_features)``: pooled features, averaged over the views of a sample
  where the model averages views (``num_segments * num_crop`` consecutive clips or frames), before
  dropout and the classifier.  ``x`` is what the model takes: ``(N, C, T, H, W)`` clips, or a
  two-stream model's ``(rgb, flow)`` pair.
* ``forward_head(features) -> (N, num_classes)``: dropout and the classifier (and whatever layers a
  family has between its features and its classifier, e.g. C3D's ``fc7``).
* ``forward(x) == forward_head(forward_features(x))`` in eval mode.  A family may apply dropout
  earlier in training (TSN drops each frame's features before the average, as GluonCV does).
* ``reset_classifier(num_classes)``: a new classifier of that width; every other weight is kept.
* ``num_features``: the width of the features.

Also here: the average over views (:func:`segment_consensus`), TSN's partial BatchNorm
(:func:`apply_partial_bn`) and the initialisation the families start from (:func:`init_conv_bn`),
each written once for every family and the training engine.
"""
from __future__ import annotations

from typing import Collection

import torch
import torch.nn as nn

__all__ = ["VideoClassifier", "segment_consensus", "apply_partial_bn", "init_conv_bn", "set_bn_eval",
           "freeze_bn_affine", "freeze_modules"]


def segment_consensus(x: torch.Tensor, views: int) -> torch.Tensor:
    """Average ``views`` consecutive batch items: ``(N * views, F) -> (N, F)`` (GluonCV's consensus)."""
    if views == 1:
        return x
    if x.shape[0] % views:
        raise ValueError(
            f"batch of {x.shape[0]} is not a multiple of num_segments * num_crop = {views}; "
            "the input batch must hold N * num_segments * num_crop clips"
        )
    return x.reshape(-1, views, x.shape[-1]).mean(dim=1)


def apply_partial_bn(model: nn.Module) -> None:
    """TSN's partial BatchNorm: every BatchNorm but the first is frozen.

    Frozen means eval mode (it normalises with, and keeps, its running statistics) and no gradient
    to its scale and shift.  Call after every ``model.train()``; the first BatchNorm (after the first
    convolution) keeps training.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms[1:]:
        norm.eval()
        for p in norm.parameters():
            p.requires_grad_(False)


def _norms(modules: Collection[nn.Module]):
    return (m for module in modules for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))


def set_bn_eval(modules: Collection[nn.Module]) -> None:
    """Put every BatchNorm inside ``modules`` in eval mode (normalise with, and keep, running stats)."""
    for norm in _norms(modules):
        norm.eval()


def freeze_bn_affine(modules: Collection[nn.Module]) -> None:
    """Stop gradients to the scale and shift of every BatchNorm inside ``modules``."""
    for norm in _norms(modules):
        for p in norm.parameters():
            p.requires_grad_(False)


def freeze_modules(modules: Collection[nn.Module]) -> None:
    """Stop gradients to every parameter of ``modules`` (``frozen_stages``); pair with :func:`set_bn_eval`."""
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(False)


def init_conv_bn(model: nn.Module, *, linear_std: float | None = None, keep: Collection[nn.Module] = ()) -> None:
    """Kaiming-normal (fan-out) convolutions with zero bias, BatchNorm scale 1 and shift 0, in module order.

    With ``linear_std``, linear layers get N(0, linear_std) weights and zero bias (else they keep
    PyTorch's default); modules in ``keep`` are left alone.
    """
    for m in model.modules():
        if m in keep:
            continue
        if isinstance(m, (nn.Conv2d, nn.Conv3d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear) and linear_std is not None:
            nn.init.normal_(m.weight, std=linear_std)
            nn.init.zeros_(m.bias)


class VideoClassifier(nn.Module):
    """Base class of zoo's networks: features, head, classifier reset (see the module docstring).

    A subclass sets ``num_features`` and defines :meth:`forward_features`.  The default head is
    ``classifier(dropout(features))`` with the modules named by :attr:`classifier_name` and
    ``dropout``; a family with more between its features and its classifier overrides
    :meth:`forward_head`.  ``partial_bn = True`` applies :func:`apply_partial_bn` in training mode.
    """

    #: Dotted name of the final ``nn.Linear`` (what :meth:`reset_classifier` replaces).
    classifier_name: str = "fc"
    #: Standard deviation of the normal initialisation of a new classifier (its bias starts at zero).
    init_std: float = 0.01
    #: TSN's partial BatchNorm while training (see :func:`apply_partial_bn`).
    partial_bn: bool = False
    #: Every BatchNorm normalises with running statistics and has a frozen scale/shift (see :meth:`freeze`).
    bn_frozen: bool = False
    #: The stem and the first ``frozen_stages`` stages are frozen (mmaction's convention; -1: none).
    frozen_stages: int = -1
    #: Every parameter takes part in ``forward`` (distributed training relies on it unless told otherwise).
    forward_uses_every_parameter: bool = True
    num_features: int

    def forward_features(self, x) -> torch.Tensor:
        """Input (see the family) -> pooled features ``(N, num_features)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define forward_features")

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """``(N, num_features)`` -> logits ``(N, num_classes)``."""
        return self.get_classifier()(self.dropout(features))

    def forward(self, x) -> torch.Tensor:
        """Input -> logits ``(N, num_classes)``."""
        return self.forward_head(self.forward_features(x))

    def auxiliary_loss(self, target: torch.Tensor) -> torch.Tensor | None:
        """The network's own extra training loss for its last training-mode ``forward`` (deep supervision,
        such as TPN's auxiliary head) against ``target`` ``(N,)``, which the training engine adds to
        the classification loss; ``None`` where the network has none."""
        return None

    def get_classifier(self) -> nn.Module:
        """The final classifier layer."""
        return self.get_submodule(self.classifier_name)

    @property
    def classifier_names(self) -> tuple[str, ...]:
        """Dotted names of every ``nn.Linear`` whose outputs are the classes (what :meth:`reset_classifier`
        replaces); the first is the one :meth:`forward_head` ends with."""
        return (self.classifier_name,)

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifiers by new ones of ``num_classes`` outputs; every other weight stays."""
        for name in self.classifier_names:
            self.set_submodule(name, self._new_classifier(self.get_submodule(name), num_classes))

    def _new_classifier(self, old: nn.Module, num_classes: int, init_std: float | None = None) -> nn.Linear:
        """A ``Linear(old's inputs, num_classes)`` on ``old``'s device and dtype, initialised N(0, init_std)."""
        if num_classes < 1:
            raise ValueError(f"num_classes must be at least 1, got {num_classes}")
        weight = next((p for p in old.parameters() if p.is_floating_point()), None)
        in_features = getattr(old, "in_features", None) or self.num_features
        new = nn.Linear(in_features, num_classes,
                        device=weight.device if weight is not None else None,
                        dtype=weight.dtype if weight is not None else None)
        nn.init.normal_(new.weight, std=self.init_std if init_std is None else init_std)
        nn.init.zeros_(new.bias)
        return new

    #: Further modules kept frozen, by dotted name (the training config's ``model.freeze``).
    frozen_names: tuple[str, ...] = ()

    def stage_modules(self, count: int) -> list[nn.Module]:
        """The stem and the first ``count`` stages, found by name: the children that come before ``layer1``
        under its parent, then ``layer1``..``layer<count>``.  A family named otherwise overrides this.

        Raises:
            ValueError: the model has no ``layer1``..``layer<count>`` modules.
        """
        modules = dict(self.named_modules())
        first = next((n for n in modules if n == "layer1" or n.endswith(".layer1")), None)
        parent_name = first.rpartition(".")[0] if first else ""
        wanted = [f"{parent_name}.layer{i}".lstrip(".") for i in range(1, count + 1)]
        missing = [n for n in wanted if n not in modules] if first else ["layer1"]
        if missing:
            raise ValueError(f"frozen_stages={count}: {type(self).__name__} has no {', '.join(missing)} module; "
                             "freeze modules by name instead, e.g. model.freeze=[features.0,features.1]")
        stem = []
        for name, child in modules[parent_name].named_children():
            if name.startswith("layer"):
                break
            stem.append(child)
        return [*stem, *(modules[n] for n in wanted)]

    def frozen_modules(self) -> list[nn.Module]:
        """What ``frozen_stages`` and ``frozen_names`` keep frozen."""
        stages = self.stage_modules(self.frozen_stages) if self.frozen_stages >= 0 else []
        return [*stages, *(self.get_submodule(name) for name in self.frozen_names)]

    def freeze(self, bn_frozen: bool = False, frozen_stages: int = -1, names: Collection[str] = ()) -> None:
        """Stop the gradients that ``bn_frozen``, ``frozen_stages`` (-1: none, 0: the stem, N: the stem and N
        stages, as mmaction2 counts) and ``names`` (dotted module names) freeze; families call it at the end of
        ``__init__``, the training engine with the config's choices.

        Raises:
            ValueError: a stage or a module name that the model does not have.
        """
        unknown = [name for name in names if name not in dict(self.named_modules())]
        if unknown:
            raise ValueError(f"model.freeze names {unknown}, which {type(self).__name__} does not have; "
                             "name modules as model.named_modules() does, e.g. features.0")
        self.bn_frozen, self.frozen_stages, self.frozen_names = bn_frozen, frozen_stages, tuple(names)
        if bn_frozen:
            freeze_bn_affine([self])
        freeze_modules(self.frozen_modules())

    def train(self, mode: bool = True) -> "VideoClassifier":
        """Train mode, except the BatchNorms that ``partial_bn``, ``bn_frozen`` and ``frozen_stages`` keep in
        eval mode (partial BN: every BN but the first, as TSN defines it)."""
        super().train(mode)
        if mode:
            if self.partial_bn:
                apply_partial_bn(self)
            set_bn_eval([self] if self.bn_frozen else self.frozen_modules())
        return self
