"""Published weights of upstream PyTorch projects (torchvision, ig65m, IBM), as card metadata.

Family modules describe such weights with these helpers; the hub resolves the URLs.  Each base URL
can be overridden with ``ZOO_REPO_URL_<KEY>`` (``ZOO_REPO_URL_TORCHVISION``, ``ZOO_REPO_URL_IG65M``,
``ZOO_REPO_URL_IBM``), e.g. to point at a mirror or a local folder of the files.

torchvision and ig65m publish only torch.hub file names ``<name>-<sha256[:8]>.pth``: the 8 hex
digits are a SHA-256 prefix, which the hub verifies (``WeightsEntry(sha1="", sha256=prefix)``) and
logs the full SHA-1 / SHA-256 of on first download.  IBM publishes no hash at all: its files are
listed in the cards' descriptions but get no downloadable entry (a local ``.pth`` still converts).
"""
from __future__ import annotations

from .hub import register_repo
from .registry import Accuracy, WeightsEntry

__all__ = ["TORCHVISION_REPO", "IG65M_REPO", "IBM_RELEASES", "torchvision_weights", "ig65m_weights"]

TORCHVISION_REPO = "https://download.pytorch.org/models/"
IG65M_REPO = "https://github.com/moabitcoin/ig65m-pytorch/releases/download/v1.0.0/"
#: IBM/action-recognition-pytorch README links (no hash published, so no WeightsEntry).
IBM_RELEASES = "https://github.com/IBM/action-recognition-pytorch/releases/download/weights-v0.1/"

register_repo("torchvision", TORCHVISION_REPO)
register_repo("ig65m", IG65M_REPO)

TORCHVISION_LICENSE = "BSD-3-Clause (torchvision)"
IG65M_LICENSE = "MIT (moabitcoin/ig65m-pytorch; weights converted from facebookresearch/VMZ)"


def torchvision_weights(
    file: str,
    converter: str,
    top1: float | None,
    top5: float | None = None,
    *,
    protocol: str = "",
    default: bool = True,
    description: str = "",
    num_classes: int | None = None,
) -> WeightsEntry:
    """torchvision weights ``https://download.pytorch.org/models/<file>``, checked by its SHA-256 prefix.

    ``file`` is the published name, e.g. ``"r3d_18-b3b3357e.pth"``; ``top1``/``top5`` are
    torchvision's published Kinetics-400 accuracies (its weights enum ``_metrics``).
    """
    return _hub_named_entry(file, converter, "torchvision", TORCHVISION_LICENSE, top1, top5, "torchvision",
                            protocol, default, description, num_classes)


def ig65m_weights(
    file: str,
    converter: str,
    top1: float | None = None,
    top5: float | None = None,
    *,
    protocol: str = "",
    default: bool = True,
    description: str = "",
    num_classes: int | None = None,
) -> WeightsEntry:
    """moabitcoin/ig65m-pytorch release file ``<IG65M_REPO><file>``, checked by its SHA-256 prefix."""
    return _hub_named_entry(file, converter, "ig65m", IG65M_LICENSE, top1, top5, "ig65m-pytorch / VMZ",
                            protocol, default, description, num_classes)


def _hub_named_entry(file, converter, repo, license, top1, top5, reported_by, protocol, default, description, num_classes) -> WeightsEntry:
    stem = file.rsplit(".", 1)[0]
    prefix = stem.rsplit("-", 1)[-1].lower()
    if "-" not in stem or len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"{file!r} does not end in '-<sha256 prefix>.<ext>' as torch.hub file names do")
    accuracy = Accuracy(top1, top5, reported_by=reported_by, protocol=protocol) if top1 is not None else None
    return WeightsEntry(
        sha1="",
        sha256=prefix,
        file=file,
        url=file,
        repo=repo,
        format="pth",
        converter=converter,
        accuracy=accuracy,
        num_classes=num_classes,
        license=license,
        description=description,
        default=default,
    )
