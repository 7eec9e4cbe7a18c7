"""X3D (Feichtenhofer, "X3D: Expanding Architectures for Efficient Video Recognition", CVPR 2020).

A 3D network expanded from a tiny base along time, frame rate, resolution, width, bottleneck width
and depth.  Every block is an inverted bottleneck with a *channel-wise* ``3x3x3`` convolution, so
time is modelled in every block at the cost of a depthwise conv::

    stem:   conv 1x3x3/(1,2,2) 3->24, depthwise conv 5x1x1, BN, ReLU
    res2-5: blocks [conv 1x1x1 -> BN -> ReLU -> depthwise 3x3x3 (stride 1,2,2 in the first block)
            -> BN -> SE (every other block) -> Swish -> conv 1x1x1 -> BN] + shortcut, ReLU
            widths 24, 48, 96, 192; inner width 2.25x; depths 3, 5, 11, 7 (XS, S, M)
    head:   conv 1x1x1 192->432, BN, ReLU, global pool, fc 432->2048 (no bias), ReLU, dropout, fc

XS, S and M share the network and differ in input: 4 frames at 160 px, 13 at 160, 16 at 224; L is
deeper (depth factor 5.0) at 312 px.  The inner width of a block is ``int(2.25 * width)`` (54 for 24).

Weights: mmaction2's (``x3d/facebook/x3d_{s,m}_*.pth``: PySlowFast's files converted to its
``backbone.conv1_s``, ``backbone.layer1.0.conv1.conv``, ``cls_head.fc2`` layout, the same network),
PySlowFast's (``x3d_models/x3d_*.pyth``: ``s1.pathway0_stem``, ``s2.pathway0_res0.branch2.a``,
``head.lin_5``, ...) and pytorchvideo's (``kinetics/X3D_*.pyth``: ``blocks.0.conv.conv_t``,
``blocks.1.res_blocks.0.branch2.conv_a``, ``blocks.5.pool.post_conv``, ...; PySlowFast's pytorchvideo project
saves the same network under ``model.``, its ``PTVX3D`` wrapper).  The two networks differ in
one place: the first block of res2 keeps its width (24 -> 24) but strides, and PySlowFast follows its
shortcut conv with a BatchNorm where pytorchvideo has none (``shortcut_norm_same_width=False``).
pytorchvideo's EfficientX3D (``models/accelerator/mobile_cpu/efficient_x3d.py``, ``efficient_x3d_*_original_form.pyth``:
``s1.pathway0_stem_conv_xy.kernel.conv``, ``s2.pathway0_res0.layers.conv_0.kernel.bn``, ``head.lin_5.kernel.conv``,
``projection.model``) is PySlowFast's X3D-XS network, shortcut BatchNorm included, rebuilt from its mobile-CPU
blocks (its XS and S differ only in their input).  One converter reads the three layouts, each with its rule table.
"""
from __future__ import annotations

import math
import re
from dataclasses import replace

import torch
import torch.nn as nn

from ..convert.keys import Rule, convert, without_prefix
from ..registry import InputSpec, register_converter, register_model
from ._interface import VideoClassifier, init_conv_bn
from ._mmaction2 import mm_norm, register_mmaction2
from ._published import PYSF_PTV_NOTE, fair_file, pysf_ptv_file
from ._resnet3d import ConvBNAct, batch_norm3d, conv3d, make_stage

__all__ = ["X3D", "X3DBlock", "SqueezeExcite3d", "x3d", "convert_fair_x3d"]


def round_width(width: float, multiplier: float, divisor: int = 8) -> int:
    """``width * multiplier`` rounded to a multiple of ``divisor`` (never more than 10% down)."""
    width *= multiplier
    rounded = max(divisor, int(width + divisor / 2) // divisor * divisor)
    return int(rounded + divisor if rounded < 0.9 * width else rounded)


class SqueezeExcite3d(nn.Module):
    """Squeeze-and-excitation: ``x * sigmoid(fc2(relu(fc1(pool(x)))))`` on ``(N, C, T, H, W)``."""

    def __init__(self, channels: int, ratio: float = 0.0625) -> None:
        super().__init__()
        hidden = round_width(channels, ratio)
        self.fc1 = nn.Conv3d(channels, hidden, 1)
        self.fc2 = nn.Conv3d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.fc2(torch.relu(self.fc1(x.mean(dim=(2, 3, 4), keepdim=True))))
        return x * torch.sigmoid(scale)


class X3DBlock(nn.Module):
    """X3D inverted bottleneck: ``(N, in_planes, T, H, W) -> (N, planes, T, H/s, W/s)``.

    ``planes`` is the block's output width (``expansion = 1``), ``inner`` its expanded width.
    Signature compatible with :func:`._resnet3d.make_stage`.
    """

    expansion = 1

    def __init__(
        self,
        in_planes: int,
        planes: int,
        *,
        inner: int,
        use_se: bool,
        stride: tuple[int, int, int] = (1, 1, 1),
        downsample: nn.Module | None = None,
        nonlocal_block: nn.Module | None = None,
        norm_layer=batch_norm3d(),
    ) -> None:
        super().__init__()
        self.conv1 = ConvBNAct(in_planes, inner, 1, norm_layer=norm_layer)
        self.conv2 = conv3d(inner, inner, 3, stride, 1, groups=inner)
        self.bn2 = norm_layer(inner)
        self.se = SqueezeExcite3d(inner) if use_se else nn.Identity()
        self.act = nn.SiLU()
        self.conv3 = ConvBNAct(inner, planes, 1, act=False, norm_layer=norm_layer)
        self.downsample = downsample
        self.relu = nn.ReLU(inplace=True)

    def last_bn(self) -> nn.Module:
        return self.conv3.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.act(self.se(self.bn2(self.conv2(self.conv1(x)))))
        return self.relu(self.conv3(out) + identity)


class X3D(VideoClassifier):
    """X3D network: ``(N, 3, T, H, W)`` -> logits ``(N, num_classes)``; ``forward_features``: ``(N, head_width)``.

    Args:
        depths: blocks per stage (base 1, 2, 5, 3 times the depth factor 2.2).
        width_factor: stem/stage widths are ``round_width(12, width_factor) * 2**i``.
        bottleneck_factor: inner width of a block relative to its output.
        head_width: width of the last ``fc`` before the classifier.
        dropout_ratio: dropout before the classifier.
        shortcut_norm_same_width: whether a strided shortcut that keeps the width (res2's first
            block) has a BatchNorm after its conv (PySlowFast, mmaction2) or not (pytorchvideo).
    """

    def __init__(
        self,
        num_classes: int,
        depths: tuple[int, ...] = (3, 5, 11, 7),
        width_factor: float = 2.0,
        bottleneck_factor: float = 2.25,
        head_width: int = 2048,
        dropout_ratio: float = 0.5,
        shortcut_norm_same_width: bool = True,
    ) -> None:
        super().__init__()
        norm = batch_norm3d()
        stem_width = round_width(12, width_factor)
        self.stem = nn.Sequential(
            conv3d(3, stem_width, (1, 3, 3), (1, 2, 2), (0, 1, 1)),
            conv3d(stem_width, stem_width, (5, 1, 1), 1, (2, 0, 0), groups=stem_width),
            norm(stem_width),
            nn.ReLU(inplace=True),
        )
        stages, in_planes, width = [], stem_width, stem_width
        for depth in depths:
            inner = int(bottleneck_factor * width)
            kwargs = [{"inner": inner, "use_se": j % 2 == 0} for j in range(depth)]
            stage = make_stage(X3DBlock, in_planes, width, depth, stride=(1, 2, 2), block_kwargs=kwargs)
            if in_planes == width and not shortcut_norm_same_width:
                stage[0].downsample.bn = nn.Identity()
            stages.append(stage)
            in_planes, width = width, width * 2
        self.stages = nn.Sequential(*stages)
        conv5_width = int(bottleneck_factor * in_planes)
        self.conv5 = ConvBNAct(in_planes, conv5_width, 1)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc1 = nn.Linear(conv5_width, head_width, bias=False)
        self.dropout = nn.Dropout(dropout_ratio)
        self.num_features = head_width
        self.fc = nn.Linear(head_width, num_classes)
        init_conv_bn(self, linear_std=0.01, keep={self.fc1})
        nn.init.normal_(self.fc1.weight, std=0.01)
        for block in self.modules():
            if isinstance(block, X3DBlock):  # residual branches start near zero
                nn.init.zeros_(block.last_bn().weight)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, head_width)`` (after ``fc1`` and its ReLU)."""
        x = self.conv5(self.stages(self.stem(x)))
        return torch.relu(self.fc1(self.pool(x).flatten(1)))


def x3d(num_classes: int, depth_factor: float = 2.2, base_depths: tuple[int, ...] = (1, 2, 5, 3), **kwargs) -> X3D:
    """Builder of :class:`X3D`: stage depths are ``ceil(base_depths * depth_factor)``."""
    depths = tuple(int(math.ceil(d * depth_factor)) for d in base_depths)
    return X3D(num_classes, depths=depths, **kwargs)


def _stage_block(match: re.Match[str], offset: int) -> str:
    """``stages.{stage - offset}.{block}`` of an upstream (stage, block) pair of numbers."""
    return f"stages.{int(match['stage']) - offset}.{match['block']}"


#: PySlowFast's X3D (``slowfast/models/video_model_builder.py`` X3D): stem s1, stages s2..s5, X3DHead.
PYSLOWFAST_X3D_RULES = [
    Rule(r"s1\.pathway0_stem\.conv_xy\.weight", "stem.0.weight"),
    Rule(r"s1\.pathway0_stem\.conv\.weight", "stem.1.weight"),
    Rule(r"s1\.pathway0_stem\.bn\.(.+)", r"stem.2.\1"),
    Rule(r"s(?P<stage>\d)\.pathway0_res(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_stage_block(m, 2)}.{_block_key(m['rest'], _PYSLOWFAST_BLOCK)}"),
    Rule(r"head\.conv_5\.weight", "conv5.conv.weight"),
    Rule(r"head\.conv_5_bn\.(.+)", r"conv5.bn.\1"),
    Rule(r"head\.lin_5\.weight", "fc1.weight", reshape=True),
    Rule(r"head\.projection\.(weight|bias)", r"fc.\1"),
]

#: pytorchvideo's create_x3d: blocks.0 stem, blocks.1-4 stages, blocks.5 head (ProjectedPool + proj).
PYTORCHVIDEO_X3D_RULES = [
    Rule(r"blocks\.0\.conv\.conv_t\.weight", "stem.0.weight"),
    Rule(r"blocks\.0\.conv\.conv_xy\.weight", "stem.1.weight"),
    Rule(r"blocks\.0\.norm\.(.+)", r"stem.2.\1"),
    Rule(r"blocks\.(?P<stage>[1-4])\.res_blocks\.(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_stage_block(m, 1)}.{_block_key(m['rest'], _PYTORCHVIDEO_BLOCK)}"),
    Rule(r"blocks\.5\.pool\.pre_conv\.weight", "conv5.conv.weight"),
    Rule(r"blocks\.5\.pool\.pre_norm\.(.+)", r"conv5.bn.\1"),
    Rule(r"blocks\.5\.pool\.post_conv\.weight", "fc1.weight", reshape=True),
    Rule(r"blocks\.5\.proj\.(weight|bias)", r"fc.\1"),
]

#: pytorchvideo's EfficientX3d (mobile-CPU blocks: every conv wrapped as ``*.kernel.conv``, its BN ``*.kernel.bn``).
EFFICIENT_X3D_RULES = [
    Rule(r"s1\.pathway0_stem_conv_xy\.kernel\.conv\.weight", "stem.0.weight"),
    Rule(r"s1\.pathway0_stem_conv\.kernel\.conv\.weight", "stem.1.weight"),
    Rule(r"s1\.pathway0_stem_conv\.kernel\.bn\.(.+)", r"stem.2.\1"),
    Rule(r"s(?P<stage>\d)\.pathway0_res(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_stage_block(m, 2)}.{_block_key(m['rest'], _EFFICIENT_BLOCK)}"),
    Rule(r"head\.conv_5\.kernel\.conv\.weight", "conv5.conv.weight"),
    Rule(r"head\.conv_5\.kernel\.bn\.(.+)", r"conv5.bn.\1"),
    Rule(r"head\.lin_5\.kernel\.conv\.weight", "fc1.weight", reshape=True),
    Rule(r"projection\.model\.(weight|bias)", r"fc.\1"),
]

#: mmaction2's X3D (``mmaction/models/backbones/x3d.py``, ``heads/x3d_head.py``): stem ``conv1_s``/``conv1_t``,
#: ``layer1..4`` of ``BlockX3D`` (``ConvModule`` s: conv and BN under one name), ``conv5``, ``X3DHead``.
MMACTION2_X3D_RULES = [
    Rule(r"backbone\.conv1_s\.conv\.weight", "stem.0.weight"),
    Rule(r"backbone\.conv1_t\.conv\.weight", "stem.1.weight"),
    Rule(r"backbone\.conv1_t\.bn\.(.+)", r"stem.2.\1"),
    Rule(r"backbone\.layer(?P<stage>[1-4])\.(?P<block>\d+)\.(?P<rest>.+)",
         lambda m: f"{_stage_block(m, 1)}.{_block_key(m['rest'], _MMACTION2_BLOCK)}"),
    Rule(r"backbone\.conv5\.(conv|bn)\.(.+)", r"conv5.\1.\2"),
    Rule(r"cls_head\.fc1\.weight", "fc1.weight"),
    Rule(r"cls_head\.fc2\.(weight|bias)", r"fc.\1"),
]

#: upstream block-relative module -> ours (the tensor name after it is kept)
_PYSLOWFAST_BLOCK = {"branch1": "downsample.conv", "branch1_bn": "downsample.bn", "branch2.a": "conv1.conv",
                     "branch2.a_bn": "conv1.bn", "branch2.b": "conv2", "branch2.b_bn": "bn2",
                     "branch2.se.fc1": "se.fc1", "branch2.se.fc2": "se.fc2", "branch2.c": "conv3.conv",
                     "branch2.c_bn": "conv3.bn"}
_PYTORCHVIDEO_BLOCK = {"branch1_conv": "downsample.conv", "branch1_norm": "downsample.bn",
                       "branch2.conv_a": "conv1.conv", "branch2.norm_a": "conv1.bn", "branch2.conv_b": "conv2",
                       "branch2.norm_b.0": "bn2", "branch2.norm_b.1.block.0": "se.fc1",
                       "branch2.norm_b.1.block.2": "se.fc2", "branch2.conv_c": "conv3.conv",
                       "branch2.norm_c": "conv3.bn"}
_MMACTION2_BLOCK = {"downsample.conv": "downsample.conv", "downsample.bn": "downsample.bn", "conv1.conv": "conv1.conv",
                    "conv1.bn": "conv1.bn", "conv2.conv": "conv2", "conv2.bn": "bn2", "se_module.fc1": "se.fc1",
                    "se_module.fc2": "se.fc2", "conv3.conv": "conv3.conv", "conv3.bn": "conv3.bn"}

_EFFICIENT_BLOCK = {"_res_proj.kernel.conv": "downsample.conv", "_res_proj.kernel.bn": "downsample.bn",
                    "layers.conv_0.kernel.conv": "conv1.conv", "layers.conv_0.kernel.bn": "conv1.bn",
                    "layers.conv_1.kernel.conv": "conv2", "layers.conv_1.kernel.bn": "bn2",
                    "layers.se.se.block.0": "se.fc1", "layers.se.se.block.2": "se.fc2",
                    "layers.conv_2.kernel.conv": "conv3.conv", "layers.conv_2.kernel.bn": "conv3.bn"}


def _block_key(rest: str, table: dict[str, str]) -> str:
    """Our key inside a block for the upstream ``rest`` (``branch2.a_bn.weight`` -> ``conv1.bn.weight``)."""
    module, _, tensor = rest.rpartition(".")
    return f"{table[module]}.{tensor}"  # KeyError: not a key of this layout (the engine reports it)


@register_converter("fair_x3d")
def convert_fair_x3d(state: dict, model: nn.Module) -> dict:
    """PySlowFast's, pytorchvideo's (bare or under PySlowFast's ``model.``) or pytorchvideo's EfficientX3D
    state dict -> ours (told by the stem's key)."""
    state = without_prefix(state, "model.")
    if any(k.startswith("blocks.0.") for k in state):
        return convert(state, model, PYTORCHVIDEO_X3D_RULES, what="pytorchvideo X3D")
    if any(k.startswith("s1.pathway0_stem_conv_xy.") for k in state):
        return convert(state, model, EFFICIENT_X3D_RULES, what="pytorchvideo EfficientX3D")
    return convert(state, model, PYSLOWFAST_X3D_RULES, what="PySlowFast X3D")


@register_converter("mmaction2_x3d")
def convert_mmaction2_x3d(state: dict, model: nn.Module) -> dict:
    """mmaction2's X3D checkpoint (``backbone.*``, ``cls_head.fc1/fc2``) -> ours (:data:`MMACTION2_X3D_RULES`)."""
    return convert(state, model, MMACTION2_X3D_RULES, what="mmaction2 X3D")


for _name, _frames, _step, _crop in (("x3d_xs", 4, 12, 160), ("x3d_s", 13, 6, 160), ("x3d_m", 16, 5, 224)):
    register_model(
        _name,
        x3d,
        family="x3d",
        dataset="",
        num_classes=400,
        input=InputSpec(clip_len=_frames, frame_step=_step, crop_size=_crop, short_side=_crop,
                        mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225),
                        note="X3D sizes share the network; they differ in frames, frame step and crop"),
        description=f"X3D-{_name[4:].upper()} (depthwise 3x3x3 inverted bottlenecks, SE, Swish); no weights.",
        source="zoo",
    )


#: X3D sizes: frames, frame step, train crop, 3-crop test short side, depth factor,
#: PySlowFast's 30-view top-1 (x3d_models/*.pyth), pytorchvideo's top-1/top-5 (kinetics/X3D_*.pyth).
_X3D_SIZES = {
    "xs": (4, 12, 160, 182, 2.2, 69.5, (69.12, 88.63)),
    "s": (13, 6, 160, 182, 2.2, 73.5, (73.33, 91.27)),
    "m": (16, 5, 224, 256, 2.2, 76.2, (75.94, 92.72)),
    "l": (16, 5, 312, 356, 5.0, 77.5, (77.44, 93.31)),
}
_VIEWS = "Kinetics-400 val, 30 views (10 clips x 3 crops of the short side resized to the test crop)"


def _x3d_input(size: str) -> InputSpec:
    frames, step, crop, test_side, *_ = _X3D_SIZES[size]
    return InputSpec(clip_len=frames, frame_step=step, crop_size=crop, short_side=test_side,
                     mean=(0.45, 0.45, 0.45), std=(0.225, 0.225, 0.225),
                     note=f"trained on {crop}px crops; tested on 3 crops of {test_side}px (short side {test_side}) "
                          f"x 10 clips, or 1 centre crop of {crop}px")


#: pytorchvideo's accelerator zoo (docs/source/model_zoo.md, "Efficient Models for mobile CPU", fp32): top-1/top-5.
_EFFICIENT_ACCURACY = {"xs": (68.5, 88.0), "s": (73.0, 90.6)}


def _register(name: str, size: str, source: str) -> None:
    """Register ``name``: X3D-``size`` with the Kinetics-400 weights of ``source``
    (``pyslowfast``, ``pytorchvideo``, ``pyslowfast_ptv`` or ``pytorchvideo_efficient``)."""
    *_, depth, pysf_top1, ptv_accuracy = _X3D_SIZES[size]
    spec = _x3d_input(size)
    if source == "pyslowfast":
        kwargs = {"depth_factor": depth}
        weights = fair_file(name, f"x3d_models/x3d_{size}.pyth", "fair_x3d", pysf_top1, repo="pyslowfast",
                            protocol=_VIEWS, pretraining="Scratch", default=True,
                            recipe=f"https://github.com/facebookresearch/SlowFast/blob/main/configs/Kinetics/X3D_{size.upper()}.yaml")
        origin = "PySlowFast (facebookresearch/SlowFast, slowfast/models/video_model_builder.py X3D)"
        description = f"X3D-{size.upper()} trained on Kinetics-400 by PySlowFast (projects/x3d)."
    elif source == "pytorchvideo_efficient":
        kwargs = {"depth_factor": depth}
        weights = fair_file(name, f"kinetics/efficient_x3d_{size}_original_form.pyth", "fair_x3d",
                            *_EFFICIENT_ACCURACY[size], repo="pytorchvideo", pretraining="Scratch", default=True,
                            protocol="Kinetics-400 val, 10 clips (pytorchvideo's accelerator model zoo, fp32)")
        origin = ("pytorchvideo 0.1.5 (pytorchvideo/models/accelerator/mobile_cpu/efficient_x3d.py EfficientX3d, "
                  "models/hub/efficient_x3d_mobile_cpu.py)")
        description = (f"EfficientX3D-{size.upper()}: X3D-{size.upper()} built from pytorchvideo's mobile-CPU blocks, "
                       "trained on Kinetics-400 (pytorchvideo's accelerator model zoo).")
        spec = replace(spec, note=f"X3D-{size.upper()}'s input ({spec.clip_len} frames at {spec.crop_size}px); "
                                  "pytorchvideo reports 10-clip accuracy and does not say how the clips were cropped")
    elif source == "pyslowfast_ptv":
        kwargs = {"depth_factor": depth, "shortcut_norm_same_width": False}
        weights = pysf_ptv_file(name, f"kinetics/X3D_{size.upper()}.pyth", "fair_x3d", *ptv_accuracy, protocol=_VIEWS)
        origin = ("PySlowFast projects/pytorchvideo (slowfast/models/ptv_model_builder.py PTVX3D: pytorchvideo's "
                  "create_x3d as its `model`)")
        description = (f"X3D-{size.upper()}: pytorchvideo's network (no BatchNorm on res2's first shortcut) trained on "
                       "Kinetics-400 by PySlowFast (projects/pytorchvideo).")
        spec = replace(spec, note=f"{spec.note}; {PYSF_PTV_NOTE}")
    else:
        kwargs = {"depth_factor": depth, "shortcut_norm_same_width": False}
        weights = fair_file(name, f"kinetics/X3D_{size.upper()}.pyth", "fair_x3d", *ptv_accuracy, repo="pytorchvideo",
                            protocol=_VIEWS, pretraining="Scratch", default=True)
        origin = "pytorchvideo 0.1.5 (pytorchvideo/models/x3d.py create_x3d, models/hub/x3d.py)"
        description = f"X3D-{size.upper()} of pytorchvideo's model zoo (no BatchNorm on res2's first shortcut)."
    register_model(name, x3d, family="x3d", dataset="kinetics400", num_classes=400, kwargs=kwargs,
                   input=spec, weights=[weights], converters={"pth": "fair_x3d"},
                   source=origin, description=description)


_register("x3d_xs_kinetics400", "xs", "pyslowfast")
_register("x3d_s_kinetics400", "s", "pyslowfast")
_register("x3d_m_kinetics400", "m", "pyslowfast")
_register("x3d_l_kinetics400", "l", "pyslowfast")
_register("x3d_xs_kinetics400_pytorchvideo", "xs", "pytorchvideo")
_register("x3d_s_kinetics400_pytorchvideo", "s", "pytorchvideo")
_register("x3d_m_kinetics400_pytorchvideo", "m", "pytorchvideo")
_register("x3d_l_kinetics400_pytorchvideo", "l", "pytorchvideo")
_register("x3d_xs_kinetics400_pyslowfast_ptv", "xs", "pyslowfast_ptv")
_register("x3d_s_kinetics400_pyslowfast_ptv", "s", "pyslowfast_ptv")
_register("x3d_m_kinetics400_pyslowfast_ptv", "m", "pyslowfast_ptv")
_register("x3d_l_kinetics400_pyslowfast_ptv", "l", "pyslowfast_ptv")
_register("efficient_x3d_xs_kinetics400", "xs", "pytorchvideo_efficient")
_register("efficient_x3d_s_kinetics400", "s", "pytorchvideo_efficient")


# --------------------------------------------------------------------------------------------
# mmaction2's X3D files (PySlowFast's weights converted by mmaction2; zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

def _register_mm(name: str, size: str, frames: int, step: int, test_side: int, top1: float, url: str, config: str) -> None:
    """Register ``name``: X3D-``size`` with mmaction2's file at ``url`` and its test pipeline's input."""
    register_mmaction2(
        name, builder=x3d, family="x3d", converter="mmaction2_x3d", dataset="kinetics400", kwargs={"depth_factor": 2.2},
        input=InputSpec(clip_len=frames, frame_step=step, num_segments=1, crop_size=test_side, short_side=test_side,
                        **mm_norm((114.75, 114.75, 114.75), (57.38, 57.38, 57.38)),
                        note=f"mmaction2 samples with target_fps=30 (frame step {step} at 30 fps); "
                             f"tested on 3 crops of {test_side}px after short side {test_side}"),
        url=url, top1=top1, top5=None, pretraining="Scratch", config=config,
        protocol=(f"mmaction2 test: 10 uniform clips of {frames} frames with step {step} x 3 crops (ThreeCrop "
                  f"{test_side}px after short side {test_side}), scores averaged (average_clips='prob'); top-1 of "
                  "that 30-view test from the README table and the metafile (they agree; no top-5 is published)"),
        description=(f"X3D-{size.upper()}: PySlowFast's Kinetics-400 weights (x3d_models/x3d_{size}.pyth) as converted "
                     "and published by mmaction2, with mmaction2's test pipeline."))


_register_mm("x3d_s_kinetics400_mmaction2", "s", 13, 6, 182, 73.3,
             "https://download.openmmlab.com/mmaction/v1.0/recognition/x3d/facebook/x3d_s_13x6x1_facebook-kinetics400-rgb_20201027-623825a0.pth",
             "x3d/x3d_s_13x6x1_facebook-kinetics400-rgb.py")
_register_mm("x3d_m_kinetics400_mmaction2", "m", 16, 5, 256, 76.4,
             "https://download.openmmlab.com/mmaction/v1.0/recognition/x3d/facebook/x3d_m_16x5x1_facebook-kinetics400-rgb_20201027-3f42382a.pth",
             "x3d/x3d_m_16x5x1_facebook-kinetics400-rgb.py")
