"""Inline SVG line charts for the status page and the HTML report (pure text, no JavaScript).

Two charts per SLO: the error budget burning down (1 = untouched, 0 = spent, below 0
overspent) and the SLI against its objective. Every data point is a `<circle class="pt">`
with `data-at` (ISO time) and `data-value`, and the `<svg>` carries `data-points` (how many
points have a value) and `data-kind`, so a browser test can count them in the DOM. Points
that break the objective (SLI below it, budget below zero) get the class `bad`.

Output is deterministic: fixed-precision coordinates, no ids or timestamps of its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH = 640
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 14, 28
GOOD = "#2563eb"
BAD = "#dc2626"
REFERENCE = "#6b7280"


@dataclass(frozen=True, slots=True)
class Point:
    """One value at one time; `value` None is a gap (no data), drawn as a break in the line."""

    at: datetime
    value: float | None


@dataclass(frozen=True, slots=True)
class Chart:
    kind: str  # "budget" or "sli": the data-kind attribute and CSS class
    title: str
    points: Sequence[Point]
    start: datetime
    end: datetime
    reference: float  # the line that must not be crossed: 0 budget left, or the objective
    reference_label: str
    low: float
    high: float
    bad_below: bool = True  # a point below `reference` breaks the objective
    fmt: Callable[[float], str] = str


def percent(decimals: int) -> Callable[[float], str]:
    def fmt(value: float) -> str:
        return f"{value * 100:.{decimals}f}%"

    return fmt


def budget_chart(points: Sequence[Point], start: datetime, end: datetime, title: str) -> str:
    """Budget remaining over time (ratio), with the zero line; below zero is overspent."""
    values = [p.value for p in points if p.value is not None and math.isfinite(p.value)]
    low = min([0.0, *values])
    high = max([1.0, *values])
    return render(
        Chart(
            kind="budget",
            title=title,
            points=points,
            start=start,
            end=end,
            reference=0.0,
            reference_label="budget spent",
            low=low - 0.05 * (high - low),
            high=high,
            fmt=percent(0),
        )
    )


def sli_chart(
    points: Sequence[Point], start: datetime, end: datetime, objective: float, title: str
) -> str:
    """The SLI (ratio) against the objective (ratio); the y axis starts just below both."""
    values = [p.value for p in points if p.value is not None and math.isfinite(p.value)]
    floor = min([objective, *values])
    span = max(1.0 - floor, (1.0 - objective) * 2, 1e-6)
    low = max(0.0, 1.0 - span * 1.15)
    decimals = max(1, min(4, int(-math.log10(max(1.0 - low, 1e-6))) + 1))
    return render(
        Chart(
            kind="sli",
            title=title,
            points=points,
            start=start,
            end=end,
            reference=objective,
            reference_label=f"objective {objective * 100:g}%",
            low=low,
            high=1.0,
            fmt=percent(decimals),
        )
    )


def render(chart: Chart) -> str:
    """The chart as one `<svg>` element."""
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM
    span_s = max((chart.end - chart.start).total_seconds(), 1.0)
    span_v = chart.high - chart.low or 1.0

    def x(at: datetime) -> float:
        return _LEFT + plot_w * min(max((at - chart.start).total_seconds() / span_s, 0.0), 1.0)

    def y(value: float) -> float:
        clamped = min(max(value, chart.low), chart.high)
        return _TOP + plot_h * (1.0 - (clamped - chart.low) / span_v)

    shown = [p for p in chart.points if p.value is not None and math.isfinite(p.value)]
    parts = [
        f'<svg class="chart chart-{escape(chart.kind)}" data-kind="{escape(chart.kind)}" '
        f'data-points="{len(shown)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'preserveAspectRatio="xMidYMid meet" role="img" aria-label="{escape(chart.title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
        f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#d1d5db"/>',
    ]
    for tick in _ticks(chart.low, chart.high):
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{ty:.2f}" y2="{ty:.2f}" '
            'stroke="#eef0f3"/>'
            f'<text x="{_LEFT - 6}" y="{ty + 4:.2f}" text-anchor="end" font-size="11" '
            f'fill="#4b5563">{escape(chart.fmt(tick))}</text>'
        )
    for at, anchor in ((chart.start, "start"), (chart.end, "end")):
        parts.append(
            f'<text x="{x(at):.2f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="#4b5563">{at.strftime("%Y-%m-%d %H:%M")}</text>'
        )
    ry = y(chart.reference)
    parts.append(
        f'<line class="reference" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{ry:.2f}" '
        f'y2="{ry:.2f}" stroke="{REFERENCE}" stroke-dasharray="5 4"/>'
        f'<text x="{_LEFT + plot_w - 4}" y="{ry - 4:.2f}" text-anchor="end" font-size="11" '
        f'fill="{REFERENCE}">{escape(chart.reference_label)}</text>'
    )
    for run in _runs(chart.points):
        coords = " ".join(f"{x(p.at):.2f},{y(p.value):.2f}" for p in run if p.value is not None)
        parts.append(
            f'<polyline class="line" points="{coords}" fill="none" stroke="{GOOD}" '
            'stroke-width="1.5"/>'
        )
    radius = 2.5 if len(shown) <= 200 else 1.5
    for point in shown:
        assert point.value is not None
        bad = _is_bad(chart, point.value)
        parts.append(
            f'<circle class="pt{" bad" if bad else ""}" cx="{x(point.at):.2f}" '
            f'cy="{y(point.value):.2f}" r="{radius}" fill="{BAD if bad else GOOD}" '
            f'data-at="{point.at.isoformat()}" data-value="{point.value!r}"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _is_bad(chart: Chart, value: float) -> bool:
    tolerance = 1e-12
    return value < chart.reference - tolerance if chart.bad_below else value > chart.reference


def _runs(points: Sequence[Point]) -> list[list[Point]]:
    """Consecutive points with values; a None (or non-finite) value breaks the line."""
    runs: list[list[Point]] = [[]]
    for point in points:
        if point.value is None or not math.isfinite(point.value):
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(point)
    return [run for run in runs if run]


def _ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About `count` round values between low and high."""
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks
