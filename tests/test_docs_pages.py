"""The generated model-card pages, and the speed/accuracy chart as a browser draws it."""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import zoo
from zoo.registry import all_cards

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "docs" / "_ext"


def _extension(name: str):
    spec = importlib.util.spec_from_file_location(name, EXT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_name_has_a_card_with_weights_protocol_and_commands(tmp_path):
    cards = _extension("zoo_cards")
    cards.write_pages(tmp_path)
    text = {path.stem: path.read_text() for path in tmp_path.glob("*.rst")}
    builtin = [c for c in all_cards() if not c.source.startswith("manifest")]
    for card in builtin:
        page = text[card.family]
        assert page.count(f".. _model-{card.name}:\n") == 1, card.name
        assert f"   {card.family}\n" in text["index"]
    i3d = text["i3d"]
    section = i3d[i3d.index(".. _model-i3d_resnet50_v1_kinetics400:"):]
    section = section[: section.index(".. _model-", 10)]
    card = zoo.model_card("i3d_resnet50_v1_kinetics400")
    for expected in (card.weights[0].sha1, card.weights[1].sha1, "(default)", card.weights[0].license,
                     "32 frame(s), every 2nd frame, a 64-frame span", "224 x 224 crop",
                     'zoo.get_model("i3d_resnet50_v1_kinetics400", pretrained=True)',
                     "scripts/test_recognizer.py --model i3d_resnet50_v1_kinetics400",
                     "scripts/train_recognizer.py"):
        assert expected in section, expected
    assert "dmlc/web-data" not in "".join(text.values())  # recipes are ours, not MXNet shell scripts
    for include in re.findall(r"\.\. literalinclude:: \.\./\.\./\.\./(\S+)", "".join(text.values())):
        assert (ROOT / include).is_file(), include
    assert cards.write_pages(tmp_path) == []  # unchanged registry: nothing rewritten, nothing rebuilt


def test_card_of_a_model_trained_with_temporal_centering_says_so(tmp_path):
    cards = _extension("zoo_cards")
    card = zoo.model_card("simple3d_synthetic")
    from dataclasses import replace

    centered = replace(card, input=replace(card.input, temporal_centering=True))
    assert "Temporal centering" in cards.card_section(centered, {}, {})
    assert "Temporal centering" not in cards.card_section(card, {}, {})


BENCHMARK_CSV = """name,variant,precision,device,batch,latency_ms_median,gflops
i3d_resnet50_v1_kinetics400,eager,fp32,cpu,1,645.0,66.3
c3d_kinetics400,eager,fp32,cpu,1,470.4,77.1
i3d_resnet50_v1_ucf101,eager,fp32,cpu,1,640.0,66.3
i3d_resnet50_v1_ucf101,fast,fp32,cpu,1,390.0,66.3
simple3d_synthetic,eager,fp32,cpu,1,3.0,0.2
"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium is not installed")
def test_speed_chart_page_draws_its_points_in_chromium(tmp_path):
    pytest.importorskip("plotly", reason="the interactive chart needs plotly (pip install -e .[docs])")
    source = tmp_path / "src"
    (source / "results").mkdir(parents=True)
    (source / "results" / "bench.csv").write_text(BENCHMARK_CSV)
    (source / "conf.py").write_text(f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = ['zoo_chart']\n")
    (source / "index.rst").write_text("Speed\n=====\n\n.. zoo-speed-chart:: results\n\n   No plotly.\n")
    subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(source), str(tmp_path / "html")],
                   check=True, capture_output=True, timeout=300)
    page = tmp_path / "html" / "index.html"
    assert (tmp_path / "html" / "_static" / "plotly.min.js").is_file()  # offline: plotly.js comes with the page
    dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--window-size=1200,900", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    # the three eager fp32 rows with a published top-1 (simple3d_synthetic has none, the fast row is another variant)
    assert len(re.findall(r'class="point[ "]', dom)) == 3, dom[-2000:]
    legend = re.findall(r'class="legendtext"[^>]*>([^<]+)<', dom)
    assert sorted(legend) == ["kinetics400", "ucf101"]
    for name in ("i3d_resnet50_v1_kinetics400", "c3d_kinetics400", "i3d_resnet50_v1_ucf101"):
        assert name in dom  # hover text data
    assert "No plotly." not in dom
