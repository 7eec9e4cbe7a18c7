"""The ``zoo`` command: a thin layer over the library.

    zoo list [PATTERN] [--dataset D] [--pretrained]
    zoo info NAME [--json]
    zoo download NAME [--tag T]
    zoo cache [--purge [NAME]]
    zoo publish CHECKPOINT --name N --arch A [--hub DIR] [--num-classes K] [--url URL]
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Callable, Sequence

from . import hub
from .manifest import publish
from .registry import get_model_list, model_card

__all__ = ["main", "build_parser", "register_command"]

_EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = []


def register_command(add: Callable[[argparse._SubParsersAction], None]) -> Callable[[argparse._SubParsersAction], None]:
    """Let another module add a sub-command: ``add(subparsers)`` sets ``func`` on its parser."""
    _EXTRA_COMMANDS.append(add)
    return add


def _cmd_list(args: argparse.Namespace) -> int:
    pretrained = True if args.pretrained else None
    for name in get_model_list(args.pattern, dataset=args.dataset, pretrained=pretrained, family=args.family):
        card = model_card(name)
        tags = ",".join(w.tag for w in card.weights) or "-"
        print(f"{name:48s} {card.family:14s} {card.dataset:12s} {tags}")
    return 0


def _card_dict(name: str) -> dict:
    card = model_card(name)
    data = card.to_dict()
    for w, entry in zip(data["weights"], card.weights):
        w["tag"] = entry.tag
        w["resolved_url"] = hub.resolve_url(entry.url, entry.repo, entry.file) if entry.repo != "zoo" or entry.url else ""
    return data


def _cmd_info(args: argparse.Namespace) -> int:
    data = _card_dict(args.name)
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    card = model_card(args.name)
    spec = card.input
    print(f"name:         {card.name}")
    print(f"family:       {card.family}")
    print(f"dataset:      {card.dataset}  ({card.num_classes} classes)")
    print(f"builder:      {card.builder.__module__}.{card.builder.__name__}({', '.join(f'{k}={v!r}' for k, v in card.kwargs.items())})")
    print(f"input:        {spec.clip_len} frames x step {spec.frame_step}, {spec.num_segments} segment(s), crop {spec.crop_size}, short side {spec.short_side}, {spec.layout}")
    print(f"normalize:    mean {spec.mean} std {spec.std}")
    if spec.note:
        print(f"note:         {spec.note}")
    if card.description:
        print(f"description:  {card.description}")
    if card.source:
        print(f"source:       {card.source}")
    if not card.weights:
        print("weights:      none published")
    for w in data["weights"]:
        acc = w["accuracy"] or {}
        top1 = f"top-1 {acc['top1']} ({acc['reported_by']})" if acc.get("top1") is not None else "no published accuracy"
        default = " [default]" if w["default"] or w is data["weights"][0] and not any(x["default"] for x in data["weights"]) else ""
        print(f"weights:      {w['tag']}{default} {w['format']} sha1 {w['sha1']} {top1}")
        print(f"              {w['resolved_url'] or w['file']}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    card = model_card(args.name)
    entry = card.find_weights(args.tag) if args.tag else card.default_weights()
    if entry is None:
        raise ValueError(f"{args.name} has no published weights")
    path = hub.fetch(entry.file, entry.sha1, entry.url, entry.repo, progress=not args.quiet)
    print(path)
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    if args.purge is not None:
        removed = hub.purge(args.purge or None)
        print(f"removed {len(removed)} file(s) from {hub.zoo_home()}")
        return 0
    items = hub.list_cache()
    for item in items:
        print(f"{item.size / 2**20:10.1f} MiB  {item.path}")
    print(f"{len(items)} file(s), {sum(i.size for i in items) / 2**20:.1f} MiB in {hub.zoo_home()}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    entry = publish(args.checkpoint, name=args.name, arch=args.arch, hub_dir=args.hub, num_classes=args.num_classes, url=args.url)
    print(f"published {args.name}: {entry.file} (sha1 {entry.sha1})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A PyTorch model zoo for video action recognition.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list model names")
    p.add_argument("pattern", nargs="?", help="wildcard, e.g. 'i3d_*'")
    p.add_argument("--dataset", help="only names trained on this dataset")
    p.add_argument("--family", help="only this architecture family")
    p.add_argument("--pretrained", action="store_true", help="only names with published weights")
    p.set_defaults(func=_cmd_list)

    p = sub.add_parser("info", help="show a model card")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="print the card as JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser("download", help="fetch a weights file into the cache")
    p.add_argument("name")
    p.add_argument("--tag", help="weights version (hash prefix)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_download)

    p = sub.add_parser("cache", help="list or purge the weights cache")
    p.add_argument("--purge", nargs="?", const="", metavar="NAME", help="delete all cached files, or one model's")
    p.set_defaults(func=_cmd_cache)

    p = sub.add_parser("publish", help="write weights into a hub folder and its manifest")
    p.add_argument("checkpoint", help=".safetensors or .pth (state dict or training checkpoint)")
    p.add_argument("--name", required=True, help="new model name")
    p.add_argument("--arch", required=True, help="registered name to build from")
    p.add_argument("--hub", help="hub folder (default $ZOO_HOME/hub)")
    p.add_argument("--num-classes", type=int)
    p.add_argument("--url", help="absolute URL the file will be served at")
    p.set_defaults(func=_cmd_publish)

    for add in _EXTRA_COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, OSError, RuntimeError) as err:
        message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
