"""Where upstream projects publish weights, and :func:`published`, the one helper that describes such a file.

Family files list each weights file next to the name it belongs to.  The hub resolves the URLs;
``ZOO_REPO_URL_<KEY>`` overrides a base URL (``ZOO_REPO_URL_GLUONCV``, ``ZOO_REPO_URL_TORCHVISION``,
``ZOO_REPO_URL_IG65M``), e.g. to point at a mirror or a local folder of the files.

Where two upstreams publish weights of the same network under one name (GluonCV's MXNet and PyTorch
zoos), both are entries of that name, the first-published one the default (``pretrained="<tag>"``
picks the other).  Where the model interface differs (GluonCV-PyTorch SlowFast takes the Fast clip
only), the second is a separate name (``<name>_torch``) in the same family file.
"""
from __future__ import annotations

from typing import Any, Mapping

from ..hub import register_repo
from ..registry import Accuracy, InputSpec, WeightsEntry

__all__ = ["published", "hf_file", "fair_file", "pysf_ptv_file", "PYSF_PTV_NOTE", "PYSF_PTV_CHARADES", "hub_input", "hub_kwargs", "GLUONCV_LOGS", "GLUONCV_CONFIGS"]

register_repo("gluoncv", "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/")
register_repo("torchvision", "https://download.pytorch.org/models/")
register_repo("hf", "https://huggingface.co/")  # the hub lets HF_ENDPOINT override this, as the Hub's tools do
register_repo("mmaction2", "https://download.openmmlab.com/mmaction/")
register_repo("ig65m", "https://github.com/moabitcoin/ig65m-pytorch/releases/download/v1.0.0/")
register_repo("pytorchvideo", "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/")
register_repo("pyslowfast", "https://dl.fbaipublicfiles.com/pyslowfast/")
# pytorchvideo's networks trained by PySlowFast (its projects/pytorchvideo README), keys under ``model.``
register_repo("pyslowfast_ptv", "https://dl.fbaipublicfiles.com/pytorchvideo/pysf_model_zoo/")

#: GluonCV's MXNet training logs/scripts and its PyTorch training configs (recipe links).
GLUONCV_LOGS = "https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/"
GLUONCV_CONFIGS = "https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/"

#: repo -> (licence, who reports the accuracy)
_UPSTREAM = {
    "gluoncv": ("Apache-2.0 (GluonCV model zoo)", "GluonCV model zoo"),
    "torchvision": ("BSD-3-Clause (torchvision)", "torchvision"),
    "mmaction2": ("Apache-2.0 (mmaction2 model zoo)", "mmaction2 model zoo"),
    "ig65m": ("MIT (moabitcoin/ig65m-pytorch; weights converted from facebookresearch/VMZ)", "ig65m-pytorch / VMZ"),
    "pytorchvideo": ("Apache-2.0 (pytorchvideo model zoo)", "pytorchvideo model zoo (docs/source/model_zoo.md)"),
    "pyslowfast": ("Apache-2.0 (PySlowFast model zoo)", "PySlowFast model zoo (MODEL_ZOO.md and the projects' READMEs)"),
    "pyslowfast_ptv": ("Apache-2.0 (PySlowFast model zoo)", "PySlowFast projects/pytorchvideo/README.md"),
}

#: what every name of PySlowFast's pytorchvideo project says about its head, and about its README's Charades rows
PYSF_PTV_NOTE = "PySlowFast's wrapper ends in a softmax at test time; zoo returns the logits"
PYSF_PTV_CHARADES = ("the README's Charades row for this network links this SSv2 file (a README error); no "
                     "Charades file of that release is registered")

#: PySlowFast's configs of its pytorchvideo project (``configs/{Kinetics,SSv2}/pytorchvideo/<name>.yaml``).
_PYSF_PTV_CONFIGS = "https://github.com/facebookresearch/SlowFast/blob/main/configs/{dataset}/pytorchvideo/{stem}.yaml"


def published(file: str, converter: str | None, top1: float | None = None, top5: float | None = None, *,
              repo: str = "gluoncv", sha1: str = "", protocol: str = "", path: str = "", **fields: Any) -> WeightsEntry:
    """The weights file ``file`` published by ``repo``, cited with its published top-1/top-5.

    * ``gluoncv``: ``<name>-<sha1[:8]>.params`` (MXNet zoo, served zipped as ``gluon/models/<name>-<tag>.zip``)
      or ``.pth`` (PyTorch zoo, ``torch/models/<file>``), checked by ``sha1``: the full SHA-1 of the
      file, or the 8-hex hashtag where GluonCV publishes no more.
    * ``torchvision`` / ``ig65m``: torch.hub names ``<name>-<sha256[:8]>.pth``, checked by that SHA-256 prefix.
    * ``mmaction2``: ``<config>_<date>-<sha256[:8]>.pth`` (``tools/deployment/publish_model.py``), checked
      by that SHA-256 prefix; ``path`` is where the file lies under the repo's base URL
      (``v1.0/recognition/<family>/<config>/<file>``).

    ``fields`` are further :class:`WeightsEntry` fields (``default``, ``description``, ``num_classes``,
    ``pretraining``, ``recipe``, ``input``).
    """
    stem, _, ext = file.rpartition(".")
    tag = stem.rpartition("-")[2].lower()
    if "-" not in stem or len(tag) < 8 or any(c not in "0123456789abcdef" for c in tag):
        raise ValueError(f"{file!r} does not end in '-<hash prefix>.<ext>'")
    license, reported_by = _UPSTREAM[repo]
    if repo == "gluoncv":
        if not sha1.startswith(tag):
            raise ValueError(f"{file!r}: its hashtag is not the start of sha1 {sha1!r}")
        reported_by += " (MXNet)" if ext == "params" else " (PyTorch)"
        url = f"gluon/models/{stem}.zip" if ext == "params" else f"torch/models/{file}"
        checks = {"sha1": sha1}
    else:
        url, checks = path or file, {"sha1": "", "sha256": tag}
    accuracy = Accuracy(top1, top5, reported_by=reported_by, protocol=protocol) if top1 is not None else None
    return WeightsEntry(file=file, url=url, repo=repo, format=ext, converter=converter, accuracy=accuracy,
                        license=license, **checks, **fields)


def hf_file(repo_id: str, revision: str, file: str = "model.safetensors", *, converter: str | None,
            sha256: str = "", size: int | None = None, top1: float | None = None, top5: float | None = None,
            reported_by: str = "", protocol: str = "", license: str = "", **fields: Any) -> WeightsEntry:
    """The file ``file`` of the Hugging Face Hub repo ``repo_id`` at ``revision`` (a commit hash).

    Its URL is ``{endpoint}/{repo_id}/resolve/{revision}/{file}``; it is cached as
    ``{owner}--{repo}--{revision[:8]}--{file}`` so that files of the same name from different repos
    never meet.  ``sha256`` is the LFS object's digest the Hub reports (its ETag), checked in full.
    A ``pytorch_model.bin`` is read as a ``.pth`` (``torch.load(weights_only=True)``).
    """
    url = f"{repo_id}/resolve/{revision}/{file}"
    cache_name = f"{repo_id.replace('/', '--')}--{revision[:8]}--{file}"
    accuracy = Accuracy(top1, top5, reported_by=reported_by, protocol=protocol) if top1 is not None else None
    return WeightsEntry(sha1="", sha256=sha256, file=cache_name, url=url, repo="hf",
                        format="pth" if file.endswith(".bin") else file.rpartition(".")[2], converter=converter, accuracy=accuracy,
                        license=license, size=size, revision=revision, **fields)


def hub_input(config: Mapping[str, Any], preprocessor: Mapping[str, Any], *, frames_key: str, default_frames: int = 16,
              default_size: int = 224, note: str = "") -> InputSpec:
    """The clip a Hub repo's model takes: frames and image size from its ``config.json`` (``frames_key``,
    ``image_size``/``crop_size``), resize, crop and mean/std from its ``preprocessor_config.json``
    (``size``: ``shortest_edge`` or ``height``; ``crop_size``; ``image_mean``/``image_std``)."""
    size = config.get("image_size", config.get("crop_size", default_size))
    size = size[0] if isinstance(size, (list, tuple)) else size
    crop = preprocessor.get("crop_size") or size
    crop = crop.get("height", size) if isinstance(crop, Mapping) else crop
    resize = preprocessor.get("size") or crop
    short = resize.get("shortest_edge", resize.get("height", crop)) if isinstance(resize, Mapping) else resize
    mean = tuple(preprocessor.get("image_mean", (0.485, 0.456, 0.406)))
    std = tuple(preprocessor.get("image_std", (0.229, 0.224, 0.225)))
    return InputSpec(clip_len=int(config.get(frames_key, default_frames)), crop_size=int(crop), short_side=int(short),
                     mean=mean, std=std, note=note or "from the Hub repo's config.json and preprocessor_config.json")


def hub_kwargs(config: Mapping[str, Any], *, dim: int, depth: int, heads: int, eps: float, act: str) -> dict[str, Any]:
    """The builder keyword arguments every transformers ViT-style ``config.json`` states the same way:
    ``num_classes`` (``id2label``'s size, else ``num_labels``), ``dim``, ``depth``, ``num_heads``,
    ``qkv_bias``, ``eps``, ``act``; the keyword arguments are the family's defaults for absent keys."""
    labels = config.get("id2label") or {}
    return {
        "num_classes": len(labels) or int(config.get("num_labels", 2)),
        "dim": config.get("hidden_size", dim),
        "depth": config.get("num_hidden_layers", depth),
        "num_heads": config.get("num_attention_heads", heads),
        "qkv_bias": config.get("qkv_bias", config.get("qv_bias", True)),
        "eps": config.get("layer_norm_eps", eps),
        "act": config.get("hidden_act", act),
    }


def fair_file(name: str, path: str, converter: str, top1: float | None = None, top5: float | None = None, *,
              repo: str, protocol: str, size: int | None = None, mean_ap: float | None = None,
              format: str | None = None, **fields: Any) -> WeightsEntry:
    """The file ``path`` (relative to ``repo``'s base URL) of the pytorchvideo or PySlowFast zoo, for ``name``.

    Neither code base publishes hashes: the entry carries no digest (and so no tag), the exact
    ``size`` where known, and the hub pins the file's SHA-256 in ``ZOO_LOCK`` on its first download.
    The cache name is ``{name}-{upstream file name}``.  Multi-label sets (Charades) publish
    ``mean_ap`` instead of top-1/top-5.  ``format`` defaults to the suffix's (``.pkl``: Caffe2); PySlowFast
    also saved PyTorch checkpoints as ``.pkl`` (``format="pth"``).
    """
    file = f"{name}-{path.rpartition('/')[2]}"
    license, reported_by = _UPSTREAM[repo]
    published_any = top1 is not None or mean_ap is not None
    accuracy = Accuracy(top1, top5, reported_by, protocol, mean_ap) if published_any else None
    format = format or ("pkl" if path.endswith(".pkl") else "pth")
    return WeightsEntry(sha1="", sha256="", file=file, url=path, repo=repo, format=format,
                        converter=converter, accuracy=accuracy, license=license, size=size, **fields)


def pysf_ptv_file(name: str, path: str, converter: str, top1: float, top5: float, *, protocol: str,
                  pretraining: str = "Scratch") -> WeightsEntry:
    """The file ``path`` (``kinetics/X3D_XS.pyth``, ``ssv2/SLOW_8x8_R50.pyth``) of PySlowFast's pytorchvideo
    project, for ``name``: a pytorchvideo network trained with PySlowFast's recipe, saved by PySlowFast's
    wrapper (its keys are pytorchvideo's under ``model.``), no published hash; the recipe is the config of
    the same name (``configs/Kinetics/pytorchvideo/X3D_XS.yaml``)."""
    folder, _, file = path.partition("/")
    config = _PYSF_PTV_CONFIGS.format(dataset={"kinetics": "Kinetics", "ssv2": "SSv2"}[folder],
                                      stem=file.removesuffix(".pyth"))
    return fair_file(name, path, converter, top1, top5, repo="pyslowfast_ptv", protocol=protocol,
                     pretraining=pretraining, default=True, recipe=config)
