"""One line per remediation backend over time (inline SVG): its SLI, or its burn rate.

Each backend is a `<polyline class="backend-line">` with `data-backend` (and `data-window`),
each point a `<circle class="pt">` with `data-backend`, `data-at` and `data-value`; the
`<svg>` carries `data-kind` and `data-points`, so a browser test can find them in the DOM.
The reference line is the objective (SLI) or the loop's burn-rate factor (burn rate); points
on its wrong side get the class `bad`. Deterministic output, as the other charts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from html import escape

from meshwatch.render.svg import BAD, HEIGHT, REFERENCE, WIDTH, Point, _runs, _ticks, percent
from meshwatch.render.svg_weights import PALETTE

_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 14, 28
Series = Mapping[tuple[str, str], Sequence[Point]]
"""(backend, window) -> points; the first window of a backend is drawn solid, others dashed."""


def _values(series: Series) -> list[float]:
    return [
        p.value
        for pts in series.values()
        for p in pts
        if p.value is not None and math.isfinite(p.value)
    ]


def backend_sli_chart(
    series: Series, start: datetime, end: datetime, objective: float, title: str
) -> str:
    """Each backend's SLI (ratio) against the objective; the axis starts below both."""
    floor = min([objective, *_values(series)])
    span = max(1.0 - floor, (1.0 - objective) * 2, 1e-6)
    low = max(0.0, 1.0 - span * 1.15)
    decimals = max(1, min(4, int(-math.log10(max(1.0 - low, 1e-6))) + 1))
    label = f"objective {objective * 100:g}%"
    return _render(
        "backend-sli",
        series,
        start,
        end,
        (low, 1.0),
        (objective, label, True),
        title,
        percent(decimals),
    )


def backend_burn_chart(
    series: Series, start: datetime, end: datetime, factor: float, title: str
) -> str:
    """Each backend's burn rate (x sustainable) against the factor the loop acts at."""
    high = max([factor * 1.25, *_values(series)])
    return _render(
        "backend-burn",
        series,
        start,
        end,
        (0.0, high),
        (factor, f"acts at {factor:g}x", False),
        title,
        lambda v: f"{v:g}x",
    )


def _render(
    kind: str,
    series: Series,
    start: datetime,
    end: datetime,
    bounds: tuple[float, float],
    reference: tuple[float, str, bool],
    title: str,
    fmt: Callable[[float], str],
) -> str:
    low, high = bounds
    ref, ref_label, bad_below = reference
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    span_s = max((end - start).total_seconds(), 1.0)
    span_v = high - low or 1.0

    def x(at: datetime) -> float:
        return _LEFT + plot_w * min(max((at - start).total_seconds() / span_s, 0.0), 1.0)

    def y(value: float) -> float:
        return _TOP + plot_h * (1.0 - (min(max(value, low), high) - low) / span_v)

    shown = len(_values(series))
    parts = [
        f'<svg class="chart chart-{kind}" data-kind="{kind}" data-points="{shown}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#d1d5db"/>',
    ]
    for tick in _ticks(low, high):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(tick):.2f}" '
            f'y2="{y(tick):.2f}" stroke="#eef0f3"/><text x="{_LEFT - 6}" y="{y(tick) + 4:.2f}" '
            f'text-anchor="end" font-size="11" fill="#4b5563">{escape(fmt(tick))}</text>'
        )
    for at, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x(at):.2f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="#4b5563">{at.strftime("%Y-%m-%d %H:%M")}</text>'
        )
    parts.append(
        f'<line class="reference" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(ref):.2f}" '
        f'y2="{y(ref):.2f}" stroke="{REFERENCE}" stroke-dasharray="5 4"/>'
        f'<text x="{_LEFT + plot_w - 4}" y="{y(ref) - 4:.2f}" text-anchor="end" font-size="11" '
        f'fill="{REFERENCE}">{escape(ref_label)}</text>'
    )
    backends = sorted({backend for backend, _ in series})
    seen: set[str] = set()
    for (backend, window), points in sorted(series.items()):
        color = PALETTE[backends.index(backend) % len(PALETTE)]
        dash = "" if backend not in seen else ' stroke-dasharray="4 3"'
        seen.add(backend)
        for run in _runs(points):
            coords = " ".join(f"{x(p.at):.2f},{y(p.value):.2f}" for p in run if p.value is not None)
            parts.append(
                f'<polyline class="backend-line" data-backend="{escape(backend)}" '
                f'data-window="{escape(window)}" points="{coords}" fill="none" '
                f'stroke="{color}" stroke-width="1.5"{dash}/>'
            )
        for point in points:
            if point.value is None or not math.isfinite(point.value):
                continue
            bad = point.value < ref - 1e-12 if bad_below else point.value > ref
            parts.append(
                f'<circle class="pt{" bad" if bad else ""}" data-backend="{escape(backend)}" '
                f'data-window="{escape(window)}" cx="{x(point.at):.2f}" cy="{y(point.value):.2f}" '
                f'r="2" fill="{BAD if bad else color}" data-at="{point.at.isoformat()}" '
                f'data-value="{point.value!r}"/>'
            )
    for index, backend in enumerate(backends):
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<text x="{_LEFT + 6 + 110 * index}" y="{HEIGHT - 8 - 14}" font-size="11" '
            f'fill="{color}">■ {escape(backend)}</text>'
        )
    if not shown:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.2f}" y="{_TOP + plot_h / 2:.2f}" '
            'text-anchor="middle" font-size="12" fill="#6b7280">no backend measurements '
            "in this range</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
