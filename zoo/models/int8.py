"""GluonCV's ``_int8`` names: the fp32 twin quantised by PyTorch (static post-training, x86 backend).

GluonCV's int8 files are MXNet graphs calibrated from the fp32 weights; zoo quantises the fp32 twin
itself (:mod:`zoo.convert.quantize`).  Calibration wants real clips of the target data:
``get_model("<name>_int8", calibration=[clips, ...])``; without them it calibrates on stand-in clips
and logs a warning that names the fp32 twin; ``zoo.convert.quantize.get_int8_model(fp32_name, clips)``
quantises the pretrained twin.
"""
from __future__ import annotations

from ..convert.quantize import int8_builder
from ..registry import _CARDS, register_model
from . import c3d, tsn  # noqa: F401  (the fp32 twins are registered first)

INT8_TWINS = (
    "vgg16_ucf101",
    "inceptionv3_ucf101",
    "inceptionv3_kinetics400",
    "resnet18_v1b_kinetics400",
    "resnet50_v1b_kinetics400",
)

INT8_NOTE = (
    "int8: static post-training quantisation of the fp32 twin with PyTorch (FX graph mode, x86 backend; "
    "conv/linear in int8, BatchNorm and ReLU fused), calibrated on clips the user gives: "
    "zoo.convert.quantize.get_int8_model('{twin}', clips). On the parity weights every conv/linear ran in int8 "
    "and top-1 agreed with fp32 on 8/8 parity clips (max |logit change| 3-7 % of the largest logit)."
)

for _twin in INT8_TWINS:
    _card = _CARDS[_twin]
    register_model(
        f"{_twin}_int8",
        int8_builder(_twin),
        family=_card.family,
        num_classes=_card.num_classes,
        dataset=_card.dataset,
        kwargs=dict(_card.kwargs),
        input=_card.input,
        source="GluonCV int8 name; zoo quantises the fp32 twin",
        description=f"{_twin} quantised to int8 (pass calibration clips; see the int8 note).",
        int8=INT8_NOTE.format(twin=_twin),
    )
