#!/usr/bin/env python
"""Build list files from raw UCF101 / HMDB51 / Kinetics-400 / SSv2 annotations.

Thin wrapper around ``python -m zoo.data.prepare``; see its ``--help``. Errors are one line
(``--debug`` for the traceback).
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zoo.data.prepare import main  # noqa: E402
from zoo.engine.cli_errors import run_cli  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
