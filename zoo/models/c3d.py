"""C3D (Tran et al., ICCV 2015) as GluonCV's ``c3d_kinetics400``: eight 3x3x3 convs, three fc layers.

Input ``(N * num_segments * num_crop, 3, 16, 112, 112)`` clips (GluonCV's layout); the 8192-d
pool5 features of consecutive ``num_segments * num_crop`` clips are averaged before fc6.
"""
from __future__ import annotations

from functools import partial

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..registry import InputSpec, register_converter, register_model
from ._mmaction2 import mm_norm, mm_protocol, register_mmaction2
from ._published import GLUONCV_LOGS, published
from ..convert.keys import Rule, convert
from ._backbones2d import gluon_rules
from ._interface import VideoClassifier, segment_consensus

__all__ = ["C3D", "c3d"]


class C3D(VideoClassifier):
    """C3D: conv1, conv2, conv3a/b, conv4a/b, conv5a/b (3x3x3, with bias, ReLU), max pools, fc6-fc7-fc.

    Pooling is 1x2x2 after conv1 and 2x2x2 after every later stage; pool5 pads H and W by 1, so a
    16x112x112 clip gives a ``512 x 1 x 4 x 4 = 8192``-d feature (the only size fc6 accepts).

    Args:
        num_classes: classifier width.
        dropout_ratio: dropout after fc6 and fc7.
        num_segments, num_crop: clips per sample; their pool5 features are averaged.
        init_std: std of the normal init of the fc layers.

    ``forward_features`` gives the 4096-d fc6 features (after ReLU), GluonCV's ``feat_ext`` output;
    ``forward_head`` is dropout, fc7, ReLU, dropout, ``fc``.
    """

    FEAT_DIM = 8192
    GLUON_NAMES = {"fc": "fc8"}

    def __init__(self, num_classes: int, dropout_ratio: float = 0.5, num_segments: int = 1, num_crop: int = 1, init_std: float = 0.001) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.num_crop = num_crop
        self.init_std = init_std
        self.num_features = 4096
        widths = [("conv1", 3, 64), ("conv2", 64, 128), ("conv3a", 128, 256), ("conv3b", 256, 256), ("conv4a", 256, 512), ("conv4b", 512, 512), ("conv5a", 512, 512), ("conv5b", 512, 512)]
        for name, c_in, c_out in widths:
            setattr(self, name, nn.Conv3d(c_in, c_out, 3, padding=1))
        self.pool1 = nn.MaxPool3d((1, 2, 2), (1, 2, 2))
        self.pool = nn.MaxPool3d(2, 2)
        self.pool5 = nn.MaxPool3d(2, 2, padding=(0, 1, 1))
        self.fc6 = nn.Linear(self.FEAT_DIM, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.dropout = nn.Dropout(dropout_ratio)
        self.fc = nn.Linear(4096, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=init_std)
                nn.init.zeros_(m.bias)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """``(N*S*K, 3, 16, 112, 112)`` -> fc6 features ``(N, 4096)`` (pool5 averaged over the clips of a sample)."""
        x = self.pool1(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.pool(F.relu(self.conv3b(F.relu(self.conv3a(x)))))
        x = self.pool(F.relu(self.conv4b(F.relu(self.conv4a(x)))))
        x = self.pool5(F.relu(self.conv5b(F.relu(self.conv5a(x)))))
        x = x.flatten(1)
        if x.shape[1] != self.FEAT_DIM:
            raise ValueError(f"C3D needs 16x112x112 clips (pool5 gives 8192 features); this input gave {x.shape[1]}")
        x = segment_consensus(x, self.num_segments * self.num_crop)
        return F.relu(self.fc6(x))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """fc6 features ``(N, 4096)`` -> logits ``(N, num_classes)``."""
        x = self.dropout(F.relu(self.fc7(self.dropout(features))))
        return self.fc(x)


def c3d(num_classes: int, **kwargs) -> C3D:
    """Builder of :class:`C3D` (kwargs: ``dropout_ratio``, ``num_segments``, ``num_crop``, ``init_std``)."""
    return C3D(num_classes, **kwargs)


def _convert_gluoncv_c3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """GluonCV ``c3d`` MXNet parameters (``conv1.weight`` ... ``fc8.bias``) -> our keys."""
    return convert(source, model, gluon_rules(model, C3D.GLUON_NAMES), what="GluonCV C3D")


register_converter("gluoncv_c3d", _convert_gluoncv_c3d)


# --------------------------------------------------------------------------------------------
# Names: one call per registered name, with the weights every upstream published for it
# --------------------------------------------------------------------------------------------

register_model("c3d_kinetics400", builder=c3d, family="c3d", dataset="kinetics400", num_classes=400,
               input=InputSpec(frame_step=2, crop_size=112, short_side=128,
                               note="GluonCV resizes frames to 171x128; 16 frames every 2nd"),
               converters={"params": "gluoncv_c3d"}, source="GluonCV 0.10.5 model_zoo/action_recognition/c3d.py (MXNet)",
               weights=(published("c3d_kinetics400-a007b5fa.params", "gluoncv_c3d", 59.5,
                                  sha1="a007b5faf2927c5c4afe78db40756273f33a84e6", default=True, pretraining="Scratch",
                                  recipe=GLUONCV_LOGS + "kinetics400/c3d_kinetics400.sh",
                                  description="trained from scratch on Kinetics-400, 16 frames (32/2)"),),
               description="C3D trained from scratch on Kinetics-400 (GluonCV c3d_kinetics400).",
               train_command=("GluonCV scripts/action-recognition/train_recognizer.py (c3d_kinetics400.sh in its model zoo "
                              "table)"))


# --------------------------------------------------------------------------------------------
# mmaction2's C3D: the same network, mmaction2's weights (zoo/models/_mmaction2.py)
# --------------------------------------------------------------------------------------------

_MM_C3D_RULES = (
    Rule(r"backbone\.conv([12])a\.conv\.(weight|bias)", r"conv\1.\2"),
    Rule(r"backbone\.(conv[345][ab])\.conv\.(weight|bias)", r"\1.\2"),
    Rule(r"backbone\.(fc[67])\.(weight|bias)", r"\1.\2"),
    Rule(r"cls_head\.fc_cls\.(weight|bias)", r"fc.\1"),
)


@register_converter("mmaction2_c3d")
def convert_mmaction2_c3d(source: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """mmaction2 ``C3D`` checkpoints (``backbone.conv1a.conv.weight`` ... ``cls_head.fc_cls``) -> our keys."""
    return convert(source, model, _MM_C3D_RULES, what="mmaction2 C3D")


_register_mm = partial(register_mmaction2, builder=c3d, family="c3d", converter="mmaction2_c3d")

_register_mm("c3d_sports1m_f16s1_ucf101", dataset="ucf101",
             input=InputSpec(clip_len=16, frame_step=1, num_segments=1, crop_size=112, short_side=128, **mm_norm((104, 117, 128), (1, 1, 1))),
             url="https://download.openmmlab.com/mmaction/v1.0/recognition/c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb_20220811-31723200.pth",
             top1=83.08, top5=95.93, pretraining="Sports-1M", config="c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py",
             protocol=mm_protocol("10 uniform clips of 16 frames with step 1 x 1 crop (CenterCrop 112px after short side 128)"),
             description="C3D pretrained on Sports-1M and fine-tuned on UCF101 split 1, 16 consecutive frames at 112x112, mmaction2's weights.")
