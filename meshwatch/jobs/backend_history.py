"""The evaluation's per-backend measurements as backend-history points for the store."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from meshwatch.collectors.base import NO_SERIES
from meshwatch.engine.evaluate import BackendMeasurement
from meshwatch.errors import NoDataError
from meshwatch.model import Counts, format_duration
from meshwatch.store import BackendPoint


def backend_points(backends: Sequence[BackendMeasurement], at: datetime) -> list[BackendPoint]:
    """One point per backend: counts per window name; a window without traffic counts 0 of
    0 (measured, nothing served), one without series or that failed is left out, its reason
    kept (the first one) so the page can say why a line has a gap."""
    points = []
    for measurement in backends:
        counts: dict[str, Counts] = {}
        reasons: list[str] = []
        for window, value in sorted(measurement.counts.items()):
            name = format_duration(window)
            if isinstance(value, Counts):
                counts[name] = value
            elif isinstance(value, NoDataError) and value.reason != NO_SERIES:
                counts[name] = Counts(0.0, 0.0)
            else:
                reasons.append(f"{name}: {value}")
        points.append(
            BackendPoint(
                measurement.slo_id, measurement.backend, at, counts, reasons[0] if reasons else ""
            )
        )
    return points
