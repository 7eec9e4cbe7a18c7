"""zoo's error classes that depend on nothing else in zoo (converters and the registry raise them)."""
from __future__ import annotations

__all__ = ["WeightsError", "UnknownModelError", "UnknownTagError"]


class WeightsError(RuntimeError):
    """Weights that cannot be read or do not fit the model."""


class UnknownModelError(KeyError):
    """An unknown model name; the message names close matches."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain message
        return str(self.args[0]) if self.args else ""


class UnknownTagError(KeyError):
    """An unknown or ambiguous weights tag; the message lists the tags that exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
