"""Train any registry model: ``python scripts/train_recognizer.py CONFIG [key.sub=value ...] [--resume PATH|auto]``.

Distributed: ``torchrun --nproc_per_node N scripts/train_recognizer.py CONFIG ...`` (gloo on CPU, NCCL on
GPU; multi-node with torchrun's ``--nnodes``/``--rdzv-endpoint``). Examples::

    python scripts/train_recognizer.py configs/simple3d_synthetic.yaml train.epochs=2 train.amp=bf16
    # fine-tune Kinetics-400 I3D on your classes (configs/*_finetune.yaml: one recipe per family)
    python scripts/train_recognizer.py configs/i3d_resnet50_finetune.yaml \\
        data.train_list=videos/train.txt data.val_list=videos/val.txt --work-dir runs/my_i3d
    # the same command with --resume auto continues a run stopped or killed at any instant
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from zoo.engine import load_config, train
from zoo.engine.cli_errors import run_cli
from zoo.engine.distributed import cleanup, is_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="YAML config (configs/*.yaml); defaults only if omitted")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides, e.g. train.lr=0.01 data.batch_size=4")
    parser.add_argument("--resume", help="checkpoint to continue from, or 'auto' (work_dir/last.pth if present)")
    parser.add_argument("--work-dir", help="shortcut for output.work_dir=...")
    parser.add_argument("--quiet", action="store_true", help="warnings only, no progress bars")
    args = parser.parse_intermixed_args(argv)
    config, overrides = args.config, list(args.overrides)
    if config and "=" in config and not Path(config).is_file():
        config, overrides = None, [config, *overrides]
    if args.work_dir:
        overrides.append(f"output.work_dir={args.work_dir}")
    if args.quiet:
        overrides.append("train.progress=false")
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = load_config(config, overrides)
    try:
        summary = train(cfg, resume=args.resume)
        main_process = is_main()  # asked before leaving the process group, after which every rank is "0"
    finally:
        cleanup()
    if main_process:
        print(json.dumps({k: v for k, v in summary.items() if k != "bad_files"}, indent=2))
        print(f"bad videos skipped: {summary['bad_videos_skipped']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))  # user errors: one line, exit 2 (usage) or 1; --debug for the traceback
