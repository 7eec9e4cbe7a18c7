"""PySlowFast's and pytorchvideo's SlowFast checkpoints, on zoo's SlowFast (:mod:`zoo.models.slowfast`).

The network is the one GluonCV ported (both descend from PySlowFast): a ``1x7x7`` Slow stem and a
``5x7x7`` Fast stem, ``k x 1 x 1`` laterals with temporal stride ``alpha`` (conv, BN, ReLU) after the
stems and res2-res4, concatenated to the Slow features, and both pathways pooled and concatenated
before the classifier.  These names take both clips concatenated along ``T``, Fast frames first
(``input_layout="fast_slow"``): PySlowFast's data pipeline picks the Slow frames out of the Fast clip
with ``torch.linspace(0, T - 1, T // alpha)``, which is not every ``alpha``-th frame.

Key layouts, each a rule table of :func:`convert_fair_slowfast`:

* pytorchvideo ``.pyth``: ``blocks.0.multipathway_blocks.{0,1}`` (Slow, Fast stems),
  ``blocks.{i}.multipathway_fusion.conv_fast_to_slow``, ``blocks.{1-4}.multipathway_blocks.{0,1}.res_blocks``,
  ``blocks.6.proj`` (PySlowFast's pytorchvideo project: the same under ``model.``, its ``PTVSlowFast`` wrapper);
* PySlowFast ``.pyth`` (and PyTorch ``.pkl``): ``s1.pathway{0,1}_stem``, ``s{1-4}_fuse.conv_f2s``,
  ``s{2-5}.pathway{0,1}_res{j}``, ``head.projection``;
* PySlowFast's Caffe2 ``.pkl`` blobs (Fast pathway prefixed ``t_``, laterals ``t_pool1_subsample`` and
  ``t_res{i}_{j}_branch2c_bn_subsample``), renamed to the PySlowFast layout first.
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert, without_prefix
from ..registry import InputSpec, register_converter, register_model
from ._published import PYSF_PTV_CHARADES, PYSF_PTV_NOTE, fair_file, pysf_ptv_file
from .fair_resnet import (
    CAFFE2_TO_PYSLOWFAST,
    FAIR_MEAN,
    FAIR_STD,
    PYSLOWFAST_BOTTLENECK,
    PYTORCHVIDEO_BOTTLENECK,
    block_key,
    caffe2_to_pyslowfast,
)
from .slowfast import slowfast_resnet

__all__ = ["convert_fair_slowfast"]

_PATHWAY = {"0": "slow", "1": "fast"}

PYTORCHVIDEO_SLOWFAST_RULES = [
    Rule(r"blocks\.0\.multipathway_blocks\.([01])\.conv\.weight", lambda m: f"{_PATHWAY[m[1]]}_stem.conv.weight"),
    Rule(r"blocks\.0\.multipathway_blocks\.([01])\.norm\.(.+)", lambda m: f"{_PATHWAY[m[1]]}_stem.bn.{m[2]}"),
    Rule(r"blocks\.([0-3])\.multipathway_fusion\.conv_fast_to_slow\.weight", r"laterals.\1.conv.weight"),
    Rule(r"blocks\.([0-3])\.multipathway_fusion\.norm\.(.+)", r"laterals.\1.bn.\2"),
    Rule(r"blocks\.(?P<stage>[1-4])\.multipathway_blocks\.(?P<path>[01])\.res_blocks\.(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_PATHWAY[m['path']]}_layers.{int(m['stage']) - 1}.{m['block']}."
                   f"{block_key(m['rest'], PYTORCHVIDEO_BOTTLENECK)}"),
    Rule(r"blocks\.6\.proj\.(weight|bias)", r"head.fc.\1"),
]

PYSLOWFAST_SLOWFAST_RULES = [
    Rule(r"s1\.pathway([01])_stem\.conv\.weight", lambda m: f"{_PATHWAY[m[1]]}_stem.conv.weight", reshape=True),
    Rule(r"s1\.pathway([01])_stem\.bn\.(.+)", lambda m: f"{_PATHWAY[m[1]]}_stem.bn.{m[2]}"),
    Rule(r"s([1-4])_fuse\.conv_f2s\.weight", lambda m: f"laterals.{int(m[1]) - 1}.conv.weight", reshape=True),
    Rule(r"s([1-4])_fuse\.bn\.(.+)", lambda m: f"laterals.{int(m[1]) - 1}.bn.{m[2]}"),
    Rule(r"s(?P<stage>[2-5])\.pathway(?P<path>[01])_res(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_PATHWAY[m['path']]}_layers.{int(m['stage']) - 2}.{m['block']}."
                   f"{block_key(m['rest'], PYSLOWFAST_BOTTLENECK)}", reshape=True),
    Rule(r"head\.projection\.(weight|bias)", r"head.fc.\1", reshape=True),
]

#: Caffe2 blobs of the Fast pathway and the laterals -> PySlowFast names (the Slow pathway's are the ResNet's).
CAFFE2_FAST_TO_PYSLOWFAST = [
    (r"t_pool1_subsample_bn_(s|b|rm|riv)", r"s1_fuse.bn.\1"),
    (r"t_pool1_subsample_(w|b)", r"s1_fuse.conv_f2s.\1"),
    (r"t_res(\d)_\d+_branch2c_bn_subsample_bn_(s|b|rm|riv)", r"s\1_fuse.bn.\2"),
    (r"t_res(\d)_\d+_branch2c_bn_subsample_(w|b)", r"s\1_fuse.conv_f2s.\2"),
    (r"t_res(\d)_(\d+)_branch(\d)([a-c])_bn_(s|b|rm|riv)", r"s\1.pathway1_res\2.branch\3.\4_bn.\5"),
    (r"t_res(\d)_(\d+)_branch(\d)([a-c])_(w|b)", r"s\1.pathway1_res\2.branch\3.\4.\5"),
    (r"t_res(\d)_(\d+)_branch1_bn_(s|b|rm|riv)", r"s\1.pathway1_res\2.branch1_bn.\3"),
    (r"t_res(\d)_(\d+)_branch1_(w|b)", r"s\1.pathway1_res\2.branch1.\3"),
    (r"t_res_conv1_bn_(s|b|rm|riv)", r"s1.pathway1_stem.bn.\1"),
    (r"t_conv1_(w|b)", r"s1.pathway1_stem.conv.\1"),
]


@register_converter("fair_slowfast")
def convert_fair_slowfast(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """pytorchvideo (bare or under PySlowFast's ``model.``), PySlowFast or Caffe2 (PySlowFast ``.pkl``) SlowFast
    weights -> our :class:`SlowFast`."""
    state = without_prefix(state, "model.")
    if "blocks.0.multipathway_blocks.0.conv.weight" in state:
        return convert(state, model, PYTORCHVIDEO_SLOWFAST_RULES, what="pytorchvideo SlowFast")
    if "conv1_w" in state or "t_conv1_w" in state:
        state = caffe2_to_pyslowfast(state, CAFFE2_FAST_TO_PYSLOWFAST + CAFFE2_TO_PYSLOWFAST)
        return convert(state, model, PYSLOWFAST_SLOWFAST_RULES, what="PySlowFast Caffe2 SlowFast")
    return convert(state, model, PYSLOWFAST_SLOWFAST_RULES, what="PySlowFast SlowFast")


_DATASETS = {  # dataset -> (classes, protocol)
    "kinetics400": (400, "Kinetics-400 val, 30 views (10 clips x 3 crops, short side 256)"),
    "sthsthv2": (174, "Something-Something V2 val, {views}"),
    "charades": (157, "Charades val, mAP over 157 classes, 30 views (10 clips x 3 crops), max over the views"),
}
_SOURCES = {
    "pyslowfast": "PySlowFast (facebookresearch/SlowFast, slowfast/models/video_model_builder.py SlowFast)",
    "pytorchvideo": "pytorchvideo 0.1.5 (pytorchvideo/models/slowfast.py create_slowfast, models/hub/slowfast.py)",
    "pyslowfast_ptv": "PySlowFast projects/pytorchvideo (slowfast/models/ptv_model_builder.py PTVSlowFast: pytorchvideo's "
                      "create_slowfast as its `model`)",
}


def _register(name: str, slow: int, alpha: int, fusion_kernel: int, *, repo: str, path: str, depth: int = 50,
              temp_kernel_blocks: int | None = None, top1: float | None = None, top5: float | None = None,
              mean_ap: float | None = None, dataset: str = "kinetics400", views: str = "", fmt: str | None = None,
              pretraining: str = "Scratch", description: str = "") -> None:
    """Register ``name``: SlowFast ``slow x (64 // slow)`` (Slow frames; Fast ``alpha`` times more) of ``repo``."""
    num_classes, protocol = _DATASETS[dataset]
    fast = slow * alpha
    note = (f"Fast clip of {fast} frames (every 2nd of {2 * fast}; SSv2: spread over the whole video) "
            f"followed along T by the {slow} Slow frames picked from it at torch.linspace(0, {fast - 1}, "
            f"{slow}): input (N, 3, {slow + fast}, 224, 224)")
    if repo == "pyslowfast_ptv":
        weights = pysf_ptv_file(name, path, "fair_slowfast", top1, top5, protocol=protocol.format(views=views),
                                pretraining=pretraining)
        bgr = "; channels in BGR order (PySlowFast REVERSE_INPUT_CHANNEL)" if dataset == "sthsthv2" else ""
        note += f"{bgr}; {PYSF_PTV_NOTE}"
        description = (f"SlowFast {slow}x{64 // slow} ResNet-{depth}: pytorchvideo's network trained on {dataset} by "
                       "PySlowFast (projects/pytorchvideo)" + (f"; {PYSF_PTV_CHARADES}." if dataset == "sthsthv2" else "."))
    else:
        weights = fair_file(name, path, "fair_slowfast", top1, top5, repo=repo, protocol=protocol.format(views=views),
                            mean_ap=mean_ap, pretraining=pretraining, default=True, **({"format": fmt} if fmt else {}))
    spec = InputSpec(clip_len=slow + fast, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD, note=note)
    kwargs = dict(depth=depth, alpha=alpha, fusion_kernel_size=fusion_kernel, slow_frames=slow, fast_frames=fast)
    if temp_kernel_blocks is not None:
        kwargs.update(num_block_temp_kernel_fast=temp_kernel_blocks, num_block_temp_kernel_slow=temp_kernel_blocks)
    register_model(name, slowfast_resnet, family="slowfast", dataset=dataset, num_classes=num_classes, kwargs=kwargs,
                   input=spec, weights=[weights], source=_SOURCES[repo],
                   converters={"pth": "fair_slowfast", "pkl": "fair_slowfast"},
                   description=description or f"SlowFast {slow}x{64 // slow} ResNet-{depth} trained on {dataset} by {repo}.")


_MULTIGRID = "pyslowfast/model_zoo/multigrid/model_zoo/"
# PySlowFast's Caffe2 checkpoints (MODEL_ZOO.md, Kinetics 400 and 600)
_register("slowfast_4x16_resnet50_kinetics400_pyslowfast", 4, 8, 5, repo="pyslowfast",
          path="model_zoo/kinetics400/SLOWFAST_4x16_R50.pkl", top1=75.6, top5=92.0)
_register("slowfast_8x8_resnet50_kinetics400_pyslowfast", 8, 4, 7, repo="pyslowfast",
          path="model_zoo/kinetics400/SLOWFAST_8x8_R50.pkl", top1=77.0, top5=92.6)
# PySlowFast's multigrid project (PyTorch checkpoints saved as .pkl)
_register("slowfast_8x8_resnet50_stepwise_kinetics400", 8, 4, 7, repo="pyslowfast", fmt="pth",
          path=_MULTIGRID + "Kinetics/SLOWFAST_8x8_R50_stepwise.pkl", top1=76.8, top5=92.7,
          description="SlowFast 8x8 ResNet-50, Kinetics-400, stepwise learning-rate schedule (PySlowFast multigrid project).")
_register("slowfast_8x8_resnet50_multigrid_kinetics400", 8, 4, 7, repo="pyslowfast", fmt="pth",
          path=_MULTIGRID + "Kinetics/SLOWFAST_8x8_R50_stepwise_multigrid.pkl", top1=76.6, top5=92.7,
          description="SlowFast 8x8 ResNet-50, Kinetics-400, multigrid training (PySlowFast multigrid project).")
_register("slowfast_16x8_resnet50_sthsthv2_pyslowfast", 16, 4, 7, repo="pyslowfast", fmt="pth", dataset="sthsthv2",
          path=_MULTIGRID + "SSv2/SLOWFAST_16x8_R50.pkl", top1=63.0, top5=88.5, views="1 view (1 clip x 1 crop)",
          pretraining="Kinetics-400")
_register("slowfast_16x8_resnet50_multigrid_sthsthv2", 16, 4, 7, repo="pyslowfast", fmt="pth", dataset="sthsthv2",
          path=_MULTIGRID + "SSv2/SLOWFAST_16x8_R50_multigrid.pkl", top1=63.5, top5=88.7, views="1 view (1 clip x 1 crop)",
          pretraining="Kinetics-400", description="SlowFast 16x8 ResNet-50, SSv2, multigrid training (PySlowFast).")
_register("slowfast_16x8_resnet50_charades", 16, 4, 7, repo="pyslowfast", fmt="pth", dataset="charades",
          path=_MULTIGRID + "Charades/SLOWFAST_16x8_R50.pkl", mean_ap=38.9, pretraining="Kinetics-400")
_register("slowfast_16x8_resnet50_multigrid_charades", 16, 4, 7, repo="pyslowfast", fmt="pth", dataset="charades",
          path=_MULTIGRID + "Charades/SLOWFAST_16x8_R50_multigrid.pkl", mean_ap=38.6, pretraining="Kinetics-400",
          description="SlowFast 16x8 ResNet-50, Charades, multigrid training (PySlowFast).")
# pytorchvideo's model zoo (docs/source/model_zoo.md)
_register("slowfast_4x16_resnet50_kinetics400_pytorchvideo", 4, 8, 5, repo="pytorchvideo",
          path="kinetics/SLOWFAST_4x16_R50.pyth", top1=75.34, top5=91.89)
_register("slowfast_8x8_resnet50_kinetics400_pytorchvideo", 8, 4, 7, repo="pytorchvideo",
          path="kinetics/SLOWFAST_8x8_R50.pyth", top1=76.94, top5=92.69)
_register("slowfast_8x8_resnet101_kinetics400_pytorchvideo", 8, 4, 5, repo="pytorchvideo", depth=101,
          path="kinetics/SLOWFAST_8x8_R101.pyth", top1=77.90, top5=93.27)
_register("slowfast_16x8_resnet101_50_50_kinetics400_pytorchvideo", 16, 4, 5, repo="pytorchvideo", depth=101,
          temp_kernel_blocks=6, path="kinetics/SLOWFAST_16x8_R101_50_50.pyth", top1=78.70, top5=93.61)
_register("slowfast_8x8_resnet50_sthsthv2_pytorchvideo", 8, 4, 7, repo="pytorchvideo", dataset="sthsthv2",
          path="ssv2/SLOWFAST_8x8_R50.pyth", top1=61.68, top5=86.92, views="3 views (1 clip x 3 crops)",
          pretraining="Kinetics-400")
_register("slowfast_8x8_resnet50_charades_pytorchvideo", 8, 4, 7, repo="pytorchvideo", dataset="charades",
          path="charades/SLOWFAST_8x8_R50.pyth", mean_ap=37.24, pretraining="Kinetics-400")
# PySlowFast's pytorchvideo project (projects/pytorchvideo/README.md): the same networks trained by PySlowFast
_register("slowfast_4x16_resnet50_kinetics400_pyslowfast_ptv", 4, 8, 5, repo="pyslowfast_ptv",
          path="kinetics/SLOWFAST_4x16_R50.pyth", top1=75.34, top5=91.89)
_register("slowfast_8x8_resnet50_kinetics400_pyslowfast_ptv", 8, 4, 7, repo="pyslowfast_ptv",
          path="kinetics/SLOWFAST_8x8_R50.pyth", top1=76.94, top5=92.69)
_register("slowfast_8x8_resnet101_kinetics400_pyslowfast_ptv", 8, 4, 5, repo="pyslowfast_ptv", depth=101,
          path="kinetics/SLOWFAST_8x8_R101.pyth", top1=77.90, top5=93.27)
_register("slowfast_16x8_resnet101_50_50_kinetics400_pyslowfast_ptv", 16, 4, 5, repo="pyslowfast_ptv", depth=101,
          temp_kernel_blocks=6, path="kinetics/SLOWFAST_16x8_R101_50_50.pyth", top1=78.70, top5=93.61)
_register("slowfast_8x8_resnet50_sthsthv2_pyslowfast_ptv", 8, 4, 7, repo="pyslowfast_ptv", dataset="sthsthv2",
          path="ssv2/SLOWFAST_8x8_R50.pyth", top1=61.68, top5=86.92, views="3 views (1 clip x 3 crops)",
          pretraining="Kinetics-400")
