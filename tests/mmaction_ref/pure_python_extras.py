"""Unpack the pure-Python parts of torchvision and timm for the mmaction2 reference venv.

mmaction2 builds some TSN backbones through torchvision (``torchvision.densenet161``), timm
(``timm.swin_base_patch4_window7_224``) or mmpretrain (``MobileOne``, ``ResNeXt``; mmpretrain's
package import pulls in torchvision).  torchvision's wheel carries compiled ops linked to CUDA
libraries, which this CPU reference never needs: classification models are plain Python.  So the
wheels are downloaded (``pip download --no-deps``, nothing installed) and only their Python files
are unpacked into a folder that ``run_mmaction.py`` puts on ``sys.path``; the compiled extension
stays absent (torchvision then reports no ops, and the runner declares the two op schemas that
torchvision's import registers fake kernels for).  Run by ``make mmaction-venv``:

    .venv-mmaction/bin/python tests/mmaction_ref/pure_python_extras.py .venv-mmaction/extras
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

#: torchvision's release for torch 2.13.0 (its wheel requires ``torch==2.13.0``) and a timm of the same time.
PACKAGES = ("torchvision==0.28.0", "timm==1.0.31")


def python_members(wheel: zipfile.ZipFile) -> list[str]:
    """The wheel's files except compiled extensions and bundled shared libraries."""
    return [name for name in wheel.namelist()
            if not name.endswith(".so") and ".libs/" not in name and not name.endswith("/")]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: pure_python_extras.py OUT_FOLDER", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", download, *PACKAGES],
                       check=True)
        for wheel_path in sorted(Path(download).glob("*.whl")):
            with zipfile.ZipFile(wheel_path) as wheel:
                wheel.extractall(out, members=python_members(wheel))
    (out / "PACKAGES").write_text("\n".join(PACKAGES) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
