"""Scripts that fail well: the zoo's own errors and user mistakes become one line on stderr.

``scripts/*.py`` end with ``raise SystemExit(run_cli(main))``. A usage mistake (unknown model, missing
file or list, bad override or flag) exits with 2, a failure (a download, weights that do not fit, a
video that cannot be decoded) with 1, an interrupt with 130. ``--debug`` anywhere on the command line
shows the traceback instead. Anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..convert.mxnet_params import MXNetParamsError
from ..data import ListFileError, VideoDecodeError
from ..hub import HubError
from ..manifest import ManifestError
from ..registry import UnknownModelError, UnknownTagError
from ..weights import WeightsError
from .config import ConfigError

__all__ = ["UsageError", "run_cli", "positive_int", "USAGE_ERRORS", "FAILURES"]


class UsageError(ValueError):
    """A script was called in a way that cannot work (exit code 2)."""


USAGE_ERRORS: tuple[type[BaseException], ...] = (UsageError, ConfigError, ListFileError, UnknownModelError,
                                                 UnknownTagError, FileNotFoundError, IsADirectoryError,
                                                 NotADirectoryError)
FAILURES: tuple[type[BaseException], ...] = (VideoDecodeError, HubError, WeightsError, ManifestError,
                                             MXNetParamsError, PermissionError)


def _message(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename and not str(error).startswith(str(error.filename)):
        reason = error.strerror or str(error)
        return f"{error.filename}: {reason[:1].lower() + reason[1:]}"
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def run_cli(main: Callable[[list[str]], Optional[int]], argv: Optional[Sequence[str]] = None,
            prog: Optional[str] = None) -> int:
    """Run ``main(argv)`` and turn the errors a user can fix into one line (see the module docstring).

    Returns:
        the exit code: ``main``'s (0 if it returns None), 2 for usage errors, 1 for failures.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    prog = prog or Path(sys.argv[0]).name
    try:
        code = main(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except USAGE_ERRORS + FAILURES as error:
        if debug:
            raise
        print(f"{prog}: error: {_message(error)}", file=sys.stderr)
        return 2 if isinstance(error, USAGE_ERRORS) and not isinstance(error, FAILURES) else 1
    return int(code or 0)


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1 (``--num-clips 0`` is a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
