"""``zoo-speed-chart``: the speed/accuracy chart drawn from the benchmark's CSV results with plotly.

    .. zoo-speed-chart:: ../../benchmarks/results
       :variant: eager
       :precision: fp32
       :batch: 1

       (content shown instead when plotly is not installed, e.g. the static figure)

The points are those of ``scripts/make_speed_figure.py`` (same selection, same title).  The page
loads plotly.js from ``_static/plotly.min.js``, copied from the installed plotly package when the
build finishes, so the chart works offline.  Without plotly (``pip install -e .[docs]`` brings it)
the directive renders its content.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive, directives

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_speed_figure.py"
CHART_ID = "zoo-speed-chart"


def _speed_figure_module():
    """``scripts/make_speed_figure.py`` as a module (once per process: its dataclass needs sys.modules)."""
    if "make_speed_figure" not in sys.modules:
        spec = importlib.util.spec_from_file_location("make_speed_figure", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return sys.modules["make_speed_figure"]


def _plotly_js() -> Path | None:
    """plotly.js as shipped inside the plotly package, or None without plotly."""
    try:
        import plotly
    except ImportError:
        return None
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return path if path.is_file() else None


class SpeedChart(Directive):
    required_arguments = 1
    has_content = True
    option_spec = {"variant": directives.unchanged, "precision": directives.unchanged,
                   "batch": directives.positive_int}

    def run(self) -> list[nodes.Node]:
        env = self.state.document.settings.env
        _, folder = env.relfn2path(self.arguments[0], env.docname)
        files = sorted(Path(folder).glob("*.csv"))
        for file in [*files, SCRIPT]:
            env.note_dependency(str(file))
        if _plotly_js() is None or not files:
            fallback = nodes.container()
            self.state.nested_parse(self.content, self.content_offset, fallback)
            return fallback.children
        figure = _speed_figure_module()
        variant, precision = self.options.get("variant", "eager"), self.options.get("precision", "fp32")
        batch = self.options.get("batch", 1)
        points = figure.select_points(figure.read_rows(files), variant, precision, batch)
        chart = figure.interactive_chart(points, figure.chart_title(points, variant, precision, batch, "<br>"))
        depth = env.docname.count("/")
        html = (f'<script src="{"../" * depth}_static/plotly.min.js"></script>\n'
                + chart.to_html(full_html=False, include_plotlyjs=False, div_id=CHART_ID,
                                config={"responsive": True, "displayModeBar": False})
                # fit the box once the page has its final layout (furo's narrow-screen layout included)
                + f'<script>window.addEventListener("load", () => Plotly.Plots.resize("{CHART_ID}"));</script>')
        return [nodes.raw("", f'<div class="zoo-speed-chart">{html}</div>', format="html")]


def _copy_plotly_js(app, exception) -> None:
    source = _plotly_js()
    if exception is None and source is not None and app.builder.format == "html":
        target = Path(app.outdir) / "_static" / "plotly.min.js"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)


def setup(app) -> dict:
    app.add_directive("zoo-speed-chart", SpeedChart)
    app.connect("build-finished", _copy_plotly_js)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
