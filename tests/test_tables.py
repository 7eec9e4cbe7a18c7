"""The accuracy tables are generated from the cards, and the cards' counts from the models."""
from __future__ import annotations

import csv
import io
import json
import random
import re

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


# ------------------------------------------------------------------ what the pages show
def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_main_table_comes_first_and_no_column_is_empty():
    rendered = tables.render_tables()
    for file, text in rendered.items():
        header = text.splitlines()[0].split(",")
        rows = _csv_rows(text)
        for column in header:
            assert any(row[column] for row in rows), f"{file}: column {column!r} is empty in every row"
        if not file.endswith("_details.csv"):
            assert header == [c for c in tables.COLUMNS if c in header] and header[:1] == ["Name"], file
            assert {"Hashtag", "Clip length", "Use it"} <= set(header) and {"Top-1", "mAP"} & set(header), file
    assert _csv_rows(rendered["Kinetics400.csv"])[0].keys() == set(tables.COLUMNS) - {"mAP"}  # mAP: multi-label sets
    assert {"mAP", "Top-1"} & set(_csv_rows(rendered["Charades.csv"])[0].keys()) == {"mAP"}


def test_default_weights_are_marked_and_use_it_loads_that_row():
    rows = [r for r in _csv_rows(tables.render_tables()["UCF101.csv"]) if r["Name"] == "i3d_resnet50_v1_ucf101"]
    card = zoo.model_card("i3d_resnet50_v1_ucf101")
    assert len(rows) == len(card.weights) == 2
    marked = [r for r in rows if r["Hashtag"].endswith(tables.DEFAULT_MARK)]
    assert [r["Hashtag"].split()[0] for r in marked] == [card.default_weights().tag]
    for text in (t for f, t in tables.render_tables().items() if not f.endswith("_details.csv")):
        for row in _csv_rows(text):
            match = re.fullmatch(r'zoo\.get_model\("([^"]+)", pretrained=(True|"([0-9a-f]+)")\)', row["Use it"])
            if match is None:  # a name without weights: how to train it
                assert row["Use it"].startswith("python scripts/train_recognizer.py configs/"), row
                continue
            named = zoo.model_card(match.group(1))
            assert named.name == row["Name"]
            loads = named.default_weights() if match.group(2) == "True" else named.find_weights(match.group(3))
            if loads.tag:
                assert loads.tag == row["Hashtag"].split()[0], row
            else:  # an upstream that publishes no hash (pytorchvideo, PySlowFast)
                assert row["Hashtag"].startswith(tables.NO_HASH) and loads.sha1 == loads.sha256 == "", row


def test_recipes_are_our_configs_and_exist():
    recipes = [row["Recipe"] for f, text in tables.render_tables().items() if f.endswith("_details.csv")
               for row in _csv_rows(text) if row.get("Recipe")]
    assert "configs/simple3d_synthetic.yaml" in recipes
    for recipe in recipes:
        assert recipe.startswith("configs/") and recipe.endswith(".yaml"), recipe
        assert (tables.REPO_ROOT / recipe).is_file(), f"recipe {recipe} does not exist"
    mapping = tables.recipe_configs()
    assert mapping["simple3d_synthetic"].name == "simple3d_synthetic.yaml"
    assert mapping["simple2d_synthetic"].name == "simple2d_synthetic.yaml"
    assert "simple3d" not in mapping  # a family gets a recipe from a *_finetune.yaml only


def test_a_finetune_config_is_the_recipe_of_its_family(tmp_path):
    (tmp_path / "simple_finetune.yaml").write_text("model:\n  name: simple3d_synthetic\n")
    (tmp_path / "broken.yaml").write_text("model:\n  name: no_such_model\n")
    mapping = tables.recipe_configs(tmp_path)
    assert mapping == {"simple3d_synthetic": tmp_path / "simple_finetune.yaml", "simple3d": tmp_path / "simple_finetune.yaml"}


def test_clip_length_names_span_step_and_segments():
    assert tables.clip_length(zoo.model_card("i3d_resnet50_v1_kinetics400")) == "32 (64/2)"
    tsn = next(c for c in tables.all_cards() if c.input.num_segments > 1)
    assert tables.clip_length(tsn).endswith(f"x {tsn.input.num_segments} segments")
