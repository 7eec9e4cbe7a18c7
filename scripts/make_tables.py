"""Regenerate csv_tables/Action_Recognitions/*.csv (and zoo/model_stats.json) from the model cards.

    python scripts/make_tables.py [--refresh-stats] [--check]
"""
from __future__ import annotations

import argparse
import logging
import sys

from zoo.tables import REGENERATE, stale_tables, write_tables


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--refresh-stats", action="store_true", help="recount params and GFLOPs of every model")
    parser.add_argument("--check", action="store_true", help="only report tables that are out of date (exit 1 if any)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.check:
        stale = stale_tables()
        for file in stale:
            print(f"out of date: {file} (run `{REGENERATE}`)")
        return 1 if stale else 0
    for path in write_tables(refresh_stats=args.refresh_stats):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
