"""Where published weights live upstream: repo base URLs and URL layouts, as card metadata.

Family modules describe their published weights with these helpers; the hub resolves the
URLs (``ZOO_REPO_URL_<KEY>`` overrides each base URL, e.g. ``ZOO_REPO_URL_GLUONCV``).
"""
from __future__ import annotations

from .gluoncv_published import published_row
from .hub import register_repo
from .registry import Accuracy, WeightsEntry

__all__ = ["gluoncv_mxnet_weights", "gluoncv_torch_weights", "GLUONCV_REPO"]

GLUONCV_REPO = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
register_repo("gluoncv", GLUONCV_REPO)

GLUONCV_LICENSE = "Apache-2.0 (GluonCV model zoo)"


def gluoncv_mxnet_weights(
    name: str,
    sha1: str,
    converter: str,
    top1: float | None = None,
    *,
    default: bool = True,
    description: str = "",
    num_classes: int | None = None,
) -> WeightsEntry:
    """GluonCV MXNet weights: ``{repo}gluon/models/{name}-{sha1[:8]}.zip`` holding a ``.params``.

    ``sha1`` is the SHA-1 of the ``.params`` file inside the zip (as GluonCV's model store
    checks it).  ``top1`` is GluonCV's published top-1, cited as GluonCV's; by default it, the
    pretraining and the recipe link come from GluonCV's published tables.
    """
    tag = sha1[:8]
    row = published_row(name, tag)
    top1 = top1 if top1 is not None else (row.top1 if row else None)
    return WeightsEntry(
        sha1=sha1,
        file=f"{name}-{tag}.params",
        url=f"gluon/models/{name}-{tag}.zip",
        repo="gluoncv",
        format="params",
        converter=converter,
        accuracy=Accuracy(top1=top1, reported_by="GluonCV model zoo (MXNet)") if top1 is not None else None,
        num_classes=num_classes,
        license=GLUONCV_LICENSE,
        description=description,
        default=default,
        pretraining=row.pretrained if row else "",
        recipe=row.recipe if row else "",
    )


def gluoncv_torch_weights(
    name: str,
    sha1: str,
    converter: str,
    top1: float | None = None,
    *,
    default: bool = False,
    description: str = "",
    num_classes: int | None = None,
) -> WeightsEntry:
    """GluonCV PyTorch weights: ``{repo}torch/models/{name}-{sha1[:8]}.pth`` (a state dict)."""
    tag = sha1[:8]
    row = published_row(name, tag, torch_zoo=True)
    top1 = top1 if top1 is not None else (row.top1 if row else None)
    return WeightsEntry(
        sha1=sha1,
        file=f"{name}-{tag}.pth",
        url=f"torch/models/{name}-{tag}.pth",
        repo="gluoncv",
        format="pth",
        converter=converter,
        accuracy=Accuracy(top1=top1, reported_by="GluonCV model zoo (PyTorch)") if top1 is not None else None,
        num_classes=num_classes,
        license=GLUONCV_LICENSE,
        description=description,
        default=default,
        pretraining=row.pretrained if row else "",
        recipe=row.recipe if row else "",
    )
