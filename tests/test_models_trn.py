"""TRN's multi-scale relation head: its deterministic eval output is the expectation of mmaction2's random draw.

mmaction2's ``RelationModuleMultiScale`` adds, at each scale below ``T``, the scores of ``min(3, C(T, s))``
frame tuples drawn at random without replacement.  Ours, in eval mode, adds every tuple's score averaged
and times the draw count; averaged over every possible draw (each scale's draws chosen independently),
the drawn sums must give exactly that.  Live parity with a recorded mmaction2 draw is in
``tests/test_parity_mmaction2.py``.
"""
from __future__ import annotations

import itertools
import math

import pytest
import torch

import zoo
from zoo.models.trn import MultiScaleRelation


def _head() -> MultiScaleRelation:
    torch.manual_seed(0)
    return MultiScaleRelation(4, hidden=8, num_classes=5, bottleneck=16).eval()


def test_eval_output_is_the_mean_over_every_possible_draw() -> None:
    head = _head()
    codes = torch.randn(2, 4, 8)
    with torch.no_grad():
        expected = head(codes)
        # scales 3 and 2: C(4, 3) = 4 tuples, C(4, 2) = 6 tuples, 3 drawn from each
        draws = [list(itertools.combinations(range(math.comb(4, s)), 3)) for s in (3, 2)]
        assert [len(d) for d in draws] == [4, 20]
        total = torch.zeros_like(expected)
        for draw in itertools.product(*draws):
            head.set_draws(draw)
            total += head(codes)
        head.set_draws(None)
        mean = total / (4 * 20)
        assert torch.allclose(mean, expected, atol=1e-5)
        assert torch.equal(head(codes), expected), "eval mode is deterministic"
        # a single draw differs from the expectation (the test can fail)
        head.set_draws([(0, 1, 2), (0, 1, 2)])
        assert not torch.allclose(head(codes), expected, atol=1e-3)


def test_training_draws_at_random_and_a_seed_repeats_the_draw() -> None:
    head = _head().train()
    codes = torch.randn(2, 4, 8)
    outputs = []
    for seed in (1, 1, 2, 3, 4):
        torch.manual_seed(seed)
        outputs.append(head(codes))
    assert torch.equal(outputs[0], outputs[1])
    assert any(not torch.allclose(outputs[0], other) for other in outputs[2:])


def test_set_draws_needs_one_row_per_scale_below_t() -> None:
    with pytest.raises(ValueError, match="one row of tuple indices per scale"):
        _head().set_draws([(0, 1, 2)])


def test_trn_refuses_another_clip_length_with_the_fix() -> None:
    model = zoo.get_model("trn_resnet50_seg8_sthsthv1").eval()
    with pytest.raises(ValueError, match="num_frames=4"):
        model(torch.randn(1, 3, 4, 32, 32))
