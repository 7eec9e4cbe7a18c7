"""Exception classes of the data layer.

Both take a single message string as their first argument so that they survive
the round trip through a ``torch.utils.data.DataLoader`` worker (the loader
re-raises worker errors as ``type(exc)(message)``).
"""
from __future__ import annotations

from typing import Optional


class VideoDecodeError(RuntimeError):
    """A video (or frame folder) could not be opened or decoded.

    The message always names the file; ``path`` holds it when known.
    """

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path

    @classmethod
    def for_file(cls, path: object, reason: str) -> "VideoDecodeError":
        """Build an error whose message starts with the file name."""
        return cls(f"cannot decode video '{path}': {reason}", path=str(path))


class ListFileError(ValueError):
    """A list file (or raw dataset annotation) is malformed.

    The message names the file and the 1-based line number.
    """

    def __init__(self, message: str, path: Optional[str] = None, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line

    @classmethod
    def at(cls, path: object, line: int, reason: str) -> "ListFileError":
        """Build an error naming ``path:line``."""
        return cls(f"{path}:{line}: {reason}", path=str(path), line=line)
