"""The parity cases against GluonCV 0.10.5.post0 (MXNet): one per action-recognition name, plus variants.

Imported by both sides: the reference generator (``tests/gluoncv_ref/make_reference.py``, run in the
GluonCV venv) and the parity test (zoo's venv).  Standard library only.

Input conventions (what :attr:`ParityCase.input_shape` means):

- ``layout="3d"``: 3D models.  Both sides get the *same* tensor ``(B, 3, T, H, W)``.  GluonCV's 3D
  heads average over ``num_segments * num_crop`` consecutive batch items, so with segments/crops the
  batch is ``B = N * num_segments * num_crop`` and the logits are ``(N, num_classes)``; zoo's 3D
  models keep that convention (``num_segments`` / ``num_crop`` constructor knobs).
- ``layout="tsn2d"``: TSN 2D models.  zoo gets ``(N, 3, T, H, W)`` with ``T = num_segments * num_crop``
  frames per video and folds ``T`` into the batch; GluonCV gets the same frames as
  ``(N * T, 3, H, W)`` (``x.transpose(0, 2, 1, 3, 4).reshape(N * T, 3, H, W)``).
- SlowFast (``layout="3d"``): GluonCV's layout, ``fast_frames`` fast frames followed by
  ``slow_frames`` slow frames along ``T`` (the generator makes the slow frames the matching subset
  of the fast ones, as GluonCV's loader does: slow frame ``j`` is fast frame ``alpha * (j + 1) - 1``).

Input sizes are as small as each architecture allows (the tests run on 2 CPU cores):

- VGG16 / InceptionV1 TSN: 224x224 (VGG's fc6 and GoogLeNet's 7x7 average pool fix the size);
  InceptionV3 TSN: 299x299 (8x8 average pool); ResNetV1b TSN: 112x112 (global pooling).
- C3D: 16x112x112 (fc6 takes exactly 512x1x4x4 = 8192 features).
- P3D: 16 frames (its temporal pooling must reach length 1 before layer4 squeezes ``T``), 64x64.
- R(2+1)D, I3D (ResNet, non-local, Inception V1), Slow-only: 8x64x64 (global pooling; 8 frames survive
  the temporal strides).  I3D InceptionV3: 8x96x96 (unpadded Inception stem needs >= 75 px).
- SlowFast: T is fixed by the factory (32+4, 32+8, 64+16 frames); 64x64.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

GENERATOR = Path(__file__).resolve().parent / "gluoncv_ref" / "make_reference.py"

__all__ = ["ParityCase", "CASES", "CASES_BY_ID", "GLUONCV_ACTION_NAMES", "case_key", "GENERATOR"]


@dataclass(frozen=True)
class ParityCase:
    """One parity comparison.

    Attributes:
        id: unique case id (test id, cache file stem), e.g. ``"c3d_kinetics400-feat"``.
        name: the model name, the same in GluonCV's and zoo's registries.
        input_shape: zoo's input ``(N, 3, T, H, W)`` (see the module docstring for GluonCV's).
        layout: ``"3d"`` or ``"tsn2d"``.
        gluon_kwargs: extra keyword arguments of the GluonCV factory (``nclass`` defaults to its own).
        our_kwargs: extra keyword arguments of ``zoo.get_model``.
        output: ``"logits"`` or ``"features"`` (GluonCV's ``feat_ext=True``, zoo's ``forward_features``).
        weights_from: id of the case whose weights this one reuses (same ``.params``), or ``None``.
        seed: seed of the random weights and inputs.
    """

    id: str
    name: str
    input_shape: tuple[int, int, int, int, int]
    layout: str = "3d"
    gluon_kwargs: dict[str, Any] = field(default_factory=dict)
    our_kwargs: dict[str, Any] = field(default_factory=dict)
    output: str = "logits"
    weights_from: str | None = None
    seed: int = 0

    @property
    def clips_per_video(self) -> int:
        """``num_segments * num_crop`` of a 3D case (consecutive batch items averaged by the head)."""
        kw = self.gluon_kwargs
        return int(kw.get("num_segments", 1)) * int(kw.get("num_crop", 1))

    def gluon_input_shape(self) -> tuple[int, ...]:
        n, c, t, h, w = self.input_shape
        return (n * t, c, h, w) if self.layout == "tsn2d" else self.input_shape

    def spec(self) -> dict[str, Any]:
        return asdict(self)


def case_key(case: ParityCase, generator: Path = GENERATOR) -> str:
    """Version key of a case's reference files: hash of the generator script and the case spec.

    The spec of the case whose weights it reuses is included, so a change there regenerates both.
    """
    h = hashlib.sha1(generator.read_bytes())
    h.update(json.dumps(case.spec(), sort_keys=True).encode())
    if case.weights_from:
        h.update(json.dumps(CASES_BY_ID[case.weights_from].spec(), sort_keys=True).encode())
    return h.hexdigest()[:12]


# The 54 fp32 action-recognition names of gluoncv.model_zoo 0.10.5.post0 (checked against
# get_model_list() in the reference venv by tests/gluoncv_ref/make_reference.py --check-names).
GLUONCV_ACTION_NAMES: tuple[str, ...] = (
    "vgg16_ucf101", "vgg16_hmdb51", "vgg16_kinetics400", "vgg16_sthsthv2",
    "inceptionv1_ucf101", "inceptionv1_hmdb51", "inceptionv1_kinetics400", "inceptionv1_sthsthv2",
    "inceptionv3_ucf101", "inceptionv3_hmdb51", "inceptionv3_kinetics400", "inceptionv3_sthsthv2",
    "c3d_kinetics400",
    "p3d_resnet50_kinetics400", "p3d_resnet101_kinetics400",
    "r2plus1d_resnet18_kinetics400", "r2plus1d_resnet34_kinetics400", "r2plus1d_resnet50_kinetics400",
    "r2plus1d_resnet101_kinetics400", "r2plus1d_resnet152_kinetics400",
    "i3d_resnet50_v1_ucf101", "i3d_resnet50_v1_hmdb51", "i3d_resnet50_v1_kinetics400",
    "i3d_resnet50_v1_sthsthv2", "i3d_resnet50_v1_custom", "i3d_resnet101_v1_kinetics400",
    "i3d_inceptionv1_kinetics400", "i3d_inceptionv3_kinetics400",
    "i3d_nl5_resnet50_v1_kinetics400", "i3d_nl10_resnet50_v1_kinetics400",
    "i3d_nl5_resnet101_v1_kinetics400", "i3d_nl10_resnet101_v1_kinetics400",
    "slowfast_4x16_resnet50_kinetics400", "slowfast_4x16_resnet50_custom", "slowfast_8x8_resnet50_kinetics400",
    "slowfast_4x16_resnet101_kinetics400", "slowfast_8x8_resnet101_kinetics400",
    "slowfast_16x8_resnet101_kinetics400", "slowfast_16x8_resnet101_50_50_kinetics400",
    "resnet18_v1b_kinetics400", "resnet34_v1b_kinetics400", "resnet50_v1b_kinetics400",
    "resnet101_v1b_kinetics400", "resnet152_v1b_kinetics400",
    "resnet18_v1b_sthsthv2", "resnet34_v1b_sthsthv2", "resnet50_v1b_sthsthv2",
    "resnet101_v1b_sthsthv2", "resnet152_v1b_sthsthv2",
    "resnet50_v1b_ucf101", "resnet50_v1b_hmdb51", "resnet50_v1b_custom", "resnet18_v1b_custom",
    "i3d_slow_resnet101_f16s4_kinetics700",
)

_SLOWFAST_T = {"4x16": 32 + 4, "8x8": 32 + 8, "16x8": 64 + 16}


def _base_shape(name: str) -> tuple[tuple[int, int, int, int, int], str]:
    """Smallest input each architecture takes (see the module docstring for why)."""
    if name.startswith(("vgg16_", "inceptionv1_")):
        return (2, 3, 1, 224, 224), "tsn2d"
    if name.startswith("inceptionv3_"):
        return (2, 3, 1, 299, 299), "tsn2d"
    if name.startswith("resnet"):
        return (2, 3, 1, 112, 112), "tsn2d"
    if name.startswith("c3d_"):
        return (2, 3, 16, 112, 112), "3d"
    if name.startswith("p3d_"):
        return (2, 3, 16, 64, 64), "3d"
    if name.startswith("slowfast_"):
        return (2, 3, _SLOWFAST_T[name.split("_")[1]], 64, 64), "3d"
    if name.startswith("i3d_inceptionv3"):
        return (2, 3, 8, 96, 96), "3d"
    return (2, 3, 8, 64, 64), "3d"


def _build_cases() -> tuple[ParityCase, ...]:
    cases = []
    for i, name in enumerate(GLUONCV_ACTION_NAMES):
        shape, layout = _base_shape(name)
        ours = {"num_segments": 1, "num_crop": 1} if layout == "tsn2d" else {}
        cases.append(ParityCase(id=name, name=name, input_shape=shape, layout=layout, our_kwargs=ours, seed=1000 + i))
    # GluonCV's feat_ext=True against zoo's forward_features: one model of each 3D family, reusing that
    # case's weights and input size.
    for name in (
        "c3d_kinetics400", "p3d_resnet50_kinetics400", "r2plus1d_resnet18_kinetics400",
        "i3d_resnet50_v1_kinetics400", "i3d_inceptionv1_kinetics400", "slowfast_4x16_resnet50_kinetics400",
        "i3d_slow_resnet101_f16s4_kinetics700",
    ):
        shape, layout = _base_shape(name)
        cases.append(ParityCase(
            id=f"{name}-feat", name=name, input_shape=shape, layout=layout, gluon_kwargs={"feat_ext": True},
            output="features", weights_from=name, seed=2000 + len(cases),
        ))
    # Segmental consensus: TSN 2D (3 segments x 2 crops = 6 frames per video) and a 3D model
    # (2 segments x 2 crops = 4 clips per video, batch 2 * 4).
    seg = {"num_segments": 3, "num_crop": 2}
    cases.append(ParityCase(
        id="resnet18_v1b_kinetics400-seg3crop2", name="resnet18_v1b_kinetics400", input_shape=(2, 3, 6, 112, 112),
        layout="tsn2d", gluon_kwargs=dict(seg), our_kwargs=dict(seg), weights_from="resnet18_v1b_kinetics400", seed=3001,
    ))
    seg = {"num_segments": 2, "num_crop": 2}
    cases.append(ParityCase(
        id="r2plus1d_resnet18_kinetics400-seg2crop2", name="r2plus1d_resnet18_kinetics400", input_shape=(8, 3, 8, 64, 64),
        layout="3d", gluon_kwargs=dict(seg), our_kwargs=dict(seg), weights_from="r2plus1d_resnet18_kinetics400", seed=3002,
    ))
    return tuple(cases)


CASES: tuple[ParityCase, ...] = _build_cases()
CASES_BY_ID: dict[str, ParityCase] = {c.id: c for c in CASES}
