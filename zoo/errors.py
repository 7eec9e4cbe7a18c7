"""zoo's error classes that depend on nothing else in zoo (converters and the registry raise them)."""
from __future__ import annotations

__all__ = ["WeightsError", "UnknownModelError", "UnknownTagError"]


class WeightsError(RuntimeError):
    """Weights that cannot be read or do not fit the model."""


class _PlainKeyError(KeyError):
    """A :class:`KeyError` whose message is not quoted (KeyError quotes its argument)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class UnknownModelError(_PlainKeyError):
    """An unknown model name; the message names close matches."""


class UnknownTagError(_PlainKeyError):
    """An unknown or ambiguous weights tag; the message lists the tags that exist."""
