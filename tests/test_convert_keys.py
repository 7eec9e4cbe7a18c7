"""The key-conversion engine's policies (zoo.convert.keys)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from zoo.convert.keys import KEEP, Rule, convert, without_prefix
from zoo.errors import WeightsError


def _target() -> nn.Module:
    return nn.Sequential(nn.Conv3d(3, 4, (1, 3, 3), bias=False), nn.BatchNorm3d(4), nn.Flatten(), nn.Linear(4, 2))


def _mxnet_source() -> dict[str, torch.Tensor]:
    return {
        "conv.weight": torch.randn(4, 3, 1, 3, 3),
        "bn.gamma": torch.rand(4), "bn.beta": torch.rand(4), "bn.running_mean": torch.rand(4), "bn.running_var": torch.rand(4),
        "fc.weight": torch.randn(2, 4), "fc.bias": torch.randn(2),
    }


RULES = [Rule(r"conv\.(\w+)", r"0.\1"), Rule(r"bn\.(\w+)", r"1.\1"), Rule(r"fc\.(\w+)", r"3.\1")]


def test_renames_with_mxnet_batchnorm_suffixes_and_fills_counters():
    source = _mxnet_source()
    out = convert(source, _target(), RULES, mxnet_bn=True)
    assert list(out) == list(_target().state_dict())  # our order, every key
    assert torch.equal(out["1.weight"], source["bn.gamma"]) and torch.equal(out["1.bias"], source["bn.beta"])
    assert out["1.num_batches_tracked"].item() == 0


def test_unmatched_source_key_is_an_error_unless_dropped_or_kept():
    source = {**_mxnet_source(), "extra.weight": torch.zeros(1)}
    with pytest.raises(WeightsError, match=r"unexpected: extra\.weight"):
        convert(source, _target(), RULES, mxnet_bn=True)
    out = convert(source, _target(), [Rule(r"extra\..*", None), *RULES], mxnet_bn=True)  # dropped on purpose
    assert "extra.weight" not in out
    with pytest.raises(WeightsError, match=r"unexpected: extra\.weight \(converted name\)"):
        convert(source, _target(), [*RULES, KEEP], mxnet_bn=True)  # kept as is: not a key of ours


def test_missing_and_mis_shaped_keys_are_named():
    source = _mxnet_source()
    del source["fc.bias"]
    source["conv.weight"] = torch.zeros(4, 3, 3, 3)
    with pytest.raises(WeightsError) as err:
        convert(source, _target(), RULES, mxnet_bn=True, what="test file")
    text = str(err.value)
    assert text.startswith("test file:") and "missing: 3.bias" in text and "0.weight (from conv.weight): file (4, 3, 3, 3) vs model (4, 3, 1, 3, 3)" in text


def test_reshape_only_where_the_rule_says_so():
    source = _mxnet_source()
    source["conv.weight"] = source["conv.weight"].reshape(4, 3, 3, 3)  # a 2D kernel
    with pytest.raises(WeightsError, match="shape mismatch"):
        convert(source, _target(), RULES, mxnet_bn=True)
    rules = [Rule(r"conv\.(weight)", r"0.\1", reshape=True), *RULES]
    out = convert(source, _target(), rules, mxnet_bn=True)
    assert out["0.weight"].shape == (4, 3, 1, 3, 3)


def test_aliases_must_agree():
    source = {**_mxnet_source()}
    source["head.weight"] = source["fc.weight"].clone()
    rules = [Rule(r"head\.(\w+)", r"3.\1"), *RULES]
    assert torch.equal(convert(source, _target(), rules, mxnet_bn=True)["3.weight"], source["fc.weight"])
    source["head.weight"] = source["fc.weight"] + 1
    with pytest.raises(WeightsError, match=r"aliases disagree: (head|fc)\.weight"):
        convert(source, _target(), rules, mxnet_bn=True)


def test_plain_tuples_read_as_rules_and_meta_targets_work():
    with torch.device("meta"):
        model = _target()
    out = convert(_mxnet_source(), model, [(r"conv\.(\w+)", r"0.\1"), (r"bn\.(\w+)", r"1.\1"), (r"fc\.(\w+)", r"3.\1")], mxnet_bn=True)
    assert set(out) == set(model.state_dict())


def test_without_prefix_strips_a_wrapper_prefix_only_when_every_key_has_it():
    wrapped = {"model." + k: v for k, v in _mxnet_source().items()}
    assert list(without_prefix(wrapped, "model.")) == list(_mxnet_source())
    mixed = {**wrapped, "head.bias": torch.zeros(2)}  # one key outside the wrapper: not a wrapper's state dict
    assert without_prefix(mixed, "model.") is mixed
    assert without_prefix({}, "model.") == {}
