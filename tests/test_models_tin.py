"""TIN's temporal interlace in plain PyTorch, proven by the op's definition and a case worked by hand.

mmaction2 runs the integer move as a compiled CUDA op (``mmcv.ops.tin_shift``): for each sample and
channel group it writes frame ``t`` to ``t + shift`` and leaves zeros elsewhere.
``tests/mmaction_ref/run_mmaction.py`` writes that kernel's loop in Python (the stand-in the live
parity test runs mmaction2's TIN with); zoo's vectorised :func:`shift_groups` must agree with it, and
the fractional interlace must give the hand-computed values below.
"""
from __future__ import annotations

import torch

from mmaction_ref.run_mmaction import tin_shift_by_definition
from zoo.models.tin import TemporalInterlace, shift_groups, temporal_interlace


def test_shift_groups_is_the_tin_shift_kernel():
    gen = torch.Generator().manual_seed(0)
    data = torch.randn(3, 6, 8, 5, generator=gen)  # (N, T, C, HW)
    shifts = torch.randint(-7, 8, (3, 4), generator=gen, dtype=torch.int32)  # beyond the clip too
    torch.testing.assert_close(shift_groups(data, shifts), tin_shift_by_definition(data, shifts), rtol=0, atol=0)


def test_fractional_interlace_by_hand():
    # T = 4 frames, two groups of one channel: channel 0 holds 1, 2, 3, 4; channel 1 holds 10, 20, 30, 40
    x = torch.tensor([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0]]).view(1, 4, 2, 1)
    out = temporal_interlace(x, torch.tensor([[1.0, -0.5]]))
    # group 0 moves one frame later: 0, 1, 2, 3
    # group 1 moves half a frame earlier: 0.5 * (20, 30, 40, 0) + 0.5 * (10, 20, 30, 40) = 15, 25, 35, 20
    expected = torch.tensor([[0.0, 15.0], [1.0, 25.0], [2.0, 35.0], [3.0, 20.0]]).view(1, 4, 2, 1)
    torch.testing.assert_close(out, expected)


def test_interlace_moves_only_the_first_channels_and_keeps_the_rest():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 4, 1)
    block = TemporalInterlace(conv, num_segments=4, shift_div=4).eval()
    x = torch.randn(8, 16, 3, 3)  # 2 clips x 4 frames
    with torch.no_grad():
        mixed = block.interlace(x)
    torch.testing.assert_close(mixed[:, 4:], x[:, 4:], rtol=0, atol=0)
    assert not torch.allclose(mixed[:, :4], x[:, :4]), "the interlaced channels must change"
