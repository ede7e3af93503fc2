"""Units of the figures meshwatch shows, and how humans read them (`97.9 ms`, `1.24 s`).

Latency is stored in the histogram's own unit: milliseconds for Istio, Envoy and Linkerd
(and histograms named `*_milliseconds`/`*_ms`), seconds for `*_seconds` (most apps).
A histogram whose name tells no unit keeps its bare number, marked as such.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Literal, assert_never

from meshwatch.model import SLO, LatencySLI, NativeLatencySLI, QuerySLI, RatioSLI, RawSLI

LatencyUnit = Literal["ms", "s"]
_TO_SECONDS: dict[str, float] = {"ms": 0.001, "s": 1.0}


def latency_unit(slo: SLO) -> LatencyUnit | None:
    """The unit of `SLOStatus.latency` for `slo`, when it can be known."""
    if slo.mesh is not None:
        return "ms"  # Istio, Envoy and Linkerd histograms are in milliseconds
    match slo.sli:
        case LatencySLI() | NativeLatencySLI():
            return histogram_unit(slo.sli.histogram)
        case RatioSLI() | QuerySLI() | RawSLI():
            return None
        case _:
            assert_never(slo.sli)


def histogram_unit(histogram: str) -> LatencyUnit | None:
    """The unit of a histogram's bounds from its name (Prometheus naming: base unit suffix)."""
    name = histogram.lower()
    if name.endswith(("_milliseconds", "_ms")):
        return "ms"
    if name.endswith("_seconds"):
        return "s"
    return None


def to_seconds(value: float | None, unit: LatencyUnit | None) -> float | None:
    """A latency in seconds (None when the value or its unit is unknown)."""
    if value is None or unit is None or not math.isfinite(value):
        return None
    return value * _TO_SECONDS[unit]


def latency(value: float | None, unit: LatencyUnit | None) -> str:
    """`97.9 ms`, `1.24 s`, `850 µs`; the bare number with `(histogram unit)` if unknown."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return "> largest bucket"
    seconds = to_seconds(value, unit)
    if seconds is None:
        return f"{value:.4g} (histogram unit)"
    if seconds >= 1.0:
        return f"{seconds:.3g} s"
    if seconds >= 0.001:
        return f"{seconds * 1000:.3g} ms"
    return f"{seconds * 1_000_000:.3g} µs"


def throughput(value: float | None) -> str:
    """Requests per second: `20.1 req/s`, `0.35 req/s`."""
    if value is None:
        return "—"
    return f"{value:,.1f} req/s" if value >= 1 else f"{value:.2g} req/s"


def span(delta: timedelta | float | None) -> str:
    """A duration as read: `32 min`, `5.5 h`, `7 d` (floats are minutes)."""
    if delta is None:
        return "—"
    minutes = delta.total_seconds() / 60 if isinstance(delta, timedelta) else delta
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"
