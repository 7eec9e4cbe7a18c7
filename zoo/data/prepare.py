"""Turn raw dataset annotations into GluonCV list files ``path num_frames label``.

``num_frames`` is written as 0 ("unknown, read it from the video") unless
``count_frames=True`` and the videos are present under ``video_root``.

* UCF101: ``classInd.txt`` (``"1 ApplyEyeMakeup"``), ``trainlist0N.txt``
  (``"Class/v_x.avi 1"``, 1-based label) and ``testlist0N.txt`` (no label).
* HMDB51: ``<class>_test_splitN.txt`` with ``"video.avi 1"`` (1 = train,
  2 = test, 0 = unused); classes are the file-name prefixes, sorted.
* Kinetics-400: CSV ``label,youtube_id,time_start,time_end,split``; clips are
  ``<youtube_id>_<start:06d>_<end:06d>.mp4`` inside ``<label>/`` folders
  (``layout="class_folders"``, spaces in labels become ``_``) or flat.
* Something-Something-V2: ``something-something-v2-labels.json``
  (``{"template": "index"}``) and ``train.json``/``validation.json``
  (``[{"id": "1", "template": "Holding [something] ..."}]``); videos ``<id>.webm``.

CLI: ``python -m zoo.data.prepare {ucf101,hmdb51,kinetics400,sthv2} ...``
(also ``scripts/prepare_dataset.py``).
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from tqdm import tqdm

from . import class_names
from .errors import ListFileError, VideoDecodeError
from .lists import read_class_names, write_list_file
from .readers import VideoReader

logger = logging.getLogger(__name__)
PathLike = Union[str, os.PathLike]
Row = Tuple[str, int, int]


def _frames(video_root: Optional[Path], relative: str, count_frames: bool) -> int:
    if not count_frames or video_root is None:
        return 0
    try:
        with VideoReader(video_root / relative) as reader:
            return len(reader)
    except VideoDecodeError as error:
        logger.warning("cannot count frames: %s", error)
        return 0


def _progress(items, desc: str, enabled: bool):
    """tqdm bar over ``items`` when frames are counted (the slow part)."""
    return tqdm(items, desc=desc, unit="video", disable=not enabled)


def _write_classes(path: Path, names: Sequence[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    return path


def prepare_ucf101(annotation_dir: PathLike, out_dir: PathLike, split: int = 1, video_root: Optional[PathLike] = None,
                   count_frames: bool = False) -> Dict[str, Path]:
    """UCF101 split ``split`` -> ``{"train", "val", "classes"}`` files in ``out_dir``."""
    annotation_dir, out_dir = Path(annotation_dir), Path(out_dir)
    class_file = annotation_dir / "classInd.txt"
    classes = read_class_names(class_file)
    index = {name: i for i, name in enumerate(classes)}
    root = Path(video_root) if video_root else None
    lists = {}
    for subset, name in (("train", f"trainlist{split:02d}.txt"), ("val", f"testlist{split:02d}.txt")):
        source = annotation_dir / name
        rows: List[Row] = []
        for n, line in _progress(_lines(source), source.name, count_frames):
            fields = line.split()
            folder = fields[0].split("/")[0]
            if folder not in index:
                raise ListFileError.at(source, n, f"class folder {folder!r} is not in {class_file}")
            label = index[folder]
            if len(fields) > 1 and int(fields[1]) - 1 != label:
                raise ListFileError.at(source, n, f"label {fields[1]} disagrees with folder {folder!r}")
            rows.append((fields[0], _frames(root, fields[0], count_frames), label))
        lists[subset] = write_list_file(out_dir / f"ucf101_{subset}_split_{split}.txt", rows)
    lists["classes"] = _write_classes(out_dir / "ucf101_classes.txt", classes)
    return lists


def prepare_hmdb51(splits_dir: PathLike, out_dir: PathLike, split: int = 1, video_root: Optional[PathLike] = None,
                   count_frames: bool = False) -> Dict[str, Path]:
    """HMDB51 split ``split`` -> ``{"train", "val", "classes"}`` files in ``out_dir``."""
    splits_dir, out_dir = Path(splits_dir), Path(out_dir)
    suffix = f"_test_split{split}.txt"
    files = sorted(splits_dir.glob(f"*{suffix}"))
    if not files:
        raise ListFileError(f"no '*{suffix}' files in {splits_dir}", path=str(splits_dir))
    classes = sorted(f.name[: -len(suffix)] for f in files)
    root = Path(video_root) if video_root else None
    rows: Dict[str, List[Row]] = {"train": [], "val": []}
    for file in files:
        label = classes.index(file.name[: -len(suffix)])
        for n, line in _progress(_lines(file), file.name, count_frames):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                raise ListFileError.at(file, n, f"expected 'video.avi 0|1|2', got {line!r}")
            if fields[1] == "0":
                continue
            relative = f"{classes[label]}/{fields[0]}"
            subset = "train" if fields[1] == "1" else "val"
            rows[subset].append((relative, _frames(root, relative, count_frames), label))
    lists = {s: write_list_file(out_dir / f"hmdb51_{s}_split_{split}.txt", r) for s, r in rows.items()}
    lists["classes"] = _write_classes(out_dir / "hmdb51_classes.txt", classes)
    return lists


def prepare_kinetics400(csv_file: PathLike, out_file: PathLike, classes: Optional[Sequence[str]] = None,
                        layout: str = "class_folders", video_root: Optional[PathLike] = None,
                        skip_missing: bool = False, count_frames: bool = False) -> Path:
    """Kinetics annotation CSV -> list file. ``classes`` defaults to the
    shipped Kinetics-400 names. Rows without a label get label -1."""
    if layout not in ("class_folders", "flat"):
        raise ValueError(f"layout must be 'class_folders' or 'flat', got {layout!r}")
    if classes is None:
        classes = class_names("kinetics400")
    index = {name: i for i, name in enumerate(classes)}
    root = Path(video_root) if video_root else None
    rows: List[Row] = []
    missing = 0
    with open(csv_file, newline="", encoding="utf-8") as handle:
        for n, record in _progress(enumerate(csv.DictReader(handle), 2), Path(csv_file).name, count_frames):
            try:
                name = f"{record['youtube_id']}_{int(float(record['time_start'])):06d}_{int(float(record['time_end'])):06d}.mp4"
            except (KeyError, TypeError, ValueError) as error:
                raise ListFileError.at(csv_file, n, f"expected label,youtube_id,time_start,time_end,split ({error})") from None
            label_name = (record.get("label") or "").strip()
            if label_name and label_name not in index:
                raise ListFileError.at(csv_file, n, f"unknown class {label_name!r}")
            relative = f"{label_name.replace(' ', '_')}/{name}" if layout == "class_folders" and label_name else name
            if root is not None and skip_missing and not (root / relative).exists():
                missing += 1
                continue
            rows.append((relative, _frames(root, relative, count_frames), index.get(label_name, -1)))
    if missing:
        logger.warning("%s: skipped %d clips missing under %s", csv_file, missing, root)
    return write_list_file(out_file, rows)


def prepare_sthv2(labels_json: PathLike, annotations_json: PathLike, out_file: PathLike,
                  video_ext: str = "webm") -> Path:
    """Something-Something-V2 JSON -> list file ``<id>.webm 0 label`` (label -1
    for the unlabelled test JSON)."""
    labels = {k: int(v) for k, v in json.loads(Path(labels_json).read_text(encoding="utf-8")).items()}
    rows: List[Row] = []
    for n, item in enumerate(json.loads(Path(annotations_json).read_text(encoding="utf-8")), 1):
        if "id" not in item:
            raise ListFileError.at(annotations_json, n, "entry has no 'id'")
        template = item.get("template", "").replace("[", "").replace("]", "")
        if template and template not in labels:
            raise ListFileError.at(annotations_json, n, f"template {template!r} is not in {labels_json}")
        rows.append((f"{item['id']}.{video_ext}", 0, labels.get(template, -1)))
    return write_list_file(out_file, rows)


def _lines(path: Path) -> List[Tuple[int, str]]:
    if not path.is_file():
        raise ListFileError(f"annotation file {path} does not exist", path=str(path))
    return [(n, l.strip()) for n, l in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if l.strip()]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI: ``python -m zoo.data.prepare DATASET ...`` (see ``--help``)."""
    parser = argparse.ArgumentParser(description="Build GluonCV list files from raw dataset annotations.")
    sub = parser.add_subparsers(dest="dataset", required=True)
    for name, help_text in (("ucf101", "folder with classInd.txt, trainlist0N.txt, testlist0N.txt"),
                            ("hmdb51", "folder with <class>_test_splitN.txt files")):
        p = sub.add_parser(name)
        p.add_argument("annotations", help=help_text)
        p.add_argument("--out-dir", required=True)
        p.add_argument("--split", type=int, default=1)
        p.add_argument("--video-root", default=None)
        p.add_argument("--count-frames", action="store_true")
    p = sub.add_parser("kinetics400")
    p.add_argument("csv_file")
    p.add_argument("--out", required=True)
    p.add_argument("--layout", default="class_folders", choices=["class_folders", "flat"])
    p.add_argument("--video-root", default=None)
    p.add_argument("--skip-missing", action="store_true")
    p = sub.add_parser("sthv2")
    p.add_argument("labels_json")
    p.add_argument("annotations_json")
    p.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.dataset in ("ucf101", "hmdb51"):
        fn = prepare_ucf101 if args.dataset == "ucf101" else prepare_hmdb51
        written = fn(args.annotations, args.out_dir, args.split, args.video_root, args.count_frames)
        for kind, path in written.items():
            print(f"{kind}: {path}")
    elif args.dataset == "kinetics400":
        print(prepare_kinetics400(args.csv_file, args.out, layout=args.layout, video_root=args.video_root,
                                  skip_missing=args.skip_missing))
    else:
        print(prepare_sthv2(args.labels_json, args.annotations_json, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
