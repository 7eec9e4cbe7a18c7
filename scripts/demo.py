"""`make demo`: train a small 3D CNN on the synthetic motion dataset, test it, publish it, load it back.

1. render the synthetic motion dataset (8 motion classes, 64x64 H.264 clips);
2. train ``simple3d_synthetic`` (configs/simple3d_synthetic.yaml) with the training engine;
3. evaluate it with multi-view testing (clips x crops) on the validation list;
4. publish the training checkpoint to a local hub folder under its hash (the card records the input
   protocol it was trained with and its class names), serve the folder on 127.0.0.1 and load the model
   back by name with ``get_model(name, pretrained=True)``;
5. classify clips rendered with a fresh seed, never seen in training, with the model loaded by name
   (its protocol from its card, nothing else said);
6. serve it through the bf16 fast path and count the videos where its top-1 agrees with fp32;
7. train the single-frame baseline (``simple2d_synthetic``, configs/simple2d_synthetic.yaml) on the
   same data and write the 2D-vs-3D table to ``<work-dir>/synthetic_2d_vs_3d.csv`` (``--table``
   elsewhere; ``--skip-baseline`` trains no baseline; ``--baselines simple2d,tsn`` adds TSN ResNet-18
   v1b with one segment when zoo/models/tsn.py registers it);
8. print the commands that test and run the published model by name.

Everything it writes goes under ``--work-dir`` (default runs/demo); committed files are left alone.

Overrides (``key.sub=value``) apply to the 3D config; those outside ``model.*`` and
``data.new_*`` apply to the baselines too (so the data and schedule stay the same).

    python scripts/demo.py [--work-dir runs/demo] [--threads 2] [--skip-baseline] [--baselines simple2d,tsn]

Exit status 1 when the 3D model's multi-view top-1 is below ``--min-top1`` (90).
"""
from __future__ import annotations

import argparse
import csv
import functools
import http.server
import logging
import os
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import torch  # noqa: E402

import zoo  # noqa: E402
from zoo.data import make_synthetic_dataset  # noqa: E402
from zoo.engine import load_config, train  # noqa: E402
from zoo.engine.distributed import init_distributed  # noqa: E402
from zoo.engine.loading import LoadedModel, load_model  # noqa: E402
from zoo.engine.testing import run_test  # noqa: E402

TABLE_NAME = "synthetic_2d_vs_3d.csv"
TABLE_FIELDS = ["model", "kind", "frames_per_view", "crop_size", "views", "val_top1", "val_mean_class_accuracy",
                "fresh_top1", "chance", "epochs", "train_seconds", "num_train", "num_val", "num_fresh", "config",
                "command"]
BASELINES = {
    "simple2d": ("configs/simple2d_synthetic.yaml", []),
    "tsn": ("configs/simple2d_synthetic.yaml",
            ["model.name=resnet18_v1b_kinetics400", "model.kwargs={num_segments: 1}", "output.work_dir=@/tsn18"]),
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def stage(text: str) -> None:
    print(f"\n== {text}", flush=True)


def train_and_test(config: str, overrides: list[str], work_dir: Path, fresh_list: Path, info) -> dict:
    """Train from a config, then multi-view test on the validation list and on the fresh clips."""
    overrides = [o.replace("@", str(work_dir)) for o in overrides]
    cfg = load_config(ROOT / config, [f"output.work_dir={work_dir / Path(config).stem}",
                                       f"data.synthetic.root={work_dir / 'synthetic'}", *overrides])
    started = time.time()
    summary = train(cfg)
    seconds = time.time() - started
    loaded = load_model(checkpoint=summary["checkpoint"])
    val, protocol, _ = run_test(loaded, loaded.cfg, info, Path(cfg["output"]["work_dir"]) / "test")
    fresh_cfg = {**loaded.cfg, "data": {**loaded.cfg["data"], "test_list": str(fresh_list)}}
    fresh, _, _ = run_test(loaded, fresh_cfg, info, Path(cfg["output"]["work_dir"]) / "test_fresh")
    return {"cfg": cfg, "summary": summary, "seconds": seconds, "val": val, "fresh": fresh, "protocol": protocol,
            "loaded": loaded}


def publish_and_load(source: torch.nn.Module | Path, name: str, arch: str | None, kwargs: dict | None, hub_dir: Path):
    """Publish ``source`` (a model, or a training checkpoint whose config and class names go into the card)
    under its hash into ``hub_dir``, serve the folder on 127.0.0.1 and load it back by name with
    ``get_model(name, pretrained=True)`` (a fresh ``ZOO_HOME`` cache, so it is downloaded).

    Returns ``(weights entry, loaded model in eval mode, the hub URL)``.
    """
    os.environ["ZOO_HOME"] = tempfile.mkdtemp(prefix="zoo_demo_home_")
    entry = zoo.publish(source, name, arch, hub_dir=hub_dir, kwargs=kwargs, dataset="synthetic")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(hub_dir)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    os.environ["ZOO_REPO_URL"] = url
    try:
        loaded = zoo.get_model(name, pretrained=True).eval()
    finally:
        server.shutdown()
        server.server_close()
    return entry, loaded, url


def bf16_agreement(loaded: LoadedModel, classes: list[str], lists: list[Path], example: torch.Tensor) -> tuple[int, int]:
    """How many videos of ``lists`` the bf16 fast path classifies like the fp32 model: ``(agree, total)``."""
    from zoo.engine.inference import Recognizer

    fast = zoo.optimize_for_inference(loaded.model, example, precision="bf16")
    fp32 = Recognizer.from_loaded(loaded, classes, precision="fp32")
    bf16 = Recognizer.from_loaded(LoadedModel(model=fast, name=loaded.name, tag=loaded.tag, cfg=loaded.cfg), classes)
    agree = total = 0
    for list_file in lists:
        for line in list_file.read_text().splitlines():
            path = list_file.parent / line.split()[0]
            agree += fp32.predict_video(path, k=1).labels[0] == bf16.predict_video(path, k=1).labels[0]
            total += 1
    return agree, total


def table_row(name: str, kind: str, run: dict, counts: dict, command: str, config: str) -> dict:
    p = run["protocol"]
    return {"model": name, "kind": kind, "frames_per_view": p["new_length"] * p["num_segments"], "crop_size": p["crop_size"],
            "views": p["views"], "val_top1": f"{run['val'].top1:.2f}",
            "val_mean_class_accuracy": f"{run['val'].mean_class_accuracy:.2f}", "fresh_top1": f"{run['fresh'].top1:.2f}",
            "chance": f"{100 / run['val'].confusion.shape[0]:.2f}", "epochs": run["summary"]["epochs_done"],
            "train_seconds": f"{run['seconds']:.0f}", **counts, "config": config, "command": command}


def _shell_path(path: Path) -> str:
    """``path`` relative to the working directory where it lies below it, quoted for a shell."""
    path = Path(path).absolute()
    try:
        path = path.relative_to(Path.cwd())
    except ValueError:
        pass
    return shlex.quote(str(path))


def print_next_steps(name: str, work: Path, fresh, checkpoint: Path, val_list: Path, protocol: dict) -> None:
    """The commands that test and run the published model by name (and its checkpoint), ready to paste."""
    python = _shell_path(Path(sys.executable).absolute())
    scripts = {script: _shell_path(ROOT / "scripts" / script) for script in ("test_recognizer.py", "inference.py")}
    env = f"ZOO_MANIFEST={_shell_path(work / 'hub' / 'manifest.json')}"
    views = f"--num-clips {protocol['num_clips']} --num-crops {protocol['num_crops']}"
    video = fresh.root / fresh.val_list.read_text().split()[0]
    print("\nnext: test and run the published model by name (its input protocol and class names come with it):")
    print(f"  {env} {python} {scripts['test_recognizer.py']} --model {name} --list {_shell_path(fresh.val_list)} {views}")
    print(f"  {env} {python} {scripts['inference.py']} --model {name} {_shell_path(video)} --topk 3")
    print("or test the training checkpoint itself:")
    print(f"  {python} {scripts['test_recognizer.py']} --checkpoint {_shell_path(checkpoint)} --list {_shell_path(val_list)} "
          f"{views}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work-dir", default=str(ROOT / "runs" / "demo"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fresh-seed", type=int, default=2024)
    parser.add_argument("--num-fresh", type=int, default=80)
    parser.add_argument("--min-top1", type=float, default=90.0)
    parser.add_argument("--skip-baseline", action="store_true", help="train only the 3D model; leave the table alone")
    parser.add_argument("--baselines", default="simple2d", help="comma list of: simple2d, tsn")
    parser.add_argument("--skip-3d", action="store_true",
                        help="train and test only the --baselines; merge their rows into the existing table")
    parser.add_argument("--table", help=f"2D-vs-3D table to write (default <work-dir>/{TABLE_NAME})")
    parser.add_argument("overrides", nargs="*", help="key.sub=value overrides of the 3D config")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    started = time.time()
    work = Path(args.work_dir)
    args.table = args.table or str(work / TABLE_NAME)
    info = init_distributed("cpu")
    config3d = "configs/simple3d_synthetic.yaml"
    overrides = [f"train.threads={args.threads}", *args.overrides]

    stage("1. synthetic motion dataset")
    base = load_config(ROOT / config3d, overrides)["data"]["synthetic"]
    splits = make_synthetic_dataset(work / "synthetic", **{k: v for k, v in base.items() if k != "root"})
    fresh = make_synthetic_dataset(work / "fresh", num_train=0, num_val=args.num_fresh, seed=args.fresh_seed,
                                   frames=base["frames"], size=base["size"], workers=base.get("workers", 1))
    counts = {"num_train": base["num_train"], "num_val": base["num_val"], "num_fresh": args.num_fresh}
    print(f"{base['num_train']} training / {base['num_val']} validation clips in {splits.root}; "
          f"{args.num_fresh} fresh clips (seed {args.fresh_seed}) in {fresh.root}")
    print(f"classes: {', '.join(splits.classes)}")

    table: list[dict] = []
    if args.skip_3d:
        if Path(args.table).is_file():
            table = list(csv.DictReader(open(args.table, encoding="utf-8")))
    else:
        stage("2. train simple3d_synthetic, 3. multi-view test")
        run3d = train_and_test(config3d, overrides, work, fresh.val_list, info)
        val, p = run3d["val"], run3d["protocol"]
        print(f"trained {run3d['summary']['epochs_done']} epochs in {run3d['seconds']:.0f}s "
              f"(bad videos skipped: {run3d['summary']['bad_videos_skipped']})")
        print(f"multi-view test ({p['num_clips']} clips x {p['num_crops']} crops, {p['new_length']} frames, "
              f"crop {p['crop_size']}) on {val.num_videos} validation videos: top-1 {val.top1:.2f}%  "
              f"top-5 {val.top5:.2f}%  mean class {val.mean_class_accuracy:.2f}%")

        stage("4. publish to a local hub, serve on 127.0.0.1, load back by name")
        name = "simple3d_synthetic_demo"
        trained = run3d["loaded"].model.eval()
        entry, loaded, url = publish_and_load(Path(run3d["summary"]["checkpoint"]), name, None, None, work / "hub")
        card = zoo.model_card(name)
        print(f"published {entry.file} (sha1 {entry.sha1}) to {work / 'hub'}; its card: {card.input.clip_len} frames "
              f"every {card.input.frame_step}, crop {card.input.crop_size}, temporal centering "
              f"{'on' if card.input.temporal_centering else 'off'}, classes {', '.join(card.class_names)}")
        print(f"get_model({name!r}, pretrained=True) downloaded it from {url} into {zoo.list_cache()[0].path}")
        probe = torch.randn(2, 3, p["new_length"], p["crop_size"], p["crop_size"])
        with torch.no_grad():
            gap = float((trained(probe) - loaded(probe)).abs().max())
        print(f"max |trained - loaded| logits on a probe batch: {gap:.2e}")

        stage(f"5. classify {args.num_fresh} clips never seen in training (seed {args.fresh_seed})")
        from zoo.engine.inference import Recognizer

        hub_model = load_model(name)  # weights from the cache, protocol and class names from the card
        test_views = {"test": {**hub_model.cfg["test"], **run3d["cfg"]["test"]}}
        fresh_cfg = {**hub_model.cfg, **test_views, "data": {**hub_model.cfg["data"], "test_list": str(fresh.val_list)}}
        fresh_result, _, _ = run_test(hub_model, fresh_cfg, info, work / "fresh_test")
        recognizer = Recognizer.from_loaded(hub_model)
        rows = [line.split() for line in fresh.val_list.read_text().splitlines()[:4]]
        for rel, _, label in rows:
            pred = recognizer.predict_video(fresh.root / rel, k=2)
            print(f"  {rel}: true {splits.classes[int(label)]:<20} predicted {pred.labels[0]} ({pred.scores[0]:.2f}), "
                  f"then {pred.labels[1]} ({pred.scores[1]:.2f})")
        print(f"hub-loaded model on the fresh clips ({p['num_clips']}x{p['num_crops']} views): "
              f"top-1 {fresh_result.top1:.2f}%  mean class {fresh_result.mean_class_accuracy:.2f}%")

        stage("6. serve it: the bf16 fast path (zoo.optimize_for_inference) against fp32")
        agree, total = bf16_agreement(hub_model, splits.classes, [splits.val_list, fresh.val_list], probe)
        print(f"bf16 fast path agrees with fp32 top-1 on {agree}/{total} validation and fresh videos "
              f"({100 * agree / total:.1f}%)")

    cli = " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    command = f".venv/bin/python scripts/demo.py {cli}".strip() if cli else "make demo  # = .venv/bin/python scripts/demo.py"
    if not args.skip_3d:
        table = [table_row("simple3d_synthetic", "3D (8 frames)", run3d, counts, command, config3d)]
    if not args.skip_baseline:
        for key in [b.strip() for b in args.baselines.split(",") if b.strip()]:
            config, extra = BASELINES[key]
            arch = "resnet18_v1b_kinetics400" if key == "tsn" else "simple2d_synthetic"
            if arch not in zoo.get_model_list():
                print(f"(baseline {arch} is not registered here; skipped)")
                continue
            stage(f"7. single-frame baseline {arch}")
            shared = [o for o in overrides if not o.lstrip("+").startswith(("model.", "data.new_"))]
            run2d = train_and_test(config, [*shared, *extra], work, fresh.val_list, info)
            print(f"{arch}: multi-view top-1 {run2d['val'].top1:.2f}% on validation, {run2d['fresh'].top1:.2f}% on "
                  f"the fresh clips (chance {100 / len(splits.classes):.1f}%)")
            table = [row for row in table if row["model"] != arch]
            table.append(table_row(arch, "2D (1 frame)", run2d, counts, command, config))
        Path(args.table).parent.mkdir(parents=True, exist_ok=True)
        with open(args.table, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=TABLE_FIELDS)
            writer.writeheader()
            writer.writerows(table)
        print(f"\n2D vs 3D table written to {args.table}:")
        for row in table:
            print(f"  {row['model']:<26} {row['kind']:<14} val top-1 {row['val_top1']:>6}%  fresh top-1 "
                  f"{row['fresh_top1']:>6}%  (chance {row['chance']}%)")

    minutes = (time.time() - started) / 60
    if args.skip_3d:
        print(f"\nbaselines done in {minutes:.1f} min")
        return 0
    print(f"\nmeasured: simple3d_synthetic multi-view top-1 {val.top1:.2f}% (validation), {fresh_result.top1:.2f}% "
          f"(fresh clips, loaded from the hub); demo took {minutes:.1f} min")
    print_next_steps(name, work, fresh, Path(run3d["summary"]["checkpoint"]), splits.val_list, p)
    if val.top1 < args.min_top1:
        print(f"FAILED: top-1 {val.top1:.2f}% is below {args.min_top1}%")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
