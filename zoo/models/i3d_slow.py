"""Slow-only ResNet ("I3D-slow", the Slow pathway of SlowFast without the Fast one), as in GluonCV.

Feichtenhofer et al., "SlowFast Networks for Video Recognition", ICCV 2019.  A ResNet whose first
two stages are purely 2D (``1x1``/``1x3x3`` kernels) and whose ``layer3``/``layer4`` reduce convs are
inflated to ``3x1x1``; the stem is ``1x7x7`` with no temporal stride or pooling, so ``T`` is kept
all the way: 16 frames leave ``layer4`` as ``(N, 2048, 16, 7, 7)``.

Built from the I3D builder (:func:`zoo.models.i3d_resnet.i3d_resnet`) with Slow-only settings; the
GluonCV ``ResNet_SlowFast`` ``.params`` keys are those of I3D, so the I3D converter reads them.
"""
from __future__ import annotations

from functools import partial

from typing import Any, Mapping

import torch
import torch.nn as nn

from ..convert.keys import KEEP, Rule, convert
from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import IMAGENET_NORM, mm_protocol, register_mmaction2
from ._published import GLUONCV_CONFIGS, published
from ._resnet3d import ResNet3d
from .i3d_resnet import i3d_resnet

__all__ = ["i3d_slow_resnet", "SLOW_ONLY", "convert_gluoncv_torch_i3d_slow"]

#: The Slow-only layout in :func:`i3d_resnet`'s terms.
SLOW_ONLY: dict[str, Any] = dict(
    inflate_freq=(0, 0, 1, 1),
    conv1_kernel_t=1,
    conv1_stride_t=1,
    pool1_kernel_t=1,
    pool1_stride_t=1,
    temporal_pool2=False,
)


def i3d_slow_resnet(num_classes: int, depth: int = 50, **kwargs: Any) -> ResNet3d:
    """Slow-only ResNet: ``(N * num_segments * num_crop, 3, T, H, W)`` -> logits ``(N, num_classes)``.

    ``kwargs`` are :func:`zoo.models.i3d_resnet.i3d_resnet`'s (``dropout_ratio``, ``num_segments``,
    ``num_crop``, ``partial_bn``, ``bn_frozen``, ``frozen_stages``, and the layout
    arguments, whose defaults here are :data:`SLOW_ONLY`).
    """
    return i3d_resnet(num_classes, depth, **{**SLOW_ONLY, **kwargs})


@register_converter("gluoncv_torch_i3d_slow")
def convert_gluoncv_torch_i3d_slow(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV PyTorch ``ResNet_SlowFast`` (Slow-only, torchvision-style keys) -> our ``ResNet3d``.

    ``conv1``/``bn1`` -> ``stem.{conv,bn}``, ``layerI.J.downsample.{0,1}`` -> ``.downsample.{conv,bn}``,
    ``fc`` -> ``head.fc``; block convs/BNs keep their names.
    """
    return convert(source, model, _TORCH_RULES, what="GluonCV PyTorch I3D-slow")


_TORCH_RULES = (
    Rule(r"conv1\.weight", "stem.conv.weight"),
    Rule(r"bn1\.(\w+)", r"stem.bn.\1"),
    Rule(r"(layer[1-4]\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    Rule(r"(layer[1-4]\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    Rule(r"fc\.(weight|bias)", r"head.fc.\1"),
    KEEP,
)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

_F16S4_DESC = "Trained from scratch on Kinetics-400, 16 frames with step 4 (from 64)"
_F32S2_INPUT = InputSpec(clip_len=32, frame_step=2)
_F32S2_DESC = "Trained from scratch on Kinetics-400, 32 frames with step 2 (from 64)"
_F8S8_INPUT = InputSpec(clip_len=8, frame_step=8)
_F8S8_DESC = "Trained from scratch on Kinetics-400, 8 frames with step 8 (from 64)"
_register = partial(register_model, builder=i3d_slow_resnet, family="i3d_slow", dataset="kinetics400", num_classes=400,
                    input=InputSpec(frame_step=4),
                    converters={"pth": "gluoncv_torch_i3d_slow", "params": "gluoncv_i3d_resnet"},
                    source="GluonCV PyTorch model zoo (gluoncv/torch/model_zoo/action_recognition/i3d_slow.py)")
_register("i3d_slow_resnet101_f16s4_kinetics400", kwargs=dict(depth=101),
          weights=(published("i3d_slow_resnet101_f16s4_kinetics400-cb6b78d9.pth", "gluoncv_torch_i3d_slow", 77.11,
                             sha1="cb6b78d9e58f7724efb63f705be7c8a12fe8f5ce", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet101_f16s4_kinetics400.yaml", description=_F16S4_DESC),),
          description=("Slow-only ResNet-101 (SlowFast's Slow pathway alone), 16x4 sampling, for Kinetics-400 (GluonCV"
                       " PyTorch zoo only; its weights are the only tag)."))
_register("i3d_slow_resnet101_f16s4_kinetics700", dataset="kinetics700", num_classes=700,
          converters={"params": "gluoncv_i3d_resnet", "pth": "gluoncv_torch_i3d_slow"},
          source="GluonCV model zoo (MXNet), gluoncv/model_zoo/action_recognition/i3d_slow.py", kwargs=dict(depth=101),
          weights=(published("i3d_slow_resnet101_f16s4_kinetics700-299b1d9d.params", "gluoncv_i3d_resnet", 67.65,
                             sha1="299b1d9d8a2bcf7c122acd0d23606af4fdfbe7e1", default=True, pretraining="Scratch",
                             description=("Trained from scratch on Kinetics-700, 16 frames with step 4 (from 64); "
                                          "GluonCV top-1.")),
                   published("i3d_slow_resnet101_f16s4_kinetics700-b5be1a2e.pth", "gluoncv_torch_i3d_slow", 67.65,
                             sha1="b5be1a2e32158748a7efc675081affd32006fe9a", pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet101_f16s4_kinetics700.yaml",
                             description=("Trained from scratch on Kinetics-700, 16 frames with step 4 (GluonCV "
                                          "PyTorch zoo)"))),
          description=("Slow-only ResNet-101 (SlowFast's Slow pathway alone) for Kinetics-700, 16x4 sampling. Weights "
                       "tags: 299b1d9d = GluonCV MXNet zoo (default); b5be1a2e = GluonCV PyTorch zoo, the same network"
                       " (get_model(name, pretrained='b5be1a2e'))."))
_register("i3d_slow_resnet101_f32s2_kinetics400", input=_F32S2_INPUT, kwargs=dict(depth=101),
          weights=(published("i3d_slow_resnet101_f32s2_kinetics400-db37cd51.pth", "gluoncv_torch_i3d_slow", 78.57,
                             sha1="db37cd518eab5f1cc394d0f44117c392d0174602", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet101_f32s2_kinetics400.yaml",
                             description=_F32S2_DESC),),
          description=("Slow-only ResNet-101 (SlowFast's Slow pathway alone), 32x2 sampling, for Kinetics-400 (GluonCV"
                       " PyTorch zoo only; its weights are the only tag)."))
_register("i3d_slow_resnet101_f8s8_kinetics400", input=_F8S8_INPUT, kwargs=dict(depth=101),
          weights=(published("i3d_slow_resnet101_f8s8_kinetics400-82e399c1.pth", "gluoncv_torch_i3d_slow", 76.15,
                             sha1="82e399c1114016126645c5e3e67bad164ba3ae84", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet101_f8s8_kinetics400.yaml",
                             description=_F8S8_DESC),),
          description=("Slow-only ResNet-101 (SlowFast's Slow pathway alone), 8x8 sampling, for Kinetics-400 (GluonCV "
                       "PyTorch zoo only; its weights are the only tag)."))
_register("i3d_slow_resnet50_f16s4_kinetics400", kwargs=dict(depth=50),
          weights=(published("i3d_slow_resnet50_f16s4_kinetics400-a3e419f1.pth", "gluoncv_torch_i3d_slow", 76.36,
                             sha1="a3e419f1b9cde3b57b9b19a9bd93281bb819a871", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet50_f16s4_kinetics400.yaml", description=_F16S4_DESC),),
          description=("Slow-only ResNet-50 (SlowFast's Slow pathway alone), 16x4 sampling, for Kinetics-400 (GluonCV "
                       "PyTorch zoo only; its weights are the only tag)."))
_register("i3d_slow_resnet50_f32s2_custom", dataset="custom", input=_F32S2_INPUT, kwargs=dict(depth=50),
          weights=(published("i3d_slow_resnet50_f32s2_kinetics400-078c817b.pth", "gluoncv_torch_i3d_slow", 77.89,
                             sha1="078c817bf18d702891de553de61c9115e27c4afd", default=True, num_classes=400,
                             pretraining="Scratch", recipe=GLUONCV_CONFIGS + "i3d_slow_resnet50_f32s2_kinetics400.yaml",
                             description=("the i3d_slow_resnet50_f32s2_kinetics400 weights (Kinetics-400) to "
                                          "fine-tune from")),),
          description=("Slow-only ResNet-50 (32x2) for fine-tuning on your own dataset (GluonCV PyTorch "
                       "i3d_slow_resnet50_f32s2_custom): get_model(name, pretrained=True, num_classes=N) loads "
                       "i3d_slow_resnet50_f32s2_kinetics400's weights except the classifier, which starts fresh."))
_register("i3d_slow_resnet50_f32s2_kinetics400", input=_F32S2_INPUT, kwargs=dict(depth=50),
          weights=(published("i3d_slow_resnet50_f32s2_kinetics400-078c817b.pth", "gluoncv_torch_i3d_slow", 77.89,
                             sha1="078c817bf18d702891de553de61c9115e27c4afd", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet50_f32s2_kinetics400.yaml",
                             description=_F32S2_DESC),),
          description=("Slow-only ResNet-50 (SlowFast's Slow pathway alone), 32x2 sampling, for Kinetics-400 (GluonCV "
                       "PyTorch zoo only; its weights are the only tag)."))
_register("i3d_slow_resnet50_f8s8_kinetics400", input=_F8S8_INPUT, kwargs=dict(depth=50),
          weights=(published("i3d_slow_resnet50_f8s8_kinetics400-1c3d98a1.pth", "gluoncv_torch_i3d_slow", 74.41,
                             sha1="1c3d98a1831ee477def36d6085635c2860db0b77", default=True, pretraining="Scratch",
                             recipe=GLUONCV_CONFIGS + "i3d_slow_resnet50_f8s8_kinetics400.yaml", description=_F8S8_DESC),),
          description=("Slow-only ResNet-50 (SlowFast's Slow pathway alone), 8x8 sampling, for Kinetics-400 (GluonCV "
                       "PyTorch zoo only; its weights are the only tag)."))


# --------------------------------------------------------------------------------------------
# mmaction2's SlowOnly ResNets (its name for I3D-slow): the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_register_mm = partial(register_mmaction2, builder=i3d_slow_resnet, family="i3d_slow", converter="mmaction2_resnet3d")

_register_mm("slowonly_resnet50_f4s16_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=4, frame_step=16, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_r50_8xb16-4x16x1-256e_kinetics400-rgb/slowonly_r50_4x16x1_256e_8xb16_kinetics400-rgb_20220901-f6a40d08.pth",
             top1=72.97, top5=90.88, pretraining="Scratch", config="slowonly/slowonly_r50_8xb16-4x16x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 4 frames with step 16 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 72.68/90.68; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 4x16 sampling, from scratch, mmaction2's weights.")

_register_mm("slowonly_resnet50_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb/slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb_20220901-2132fc87.pth",
             top1=75.15, top5=92.11, pretraining="Scratch", config="slowonly/slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 74.82/91.8; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 8x8 sampling, from scratch, mmaction2's weights.")

_register_mm("slowonly_resnet101_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 101},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_r101_8xb16-8x8x1-196e_kinetics400-rgb/slowonly_r101_8xb16-8x8x1-196e_kinetics400-rgb_20220901-e6281431.pth",
             top1=76.59, top5=92.8, pretraining="Scratch", config="slowonly/slowonly_r101_8xb16-8x8x1-196e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 76.28/92.7; the README is the table the release reports)"),
             description="SlowOnly ResNet-101 (SlowFast's Slow pathway alone), 8x8 sampling, from scratch, mmaction2's weights.")

_register_mm("slowonly_resnet50_in1k_f4s16_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=4, frame_step=16, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics400-rgb/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics400-rgb_20220901-e7b65fad.pth",
             top1=75.12, top5=91.72, pretraining="ImageNet", config="slowonly/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 4 frames with step 16 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 74.83/91.6; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 4x16 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("slowonly_resnet50_in1k_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_8xb16-8x8x1-steplr-150e_kinetics400-rgb/slowonly_imagenet-pretrained-r50_8xb16-8x8x1-steplr-150e_kinetics400-rgb_20220901-df42dc84.pth",
             top1=76.45, top5=92.55, pretraining="ImageNet", config="slowonly/slowonly_imagenet-pretrained-r50_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 75.96/92.4; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 8x8 sampling, ImageNet-initialised, mmaction2's weights. mmaction2 publishes this file and slowonly_nl_embeddedgaussian_resnet50_in1k_f8s8_kinetics400's with the same hash suffix (df42dc84): two different files cannot both start with it, so one of them will fail its check until mmaction2 corrects the name.")

_register_mm("slowonly_resnet50_in1k_f4s16_kinetics700", dataset="kinetics700", kwargs={'depth': 50},
             input=InputSpec(clip_len=4, frame_step=16, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics700-rgb/slowonly_imagenet-pretrained-r50_16xb16-4x16x1-steplr-150e_kinetics700-rgb_20220901-f73b3e89.pth",
             top1=65.18, top5=86.05, pretraining="ImageNet", config="slowonly/slowonly_imagenet-pretrained-r50_16xb16-4x16x1-steplr-150e_kinetics700-rgb.py",
             protocol=mm_protocol("10 uniform clips of 4 frames with step 16 x 3 crops (ThreeCrop 256px after short side 256)", "the metafile"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 4x16 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("slowonly_resnet50_in1k_f8s8_kinetics700", dataset="kinetics700", kwargs={'depth': 50},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_8xb16-8x8x1-steplr-150e_kinetics700-rgb/slowonly_imagenet-pretrained-r50_16xb16-8x8x1-steplr-150e_kinetics700-rgb_20220901-4098e1eb.pth",
             top1=66.93, top5=87.47, pretraining="ImageNet", config="slowonly/slowonly_imagenet-pretrained-r50_16xb16-8x8x1-steplr-150e_kinetics700-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the metafile"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 8x8 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("slowonly_resnet50_in1k_f8s8_kinetics710", dataset="kinetics710", kwargs={'depth': 50},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_32xb8-8x8x1-steplr-150e_kinetics710-rgb/slowonly_imagenet-pretrained-r50_32xb8-8x8x1-steplr-150e_kinetics710-rgb_20230612-12ce977c.pth",
             top1=72.39, top5=90.6, pretraining="ImageNet", config="slowonly/slowonly_imagenet-pretrained-r50_32xb8-8x8x1-steplr-150e_kinetics710-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowOnly ResNet-50 (SlowFast's Slow pathway alone), 8x8 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("slowonly_nl_embeddedgaussian_resnet50_in1k_f4s16_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'nonlocal_stages': (1, 2), 'nonlocal_freq': ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'embedded_gaussian', 'scale': True, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=4, frame_step=16, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-4x16x1-steplr-150e_kinetics400-rgb/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-4x16x1-steplr-150e_kinetics400-rgb_20220901-cf739c75.pth",
             top1=75.07, top5=91.69, pretraining="ImageNet", config="slowonly/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-4x16x1-steplr-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 4 frames with step 16 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 74.84/91.41; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 with 5 embedded-Gaussian non-local blocks (res3, res4; sub-sampled, scaled affinity), 4x16 sampling, ImageNet-initialised, mmaction2's weights.")

_register_mm("slowonly_nl_embeddedgaussian_resnet50_in1k_f8s8_kinetics400", dataset="kinetics400", kwargs={'depth': 50, 'nonlocal_stages': (1, 2), 'nonlocal_freq': ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)), 'nonlocal_kwargs': {'mode': 'embedded_gaussian', 'scale': True, 'sub_sample': True, 'proj_bias': False}},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb_20220901-df42dc84.pth",
             top1=76.65, top5=92.47, pretraining="ImageNet", config="slowonly/slowonly_r50-in1k-pre-nl-embedded-gaussian_8xb16-8x8x1-steplr-150e_kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)", "the README table (its metafile says 76.35/92.18; the README is the table the release reports)"),
             description="SlowOnly ResNet-50 with 5 embedded-Gaussian non-local blocks (res3, res4; sub-sampled, scaled affinity), 8x8 sampling, ImageNet-initialised, mmaction2's weights. mmaction2 publishes this file and slowonly_resnet50_in1k_f8s8_kinetics400's with the same hash suffix (df42dc84): two different files cannot both start with it, so one of them will fail its check until mmaction2 corrects the name.")


#: mmaction2's ``OmniResNet`` (plain ``nn.Conv3d``/``BatchNorm3d`` names, torchvision-style) with its
#: ``OmniHead``: the video head ``fc3d`` (pool, Linear, BatchNorm1d, ReLU, dropout, Linear) -> ``head``;
#: the ImageNet head ``fc2d``, used only on the images of joint training, is left out.
_MM_OMNI_RULES = (
    Rule(r"backbone\.conv1\.weight", "stem.conv.weight"),
    Rule(r"backbone\.bn1\.(\w+)", r"stem.bn.\1"),
    Rule(r"backbone\.(layer[1-4]\.\d+)\.(conv\d|bn\d)\.(\w+)", r"\1.\2.\3"),
    Rule(r"backbone\.(layer[1-4]\.\d+)\.downsample\.0\.weight", r"\1.downsample.conv.weight"),
    Rule(r"backbone\.(layer[1-4]\.\d+)\.downsample\.1\.(\w+)", r"\1.downsample.bn.\2"),
    Rule(r"cls_head\.fc3d\.2\.(weight|bias)", r"head.hidden.0.\1"),
    Rule(r"cls_head\.fc3d\.3\.(\w+)", r"head.hidden.1.\1"),
    Rule(r"cls_head\.fc3d\.6\.(weight|bias)", r"head.fc.\1"),
    Rule(r"cls_head\.fc2d\..+", None),
)


@register_converter("mmaction2_omni_resnet")
def convert_mmaction2_omni_resnet(source: Mapping[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 OmniSource ``OmniResNet`` + ``OmniHead`` checkpoints -> our Slow-only ``ResNet3d`` (video head only)."""
    return convert(source, model, _MM_OMNI_RULES, what="mmaction2 OmniResNet")


_register_mm("slowonly_resnet50_omnisource_f8s8_kinetics400", dataset="kinetics400", converter="mmaction2_omni_resnet", kwargs={'depth': 50, 'head_hidden': 800},
             input=InputSpec(clip_len=8, frame_step=8, num_segments=1, crop_size=256, short_side=256, **IMAGENET_NORM),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/omnisource/slowonly_r50_8xb16-8x8x1-256e_imagenet-kinetics400-rgb_20230208-61c4be0d.pth",
             top1=77.3, top5=93.23, pretraining="Scratch, ImageNet images joint (OmniSource)", config="omnisource/slowonly_r50_8xb16-8x8x1-256e_imagenet-kinetics400-rgb.py",
             protocol=mm_protocol("10 uniform clips of 8 frames with step 8 x 3 crops (ThreeCrop 256px after short side 256)"),
             description="SlowOnly ResNet-50, 8x8 sampling, trained from scratch by OmniSource on Kinetics-400 videos "
                         "and ImageNet images at once (mmaction2's OmniResNet: the same network as SlowOnly); its video "
                         "head has a hidden layer (Linear 2048->800, BatchNorm, ReLU) before the classifier. The "
                         "ImageNet head of the file is not loaded.")
