"""Every shell command of the docs (``.. code-block:: bash`` in docs/**/*.rst) and of README.md (```bash
fences) runs, unchanged, in a sandbox holding what the commands name.

A command that cannot run here is marked in the source, right before its block, with the reason::

    .. doc-test: skip -- needs 4 GPUs                      (rst: every command of the next block)
    .. doc-test: skip `--live 0` -- needs a webcam         (only the commands containing ``--live 0``)
    .. doc-test: slow `train_recognizer.py` -- ten epochs  (runs, under the ``heavy`` mark)
    <!-- doc-test: skip `zoo download` -- no internet -->  (README.md)

Every other command must exit 0. Every command runs under the ``slow`` mark (the sandbox alone takes
minutes on two cores); those marked slow in the docs take minutes each and also carry ``heavy``
(``-m "slow and not heavy"`` leaves them out). The sandbox (one template per session, copied for each command) holds:
the repository's ``scripts/``, ``configs/`` and ``benchmarks/results/`` (the scripts write under their own
root, so nothing of the checkout is touched); ``video.mp4``, ``clip.mp4``, ``long.mp4`` and ``my_videos/``
from ``../shared/data/videos``; ``videos/`` with train/val lists of tiny synthetic clips, made by the
fine-tune tutorial's own Python block; ``footage/`` and ``runs/footage/``, made by the footage
tutorial's own commands; small trained checkpoints where a command names ``runs/.../best.pth``
(and ``checkpoint.pth``); ``my_script.py``, a script that loads a model's default weights; ``$ZOO_HOME``
inside the sandbox, with ``ZOO_OFFLINE=1`` (no connection is ever opened).

Published weights cannot be downloaded here. For every registry name a command names, the sandbox's
``$ZOO_HOME/converted/`` holds that name's default weights as zoo's weights loader caches them after
converting a download: a safetensors file with the ``source_sha1`` of the published file. It is filled
with the model's own random initialisation, so the command runs for real, with weights of the right
shape and no network, and the command line stays exactly as documented.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pytest

from _shared import SHARED

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = sorted((ROOT / "docs").rglob("*.rst")) + [ROOT / "README.md"]
MARKER = re.compile(r"doc-test: (?P<kind>skip|slow)(?: `(?P<match>[^`]+)`)? -- (?P<reason>.+?)\s*(?:-->)?\s*$")
RST_BLOCK = re.compile(r"^(?P<indent> *)\.\. code-block:: (?:bash|shell|console)\s*$")
MD_FENCE = re.compile(r"^```(?:bash|shell|console)\s*$")
COMMAND_TIMEOUT = 900               # seconds; a command marked slow in the docs gets HEAVY_TIMEOUT
HEAVY_TIMEOUT = 2 * 3600           # the README's DDP run of the whole demo takes ~40 min on two busy cores
BIG_FILE = 1 << 20  # larger files are hard-linked into each command's sandbox, smaller ones copied


@dataclass(frozen=True)
class Marker:
    kind: str                 # "skip" or "slow"
    match: Optional[str]      # a command substring, or None: every command of the block
    reason: str
    where: str


@dataclass(frozen=True)
class DocCommand:
    where: str                # "docs/quickstart.rst:42"
    command: str              # continuation lines joined, comment lines dropped
    skip: Optional[str]       # the reason it cannot run here
    slow: Optional[str]


# ------------------------------------------------------------------ extraction
def _markers_before(lines: list[str], index: int, where: str) -> list[Marker]:
    """The ``doc-test:`` lines (and blank lines) right above line ``index``."""
    found = []
    i = index - 1
    while i >= 0 and (not lines[i].strip() or "doc-test:" in lines[i]):
        m = MARKER.search(lines[i])
        if m:
            found.append(Marker(m["kind"], m["match"], m["reason"], f"{where}:{i + 1}"))
        elif "doc-test:" in lines[i]:
            raise ValueError(f"{where}:{i + 1}: unreadable marker {lines[i].strip()!r}; write "
                             "'doc-test: skip|slow [`text of the command`] -- reason'")
        i -= 1
    return found


def _rst_blocks(lines: list[str]) -> list[tuple[int, list[tuple[int, str]]]]:
    """``(directive line, [(line number, code line)])`` of each bash block (options and indent stripped)."""
    out = []
    for i, line in enumerate(lines):
        m = RST_BLOCK.match(line)
        if not m:
            continue
        outer, body, j = len(m["indent"]), [], i + 1
        while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > outer):
            body.append((j + 1, lines[j]))
            j += 1
        code = [(n, l) for n, l in body if not l.strip().startswith(":")]  # directive options
        indent = min((len(l) - len(l.lstrip()) for _, l in code if l.strip()), default=0)
        out.append((i, [(n, l[indent:]) for n, l in code]))
    return out


def _md_blocks(lines: list[str]) -> list[tuple[int, list[tuple[int, str]]]]:
    out, i = [], 0
    while i < len(lines):
        if MD_FENCE.match(lines[i]):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append((i, [(n + 1, lines[n]) for n in range(i + 1, j)]))
            i = j
        i += 1
    return out


def split_commands(code: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """``(first line number, command)``: backslash continuations joined, comment and blank lines dropped."""
    out, pending, start = [], "", 0
    for number, line in code:
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        out.append((start, pending + stripped))
        pending = ""
    if pending:
        out.append((start, pending.strip()))
    return out


def doc_commands(files: list[Path] = DOC_FILES) -> tuple[list[DocCommand], list[Marker]]:
    """Every command of ``files`` and every marker that matched none of them (a stale marker)."""
    commands, stale = [], []
    for path in files:
        rel = str(path.relative_to(ROOT))
        lines = path.read_text(encoding="utf-8").splitlines()
        blocks = _md_blocks(lines) if path.suffix == ".md" else _rst_blocks(lines)
        for start, code in blocks:
            markers = _markers_before(lines, start, rel)
            used = set()
            for number, command in split_commands(code):
                skip = slow = None
                for marker in markers:
                    if marker.match is None or marker.match in command:
                        used.add(marker)
                        if marker.kind == "skip":
                            skip = skip or marker.reason
                        else:
                            slow = slow or marker.reason
                commands.append(DocCommand(f"{rel}:{number}", command, skip, slow))
            stale += [m for m in markers if m not in used]
    return commands, stale


COMMANDS, STALE = doc_commands()


def _params() -> list:
    params = []
    for c in COMMANDS:
        marks = [pytest.mark.skip(reason=c.skip)] if c.skip else []
        marks += [pytest.mark.heavy] if c.slow else []
        params.append(pytest.param(c, marks=marks, id=c.where))
    return params


# ------------------------------------------------------------------ the sandbox
def _run(args: list[str], cwd: Path, env: dict, timeout: int = 900) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"preparing the sandbox: {args}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"


def _write_shims(bin_dir: Path) -> None:
    """``python``, ``zoo`` and ``torchrun`` on PATH run this interpreter (a venv python cannot be symlinked)."""
    bin_dir.mkdir()
    shims = {"python": f'exec {shlex.quote(sys.executable)} "$@"',
             "zoo": f'exec {shlex.quote(sys.executable)} -m zoo.cli "$@"',
             "torchrun": f'exec {shlex.quote(sys.executable)} -m torch.distributed.run "$@"'}
    for name, line in shims.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{line}\n")
        (bin_dir / name).chmod(0o755)


def _seed_converted_weights(names: set[str]) -> None:
    """Write each name's default weights into ``$ZOO_HOME/converted`` as the loader caches them (random values)."""
    import zoo
    from zoo.weights import _write_converted

    for name in sorted(names):
        entry = zoo.model_card(name).default_weights()
        if entry is None:
            continue
        assert entry.converter is not None, f"{name}: its weights are read as published; serve them instead"
        model = zoo.get_model(name, pretrained=False)
        converted = Path(os.environ["ZOO_HOME"]) / "converted" / (Path(entry.file).stem + ".safetensors")
        _write_converted(converted, model.state_dict(), entry.checksum)


def _named_models() -> set[str]:
    import zoo

    known = set(zoo.get_model_list())
    return {token for c in COMMANDS if not c.skip for token in re.findall(r"[\w.]+", c.command) if token in known}


def _tutorial_clips_block() -> str:
    text = (ROOT / "docs" / "tutorials" / "finetune.rst").read_text(encoding="utf-8")
    m = re.search(r"^\.\. code-block:: python\n\n((?: {3}.*\n|\s*\n)+)", text, re.M)
    assert m, "finetune.rst lost the Python block that writes videos/"
    return "\n".join(line[3:] for line in m.group(1).splitlines())


def _own_footage_setup() -> list[str]:
    """The footage tutorial's commands that its later ones build on: the footage, the clips, a trained model."""
    steps = ("zoo.data.synthetic --long", "zoo cut ", "--work-dir runs/footage")
    found = [c.command for c in COMMANDS if "own_footage.rst" in c.where and any(s in c.command for s in steps)]
    assert len(found) == len(steps), "own_footage.rst lost a command that the later ones need"
    return found


TRAIN_SMALL = ["train.progress=false", "train.threads=2", "data.num_workers=0", "train.epochs=1"]


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("doc_sandbox")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ZOO_HOME": str(root / "zoohome"), "ZOO_OFFLINE": "1",
           "OMP_NUM_THREADS": "2", "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    _write_shims(root / "bin")
    for folder in ("scripts", "configs", "benchmarks/results"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "docs" / "_static").mkdir(parents=True)
    videos = SHARED / "data" / "videos"
    for target, source in {"video.mp4": "arm_wrestling.mp4", "clip.mp4": "arm_wrestling.mp4",
                           "long.mp4": "sample_h264.mp4"}.items():
        shutil.copy(videos / source, root / target)
    (root / "my_videos").mkdir()
    for source in ("arm_wrestling.mp4", "sample_h264.mp4"):
        shutil.copy(videos / source, root / "my_videos" / source)
    _run([sys.executable, "-c", _tutorial_clips_block()], root, env)  # videos/ with train/val lists, as the tutorial
    _run([sys.executable, "scripts/train_recognizer.py", "configs/simple3d_synthetic.yaml", "data.synthetic.num_train=16",
          "data.synthetic.num_val=8", "data.synthetic.workers=0", "data.batch_size=4", *TRAIN_SMALL], root, env)
    shutil.copy(root / "runs" / "simple3d_synthetic" / "best.pth", root / "checkpoint.pth")
    for made in ("simple3d_synthetic", "synthetic"):  # where `make demo` leaves its model and data
        shutil.copytree(root / "runs" / made, root / "runs" / "demo" / made)
    _run([sys.executable, "scripts/train_recognizer.py", "configs/i3d_resnet50_finetune.yaml", "model.pretrained=false",
          "data.train_list=videos/train.txt", "data.val_list=videos/val.txt", "data.batch_size=2", "data.clip_len=8",
          "data.frame_step=1", "data.crop_size=32", "data.short_side=48", "--work-dir", "runs/my_i3d", *TRAIN_SMALL],
         root, env)
    for command in _own_footage_setup():  # footage/ and runs/footage/, made as the tutorial makes them
        _run(["bash", "-c", command], root, env)
    (root / "my_script.py").write_text("import zoo\n\nzoo.get_model('i3d_resnet50_v1_kinetics400', pretrained=True)\n")
    previous = os.environ.get("ZOO_HOME")
    os.environ["ZOO_HOME"] = env["ZOO_HOME"]
    try:
        _seed_converted_weights(_named_models() | {"i3d_resnet50_v1_kinetics400", "videomae_vit_b_kinetics400"})
    finally:
        os.environ.pop("ZOO_HOME") if previous is None else os.environ.__setitem__("ZOO_HOME", previous)
    return root, env


def _link_or_copy(source: str, target: str) -> None:
    if os.path.getsize(source) > BIG_FILE:
        os.link(source, target)  # weights and checkpoints: read, or replaced by an atomic rename, never edited
    else:
        shutil.copy2(source, target)


def _work_dir(command: str) -> Optional[str]:
    """The ``--work-dir`` of a training command (it starts with no run of its own there)."""
    args = shlex.split(command, comments=True)
    if "train_recognizer.py" not in " ".join(args) or "--work-dir" not in args:
        return None
    return args[args.index("--work-dir") + 1]


# ------------------------------------------------------------------ tests
def test_the_docs_have_commands_and_no_stale_marker():
    assert len(COMMANDS) >= 30
    assert not STALE, "markers that match no command: " + "; ".join(f"{m.where} `{m.match}`" for m in STALE)
    runnable = [c for c in COMMANDS if not c.skip]
    assert len(runnable) >= len(COMMANDS) // 2, [c.where for c in runnable]


def test_split_commands_joins_continuations_and_drops_comments():
    code = [(1, "# a comment"), (2, "python a.py \\"), (3, "    --x 1   # trailing"), (4, ""), (5, "zoo list")]
    assert split_commands(code) == [(2, "python a.py --x 1   # trailing"), (5, "zoo list")]


def test_feature_extraction_of_the_long_videos_tutorial_is_run():
    feat = [c for c in COMMANDS if "--feat-ext" in c.command and "long_videos.rst" in c.where]
    assert feat and not any(c.skip for c in feat)


@pytest.mark.slow  # preparing the sandbox alone takes minutes on two cores
@pytest.mark.parametrize("doc", _params())
def test_doc_command_runs(doc: DocCommand, template, tmp_path):
    root, env = template
    sandbox = tmp_path / "sandbox"
    shutil.copytree(root, sandbox, copy_function=_link_or_copy, symlinks=True)
    work_dir = _work_dir(doc.command)
    if work_dir:
        shutil.rmtree(sandbox / work_dir, ignore_errors=True)
    env = {**env, "ZOO_HOME": str(sandbox / "zoohome"), "PATH": env["PATH"].replace(str(root), str(sandbox), 1)}
    proc = subprocess.run(["bash", "-c", doc.command], cwd=sandbox, env=env, capture_output=True, text=True,
                          timeout=HEAVY_TIMEOUT if doc.slow else COMMAND_TIMEOUT)
    assert proc.returncode == 0, (f"{doc.where}: {doc.command}\nexit {proc.returncode}\n--- stdout ---\n"
                                  f"{proc.stdout[-3000:]}\n--- stderr ---\n{proc.stderr[-5000:]}")
