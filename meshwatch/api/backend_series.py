"""Each remediation backend's SLI and burn rate over time, from stored backend counts.

The SLO page and `/api/v1/slos/{id}/backends/history` read the same figures: per point and
window, the requests and errors the loop measured, the SLI (1 - errors/requests) and the burn
rate against the SLO's objective. A window without traffic has no SLI and no burn rate
(unknown, never 100 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from meshwatch.model import SLO, Counts, format_duration
from meshwatch.render.svg import Point
from meshwatch.slo.budget import burn_rate
from meshwatch.store import BackendPoint


@dataclass(frozen=True, slots=True)
class Figure:
    requests: float
    errors: float
    sli: float | None  # ratio 0..1
    burn_rate: float | None  # x the sustainable rate


def figure(counts: Counts, target: float) -> Figure:
    if counts.total <= 0:
        return Figure(counts.total, counts.errors, None, None)
    ratio = min(max(counts.errors, 0.0) / counts.total, 1.0)
    return Figure(counts.total, counts.errors, 1.0 - ratio, burn_rate(ratio, target))


def policy_windows(slo: SLO) -> tuple[str, ...]:
    """The loop's short windows of `slo`, shortest first (`1m`, `5m`); () without a policy."""
    if slo.remediation is None:
        return ()
    return tuple(format_duration(w) for w in sorted(slo.remediation.short_windows))


def by_backend(points: Sequence[BackendPoint]) -> dict[str, list[BackendPoint]]:
    out: dict[str, list[BackendPoint]] = {}
    for point in sorted(points, key=lambda p: (p.backend, p.at)):
        out.setdefault(point.backend, []).append(point)
    return out


def chart_series(
    points: Sequence[BackendPoint], windows: Sequence[str], target: float, what: str
) -> dict[tuple[str, str], list[Point]]:
    """Per (backend, window), `what` ("sli" or "burn_rate") at each point; a point where the
    window was not measured or had no traffic is a gap (None)."""
    out: dict[tuple[str, str], list[Point]] = {}
    for backend, series in by_backend(points).items():
        for window in windows:
            values = []
            for point in series:
                counts = point.counts.get(window)
                value = None if counts is None else getattr(figure(counts, target), what)
                values.append(Point(point.at, value))
            out[(backend, window)] = values
    return out
