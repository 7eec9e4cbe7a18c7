"""GluonCV's alternate MXNet weights: versions its docs list by hashtag only (``pretrained="<tag>"``).

GluonCV's model store has no full SHA-1 for these, only the 8-hex hashtag in its accuracy tables, so
the hub checks the downloaded ``.params`` against that prefix and logs the full digests to record.
"""
from __future__ import annotations

from ..registry import _CARDS, update_card
from ..sources import gluoncv_mxnet_weights
from . import i3d_resnet, tsn  # noqa: F401  (the names are registered first)

# name -> (hashtag, converter, what differs from the default version)
ALTERNATES = {
    "vgg16_ucf101": ("05e319d4", "gluoncv_tsn", "ImageNet init, 1 segment, UCF101 split 1"),
    "inceptionv3_ucf101": ("0c453da8", "gluoncv_tsn", "ImageNet init, 1 segment, UCF101 split 1"),
    "resnet50_v1b_hmdb51": ("ba66ee4b", "gluoncv_tsn", "ImageNet init, 1 segment, HMDB51 split 1"),
    "i3d_resnet50_v1_ucf101": ("7afc7286", "gluoncv_i3d_resnet", "ImageNet init only (no Kinetics pretraining), UCF101 split 1"),
    "i3d_resnet50_v1_hmdb51": ("0d0ad559", "gluoncv_i3d_resnet", "ImageNet init only (no Kinetics pretraining), HMDB51 split 1"),
}

for _name, (_tag, _converter, _what) in ALTERNATES.items():
    _card = _CARDS[_name]
    _entry = gluoncv_mxnet_weights(_name, _tag, _converter, default=False, description=f"alternate version: {_what}")
    update_card(_name, weights=_card.weights + (_entry,))
