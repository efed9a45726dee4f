"""Trend of the performance gate: an SVG from the committed results.

Reads every ``benchmarks/results/*.json`` (written by ``perf_gate.py
--record``), oldest first, and draws one line per case: its median ratio
divided by the baseline's, so 1.0 is the baseline and the dashed line is the
gate's limit (the tolerance). The SVG is written by this script (no plotting
library), to ``docs/images/perf-trend.svg`` by default.

Usage: python benchmarks/perf_gate.py plot [--results DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
from html import escape
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
WIDTH, HEIGHT = 760, 320
LEFT, RIGHT, TOP, BOTTOM = 56, 170, 24, 56


def load(folder: Path) -> list[dict[str, Any]]:
    """The recorded runs, oldest first (file names start with a UTC stamp)."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


def series(runs: list[dict[str, Any]]) -> dict[str, list[tuple[int, float]]]:
    """Per case, (run index, median / baseline) of the runs that have both."""
    lines: dict[str, list[tuple[int, float]]] = {}
    for i, run in enumerate(runs):
        for name, figures in run["cases"].items():
            base = figures.get("baseline")
            if base:
                lines.setdefault(name, []).append((i, figures["ratio"] / base))
    return lines


def svg(runs: list[dict[str, Any]]) -> str:
    """The chart as SVG text."""
    lines = series(runs)
    tolerance = max((float(r.get("tolerance", 1.5)) for r in runs), default=1.5)
    top = max([tolerance * 1.15] + [v for pts in lines.values() for _, v in pts])
    bottom = 0.0
    count = max(len(runs), 2)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: float) -> float:
        return LEFT + plot_w * i / (count - 1)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - (v - bottom) / (top - bottom))

    out = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
            'font-family="sans-serif" font-size="11">'
        ),
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        (
            f'<text x="{LEFT}" y="14" font-size="12">perf gate: median CPU ratio / '
            f"baseline, per recorded run (limit {tolerance:g})</text>"
        ),
    ]
    step = 0.25 if top <= 2.5 else 0.5  # noqa: PLR2004 - tick spacing
    tick = 0.0
    while tick <= top:
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}" stroke="#eee"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
            f"{tick:g}</text>"
        )
        tick += step
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tolerance):.1f}" '
        f'y2="{y(tolerance):.1f}" stroke="#d62728" stroke-dasharray="5,4"/>'
        f'<text x="{LEFT + plot_w + 4}" y="{y(tolerance) + 4:.1f}" fill="#d62728">'
        f"limit x{tolerance:g}</text>"
        f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(1):.1f}" y2="{y(1):.1f}" '
        f'stroke="#888"/>'
    )
    every = max(1, len(runs) // 8)
    for i, run in enumerate(runs):
        if i % every == 0 or i == len(runs) - 1:
            label = escape(f"{run['timestamp'][5:10]} {run['commit'][:7]}")
            out.append(
                f'<text x="{x(i):.1f}" y="{TOP + plot_h + 14}" text-anchor="middle">'
                f"{label}</text>"
            )
    for n, (name, points) in enumerate(sorted(lines.items())):
        colour = COLOURS[n % len(COLOURS)]
        path = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{path}"/>'
        )
        out.extend(
            f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(name)}: {v:.2f}</title></circle>"
            for i, v in points
        )
        legend_y = TOP + 14 + 16 * n
        out.append(
            f'<rect x="{LEFT + plot_w + 40}" y="{legend_y - 8}" width="10" '
            f'height="10" fill="{colour}"/><text x="{LEFT + plot_w + 56}" '
            f'y="{legend_y + 1}">{escape(name)}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">'
        f"recorded run (date, commit); {len(runs)} runs</text></svg>"
    )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Draw the chart; 1 when there is nothing recorded."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results")
    parser.add_argument(
        "--out", type=Path, default=HERE.parent / "docs" / "images" / "perf-trend.svg"
    )
    args = parser.parse_args(argv)
    runs = load(args.results)
    if not runs:
        print(
            f"no recorded results in {args.results}: run "
            "`python benchmarks/perf_gate.py --record` first"
        )
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(svg(runs))
    print(f"{args.out}: {len(runs)} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
