"""Route weights over time as step lines, every remediation action marked (inline SVG).

The weights are read from the audit log: each applied action moves the route from its
`weights_before` to its `weights_after`; actions that did not change the data plane (dry
run, rejected, failed, hold, ...) are marked but leave the line flat. Weights are drawn as
percent of the route's total. Each step line is a `<polyline class="weights">` with
`data-backend`; each action a `<line class="action action-<kind>">` with `data-kind` and
`data-at`, so a browser test can find them in the DOM.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from meshwatch.render.svg import HEIGHT, WIDTH

_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 12, 14, 28
PALETTE = ("#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777")
ACTION_COLORS = {"shift": "#dc2626", "restore": "#16a34a", "rollback": "#7c3aed"}


@dataclass(frozen=True, slots=True)
class Move:
    """One remediation action: when, what, and the weights after it (when it applied)."""

    at: datetime
    kind: str
    applied: bool
    before: Mapping[str, int]
    after: Mapping[str, int]


def _percent(weights: Mapping[str, int]) -> dict[str, float]:
    total = sum(weights.values())
    return {k: (100.0 * v / total if total > 0 else 0.0) for k, v in weights.items()}


def steps(moves: Sequence[Move], start: datetime) -> dict[str, list[tuple[datetime, float]]]:
    """Per backend, (time, percent of the route) at start and at every applied change."""
    ordered = sorted(moves, key=lambda m: m.at)
    if not ordered:
        return {}
    current = _percent(ordered[0].before or ordered[0].after)
    series: dict[str, list[tuple[datetime, float]]] = {k: [(start, v)] for k, v in current.items()}
    for move in ordered:
        if not move.applied or not move.after:
            continue
        for backend, value in _percent(move.after).items():
            series.setdefault(backend, [(start, 0.0)]).append((move.at, value))
    return series


def weights_chart(moves: Sequence[Move], start: datetime, end: datetime, title: str) -> str:
    """The step chart over [start, end]; empty moves draw an empty frame that says so."""
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    span = max((end - start).total_seconds(), 1.0)

    def x(at: datetime) -> float:
        return _LEFT + plot_w * min(max((at - start).total_seconds() / span, 0.0), 1.0)

    def y(value: float) -> float:
        return _TOP + plot_h * (1.0 - value / 100.0)

    series = steps(moves, start)
    parts = [
        f'<svg class="chart chart-weights" data-kind="weights" data-actions="{len(moves)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="xMidYMid meet" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<rect class="frame" x="{_LEFT}" y="{_TOP}" width="{plot_w}" height="{plot_h}" '
        'fill="none" stroke="#d1d5db"/>',
    ]
    for tick in (0, 25, 50, 75, 100):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{_LEFT + plot_w}" y1="{y(tick):.2f}" '
            f'y2="{y(tick):.2f}" stroke="#eef0f3"/><text x="{_LEFT - 6}" y="{y(tick) + 4:.2f}" '
            f'text-anchor="end" font-size="11" fill="#4b5563">{tick}%</text>'
        )
    for at, anchor in ((start, "start"), (end, "end")):
        parts.append(
            f'<text x="{x(at):.2f}" y="{HEIGHT - 8}" text-anchor="{anchor}" font-size="11" '
            f'fill="#4b5563">{at.strftime("%Y-%m-%d %H:%M")}</text>'
        )
    for move in sorted(moves, key=lambda m: m.at):
        color = ACTION_COLORS.get(move.kind, "#6b7280")
        dash = "" if move.applied else ' stroke-dasharray="3 3"'
        parts.append(
            f'<line class="action action-{escape(move.kind)}" data-kind="{escape(move.kind)}" '
            f'data-at="{move.at.isoformat()}" data-applied="{str(move.applied).lower()}" '
            f'x1="{x(move.at):.2f}" x2="{x(move.at):.2f}" y1="{_TOP}" y2="{_TOP + plot_h}" '
            f'stroke="{color}"{dash}/><text x="{x(move.at) + 3:.2f}" y="{_TOP + 11}" '
            f'font-size="10" fill="{color}">{escape(move.kind)}</text>'
        )
    for index, (backend, points) in enumerate(sorted(series.items())):
        color = PALETTE[index % len(PALETTE)]
        coords: list[str] = []
        for i, (at, value) in enumerate(points):
            if i:
                coords.append(f"{x(at):.2f},{y(points[i - 1][1]):.2f}")  # hold, then step
            coords.append(f"{x(at):.2f},{y(value):.2f}")
        coords.append(f"{x(end):.2f},{y(points[-1][1]):.2f}")
        parts.append(
            f'<polyline class="weights" data-backend="{escape(backend)}" '
            f'points="{" ".join(coords)}" fill="none" stroke="{color}" stroke-width="2"/>'
            f'<text x="{_LEFT + 6 + 110 * index}" y="{HEIGHT - 8 - 14}" font-size="11" '
            f'fill="{color}">■ {escape(backend)} {points[-1][1]:.0f}%</text>'
        )
    if not moves:
        parts.append(
            f'<text x="{_LEFT + plot_w / 2:.2f}" y="{_TOP + plot_h / 2:.2f}" '
            'text-anchor="middle" font-size="12" fill="#6b7280">no remediation actions '
            "in this range</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
