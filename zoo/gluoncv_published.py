"""GluonCV's published action-recognition results, one row per weights version.

Facts read from the CSV tables of dmlc/gluon-cv (docs/model_zoo/csv_tables/Action_Recognitions/*.csv, as
recorded in shared/reference/gluoncv.md): the zoo cites them as GluonCV's numbers. ``table`` names the
GluonCV CSV (``*_torch`` for its PyTorch zoo).  Used by family modules (published top-1) and by the
table generator (pretraining, segments, clip length, recipe link).
"""
from __future__ import annotations

from typing import NamedTuple


class PublishedRow(NamedTuple):
    table: str
    name: str
    tag: str
    pretrained: str
    segments: int
    clip_length: str
    top1: float
    recipe: str


GLUONCV_PUBLISHED: tuple[PublishedRow, ...] = (
    PublishedRow('Kinetics400', 'inceptionv1_kinetics400', '6dcdafb1', 'ImageNet', 7, '1', 69.1, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/inceptionv1_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'inceptionv3_kinetics400', '8a4a6946', 'ImageNet', 7, '1', 72.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/inceptionv3_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'resnet18_v1b_kinetics400', '46d5a985', 'ImageNet', 7, '1', 65.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/resnet18_v1b_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'resnet34_v1b_kinetics400', '8a8d0d8d', 'ImageNet', 7, '1', 69.1, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/resnet34_v1b_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'resnet50_v1b_kinetics400', 'cc757e5c', 'ImageNet', 7, '1', 69.9, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/resnet50_v1b_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'resnet101_v1b_kinetics400', '5bb6098e', 'ImageNet', 7, '1', 71.3, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/resnet101_v1b_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'resnet152_v1b_kinetics400', '9bc70c66', 'ImageNet', 7, '1', 71.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/resnet152_v1b_kinetics400_tsn.sh'),
    PublishedRow('Kinetics400', 'c3d_kinetics400', 'a007b5fa', 'Scratch', 1, '16 (32/2)', 59.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/c3d_kinetics400.sh'),
    PublishedRow('Kinetics400', 'p3d_resnet50_kinetics400', '671ba81c', 'Scratch', 1, '16 (32/2)', 71.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/p3d_resnet50_kinetics400.sh'),
    PublishedRow('Kinetics400', 'p3d_resnet101_kinetics400', 'b30e3a63', 'Scratch', 1, '16 (32/2)', 72.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/p3d_resnet101_kinetics400.sh'),
    PublishedRow('Kinetics400', 'r2plus1d_resnet18_kinetics400', '5a14d1f9', 'Scratch', 1, '16 (32/2)', 70.8, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/r2plus1d_resnet18_kinetics400.sh'),
    PublishedRow('Kinetics400', 'r2plus1d_resnet34_kinetics400', 'de2e592b', 'Scratch', 1, '16 (32/2)', 71.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/r2plus1d_resnet34_kinetics400.sh'),
    PublishedRow('Kinetics400', 'r2plus1d_resnet50_kinetics400', 'deaefb14', 'Scratch', 1, '16 (32/2)', 73.9, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/r2plus1d_resnet50_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_inceptionv1_kinetics400', '81e0be10', 'ImageNet', 1, '32 (64/2)', 71.8, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_inceptionv1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_inceptionv3_kinetics400', 'f14f8a99', 'ImageNet', 1, '32 (64/2)', 73.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_inceptionv3_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_resnet50_v1_kinetics400', '568a722e', 'ImageNet', 1, '32 (64/2)', 74.0, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_resnet50_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_resnet101_v1_kinetics400', '6b69f655', 'ImageNet', 1, '32 (64/2)', 75.1, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_resnet101_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_nl5_resnet50_v1_kinetics400', '3c0e47ea', 'ImageNet', 1, '32 (64/2)', 75.2, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_nl5_resnet50_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_nl10_resnet50_v1_kinetics400', 'bfb58c41', 'ImageNet', 1, '32 (64/2)', 75.3, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_nl10_resnet50_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_nl5_resnet101_v1_kinetics400', 'fbfc1d30', 'ImageNet', 1, '32 (64/2)', 76.0, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_nl5_resnet101_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'i3d_nl10_resnet101_v1_kinetics400', '59186c31', 'ImageNet', 1, '32 (64/2)', 76.1, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/i3d_nl10_resnet101_v1_kinetics400.sh'),
    PublishedRow('Kinetics400', 'slowfast_4x16_resnet50_kinetics400', '9d650f51', 'Scratch', 1, '36 (64/1)', 75.3, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/slowfast_4x16_resnet50_kinetics400.sh'),
    PublishedRow('Kinetics400', 'slowfast_8x8_resnet50_kinetics400', 'd6b25339', 'Scratch', 1, '40 (64/1)', 76.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/slowfast_8x8_resnet50_kinetics400.sh'),
    PublishedRow('Kinetics400', 'slowfast_8x8_resnet101_kinetics400', 'fbde1a7c', 'Scratch', 1, '40 (64/1)', 77.2, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/kinetics400/slowfast_8x8_resnet101_kinetics400.sh'),
    PublishedRow('Kinetics700', 'i3d_slow_resnet101_f16s4_kinetics700', '299b1d9d', 'Scratch', 1, '16 (64/4)', 67.65, ''),
    PublishedRow('UCF101', 'vgg16_ucf101', 'd6dc1bba', 'ImageNet', 3, '1', 83.4, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/vgg16_ucf101_tsn.sh'),
    PublishedRow('UCF101', 'vgg16_ucf101', '05e319d4', 'ImageNet', 1, '1', 81.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/vgg16_ucf101.sh'),
    PublishedRow('UCF101', 'inceptionv3_ucf101', '13ef5c3b', 'ImageNet', 3, '1', 88.1, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/inceptionv3_ucf101_tsn.sh'),
    PublishedRow('UCF101', 'inceptionv3_ucf101', '0c453da8', 'ImageNet', 1, '1', 85.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/inceptionv3_ucf101.sh'),
    PublishedRow('UCF101', 'i3d_resnet50_v1_ucf101', '7afc7286', 'ImageNet', 1, '32 (64/2)', 83.9, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/i3d_resnet50_v1_ucf101.sh'),
    PublishedRow('UCF101', 'i3d_resnet50_v1_ucf101', '760d0981', 'ImageNet, K400', 1, '32 (64/2)', 95.4, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/ucf101/i3d_resnet50_v1_ucf101_kinetics400.sh'),
    PublishedRow('HMDB51', 'resnet50_v1b_hmdb51', '682591e2', 'ImageNet', 3, '1', 55.2, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/hmdb51/resnet50_v1b_hmdb51_tsn.sh'),
    PublishedRow('HMDB51', 'resnet50_v1b_hmdb51', 'ba66ee4b', 'ImageNet', 1, '1', 52.2, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/hmdb51/resnet50_v1b_hmdb51.sh'),
    PublishedRow('HMDB51', 'i3d_resnet50_v1_hmdb51', '0d0ad559', 'ImageNet', 1, '32 (64/2)', 48.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/hmdb51/i3d_resnet50_v1_hmdb51.sh'),
    PublishedRow('HMDB51', 'i3d_resnet50_v1_hmdb51', '2ec6bf01', 'ImageNet, K400', 1, '32 (64/2)', 70.9, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/hmdb51/i3d_resnet50_v1_hmdb51_kinetics400.sh'),
    PublishedRow('Something-Something-V2', 'resnet50_v1b_sthsthv2', '80ee0c6b', 'ImageNet', 8, '1', 35.5, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/somethingsomethingv2/resnet50_v1b_sthsthv2_tsn.sh'),
    PublishedRow('Something-Something-V2', 'i3d_resnet50_v1_sthsthv2', '01961e4c', 'ImageNet', 1, '16 (32/2)', 50.6, 'https://raw.githubusercontent.com/dmlc/web-data/master/gluoncv/logs/action_recognition/somethingsomethingv2/i3d_resnet50_v1_sthsthv2.sh'),
    PublishedRow('Kinetics400_torch', 'resnet18_v1b_kinetics400', '854b23e4', 'ImageNet', 7, '1', 66.73, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet18_v1b_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'resnet34_v1b_kinetics400', '124a2fa4', 'ImageNet', 7, '1', 69.85, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet34_v1b_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'resnet50_v1b_kinetics400', '9939dbdf', 'ImageNet', 7, '1', 70.88, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet50_v1b_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'resnet101_v1b_kinetics400', '172afa3b', 'ImageNet', 7, '1', 72.25, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet101_v1b_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'resnet152_v1b_kinetics400', '3dedb835', 'ImageNet', 7, '1', 72.45, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet152_v1b_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'r2plus1d_v1_resnet18_kinetics400', '340a5952', 'Scratch', 1, '16 (32/2)', 71.72, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/r2plus1d_v1_resnet18_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'r2plus1d_v1_resnet34_kinetics400', '5102fd17', 'Scratch', 1, '16 (32/2)', 72.63, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/r2plus1d_v1_resnet34_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'r2plus1d_v1_resnet50_kinetics400', '9a3b665c', 'Scratch', 1, '16 (32/2)', 74.92, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/r2plus1d_v1_resnet50_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'r2plus1d_v2_resnet152_kinetics400', '42707ffc', 'IG65M', 1, '16 (32/2)', 81.34, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/r2plus1d_v2_resnet152_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'ircsn_v2_resnet152_f32s2_kinetics400', '82855d2c', 'IG65M', 1, '32 (64/2)', 83.18, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/ircsn_v2_resnet152_f32s2_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_resnet50_v1_kinetics400', '18545497', 'ImageNet', 1, '32 (64/2)', 74.87, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_resnet50_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_resnet101_v1_kinetics400', 'a9bb4f89', 'ImageNet', 1, '32 (64/2)', 75.1, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_resnet101_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_nl5_resnet50_v1_kinetics400', '9df1e103', 'ImageNet', 1, '32 (64/2)', 75.17, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_nl5_resnet50_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_nl10_resnet50_v1_kinetics400', '281e1e8a', 'ImageNet', 1, '32 (64/2)', 75.93, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_nl10_resnet50_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_nl5_resnet101_v1_kinetics400', '2cea8edd', 'ImageNet', 1, '32 (64/2)', 75.81, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_nl5_resnet101_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_nl10_resnet101_v1_kinetics400', '526a2ed0', 'ImageNet', 1, '32 (64/2)', 75.93, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_nl10_resnet101_v1_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'slowfast_4x16_resnet50_kinetics400', '1d1eadb2', 'Scratch', 1, '32 (64/2)', 75.25, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/slowfast_4x16_resnet50_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'slowfast_8x8_resnet50_kinetics400', 'e94e9a57', 'Scratch', 1, '32 (64/2)', 76.66, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/slowfast_8x8_resnet50_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'slowfast_8x8_resnet101_kinetics400', 'db5e9fef', 'Scratch', 1, '32 (64/2)', 76.95, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/slowfast_8x8_resnet101_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet50_f32s2_kinetics400', '078c817b', 'Scratch', 1, '32 (64/2)', 77.89, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet50_f32s2_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet50_f16s4_kinetics400', 'a3e419f1', 'Scratch', 1, '16 (64/4)', 76.36, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet50_f16s4_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet50_f8s8_kinetics400', '1c3d98a1', 'Scratch', 1, '8 (64/8)', 74.41, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet50_f8s8_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet101_f32s2_kinetics400', 'db37cd51', 'Scratch', 1, '32 (64/2)', 78.57, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet101_f32s2_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet101_f16s4_kinetics400', 'cb6b78d9', 'Scratch', 1, '16 (64/4)', 77.11, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet101_f16s4_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'i3d_slow_resnet101_f8s8_kinetics400', '82e399c1', 'Scratch', 1, '8 (64/8)', 76.15, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet101_f8s8_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet50_f8s8_kinetics400', '368108eb', 'Scratch', 1, '8 (64/8)', 77.04, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet50_f8s8_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet50_f16s4_kinetics400', '6bf899df', 'Scratch', 1, '16 (64/4)', 77.33, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet50_f16s4_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet50_f32s2_kinetics400', '27710ce8', 'Scratch', 1, '32 (64/2)', 78.9, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet50_f32s2_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet101_f8s8_kinetics400', '092c2f7f', 'Scratch', 1, '8 (64/8)', 78.1, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet101_f8s8_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet101_f16s4_kinetics400', '647080df', 'Scratch', 1, '16 (64/4)', 79.39, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet101_f16s4_kinetics400.yaml'),
    PublishedRow('Kinetics400_torch', 'tpn_resnet101_f32s2_kinetics400', 'a94422a9', 'Scratch', 1, '32 (64/2)', 79.7, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/tpn_resnet101_f32s2_kinetics400.yaml'),
    PublishedRow('Kinetics700_torch', 'i3d_slow_resnet101_f16s4_kinetics700', 'b5be1a2e', 'Scratch', 1, '16 (64/4)', 67.65, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_slow_resnet101_f16s4_kinetics700.yaml'),
    PublishedRow('Something-Something-V2_torch', 'resnet50_v1b_sthsthv2', 'cbb9167b', 'ImageNet', 8, '1', 35.16, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/resnet18_v1b_sthsthv2.yaml'),
    PublishedRow('Something-Something-V2_torch', 'i3d_resnet50_v1_sthsthv2', 'e975d989', 'ImageNet', 1, '16 (32/2)', 49.61, 'https://raw.githubusercontent.com/dmlc/gluon-cv/master/scripts/action-recognition/configuration/i3d_resnet50_v1_sthsthv2.yaml'),
)


def published_row(name: str, tag: str, torch_zoo: bool = False) -> PublishedRow | None:
    """GluonCV's published row for ``name`` at weights ``tag`` (MXNet tables, or ``*_torch`` ones)."""
    for row in GLUONCV_PUBLISHED:
        if row.name == name and row.tag == tag and row.table.endswith("_torch") == torch_zoo:
            return row
    return None
