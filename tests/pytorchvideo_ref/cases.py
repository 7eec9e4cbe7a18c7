"""Parity cases against pytorchvideo 0.1.5 and PySlowFast, shared by the generator (run in the
reference venv) and the tests (run in zoo's venv): plain data, no imports of zoo or torch.

A case builds the upstream network from its own code with random weights (seeded), saves its state
dict in the upstream layout (``{"model_state": ...}`` in a ``.pyth``, as both code bases publish)
and its logits on a fixed clip; the test loads that file with ``get_model(zoo_name, pretrained=path)``.

* ``source="pytorchvideo"``: ``builder`` is a function of ``pytorchvideo.models`` (``hub.x3d_xs``,
  ``x3d.create_x3d``, ...) called with ``kwargs``;
* ``source="pyslowfast"``: ``builder`` is a config under PySlowFast's ``configs/`` and ``kwargs``
  its overrides (``{"MVIT.DEPTH": 2}``), built by ``slowfast.models.build_model``.

``zoo_kwargs`` are the builder arguments that make zoo's model the same reduced configuration.
``heavy`` cases are full-size networks that take more than a few seconds on a laptop CPU.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

GENERATOR = Path(__file__).with_name("make_reference.py")


@dataclass(frozen=True)
class FairCase:
    id: str
    zoo_name: str
    source: str
    builder: str
    input_shapes: tuple[tuple[int, ...], ...]
    kwargs: dict = field(default_factory=dict)
    zoo_kwargs: dict = field(default_factory=dict)
    heavy: bool = False
    seed: int = 0
    input_dtype: str = "float32"  # "float16": the clip is rounded to half precision (stored so in a fixture)


CASES: tuple[FairCase, ...] = (
    # X3D: pytorchvideo's create_x3d (no shortcut BN where the width stays) and PySlowFast's X3D.
    FairCase("ptv_x3d_xs", "x3d_xs_kinetics400_pytorchvideo", "pytorchvideo", "hub.x3d_xs",
             ((2, 3, 4, 160, 160),), {"head_activation": None}),
    FairCase("ptv_x3d_m", "x3d_m_kinetics400_pytorchvideo", "pytorchvideo", "hub.x3d_m",
             ((1, 3, 16, 224, 224),), {"head_activation": None}, heavy=True),
    FairCase("ptv_x3d_l_small_clip", "x3d_l_kinetics400_pytorchvideo", "pytorchvideo", "x3d.create_x3d",
             ((2, 3, 4, 64, 64),), {"input_clip_length": 4, "input_crop_size": 64, "depth_factor": 5.0,
                                    "head_activation": None, "model_num_class": 400}),
    # EfficientX3D: pytorchvideo's mobile-CPU blocks (its XS and S differ only in their input).
    FairCase("ptv_efficient_x3d_xs", "efficient_x3d_xs_kinetics400", "pytorchvideo",
             "hub.efficient_x3d_mobile_cpu.efficient_x3d_xs", ((2, 3, 4, 160, 160),)),
    FairCase("ptv_efficient_x3d_s_small_clip", "efficient_x3d_s_kinetics400", "pytorchvideo",
             "hub.efficient_x3d_mobile_cpu.efficient_x3d_s", ((2, 3, 6, 96, 96),)),
    FairCase("pysf_x3d_xs", "x3d_xs_kinetics400", "pyslowfast", "Kinetics/X3D_XS.yaml",
             ((2, 3, 4, 160, 160),)),
    FairCase("pysf_x3d_l_small_clip", "x3d_l_kinetics400", "pyslowfast", "Kinetics/X3D_L.yaml",
             ((2, 3, 4, 64, 64),), {"DATA.NUM_FRAMES": 4, "DATA.TRAIN_CROP_SIZE": 64}),
    # ResNet-50 C2D / I3D / Slow: pytorchvideo's hub builders, PySlowFast's ResNet (its Caffe2 layout in
    # the *_caffe2 cases: the generator writes the blobs and checks them with PySlowFast's own loader).
    FairCase("ptv_c2d_r50", "c2d_resnet50_f8s8_kinetics400_pytorchvideo", "pytorchvideo", "hub.c2d_r50",
             ((2, 3, 8, 64, 64),), {"head_pool_kernel_size": (4, 2, 2)}),
    FairCase("ptv_i3d_r50", "i3d_resnet50_f8s8_kinetics400_pytorchvideo", "pytorchvideo", "hub.i3d_r50",
             ((2, 3, 8, 64, 64),), {"head_pool_kernel_size": (4, 2, 2)}),
    FairCase("ptv_slow_r50", "slow_resnet50_f8s8_kinetics400_pytorchvideo", "pytorchvideo", "resnet.create_resnet",
             ((2, 3, 8, 64, 64),), {"stem_conv_kernel_size": (1, 7, 7), "head_pool_kernel_size": (8, 2, 2)}),
    FairCase("ptv_slow_r50_full", "slow_resnet50_f8s8_kinetics400_pytorchvideo", "pytorchvideo", "hub.slow_r50",
             ((1, 3, 8, 224, 224),), {"head_activation": None}, heavy=True),
    FairCase("pysf_i3d_r50_caffe2", "i3d_resnet50_f8s8_kinetics400", "pyslowfast", "Kinetics/c2/I3D_8x8_R50.yaml",
             ((2, 3, 8, 64, 64),), {"DATA.TRAIN_CROP_SIZE": 64, "TEST.CHECKPOINT_TYPE": "caffe2"}),
    FairCase("pysf_i3d_nln_r50_caffe2", "i3d_nl_resnet50_f8s8_kinetics400", "pyslowfast",
             "Kinetics/c2/I3D_NLN_8x8_R50.yaml", ((2, 3, 8, 64, 64),),
             {"DATA.TRAIN_CROP_SIZE": 64, "TEST.CHECKPOINT_TYPE": "caffe2"}),
    FairCase("pysf_c2d_nopool_r50_caffe2", "c2d_nopool_resnet50_f8s8_kinetics400", "pyslowfast",
             "Kinetics/c2/C2D_NOPOOL_8x8_R50.yaml", ((2, 3, 8, 64, 64),),
             {"MODEL.ARCH": "slow_c2d", "MODEL.MODEL_NAME": "ResNet", "DATA.TRAIN_CROP_SIZE": 64,
              "TEST.CHECKPOINT_TYPE": "caffe2"}),
    FairCase("pysf_slow_r50_caffe2", "slow_resnet50_f4s16_kinetics400", "pyslowfast", "Kinetics/c2/SLOW_4x16_R50.yaml",
             ((2, 3, 4, 64, 64),), {"DATA.TRAIN_CROP_SIZE": 64, "TEST.CHECKPOINT_TYPE": "caffe2"}),
    FairCase("ptv_csn_r101", "csn_resnet101_f32s2_kinetics400", "pytorchvideo", "csn.create_csn",
             ((2, 3, 8, 64, 64),), {"model_depth": 101, "stem_pool": "nn.MaxPool3d",  # as hub.csn_r101
                                    "head_pool_kernel_size": (1, 2, 2)}),
    FairCase("ptv_r2plus1d_r50", "r2plus1d_resnet50_f16s4_kinetics400", "pytorchvideo", "hub.r2plus1d_r50",
             ((2, 3, 8, 64, 64),), {"head_pool_kernel_size": (2, 2, 2), "head_activation": None}),
    # SlowFast: inputs are [Slow, Fast] as both code bases take them (zoo gets Fast then Slow along T).
    FairCase("ptv_slowfast_r50", "slowfast_8x8_resnet50_kinetics400_pytorchvideo", "pytorchvideo", "hub.slowfast_r50",
             ((2, 3, 8, 64, 64), (2, 3, 32, 64, 64)), {"head_pool_kernel_sizes": ((8, 2, 2), (32, 2, 2))}),
    FairCase("ptv_slowfast_16x8_r101_50_50_small", "slowfast_16x8_resnet101_50_50_kinetics400_pytorchvideo",
             "pytorchvideo", "slowfast.create_slowfast", ((2, 3, 4, 64, 64), (2, 3, 16, 64, 64)),
             {"model_depth": 101, "slowfast_fusion_conv_kernel_size": (5, 1, 1),  # as hub.slowfast_16x8_r101_50_50
              "stage_conv_a_kernel_sizes": (((1, 1, 1), (1, 1, 1), ((3, 1, 1),) * 6 + ((1, 1, 1),) * 17, (3, 1, 1)),
                                            ((3, 1, 1), (3, 1, 1), ((3, 1, 1),) * 6 + ((1, 1, 1),) * 17, (3, 1, 1))),
              "head_pool_kernel_sizes": ((4, 2, 2), (16, 2, 2))}, {"slow_frames": 4, "fast_frames": 16}),
    FairCase("pysf_slowfast_8x8_r50_caffe2", "slowfast_8x8_resnet50_kinetics400_pyslowfast", "pyslowfast",
             "Kinetics/c2/SLOWFAST_8x8_R50.yaml", ((2, 3, 8, 64, 64), (2, 3, 32, 64, 64)),
             {"DATA.TRAIN_CROP_SIZE": 64, "TEST.CHECKPOINT_TYPE": "caffe2"}),
    FairCase("pysf_slowfast_16x8_r50_pyth", "slowfast_16x8_resnet50_charades", "pyslowfast",
             "Charades/SLOWFAST_16x8_R50.yaml", ((2, 3, 4, 64, 64), (2, 3, 16, 64, 64)),
             {"DATA.TRAIN_CROP_SIZE": 64, "DATA.NUM_FRAMES": 16, "BN.NORM_TYPE": "batchnorm"},
             {"slow_frames": 4, "fast_frames": 16}),
    # PySlowFast's pytorchvideo project: its PTV* wrappers around pytorchvideo's builders, saved with the
    # wrapper's ``model.`` prefix (the wrappers' softmax is replaced by an identity; reduced clips).
    FairCase("pysf_ptv_c2d_r50", "c2d_resnet50_f8s8_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/C2D_8x8_R50.yaml", ((2, 3, 8, 64, 64),), {"DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_i3d_r50", "i3d_resnet50_f8s8_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/I3D_8x8_R50.yaml", ((2, 3, 8, 64, 64),), {"DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_slow_r50_ssv2", "slow_resnet50_f8s8_sthsthv2_pyslowfast_ptv", "pyslowfast",
             "SSv2/pytorchvideo/SLOW_8x8_R50.yaml", ((2, 3, 8, 64, 64),), {"DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_csn_r101", "csn_resnet101_f32s2_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/CSN_32x2_R101.yaml", ((2, 3, 8, 64, 64),),
             {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_r2plus1d_r50", "r2plus1d_resnet50_f16s4_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/R2PLUS1D_16x4_R50.yaml", ((2, 3, 8, 64, 64),),
             {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_slowfast_r50", "slowfast_8x8_resnet50_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/SLOWFAST_8x8_R50.yaml", ((2, 3, 8, 64, 64), (2, 3, 32, 64, 64)),
             {"DATA.TRAIN_CROP_SIZE": 64}),
    FairCase("pysf_ptv_slowfast_16x8_r101_50_50_small", "slowfast_16x8_resnet101_50_50_kinetics400_pyslowfast_ptv",
             "pyslowfast", "Kinetics/pytorchvideo/SLOWFAST_16x8_R101_50_50.yaml", ((2, 3, 4, 64, 64), (2, 3, 16, 64, 64)),
             {"DATA.NUM_FRAMES": 16, "DATA.TRAIN_CROP_SIZE": 64}, {"slow_frames": 4, "fast_frames": 16}),
    FairCase("pysf_ptv_x3d_xs", "x3d_xs_kinetics400_pyslowfast_ptv", "pyslowfast", "Kinetics/pytorchvideo/X3D_XS.yaml",
             ((2, 3, 4, 160, 160),)),
    # MViT: pytorchvideo's MViT-B, PySlowFast's MViTv1 B-24 and MViTv2 S/B/L (reduced clips; the model is
    # built for its clip size on both sides).
    FairCase("ptv_mvit_b_8x112", "mvit_b_16x4_kinetics400_pytorchvideo", "pytorchvideo", "hub.mvit_base_16x4",
             ((2, 3, 8, 112, 112),), {"spatial_size": 112, "temporal_size": 8, "head_activation": None},
             {"temporal_size": 8, "spatial_size": 112}),
    FairCase("ptv_mvit_b_16x4", "mvit_b_16x4_kinetics400_pytorchvideo", "pytorchvideo", "hub.mvit_base_16x4",
             ((1, 3, 16, 224, 224),), {"head_activation": None}, heavy=True),
    FairCase("pysf_mvit_b24_8x96", "mvit_b24_32x3_kinetics400", "pyslowfast", "Kinetics/MVIT_B_32x3_CONV.yaml",
             ((2, 3, 8, 96, 96),), {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 96, "DATA.TEST_CROP_SIZE": 96},
             {"temporal_size": 8, "spatial_size": 96}),
    FairCase("pysf_mvit_v2_s_8x112", "mvit_v2_s_16x4_kinetics400", "pyslowfast", "Kinetics/MVITv2_S_16x4.yaml",
             ((2, 3, 8, 112, 112),), {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 112, "DATA.TEST_CROP_SIZE": 112},
             {"temporal_size": 8, "spatial_size": 112}),
    # Rev-MViT-B: its published config sets CLS_EMBED_ON, which PySlowFast's reversible builder refuses
    # (``assert not self.cls_embed_on``): the checkpoint has no class token, so the cases turn it off.
    FairCase("pysf_rev_mvit_b_8x64", "rev_mvit_b_16x4_kinetics400", "pyslowfast", "Kinetics/REV_MVIT_B_16x4_CONV.yaml",
             ((2, 3, 8, 64, 64),), {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 64, "DATA.TEST_CROP_SIZE": 64,
                                    "MVIT.CLS_EMBED_ON": False},
             {"temporal_size": 8, "spatial_size": 64}),
    FairCase("pysf_mvit_v2_s_16x4", "mvit_v2_s_16x4_kinetics400", "pyslowfast", "Kinetics/MVITv2_S_16x4.yaml",
             ((1, 3, 16, 224, 224),), heavy=True),
    FairCase("pysf_mvit_v2_b_8x96", "mvit_v2_b_32x3_sthsthv2", "pyslowfast", "SSv2/MVITv2_B_32x3.yaml",
             ((2, 3, 8, 96, 96),), {"DATA.NUM_FRAMES": 8, "DATA.TRAIN_CROP_SIZE": 96, "DATA.TEST_CROP_SIZE": 96},
             {"temporal_size": 8, "spatial_size": 96}),
    FairCase("pysf_mvit_v2_l_4x96", "mvit_v2_l_40x3_kinetics400", "pyslowfast", "Kinetics/MVITv2_L_40x3_test.yaml",
             ((1, 3, 4, 96, 96),), {"DATA.NUM_FRAMES": 4, "DATA.TRAIN_CROP_SIZE": 96, "DATA.TEST_CROP_SIZE": 96,
                                    "MODEL.ACT_CHECKPOINT": False},
             {"temporal_size": 4, "spatial_size": 96}),
)

#: PySlowFast cases small enough to keep as files in ``tests/fixtures/pyslowfast`` (CI has no GitHub, so no
#: PySlowFast source): reduced widths and depths, 10 classes, 2 clips of ``4 x 32 x 32`` stored in half
#: precision.  ``tests/test_fixtures_pyslowfast.py`` loads them; ``tests/fixtures/pyslowfast/README.md`` says
#: how they were generated.
_SMALL_RESNET = {"RESNET.WIDTH_PER_GROUP": 2, "RESNET.DEPTH": 18, "MODEL.NUM_CLASSES": 10, "DATA.NUM_FRAMES": 4,
                 "DATA.TRAIN_CROP_SIZE": 32, "DATA.TEST_CROP_SIZE": 32, "TEST.CHECKPOINT_TYPE": "caffe2"}
_SMALL_RESNET_ZOO = {"num_classes": 10, "base_width": 2, "layers": (2, 2, 2, 2)}
_CLIPS = ((2, 3, 4, 32, 32),)
FIXTURE_CASES: tuple[FairCase, ...] = (
    FairCase("fixture_i3d_nln_caffe2", "i3d_nl_resnet50_f8s8_kinetics400", "pyslowfast",
             "Kinetics/c2/I3D_NLN_8x8_R50.yaml", _CLIPS, {**_SMALL_RESNET, "RESNET.NUM_BLOCK_TEMP_KERNEL": [[2], [2], [2], [2]]},
             {**_SMALL_RESNET_ZOO, "inflate_freq": ((1, 1), (1, 0), (1, 0), (0, 1)),
              "nonlocal_freq": ((0, 0), (0, 1), (0, 1), (0, 0))}, input_dtype="float16"),
    FairCase("fixture_slowfast_caffe2", "slowfast_8x8_resnet50_kinetics400_pyslowfast", "pyslowfast",
             "Kinetics/c2/SLOWFAST_8x8_R50.yaml", ((2, 3, 2, 32, 32), (2, 3, 4, 32, 32)),
             {**_SMALL_RESNET, "SLOWFAST.ALPHA": 2, "SLOWFAST.BETA_INV": 2,
              "RESNET.NUM_BLOCK_TEMP_KERNEL": [[2, 2], [2, 2], [2, 2], [2, 2]]},
             {"num_classes": 10, "layers": (2, 2, 2, 2), "width_per_group": 2, "beta_inv": 2, "alpha": 2,
              "slow_frames": 2, "fast_frames": 4}, input_dtype="float16"),
    # PySlowFast's PTVResNet (pytorchvideo's create_resnet as ``model``): only depths 50-152 exist, so the
    # width is cut instead; the ``model.``-prefixed layout.
    FairCase("fixture_ptv_i3d", "i3d_resnet50_f8s8_kinetics400_pyslowfast_ptv", "pyslowfast",
             "Kinetics/pytorchvideo/I3D_8x8_R50.yaml", ((2, 3, 2, 32, 32),),
             {"RESNET.WIDTH_PER_GROUP": 1, "MODEL.NUM_CLASSES": 10, "DATA.NUM_FRAMES": 2, "DATA.TRAIN_CROP_SIZE": 32,
              "DATA.TEST_CROP_SIZE": 32},
             {"num_classes": 10, "base_width": 1}, input_dtype="float16"),
    FairCase("fixture_rev_mvit_b", "rev_mvit_b_16x4_kinetics400", "pyslowfast", "Kinetics/REV_MVIT_B_16x4_CONV.yaml",
             _CLIPS, {"MVIT.DEPTH": 5, "MVIT.EMBED_DIM": 4, "MVIT.DIM_MUL": [[1, 2.0], [3, 2.0]],
                      "MVIT.HEAD_MUL": [[1, 2.0], [3, 2.0]], "MVIT.POOL_Q_STRIDE": [[1, 1, 2, 2], [3, 1, 2, 2]],
                      "MVIT.REV.BUFFER_LAYERS": [1, 3], "MVIT.CLS_EMBED_ON": False, "MODEL.NUM_CLASSES": 10,
                      "DATA.NUM_FRAMES": 4, "DATA.TRAIN_CROP_SIZE": 32, "DATA.TEST_CROP_SIZE": 32},
             {"num_classes": 10, "temporal_size": 4, "spatial_size": 32, "depth": 5, "pool_blocks": (1, 3),
              "embed_dim": 4}, input_dtype="float16"),
    FairCase("fixture_mvit_v2_s", "mvit_v2_s_16x4_kinetics400", "pyslowfast", "Kinetics/MVITv2_S_16x4.yaml", _CLIPS,
             {"MVIT.DEPTH": 4, "MVIT.EMBED_DIM": 4, "MVIT.DIM_MUL": [[1, 2.0], [3, 2.0]],
              "MVIT.HEAD_MUL": [[1, 2.0], [3, 2.0]],
              "MVIT.POOL_Q_STRIDE": [[0, 1, 1, 1], [1, 1, 2, 2], [2, 1, 1, 1], [3, 1, 2, 2]],
              "MODEL.NUM_CLASSES": 10, "DATA.NUM_FRAMES": 4, "DATA.TRAIN_CROP_SIZE": 32, "DATA.TEST_CROP_SIZE": 32},
             {"num_classes": 10, "temporal_size": 4, "spatial_size": 32, "depth": 4, "pool_blocks": (1, 3),
              "embed_dim": 4}, input_dtype="float16"),
)

CASES_BY_ID = {c.id: c for c in CASES + FIXTURE_CASES}


def case_key(case: FairCase) -> str:
    """Hash of the generator, this table's module and the case: a changed case is generated again."""
    h = hashlib.sha256(GENERATOR.read_bytes())
    h.update(Path(__file__).read_bytes())
    h.update(json.dumps(asdict(case), sort_keys=True).encode())
    return h.hexdigest()[:12]
