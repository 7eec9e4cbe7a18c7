"""The accuracy tables are generated from the cards, and the cards' counts from the models."""
from __future__ import annotations

import json
import random

import pytest

import zoo
from zoo import tables


def test_committed_tables_match_the_cards():
    stale = tables.stale_tables()
    assert not stale, f"out of date: {stale}; regenerate with `{tables.REGENERATE}` and commit"


def test_stats_file_covers_every_model():
    stats = json.loads(tables.STATS_FILE.read_text())
    builtin = {n for n in zoo.get_model_list() if not zoo.model_card(n).source.startswith("manifest")}
    missing = sorted(builtin - set(stats))
    assert not missing, f"no params/GFLOPs for {missing}; run `{tables.REGENERATE}`"


def test_card_counts_match_the_models():
    """Params and GFLOPs in the cards are recounted from the models (torch.utils.flop_counter)."""
    # int8 twins need calibration clips and two-stream models a (rgb, flow) pair: no single-tensor count
    names = [n for n in zoo.get_model_list() if not n.endswith("_int8") and zoo.model_card(n).family != "two_stream"
             and not zoo.model_card(n).source.startswith("manifest")]
    sample = sorted(random.Random(0).sample(names, min(12, len(names))) + ["simple3d_synthetic"])
    for name in sample:
        card = zoo.model_card(name)
        counted = tables.count_model(card)
        assert card.params_m == pytest.approx(counted["params_m"], abs=1e-3), name
        assert card.gflops == pytest.approx(counted["gflops"], abs=1e-3), name


def test_params_count_is_real():
    card = zoo.model_card("simple3d_synthetic")
    net = zoo.get_model("simple3d_synthetic")
    assert tables.count_model(card)["params_m"] == round(sum(p.numel() for p in net.parameters()) / 1e6, 3)


def test_one_row_per_weights_entry(tmp_path):
    for file, text in tables.render_tables().items():
        rows = text.strip().splitlines()
        assert rows[0].split(",")[0] == "Name", file
    k400 = tables.render_tables()["Kinetics400.csv"]
    expected = sum(len(c.weights) for c in tables.all_cards() if c.dataset == "kinetics400" and not c.source.startswith("manifest"))
    assert len(k400.strip().splitlines()) - 1 == expected
