"""The ResNet-50 video networks of PySlowFast and pytorchvideo (C2D, I3D, Slow), on the I3D builder.

Both code bases build one ResNet (``slowfast/models/video_model_builder.py`` ResNet,
``pytorchvideo/models/resnet.py`` create_resnet) whose variants differ only in temporal kernels and a
temporal pool, all of which :func:`zoo.models.i3d_resnet.i3d_resnet` expresses:

* stem ``kt x 7 x 7`` conv stride ``(1, 2, 2)``, ``1x3x3`` max-pool stride ``(1, 2, 2)`` (no temporal stride);
* bottlenecks with the stride on the ``1x3x3`` conv; the ``1x1`` reduce conv is ``3x1x1`` where inflated;
* C2D: nothing inflated; I3D: stem ``5x7x7``, blocks inflated in GluonCV's pattern; C2D and I3D
  max-pool time by 2 after res2 (pytorchvideo's ``stage1_pool``, PySlowFast's ``pathway0_pool``);
* Slow: res4/res5 inflated, no temporal pool; PySlowFast's Caffe2 "C2D_NOPOOL" is C2D without the pool;
* I3D-NLN (PySlowFast): I3D with embedded-Gaussian non-local blocks after res3 blocks 1, 3 and res4
  blocks 1, 3, 5, whose ``1x2x2`` max-pool takes the block input before ``phi`` and ``g``.

Weights come in three key layouts, each a rule table of :func:`convert_fair_resnet`:

* pytorchvideo ``.pyth``: ``blocks.0.conv``, ``blocks.1.res_blocks.0.branch2.conv_a``, ``blocks.N.proj``
  (PySlowFast's pytorchvideo project saves the same under ``model.``: its ``PTVResNet``, ``PTVCSN`` and
  ``PTVR2plus1D`` wrappers hold pytorchvideo's network as ``self.model``);
* PySlowFast ``.pyth``: ``s1.pathway0_stem.conv``, ``s2.pathway0_res0.branch2.a``, ``head.projection``;
* PySlowFast's Caffe2 ``.pkl`` blobs: ``conv1_w``, ``res_conv1_bn_s``, ``res2_0_branch2a_w``, ``pred_w``
  (renamed to the PySlowFast layout first, as PySlowFast's own ``c2_model_loading`` does).

Both heads end in a softmax at test time (Charades: sigmoid); zoo's models return the logits.
"""
from __future__ import annotations

import re
from typing import Mapping

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert, without_prefix
from ..registry import InputSpec, register_converter, register_model
from ._published import PYSF_PTV_CHARADES, PYSF_PTV_NOTE, fair_file, pysf_ptv_file
from ._resnet3d import RESNET_DEPTHS, Bottleneck3d, ClassifierHead3d, ResNet3d, Stem3d, Triple, conv3d, init_weights, make_stage
from .csn import ircsn_resnet
from .i3d_resnet import i3d_resnet

__all__ = ["convert_fair_resnet", "caffe2_to_pyslowfast", "PYTORCHVIDEO_BOTTLENECK", "PYSLOWFAST_BOTTLENECK",
           "TemporalSpatialConv", "r2plus1d_pytorchvideo"]

FAIR_MEAN, FAIR_STD = (0.45, 0.45, 0.45), (0.225, 0.225, 0.225)

class TemporalSpatialConv(nn.Module):
    """pytorchvideo's (2+1)D conv: ``kt x 1 x 1`` (temporal stride) -> BN -> ReLU -> ``1x3x3`` (spatial stride).

    ``(N, C, T, H, W) -> (N, C, T/st, H/ss, W/ss)``; the middle width is the block's (no expansion,
    unlike the R(2+1)D of Tran et al. that GluonCV ports).  A :class:`~zoo.models._resnet3d.ConvBuilder`.
    """

    def __init__(self, in_planes: int, out_planes: int, *, stride: Triple = (1, 1, 1), kernel_t: int = 3,
                 dilation: int = 1) -> None:
        super().__init__()
        st, ss, _ = stride
        self.conv_t = conv3d(in_planes, out_planes, (kernel_t, 1, 1), (st, 1, 1))
        self.bn = nn.BatchNorm3d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv_xy = conv3d(out_planes, out_planes, (1, 3, 3), (1, ss, ss), (0, dilation, dilation), dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_xy(self.relu(self.bn(self.conv_t(x))))


def r2plus1d_pytorchvideo(num_classes: int = 400, depth: int = 50, dropout_ratio: float = 0.5) -> ResNet3d:
    """pytorchvideo's R(2+1)D-50: ``(N, 3, 16, H, W)`` -> logits ``(N, num_classes)``.

    Stem ``1x7x7`` stride ``(1, 2, 2)`` without pooling; bottlenecks whose middle conv is a
    :class:`TemporalSpatialConv`; stage strides ``(1, 2, 2), (1, 2, 2), (2, 2, 2), (2, 2, 2)``.
    """
    stem = Stem3d(3, 64, (1, 7, 7), (1, 2, 2), pool_kernel=None)
    stages, in_planes = [], 64
    for i, num_blocks in enumerate(RESNET_DEPTHS[depth]):
        planes = 64 * 2**i
        stride = (1 if i < 2 else 2, 2, 2)
        stages.append(make_stage(Bottleneck3d, in_planes, planes, num_blocks, stride=stride,
                                 conv_builder=TemporalSpatialConv, conv2_kernel_t=3))
        in_planes = planes * Bottleneck3d.expansion
    model = ResNet3d(stem, stages, ClassifierHead3d(in_planes, num_classes, dropout_ratio=dropout_ratio))
    init_weights(model)
    return model


#: upstream block-relative module -> ours, for :class:`~zoo.models._resnet3d.Bottleneck3d`.
PYTORCHVIDEO_BOTTLENECK = {"branch1_conv": "downsample.conv", "branch1_norm": "downsample.bn",
                           "branch2.conv_a": "conv1", "branch2.norm_a": "bn1", "branch2.conv_b": "conv2",
                           "branch2.norm_b": "bn2", "branch2.conv_c": "conv3", "branch2.norm_c": "bn3",
                           "branch2.conv_b.conv_t": "conv2.conv_t", "branch2.conv_b.norm": "conv2.bn",
                           "branch2.conv_b.conv_xy": "conv2.conv_xy"}
PYSLOWFAST_NONLOCAL = {"conv_theta": "theta", "conv_phi": "phi", "conv_g": "g", "conv_out": "proj", "bn": "bn"}
PYSLOWFAST_BOTTLENECK = {"branch1": "downsample.conv", "branch1_bn": "downsample.bn", "branch2.a": "conv1",
                         "branch2.a_bn": "bn1", "branch2.b": "conv2", "branch2.b_bn": "bn2", "branch2.c": "conv3",
                         "branch2.c_bn": "bn3"}


def block_key(rest: str, table: Mapping[str, str]) -> str:
    """Our key inside a block for the upstream ``rest`` (``branch2.a_bn.weight`` -> ``bn1.weight``)."""
    module, _, tensor = rest.rpartition(".")
    return f"{table[module]}.{tensor}"  # KeyError: not a key of this layout (the engine reports it)


def _pytorchvideo_rules(stage_blocks: Mapping[int, int], head_block: int) -> list[Rule]:
    """pytorchvideo's ``blocks.{i}`` -> ours, with ``stage_blocks`` mapping its block index to our stage (1-4)."""
    stages = "|".join(str(i) for i in stage_blocks)
    return [
        Rule(r"blocks\.0\.conv\.weight", "stem.conv.weight"),
        Rule(r"blocks\.0\.norm\.(.+)", r"stem.bn.\1"),
        Rule(rf"blocks\.(?P<stage>{stages})\.res_blocks\.(?P<block>\d+)\.(?P<rest>.+)",
             lambda m: f"layer{stage_blocks[int(m['stage'])]}.{m['block']}."
                       f"{block_key(m['rest'], PYTORCHVIDEO_BOTTLENECK)}"),
        Rule(rf"blocks\.{head_block}\.proj\.(weight|bias)", r"head.fc.\1"),
    ]


#: PySlowFast's ResNet (``.pyth``, or Caffe2 blobs renamed by :func:`caffe2_to_pyslowfast`, whose
#: arrays may carry fewer axes than the PyTorch tensor: reshaped where the element count agrees).
PYSLOWFAST_RESNET_RULES = [
    Rule(r"s1\.pathway0_stem\.conv\.weight", "stem.conv.weight", reshape=True),
    Rule(r"s1\.pathway0_stem\.bn\.(.+)", r"stem.bn.\1"),
    Rule(r"s(?P<stage>[2-5])\.pathway0_res(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"layer{int(m['stage']) - 1}.{m['block']}.{block_key(m['rest'], PYSLOWFAST_BOTTLENECK)}",
         reshape=True),
    Rule(r"s(?P<stage>[2-5])\.pathway0_nonlocal(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"layer{int(m['stage']) - 1}.{m['block']}.nonlocal_block."
                   f"{block_key(m['rest'], PYSLOWFAST_NONLOCAL)}", reshape=True),
    Rule(r"head\.projection\.(weight|bias)", r"head.fc.\1", reshape=True),
]

#: Caffe2 blob name -> PySlowFast's PyTorch name (the facts of PySlowFast's ``c2_model_loading``);
#: optimizer state (``*_momentum``) and counters are dropped.
CAFFE2_TO_PYSLOWFAST = [
    (r"(.+)_momentum|lr|model_iter|iter|.*__\w+", None),
    (r"res(\d)_(\d+)_branch(\d)([a-c])_bn_(s|b|rm|riv)", r"s\1.pathway0_res\2.branch\3.\4_bn.\5"),
    (r"res(\d)_(\d+)_branch(\d)([a-c])_(w|b)", r"s\1.pathway0_res\2.branch\3.\4.\5"),
    (r"res(\d)_(\d+)_branch1_bn_(s|b|rm|riv)", r"s\1.pathway0_res\2.branch1_bn.\3"),
    (r"res(\d)_(\d+)_branch1_(w|b)", r"s\1.pathway0_res\2.branch1.\3"),
    (r"nonlocal_conv(\d)_(\d+)_(theta|phi|g|out)_(w|b)", r"s\1.pathway0_nonlocal\2.conv_\3.\4"),
    (r"nonlocal_conv(\d)_(\d+)_bn_(s|b|rm|riv)", r"s\1.pathway0_nonlocal\2.bn.\3"),
    (r"res_conv1_bn_(s|b|rm|riv)", r"s1.pathway0_stem.bn.\1"),
    (r"conv1_(w|b)", r"s1.pathway0_stem.conv.\1"),
    (r"pred_(w|b)", r"head.projection.\1"),
]
_CAFFE2_SUFFIX = {"w": "weight", "s": "weight", "b": "bias", "rm": "running_mean", "riv": "running_var"}


def caffe2_to_pyslowfast(blobs: Mapping[str, torch.Tensor], patterns=None) -> dict[str, torch.Tensor]:
    """Caffe2 blobs (``res2_0_branch2a_bn_s``) -> PySlowFast's PyTorch names (``s2.pathway0_res0.branch2.a_bn.weight``).

    ``patterns``: ``(regex, template or None to drop)`` pairs, first match wins (default
    :data:`CAFFE2_TO_PYSLOWFAST`).  A blob no pattern knows keeps its name (the rule table after it
    reports it as unexpected).
    """
    out = {}
    for name, value in blobs.items():
        for pattern, target in patterns or CAFFE2_TO_PYSLOWFAST:
            m = re.fullmatch(pattern, name)
            if m is None:
                continue
            if target is not None:
                head, _, suffix = m.expand(target).rpartition(".")
                out[f"{head}.{_CAFFE2_SUFFIX[suffix]}"] = value
            break
        else:
            out[name] = value
    return out


@register_converter("fair_resnet")
def convert_fair_resnet(state: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """pytorchvideo (bare or under PySlowFast's ``model.``), PySlowFast or Caffe2 (PySlowFast ``.pkl``) ResNet
    weights -> our ``ResNet3d``."""
    state = without_prefix(state, "model.")
    if "blocks.0.conv.weight" in state:
        pooled = any(k.startswith("blocks.6.") for k in state)  # C2D/I3D: blocks.2 is the temporal pool
        stage_blocks = {1: 1, 3: 2, 4: 3, 5: 4} if pooled else {1: 1, 2: 2, 3: 3, 4: 4}
        rules = _pytorchvideo_rules(stage_blocks, 6 if pooled else 5)
        return convert(state, model, rules, what="pytorchvideo ResNet")
    if "conv1_w" in state or "pred_w" in state:
        state = caffe2_to_pyslowfast(state)
        return convert(state, model, PYSLOWFAST_RESNET_RULES, what="PySlowFast Caffe2 ResNet")
    return convert(state, model, PYSLOWFAST_RESNET_RULES, what="PySlowFast ResNet")


#: builder arguments of each variant, in :func:`i3d_resnet`'s terms
_ARCH = {
    "c2d": dict(inflate_freq=0, conv1_kernel_t=1, conv1_stride_t=1, pool1_stride_t=1, temporal_pool2=True),
    "c2d_nopool": dict(inflate_freq=0, conv1_kernel_t=1, conv1_stride_t=1, pool1_stride_t=1, temporal_pool2=False),
    "i3d": dict(conv1_kernel_t=5, conv1_stride_t=1, pool1_stride_t=1, temporal_pool2=True),
    "slow": dict(inflate_freq=(0, 0, 1, 1), conv1_kernel_t=1, conv1_stride_t=1, pool1_stride_t=1, temporal_pool2=False),
    "i3d_nln": dict(conv1_kernel_t=5, conv1_stride_t=1, pool1_stride_t=1, temporal_pool2=True, nonlocal_stages=(1, 2),
                    nonlocal_freq=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
                    nonlocal_kwargs={"sub_sample": True, "pool_input": True}),
}
_FAMILY = {"c2d": "c2d", "c2d_nopool": "c2d", "i3d": "i3d", "slow": "i3d_slow", "i3d_nln": "i3d"}
_TITLE = {"c2d": "C2D", "c2d_nopool": "C2D (no temporal pool)", "i3d": "I3D", "slow": "Slow-only",
          "i3d_nln": "I3D with non-local blocks"}
_DATASETS = {  # dataset -> (classes, test views, how the views are combined)
    "kinetics400": (400, "Kinetics-400 val, 30 views (10 clips x 3 crops, short side 256)"),
    "sthsthv2": (174, "Something-Something V2 val, 3 views (1 clip x 3 crops, short side 256)"),
    "charades": (157, "Charades val, mAP over 157 classes, 30 views (10 clips x 3 crops), max over the views"),
}
_SOURCES = {
    "pyslowfast": "PySlowFast (facebookresearch/SlowFast, slowfast/models/video_model_builder.py ResNet)",
    "pytorchvideo": "pytorchvideo 0.1.5 (pytorchvideo/models/resnet.py create_resnet, models/hub/resnet.py)",
    "pyslowfast_ptv": "PySlowFast projects/pytorchvideo (slowfast/models/ptv_model_builder.py PTVResNet: pytorchvideo's "
                      "create_resnet as its `model`)",
}


def _register(name: str, arch: str, frames: int, step: int, *, repo: str, path: str, top1: float | None = None,
              top5: float | None = None, mean_ap: float | None = None, dataset: str = "kinetics400",
              pretraining: str = "Scratch") -> None:
    """Register ``name``: the ResNet-50 ``arch`` trained on ``dataset`` by ``repo``, weights at ``path``."""
    num_classes, protocol = _DATASETS[dataset]
    note = "frames sampled uniformly over the whole video" if dataset == "sthsthv2" else ""
    description = f"{_TITLE[arch]} ResNet-50, {frames}x{step}, trained on {dataset} by {repo}."
    if repo == "pyslowfast_ptv":
        weights = pysf_ptv_file(name, path, "fair_resnet", top1, top5, protocol=protocol, pretraining=pretraining)
        note = "; ".join(filter(None, (note, "channels in BGR order (PySlowFast REVERSE_INPUT_CHANNEL)"
                                       if dataset == "sthsthv2" else "", PYSF_PTV_NOTE)))
        description = (f"{_TITLE[arch]} ResNet-50, {frames}x{step}: pytorchvideo's network trained on {dataset} by "
                       "PySlowFast (projects/pytorchvideo)" + (f"; {PYSF_PTV_CHARADES}." if dataset == "sthsthv2" else "."))
    else:
        weights = fair_file(name, path, "fair_resnet", top1, top5, repo=repo, protocol=protocol, mean_ap=mean_ap,
                            pretraining=pretraining, default=True)
    spec = InputSpec(clip_len=frames, frame_step=step, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD,
                     note=note)
    register_model(name, i3d_resnet, family=_FAMILY[arch], dataset=dataset, num_classes=num_classes,
                   kwargs={"depth": 50, **_ARCH[arch]}, input=spec, weights=[weights],
                   converters={"pth": "fair_resnet", "pkl": "fair_resnet"}, source=_SOURCES[repo],
                   description=description)


# PySlowFast's Caffe2 checkpoints (MODEL_ZOO.md, Kinetics 400 and 600)
_register("c2d_nopool_resnet50_f8s8_kinetics400", "c2d_nopool", 8, 8, repo="pyslowfast",
          path="model_zoo/kinetics400/C2D_NOPOOL_8x8_R50.pkl", top1=67.2, top5=87.8)
_register("i3d_resnet50_f8s8_kinetics400", "i3d", 8, 8, repo="pyslowfast",
          path="model_zoo/kinetics400/I3D_8x8_R50.pkl", top1=73.5, top5=90.8)
_register("i3d_nl_resnet50_f8s8_kinetics400", "i3d_nln", 8, 8, repo="pyslowfast",
          path="model_zoo/kinetics400/I3D_NLN_8x8_R50.pkl", top1=74.0, top5=91.1)
_register("slow_resnet50_f4s16_kinetics400", "slow", 4, 16, repo="pyslowfast",
          path="model_zoo/kinetics400/SLOWONLY_4x16_R50.pkl", top1=72.7, top5=90.3)
_register("slow_resnet50_f8s8_kinetics400", "slow", 8, 8, repo="pyslowfast",
          path="model_zoo/kinetics400/SLOWONLY_8x8_R50.pkl", top1=74.8, top5=91.6)
# pytorchvideo's model zoo (docs/source/model_zoo.md)
_register("c2d_resnet50_f8s8_kinetics400_pytorchvideo", "c2d", 8, 8, repo="pytorchvideo",
          path="kinetics/C2D_8x8_R50.pyth", top1=71.46, top5=89.68)
_register("i3d_resnet50_f8s8_kinetics400_pytorchvideo", "i3d", 8, 8, repo="pytorchvideo",
          path="kinetics/I3D_8x8_R50.pyth", top1=73.27, top5=90.70)
_register("slow_resnet50_f4s16_kinetics400_pytorchvideo", "slow", 4, 16, repo="pytorchvideo",
          path="kinetics/SLOW_4x16_R50.pyth", top1=72.40, top5=90.18)
_register("slow_resnet50_f8s8_kinetics400_pytorchvideo", "slow", 8, 8, repo="pytorchvideo",
          path="kinetics/SLOW_8x8_R50.pyth", top1=74.58, top5=91.63)
_register("slow_resnet50_f8s8_sthsthv2", "slow", 8, 8, repo="pytorchvideo", dataset="sthsthv2",
          path="ssv2/SLOW_8x8_R50.pyth", top1=60.04, top5=85.19, pretraining="Kinetics-400")
_register("slow_resnet50_f8s8_charades", "slow", 8, 8, repo="pytorchvideo", dataset="charades",
          path="charades/SLOW_8x8_R50.pyth", mean_ap=34.72, pretraining="Kinetics-400")

# pytorchvideo's CSN and R(2+1)D (the same key layout as its ResNets)
register_model("csn_resnet101_f32s2_kinetics400", ircsn_resnet, family="csn", dataset="kinetics400", num_classes=400,
               kwargs={"depth": 101, "bn_eps": 1e-5},
               input=InputSpec(clip_len=32, frame_step=2, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD),
               weights=[fair_file("csn_resnet101_f32s2_kinetics400", "kinetics/CSN_32x2_R101.pyth", "fair_resnet",
                                  77.00, 92.90, repo="pytorchvideo", protocol=_DATASETS["kinetics400"][1],
                                  pretraining="Scratch", default=True)],
               converters={"pth": "fair_resnet"}, source=_SOURCES["pytorchvideo"].replace("resnet.py create_resnet", "csn.py create_csn"),
               description="ir-CSN ResNet-101 32x2 (depthwise 3x3x3 bottlenecks) of pytorchvideo's model zoo, from scratch.")
register_model("r2plus1d_resnet50_f16s4_kinetics400", r2plus1d_pytorchvideo, family="r2plus1d", dataset="kinetics400",
               num_classes=400, kwargs={"depth": 50},
               input=InputSpec(clip_len=16, frame_step=4, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD),
               weights=[fair_file("r2plus1d_resnet50_f16s4_kinetics400", "kinetics/R2PLUS1D_16x4_R50.pyth", "fair_resnet",
                                  76.01, 92.23, repo="pytorchvideo", protocol=_DATASETS["kinetics400"][1],
                                  pretraining="Scratch", default=True)],
               converters={"pth": "fair_resnet"},
               source="pytorchvideo 0.1.5 (pytorchvideo/models/r2plus1d.py create_r2plus1d, models/hub/r2plus1d.py)",
               description="R(2+1)D ResNet-50 16x4 of pytorchvideo's model zoo (temporal-then-spatial middle convs).")

# PySlowFast's pytorchvideo project (projects/pytorchvideo/README.md): the same networks trained by PySlowFast
_register("c2d_resnet50_f8s8_kinetics400_pyslowfast_ptv", "c2d", 8, 8, repo="pyslowfast_ptv",
          path="kinetics/C2D_8x8_R50.pyth", top1=71.46, top5=89.68)
_register("i3d_resnet50_f8s8_kinetics400_pyslowfast_ptv", "i3d", 8, 8, repo="pyslowfast_ptv",
          path="kinetics/I3D_8x8_R50.pyth", top1=73.27, top5=90.70)
_register("slow_resnet50_f4s16_kinetics400_pyslowfast_ptv", "slow", 4, 16, repo="pyslowfast_ptv",
          path="kinetics/SLOW_4x16_R50.pyth", top1=72.40, top5=90.18)
_register("slow_resnet50_f8s8_kinetics400_pyslowfast_ptv", "slow", 8, 8, repo="pyslowfast_ptv",
          path="kinetics/SLOW_8x8_R50.pyth", top1=74.58, top5=91.63)
_register("slow_resnet50_f8s8_sthsthv2_pyslowfast_ptv", "slow", 8, 8, repo="pyslowfast_ptv", dataset="sthsthv2",
          path="ssv2/SLOW_8x8_R50.pyth", top1=60.04, top5=85.19, pretraining="Kinetics-400")
register_model("csn_resnet101_f32s2_kinetics400_pyslowfast_ptv", ircsn_resnet, family="csn", dataset="kinetics400",
               num_classes=400, kwargs={"depth": 101, "bn_eps": 1e-5},
               input=InputSpec(clip_len=32, frame_step=2, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD,
                               note=PYSF_PTV_NOTE),
               weights=[pysf_ptv_file("csn_resnet101_f32s2_kinetics400_pyslowfast_ptv", "kinetics/CSN_32x2_R101.pyth",
                                      "fair_resnet", 77.00, 92.90, protocol=_DATASETS["kinetics400"][1])],
               converters={"pth": "fair_resnet"},
               source="PySlowFast projects/pytorchvideo (slowfast/models/ptv_model_builder.py PTVCSN: pytorchvideo's "
                      "create_csn as its `model`)",
               description="ir-CSN ResNet-101 32x2: pytorchvideo's network trained on Kinetics-400 by PySlowFast "
                           "(projects/pytorchvideo), from scratch.")
register_model("r2plus1d_resnet50_f16s4_kinetics400_pyslowfast_ptv", r2plus1d_pytorchvideo, family="r2plus1d",
               dataset="kinetics400", num_classes=400, kwargs={"depth": 50},
               input=InputSpec(clip_len=16, frame_step=4, crop_size=224, short_side=256, mean=FAIR_MEAN, std=FAIR_STD,
                               note=PYSF_PTV_NOTE),
               weights=[pysf_ptv_file("r2plus1d_resnet50_f16s4_kinetics400_pyslowfast_ptv",
                                      "kinetics/R2PLUS1D_16x4_R50.pyth", "fair_resnet", 76.01, 92.23,
                                      protocol=_DATASETS["kinetics400"][1])],
               converters={"pth": "fair_resnet"},
               source="PySlowFast projects/pytorchvideo (slowfast/models/ptv_model_builder.py PTVR2plus1D: pytorchvideo's "
                      "create_r2plus1d as its `model`)",
               description="R(2+1)D ResNet-50 16x4: pytorchvideo's network trained on Kinetics-400 by PySlowFast "
                           "(projects/pytorchvideo), from scratch.")
