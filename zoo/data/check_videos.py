"""``python -m zoo.data.check_videos LIST [--root DIR] [--out bad.txt] [--full]``.

Decodes every video of a list file (tqdm progress), prints a summary and
writes the bad ones (``path<TAB>reason``) to ``--out``. Exit status 1 when
some are bad.
"""
from __future__ import annotations

import argparse
import logging
from typing import Optional, Sequence

from .check import check_videos


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point."""
    parser = argparse.ArgumentParser(description="Find videos in a list file that cannot be decoded.")
    parser.add_argument("list_file")
    parser.add_argument("--root", default=None, help="prefix of the list paths (default: the list's folder)")
    parser.add_argument("--out", default=None, help="write bad videos here")
    parser.add_argument("--backend", default="auto", choices=["auto", "decord", "pyav", "frames"])
    parser.add_argument("--full", action="store_true", help="decode every frame")
    parser.add_argument("--video-ext", default="mp4")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    bad = check_videos(args.list_file, args.root, args.out, args.backend, args.full, args.video_ext)
    for item in bad:
        print(f"BAD line {item.line}: {item.path}: {item.reason}")
    print(f"{len(bad)} bad video(s)" + (f"; written to {args.out}" if args.out else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
