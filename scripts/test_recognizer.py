"""Multi-view evaluation of a model on a list file.

    python scripts/test_recognizer.py --checkpoint runs/simple3d_synthetic/best.pth \\
        --list runs/synthetic/val.txt --num-clips 2 --num-crops 3 --out runs/test
    python scripts/test_recognizer.py --model i3d_resnet50_v1_kinetics400 --list k400_val.txt \\
        --num-clips 10 --num-crops 3 --reproduced

Writes ``result.json`` (metrics + the exact protocol), ``confusion.csv``/``confusion.png`` into
``--out``; ``--reproduced`` records the accuracy under ``csv_tables/reproduced/`` for the tables.
Under ``torchrun --nproc_per_node N`` every rank tests a shard and each video is counted once.
Any config key can be overridden (``data.crop_size=224 test.average=logit``).
The model runs on the CPU fast path: ``--precision auto`` (default) is bf16 where the CPU has bf16
instructions and bf16 agrees with fp32 on the list's first clips, else fp32; ``fp32``, ``bf16`` or
``int8`` (calibrated on the list's first clips) choose; ``--precision as-built`` runs the model as
built (with the config's ``train.amp``). The precision that ran is printed and kept in ``result.json``.

A video that cannot be decoded is in no metric: the summary says on how many videos the metrics
were computed and lists the skipped ones (also in ``result.json``); ``--reproduced`` refuses such a
run unless ``--allow-skipped`` is given. Errors are one line (``--debug`` for the traceback).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from zoo.engine.cli_errors import UsageError, positive_int, run_cli
from zoo.engine.config import apply_overrides, merge, _read_yaml
from zoo.engine.distributed import cleanup, init_distributed
from zoo.engine.loading import load_model, split_model_kwargs
from zoo.engine.testing import run_test, write_reproduced
from zoo.optimize import PRECISIONS
from zoo.registry import model_card

logger = logging.getLogger("test_recognizer")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("overrides", nargs="*", help="key.sub=value config overrides")
    parser.add_argument("--model", help="registry name (weights: --weights, default the published ones)")
    parser.add_argument("--weights", default="true", help="true (default weights), a tag, a file, or false")
    parser.add_argument("--checkpoint", help="a train_recognizer.py checkpoint (its config gives arch and protocol)")
    parser.add_argument("--config", help="YAML config whose data/test sections set the protocol")
    parser.add_argument("--list", dest="list_file", help="test list file (default: the config's data.test_list)")
    parser.add_argument("--root", help="prefix of the list's paths")
    parser.add_argument("--classes", help="class-name file")
    parser.add_argument("--num-clips", type=positive_int)
    parser.add_argument("--num-crops", type=int, choices=(1, 3, 10))
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("--out", default="runs/test", help="output folder for result.json and the confusion matrix")
    parser.add_argument("--reproduced", nargs="?", const="csv_tables/reproduced", default=None,
                        help="record the result for the tables (folder, default csv_tables/reproduced)")
    parser.add_argument("--allow-skipped", action="store_true",
                        help="let --reproduced record a run in which some videos could not be decoded")
    parser.add_argument("--tag", help="weights tag to record (default: the hub tag, or file-<sha1[:8]>)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=(*PRECISIONS, "as-built"),
                        help="auto (bf16 where the CPU has it and it agrees with fp32, else fp32), fp32, bf16, int8, "
                        "or as-built (the model as built, with train.amp)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    args = parser.parse_intermixed_args(argv)
    if not args.model and not args.checkpoint:
        raise UsageError("give a model name (--model NAME) or a training checkpoint (--checkpoint PATH)")
    if args.list_file and not Path(args.list_file).exists():
        raise UsageError(f"list file {args.list_file} does not exist (check the path)")
    if args.config and not Path(args.config).is_file():
        raise UsageError(f"config {args.config} does not exist (check the path)")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    info = init_distributed(args.device)
    weights = {"true": True, "false": False}.get(str(args.weights).lower(), args.weights)
    model_kwargs, overrides = split_model_kwargs(list(args.overrides))
    loaded = load_model(args.model, pretrained=weights, checkpoint=args.checkpoint, kwargs=model_kwargs)
    if loaded.tag == "random":
        logger.warning("%s has random weights (--weights false): its accuracy means nothing", loaded.name)
    cfg = loaded.cfg
    if args.config:
        file_cfg = _read_yaml(Path(args.config))
        cfg = merge(cfg, {k: file_cfg[k] for k in ("data", "test") if k in file_cfg}, strict=False)
    extra = [f"data.test_list={args.list_file}"] if args.list_file else []
    extra += [f"data.root={args.root}"] if args.root else []
    extra += [f"data.classes={args.classes}"] if args.classes else []
    extra += [f"test.num_clips={args.num_clips}"] if args.num_clips else []
    extra += [f"test.num_crops={args.num_crops}"] if args.num_crops else []
    extra += [f"test.batch_size={args.batch_size}"] if args.batch_size else []
    cfg = apply_overrides(cfg, extra + overrides)
    try:
        precision = None if args.precision == "as-built" else args.precision
        result, protocol, names = run_test(loaded, cfg, info, args.out, progress=not args.quiet and info.is_main,
                                           precision=precision)
        if info.is_main:
            print(f"precision: {protocol['precision']}")
            print(f"{loaded.name} [{args.tag or loaded.tag}], {protocol['num_clips']} clip(s) x "
                  f"{protocol['num_crops']} crop(s): {result.describe()}")
            print(f"results: {Path(args.out) / 'result.json'}, {Path(args.out) / 'confusion.png'}")
            if result.num_videos == 0:
                print(f"no video of {cfg['data']['test_list']} could be decoded; nothing was scored", file=sys.stderr)
                return 1
            if args.reproduced and result.skipped and not args.allow_skipped:
                print(f"not recorded in {args.reproduced}: {result.num_skipped} video(s) were skipped, so this is not "
                      "the accuracy on the whole list (fix the videos, or pass --allow-skipped to record it anyway)",
                      file=sys.stderr)
                return 1
            if args.reproduced:
                dataset = model_card(loaded.name).dataset
                path = write_reproduced(result, protocol, loaded.name, args.tag or loaded.tag, dataset, args.reproduced)
                print(f"reproduced result recorded in {path}")
            print(json.dumps({**result.summary(), "num_skipped": result.num_skipped}))
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
