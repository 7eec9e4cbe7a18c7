"""The docs build without warnings, and every Python example in them runs."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"^( *)\.\. code-block:: python\n((?:\1 +:.*\n)*)\n((?:\1 {3,}.*\n|\s*\n)+)", re.M)


def python_blocks() -> list[tuple[str, str]]:
    out = []
    for path in sorted(DOCS.rglob("*.rst")):
        text = path.read_text()
        for i, m in enumerate(BLOCK.finditer(text)):
            lines = m.group(3).splitlines()
            indent = min(len(l) - len(l.lstrip()) for l in lines if l.strip())
            out.append((f"{path.relative_to(DOCS)}#{i}", "\n".join(l[indent:] for l in lines)))
    return out


BLOCKS = python_blocks()


def test_there_are_examples():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("where,code", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_doc_example_runs(where, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, f"{where} failed:\n{code}\n--- stderr ---\n{proc.stderr[-3000:]}"


def test_sphinx_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    page = (tmp_path / "html" / "model_zoo" / "kinetics400.html").read_text()
    assert "<table" in page and "Top-1" in page
