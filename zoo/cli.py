"""The ``zoo`` command: a thin layer over the library.

    zoo list [PATTERN] [--dataset D] [--family F] [--with-weights]
    zoo info NAME [--json]
    zoo download NAME [--tag T]
    zoo cache [--purge [NAME]]
    zoo publish CHECKPOINT --name N [--arch A] [--hub DIR] [--num-classes K] [--url URL]
    zoo lock [NAME[:TAG] ...] [-o zoo.lock]
    zoo annotate VIDEO_DIR --labels labels.txt [--out annotations.json] [--port P]
    zoo cut ANNOTATIONS --videos DIR --out DIR [--labels labels.txt] [--negatives N] [--val-fraction F]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Sequence

from . import hub
from .manifest import publish
from .catalogue import get_model_list, model_card
from .state import format_of, read_weights
from .weights import identify, write_lock

__all__ = ["main", "build_parser"]


def _cmd_list(args: argparse.Namespace) -> int:
    pretrained = True if args.with_weights else None
    names = get_model_list(args.pattern, dataset=args.dataset, pretrained=pretrained, family=args.family)
    if not names:
        wanted = " ".join(f"{k} {v!r}" for k, v in (("pattern", args.pattern), ("dataset", args.dataset), ("family", args.family)) if v)
        print(f"zoo list: no model name matches {wanted or 'the filters'}{' with weights' if pretrained else ''} "
              "(patterns are shell wildcards: * ? [abc]; quote them)", file=sys.stderr)
        return 1
    rows = [_list_row(model_card(name)) for name in names]
    header = ("NAME", "FAMILY", "DATASET", "TOP-1", "WEIGHTS")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    return 0


def _list_row(card) -> tuple[str, str, str, str, str]:
    """NAME, FAMILY, DATASET, TOP-1 (of the default weights), WEIGHTS (tags, default first) of a card."""
    default = card.default_weights()
    acc = default.accuracy if default is not None else None
    top1 = f"{acc.top1:.1f}" if acc is not None and acc.top1 is not None else "-"
    tags = [w.tag for w in card.weights if w is not default]
    return card.name, card.family, card.dataset or "-", top1, ",".join(([default.tag] if default else []) + tags) or "-"


def _card_dict(name: str) -> dict:
    card = model_card(name)
    data = card.to_dict()
    for w, entry in zip(data["weights"], card.weights):
        w["resolved_url"] = hub.resolve_url(entry.url, entry.repo, entry.file)
        w["cache_path"] = str(hub.cache_path(entry.file))
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
    print(f"normalize:    mean {spec.mean} std {spec.std}" + (", temporal centering" if spec.temporal_centering else ""))
    # the int8 note says what the int8 variant is: the description refers to it
    optional = (("classes", ", ".join(card.class_names)), ("note", spec.note), ("int8 note", card.int8.removeprefix("int8: ")),
                ("description", card.description), ("source", card.source))
    for label, value in optional:
        if value:
            print(f"{label + ':':<14}{value}")
    if not card.weights:
        print("weights:      none published")
    for w in data["weights"]:
        acc = w["accuracy"] or {}
        top1 = f"top-1 {acc['top1']} ({acc['reported_by']})" if acc.get("top1") is not None else "no published accuracy"
        default = " [default]" if w["default"] or w is data["weights"][0] and not any(x["default"] for x in data["weights"]) else ""
        print(f"weights:      {w['tag']}{default} {w['format']} sha1 {w['sha1']} {top1}")
        print(f"              from {w['resolved_url']}")
        print(f"              cached as {w['cache_path']}")
    return 0


def _cmd_download(args: argparse.Namespace) -> int:
    card = model_card(args.name)
    entry = card.find_weights(args.tag) if args.tag else card.default_weights()
    if entry is None:
        raise ValueError(f"{args.name} has no published weights")
    path = hub.fetch(entry.file, entry.checksum, entry.url, entry.repo, progress=not args.quiet, size=entry.size)
    print(path)
    return 0


def _cmd_cache(args: argparse.Namespace) -> int:
    if args.purge is not None:
        removed = hub.purge(args.purge or None)
        print(f"removed {len(removed)} file(s) from {hub.zoo_home()}")
        return 0
    items = hub.list_cache(partial=True)
    for item in items:
        print(f"{item.size / 2**20:10.1f} MiB  {item.path}{'  (partial download, resumed by the next download)' if item.partial else ''}")
    partial = sum(i.partial for i in items)
    print(f"{len(items) - partial} file(s), {partial} partial, {sum(i.size for i in items) / 2**20:.1f} MiB in {hub.zoo_home()}")
    return 0


def _cmd_publish(args: argparse.Namespace) -> int:
    entry = publish(args.checkpoint, name=args.name, arch=args.arch, hub_dir=args.hub, num_classes=args.num_classes, url=args.url)
    print(f"published {args.name}: {entry.file} (sha1 {entry.sha1})")
    return 0


def _cmd_lock(args: argparse.Namespace) -> int:
    if args.names:
        entries = write_lock(args.names, args.output, progress=not args.quiet)
    else:
        entries = hub.lock_cached(args.output)
    for file, pin in entries.items():
        print(f"{pin['sha256']}  {file}")
    print(f"pinned {len(entries)} file(s) in {args.output}; set ZOO_LOCK={args.output} to enforce the pins")
    return 0


def _cmd_identify(args: argparse.Namespace) -> int:
    fmt = format_of(Path(args.file))
    names = identify(read_weights(args.file, fmt), fmt)
    if not names:
        print(f"{args.file}: no registered model takes these weights (keys and shapes of {fmt} format)", file=sys.stderr)
        return 1
    print(f"these weights fit {', '.join(names)}")
    return 0


def _cmd_annotate(args: argparse.Namespace) -> int:
    from .data.annotate_server import AnnotationServer, AnnotationSession
    from .data.lists import read_class_names

    output = Path(args.out) if args.out else Path(args.video_dir) / "annotations.json"
    session = AnnotationSession(args.video_dir, read_class_names(args.labels), output)
    server = AnnotationServer(session, port=args.port)
    print(f"annotating {len(session.files)} videos of {args.video_dir}: open {server.url} "
          f"(segments are saved to {output}; Ctrl+C stops)", flush=True)
    if args.open:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("zoo annotate: stopped", file=sys.stderr)
    finally:
        server.close()
    return 0


def _cmd_cut(args: argparse.Namespace) -> int:
    from .data.annotations import read_annotations
    from .data.cut import cut_clips
    from .data.lists import read_class_names

    labels = read_class_names(args.labels) if args.labels else None
    known = labels + [args.negative_label] if labels and args.negatives else labels
    segments = read_annotations(args.annotations, labels=known, video_root=args.videos,
                                label_attribute=args.label_attribute)
    splits = cut_clips(segments, args.videos, args.out, labels=labels, negatives_per_video=args.negatives,
                       negative_label=args.negative_label, negative_length=args.negative_length, min_gap=args.min_gap,
                       val_fraction=args.val_fraction, seed=args.seed, progress=not args.quiet)
    print(f"{splits.cut} clips cut, {splits.skipped} already there\ntrain list: {splits.train_list}\n"
          f"val list:   {splits.val_list}\nclasses:    {splits.classes_file}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoo", description="A PyTorch model zoo for video action recognition.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list model names")
    p.add_argument("pattern", nargs="?", help="wildcard, e.g. 'i3d_*'")
    p.add_argument("--dataset", help="only names trained on this dataset")
    p.add_argument("--family", help="only this architecture family")
    p.add_argument("--with-weights", "--pretrained", dest="with_weights", action="store_true", help="only names with published weights")
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
    p.add_argument("--arch", help="registered name to build from (default: a training checkpoint's model)")
    p.add_argument("--hub", help="hub folder (default $ZOO_HOME/hub)")
    p.add_argument("--num-classes", type=int)
    p.add_argument("--url", help="absolute URL the file will be served at")
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser("lock", help="pin the full sha256 of weights files into a lock file (enforced with ZOO_LOCK)")
    p.add_argument("names", nargs="*", metavar="NAME[:TAG]", help="models whose weights to pin (default: every file in the cache)")
    p.add_argument("-o", "--output", default="zoo.lock", help="lock file to write or update (default zoo.lock)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_lock)

    p = sub.add_parser("identify", help="name the registered models whose weights a file holds")
    p.add_argument("file", help=".safetensors, .pth/.pt or .params")
    p.set_defaults(func=_cmd_identify)

    p = sub.add_parser("annotate", help="mark actions in videos on a local page; saved as a VIA 3 project")
    p.add_argument("video_dir", help="folder of videos")
    p.add_argument("--labels", required=True, help="class names, one per line")
    p.add_argument("--out", help="annotation file to load and save (default VIDEO_DIR/annotations.json)")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free one; default 8000)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.set_defaults(func=_cmd_annotate)

    p = sub.add_parser("cut", help="cut annotated segments into clips, with class and train/val list files")
    p.add_argument("annotations", help="VIA 3 project or CSV export, video,start,end,label CSV, or ActivityNet JSON")
    p.add_argument("--videos", required=True, help="folder of the annotated videos")
    p.add_argument("--out", required=True, help="folder for clips/, classes.txt, train.txt and val.txt")
    p.add_argument("--labels", help="class names, one per line (default: the labels found, sorted)")
    p.add_argument("--negatives", type=int, default=0, metavar="N", help="no-action clips per video from unannotated spans")
    p.add_argument("--negative-label", default="no_action", help="class name of those clips (default no_action)")
    p.add_argument("--negative-length", type=float, metavar="S", help="their length in seconds (default: median segment)")
    p.add_argument("--min-gap", type=float, default=1.0, metavar="S", help="seconds between a no-action clip and any segment")
    p.add_argument("--val-fraction", type=float, default=0.2, help="share of the videos (not clips) for validation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--label-attribute", help="the VIA attribute holding the label, when a project has several")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_cut)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # the reader closed the pipe (``zoo info NAME --json | head -1``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("zoo: interrupted", file=sys.stderr)
        return 130
    except (KeyError, ValueError, OSError, RuntimeError) as err:
        message = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
        print(f"zoo {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
