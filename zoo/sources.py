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


def _gluoncv_entry(name: str, sha1: str, converter: str, top1: float | None, torch_zoo: bool, **fields) -> WeightsEntry:
    """A GluonCV weights entry; top-1, pretraining and recipe default to GluonCV's published row."""
    tag = sha1[:8]
    row = published_row(name, tag, torch_zoo=torch_zoo)
    top1 = top1 if top1 is not None else (row.top1 if row else None)
    zoo_name = "PyTorch" if torch_zoo else "MXNet"
    return WeightsEntry(
        sha1=sha1,
        file=f"{name}-{tag}.{'pth' if torch_zoo else 'params'}",
        url=f"torch/models/{name}-{tag}.pth" if torch_zoo else f"gluon/models/{name}-{tag}.zip",
        repo="gluoncv",
        format="pth" if torch_zoo else "params",
        converter=converter,
        accuracy=Accuracy(top1=top1, reported_by=f"GluonCV model zoo ({zoo_name})") if top1 is not None else None,
        license=GLUONCV_LICENSE,
        pretraining=row.pretrained if row else "",
        recipe=row.recipe if row else "",
        **fields,
    )


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
    checks it), or only its 8-hex prefix where GluonCV publishes no more.  ``top1`` is GluonCV's
    published top-1, cited as GluonCV's; by default it, the pretraining and the recipe link come
    from GluonCV's published tables.
    """
    return _gluoncv_entry(name, sha1, converter, top1, False, default=default, description=description, num_classes=num_classes)


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
    return _gluoncv_entry(name, sha1, converter, top1, True, default=default, description=description, num_classes=num_classes)
