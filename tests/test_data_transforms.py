"""Clip transforms: per-clip random parameters, multi-crop shapes, batching."""
from __future__ import annotations

import torch

from zoo.data import class_names, flip_label_map
from zoo.data.transforms import (
    CenterCrop, Compose, MultiScaleCrop, RandomCrop, RandomHorizontalFlip, RandomResizedCrop, ResizeShortSide,
    TenCrop, ThreeCrop, ToFloatTensor, eval_transforms, train_transforms,
)


def _clip(t: int = 4, h: int = 60, w: int = 80) -> torch.Tensor:
    """uint8 (T, H, W, C) where every frame is the same random image (so
    equal crop parameters give equal frames)."""
    g = torch.Generator().manual_seed(0)
    frame = torch.randint(0, 256, (1, h, w, 3), generator=g, dtype=torch.uint8)
    return frame.repeat(t, 1, 1, 1)


def test_random_transforms_use_one_parameter_set_per_clip() -> None:
    clip = _clip()
    for t in (RandomCrop(32), MultiScaleCrop(32), RandomResizedCrop(32), RandomHorizontalFlip(0.5)):
        for seed in range(5):
            torch.manual_seed(seed)
            out = t(clip)
            out = out[0] if isinstance(out, tuple) else out
            assert (out == out[:1]).all(), type(t).__name__


def test_batched_transforms_draw_independent_parameters_per_clip() -> None:
    torch.manual_seed(0)
    batch = _clip().unsqueeze(0).repeat(16, 1, 1, 1, 1)  # (N, T, H, W, C)
    out = MultiScaleCrop(32)(batch)
    assert out.shape == (16, 4, 32, 32, 3)
    assert (out == out[:, :1]).all()  # within a clip: same crop
    assert len({bytes(o[0].numpy()) for o in out}) > 1  # across clips: different crops


def test_resize_short_side_and_centre_crop() -> None:
    out = ResizeShortSide(30)(_clip())
    assert out.shape == (4, 30, 40, 3) and out.dtype == torch.uint8
    crop = CenterCrop(20)(_clip())
    assert torch.equal(crop, _clip()[:, 20:40, 30:50])


def test_three_and_ten_crop_add_a_view_axis() -> None:
    clip = _clip()
    three = ThreeCrop(60)(clip)
    assert three.shape == (3, 4, 60, 60, 3)
    assert torch.equal(three[0], clip[:, :, :60]) and torch.equal(three[2], clip[:, :, 20:])
    ten = TenCrop(40)(clip)
    assert ten.shape == (10, 4, 40, 40, 3)
    assert torch.equal(ten[1], clip[:, :40, :40]) and torch.equal(ten[6], ten[1].flip(-2))
    batched = TenCrop(40)(clip.unsqueeze(0).repeat(2, 1, 1, 1, 1))
    assert batched.shape == (2, 10, 4, 40, 40, 3) and torch.equal(batched[1], ten)


def test_to_float_tensor_layout_and_normalisation() -> None:
    clip = _clip()
    out = ToFloatTensor(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))(clip)
    assert out.shape == (3, 4, 60, 80) and out.dtype == torch.float32
    expected = (clip[1, 7, 9, 2].float() / 255 - 0.5) / 0.25
    assert torch.isclose(out[2, 1, 7, 9], expected)


def test_flip_changes_mirrored_labels() -> None:
    names = ["Pushing something from left to right", "Pushing something from right to left", "Holding something"]
    mapping = flip_label_map(names)
    assert mapping == {0: 1, 1: 0}
    flip = RandomHorizontalFlip(1.0, mapping)
    clip, label = flip(_clip(), 0)
    assert label == 1 and torch.equal(clip, _clip().flip(-2))
    assert flip(_clip(), 2)[1] == 2
    batch_clip, batch_label = flip(_clip().unsqueeze(0).repeat(3, 1, 1, 1, 1), torch.tensor([0, 1, 2]))
    assert batch_label.tolist() == [1, 0, 2]
    synthetic = class_names("synthetic")
    swapped = {synthetic[a]: synthetic[b] for a, b in flip_label_map(synthetic).items()}
    assert swapped["translate_left"] == "translate_right" and swapped["rotate_clockwise"] == "rotate_anticlockwise"
    assert "grow" not in swapped and "translate_up" not in swapped
    assert len(flip_label_map(class_names("sthv2"))) >= 4


def test_presets_single_clip_and_batched_agree_on_cpu() -> None:
    clip = _clip()
    val = eval_transforms(32, short_side=40)
    single = val(clip)
    assert single.shape == (3, 4, 32, 32)
    batched = val(torch.stack([clip, clip]))
    assert batched.shape == (2, 3, 4, 32, 32) and torch.allclose(batched[0], single)
    assert eval_transforms(32, short_side=40, num_crops=3)(clip).shape == (3, 3, 4, 32, 32)
    torch.manual_seed(0)
    train = train_transforms(32, short_side=40)
    out, label = train(torch.stack([clip] * 4), torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 3, 4, 32, 32) and out.dtype == torch.float32 and label.shape == (4,)
    assert isinstance(Compose([ResizeShortSide(30)])(clip), torch.Tensor)
    raw = eval_transforms(32, short_side=40, output="uint8")(torch.stack([clip, clip]))
    assert raw.dtype == torch.uint8 and raw.shape == (2, 4, 32, 32, 3)
    assert torch.allclose(eval_transforms(32, short_side=40, mean=None, std=None)(clip), raw[0].permute(3, 0, 1, 2) / 255)
