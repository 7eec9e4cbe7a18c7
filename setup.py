"""zoo: a PyTorch model zoo for video action recognition."""
from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent


def version() -> str:
    for line in (ROOT / "zoo" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip('"')
    raise RuntimeError("no __version__ in zoo/__init__.py")


setup(
    name="zoo",
    version=version(),
    description="A PyTorch model zoo for video action recognition: GluonCV's zoo and more, pretrained weights one call away.",
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["zoo", "zoo.*"]),
    include_package_data=True,
    package_data={"zoo": ["model_stats.json", "py.typed"], "zoo.data": ["classes/*.txt", "annotate_page.html"]},
    install_requires=[
        "torch>=2.1",
        "numpy",
        "safetensors",
        "requests",
        "tqdm",
        "filelock",
        "pyyaml",
        "av",
    ],
    extras_require={
        "decord": ["decord"],
        "export": ["onnx", "onnxruntime", "onnxscript"],
        "zeroshot": ["tokenizers"],
        "flow": ["opencv-python-headless"],
        "docs": ["sphinx", "furo", "matplotlib", "plotly"],
        "test": ["pytest", "pytest-xdist", "matplotlib", "opencv-python-headless", "onnx", "onnxruntime", "onnxscript",
                 "tokenizers", "transformers"],
    },
    entry_points={"console_scripts": ["zoo=zoo.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
