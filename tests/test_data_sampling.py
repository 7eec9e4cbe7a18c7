"""Frame sampling: TSN, dense, uniform, multi-clip, SlowFast layout, padding."""
from __future__ import annotations

import pytest
import torch

from zoo.data.sampling import clip_indices, dense_starts, sample_clips, slowfast_positions, tsn_starts, uniform_indices


def test_tsn_train_draws_one_random_start_inside_each_segment() -> None:
    torch.manual_seed(0)
    seen = set()
    for _ in range(200):
        starts = tsn_starts(100, 4, 8, "train")
        average = (100 - 8 + 1) // 4
        assert all(seg * average <= s < (seg + 1) * average for seg, s in enumerate(starts))
        seen.add(tuple(starts))
    assert len(seen) > 100  # random


def test_tsn_val_and_test_take_segment_centres() -> None:
    tick = (100 - 8 + 1) / 4
    expected = [int(tick / 2 + tick * k) for k in range(4)]
    assert tsn_starts(100, 4, 8, "val") == expected == tsn_starts(100, 4, 8, "test")
    assert tsn_starts(5, 4, 8, "val") == [0, 0, 0, 0]  # too short: GluonCV falls back to zeros


def test_dense_sampling_random_start_fixed_step() -> None:
    torch.manual_seed(0)
    clips = [sample_clips(64, strategy="dense", mode="train", new_length=8, new_step=4) for _ in range(50)]
    starts = {c[0][0] for c in clips}
    assert len(starts) > 10 and max(starts) <= 64 - 32
    assert all(c[0] == list(range(c[0][0], c[0][0] + 32, 4)) for c in clips)
    centred = sample_clips(64, strategy="dense", mode="val", new_length=8, new_step=4)[0]
    assert centred[0] == (64 - 32) // 2


def test_test_mode_multi_clip_covers_the_video_evenly() -> None:
    clips = sample_clips(100, strategy="dense", mode="test", new_length=10, new_step=1, num_clips=5)
    assert len(clips) == 5 and clips[0][0] == 0 and clips[-1][-1] == 99
    assert dense_starts(100, 10, "test", 3) == [0, 45, 90]


def test_uniform_sampling_spreads_frames() -> None:
    assert uniform_indices(80, 8, "val") == [5, 15, 25, 35, 45, 55, 65, 75]
    torch.manual_seed(0)
    picks = uniform_indices(80, 8, "train")
    assert all(10 * k <= p < 10 * (k + 1) for k, p in enumerate(picks))


def test_short_video_is_padded_or_looped() -> None:
    assert clip_indices(0, 6, 2, 7) == [0, 2, 4, 6, 6, 6]
    assert clip_indices(0, 6, 2, 7, short_video="loop") == [0, 2, 4, 6, 1, 3]
    with pytest.raises(ValueError):
        clip_indices(0, 2, 1, 5, short_video="crash")


def test_temporal_jitter_stays_inside_the_step() -> None:
    torch.manual_seed(0)
    got = [clip_indices(10, 8, 4, 1000, temporal_jitter=True) for _ in range(20)]
    assert any(g != list(range(10, 42, 4)) for g in got)
    assert all(0 <= g[k] - (10 + 4 * k) < 4 for g in got for k in range(8))


def test_slowfast_positions_fast_then_slow_like_gluoncv() -> None:
    fast, slow = slowfast_positions(64, 16, 2)
    assert len(fast) == 32 and len(slow) == 4
    assert fast[:3] == [1, 3, 5] and slow == [15, 31, 47, 63]
    clips = sample_clips(200, strategy="dense", mode="val", new_length=64, new_step=1, positions=fast + slow)
    start = (200 - 64) // 2
    assert clips[0][:32] == [start + p for p in fast] and clips[0][32:] == [start + p for p in slow]
    with pytest.raises(ValueError, match="multiple"):
        slowfast_positions(64, 5, 2)
