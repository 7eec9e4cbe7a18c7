#!/usr/bin/env python
"""Build list files from raw UCF101 / HMDB51 / Kinetics-400 / SSv2 annotations.

Thin wrapper around ``python -m zoo.data.prepare``; see its ``--help``. Errors are one line
(``--debug`` for the traceback).
"""

from zoo.data.prepare import main
from zoo.engine.cli_errors import run_cli

if __name__ == "__main__":
    raise SystemExit(run_cli(main))
