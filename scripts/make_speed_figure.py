"""Speed vs accuracy figure of the model zoo from ``scripts/benchmark.py``'s results.

    python scripts/benchmark.py '*' --variants eager,fast --precisions fp32 --batches 1   # writes benchmarks/results/
    python scripts/make_speed_figure.py [benchmarks/results/*.csv] [--variant eager] [--precision fp32] \\
        [--batch 1] [--out docs/_static/speed_accuracy.png] [--html speed.html]

x: median latency of one view (ms, log scale) measured by the benchmark; y: the published top-1 of
the model's default weights (``zoo.model_card(name).default_weights().accuracy.top1``), one marker
per dataset. Models without published top-1, and benchmark rows of other variants, precisions or
batch sizes, are left out. The machine and thread count of the benchmark go into the title.

The docs draw the same points as an interactive chart (:func:`interactive_chart`, plotly: hover for
name, latency and top-1, filter by dataset); ``--html`` writes that chart as a stand-alone page.
"""
from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

import zoo  # noqa: E402

logger = logging.getLogger("make_speed_figure")

DEFAULT_RESULTS = ROOT / "benchmarks" / "results"
DEFAULT_OUT = ROOT / "docs" / "_static" / "speed_accuracy.png"
REQUIRED = ("name", "precision", "batch", "latency_ms_median")


@dataclass(frozen=True)
class Point:
    name: str
    dataset: str
    latency_ms: float
    top1: float
    gflops: float | None
    device: str


def read_rows(files: list[Path]) -> list[dict[str, str]]:
    """Every row of the benchmark CSV files (rows without a latency, e.g. loading rows, dropped)."""
    rows = []
    for file in files:
        with open(file, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise SystemExit(f"{file}: not a scripts/benchmark.py CSV (no column {', '.join(missing)})")
            rows += [r for r in reader if r.get("latency_ms_median")]
    return rows


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def published_top1(name: str) -> tuple[str, float] | None:
    """``(dataset, top-1)`` of the default weights of ``name``, or None when nothing was published."""
    try:
        card = zoo.model_card(name)
        weights = card.default_weights()
    except Exception as err:  # unknown name in an old results file, or a name without weights
        logger.info("skipping %s: %s", name, err)
        return None
    if weights is None or weights.accuracy is None or weights.accuracy.top1 is None:
        return None
    return card.dataset, float(weights.accuracy.top1)


def select_points(rows: list[dict[str, str]], variant: str, precision: str, batch: int) -> list[Point]:
    """One point per model: the fastest matching row (repeated runs of one configuration)."""
    best: dict[str, Point] = {}
    for row in rows:
        if row.get("variant", "eager") != variant or row["precision"] != precision or int(float(row["batch"])) != batch:
            continue
        acc = published_top1(row["name"])
        latency = _float(row["latency_ms_median"])
        if acc is None or latency is None:
            continue
        point = Point(row["name"], acc[0], latency, acc[1], _float(row.get("gflops")), row.get("device", ""))
        if row["name"] not in best or point.latency_ms < best[row["name"]].latency_ms:
            best[row["name"]] = point
    return sorted(best.values(), key=lambda p: p.latency_ms)


def plot(points: list[Point], out: Path, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, ax = plt.subplots(figsize=(10, 6.5), dpi=110)
    markers = "osD^vP*X"
    for i, dataset in enumerate(sorted({p.dataset for p in points})):
        group = [p for p in points if p.dataset == dataset]
        ax.scatter([p.latency_ms for p in group], [p.top1 for p in group], marker=markers[i % len(markers)],
                   s=36, label=dataset, alpha=0.85)
        for p in group:
            short = p.name.removesuffix(f"_{dataset}")
            ax.annotate(short, (p.latency_ms, p.top1), xytext=(4, 3), textcoords="offset points", fontsize=6.5)
    ax.set_xscale("log")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.margins(x=0.12, y=0.08)
    ax.set_xlabel("latency of one view, batch 1 (ms, median; log scale)")
    ax.set_ylabel("published top-1 (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(title="dataset", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def interactive_chart(points: list[Point], title: str):
    """The points as a plotly figure: one trace per dataset (click a legend entry, or pick a dataset in
    the menu, to filter), the name, latency, top-1 and GFLOPs of a model on hover; log-scale latency."""
    import plotly.graph_objects as go

    datasets = sorted({p.dataset for p in points})
    fig = go.Figure()
    for dataset in datasets:
        group = [p for p in points if p.dataset == dataset]
        fig.add_trace(go.Scatter(
            x=[p.latency_ms for p in group], y=[p.top1 for p in group], mode="markers", name=dataset,
            customdata=[[p.name, "-" if p.gflops is None else f"{p.gflops:g}"] for p in group],
            hovertemplate="<b>%{customdata[0]}</b><br>latency %{x:.0f} ms<br>top-1 %{y:.2f}%"
                          "<br>%{customdata[1]} GFLOPs/view<extra>%{fullData.name}</extra>",
            marker={"size": 9, "opacity": 0.85, "line": {"width": 0.5, "color": "white"}},
        ))
    buttons = [{"label": "all datasets", "method": "update", "args": [{"visible": [True] * len(datasets)}]}]
    buttons += [{"label": d, "method": "update", "args": [{"visible": [d == other for other in datasets]}]}
                for d in datasets]
    fig.update_layout(
        title={"text": title, "font": {"size": 13}, "x": 0, "xref": "paper", "y": 0.98, "yref": "container",
               "yanchor": "top"},
        template="plotly_white", hovermode="closest",
        xaxis={"type": "log", "title": "latency of one view (ms, median; log scale)", "tickvals": _log_ticks(points)},
        yaxis={"title": "published top-1 (%)"},
        legend={"title": {"text": "dataset"}, "orientation": "h", "y": -0.18},
        updatemenus=[{"buttons": buttons, "x": 0, "xanchor": "left", "y": 1.01, "yanchor": "bottom"}],
        margin={"l": 60, "r": 20, "t": 110, "b": 40}, autosize=True, height=580,
    )
    return fig


def _log_ticks(points: list[Point]) -> list[float]:
    """1-2-5 ticks across the latencies (plain numbers a reader can read off a log axis)."""
    low, high = min(p.latency_ms for p in points), max(p.latency_ms for p in points)
    ticks, decade = [], 10 ** math.floor(math.log10(low))
    while decade <= high:
        ticks += [m * decade for m in (1, 2, 5) if low / 2 <= m * decade <= high * 2]
        decade *= 10
    return ticks


def chart_title(points: list[Point], variant: str, precision: str, batch: int, sep: str = " ") -> str:
    """What the chart shows and where it was measured; ``sep="<br>"`` breaks it for the interactive chart."""
    devices = ", ".join(sorted({p.device for p in points if p.device})) or "unknown device"
    return (f"zoo: speed vs published accuracy{sep}({len(points)} models; {variant} {precision}, batch {batch}, "
            f"{devices})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", nargs="*", type=Path, help="benchmark CSV files (default: benchmarks/results/*.csv)")
    parser.add_argument("--variant", default="eager", help="benchmark variant to plot (eager or fast)")
    parser.add_argument("--precision", default="fp32")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--title", default=None, help="figure title (default: what was measured, where)")
    parser.add_argument("--html", type=Path, help="also write the interactive chart as a self-contained HTML page (plotly)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    files = args.results or sorted(DEFAULT_RESULTS.glob("*.csv"))
    if not files:
        print(f"no benchmark results in {DEFAULT_RESULTS}; run `python scripts/benchmark.py ...` first", file=sys.stderr)
        return 1
    points = select_points(read_rows(files), args.variant, args.precision, args.batch)
    if not points:
        print(f"no benchmarked model with a published top-1 at variant={args.variant} precision={args.precision} "
              f"batch={args.batch} in {', '.join(map(str, files))}", file=sys.stderr)
        return 1
    title = args.title or chart_title(points, args.variant, args.precision, args.batch)
    plot(points, args.out, title)
    print(f"wrote {args.out} ({len(points)} models)")
    if args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        interactive_chart(points, title).write_html(args.html, include_plotlyjs=True, config={"responsive": True})
        print(f"wrote {args.html} (interactive)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
