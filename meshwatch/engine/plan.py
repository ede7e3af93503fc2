"""The query plan of one evaluation cycle: what every SLO needs measured at `now`.

The engine owns this, so the service, the jobs and the collectors never compute their own
"hints": a collector gets the whole plan in one `measure` call and fetches it as it can
(Prometheus: from the recorded series in O(1) queries; the scraper: from its history).

Per SLO: the burn-rate windows of its alert policy plus the throughput window, the SLO
period up to `now`, the throughput window's histogram buckets for latency percentiles, and
each remediation backend's short windows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import assert_never

from meshwatch.collectors.base import BackendPlan, SLOPlan
from meshwatch.model import (
    SLI,
    SLO,
    Alerting,
    BurnRateWindow,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Window,
)
from meshwatch.slo.periods import current_period
from meshwatch.slo.policy import alert_windows, condition_windows

THROUGHPUT_WINDOW = timedelta(minutes=5)
PERCENTILE_WINDOW = THROUGHPUT_WINDOW  # percentiles are read over the throughput window
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))


def windows_for(slo: SLO, now: datetime) -> tuple[tuple[timedelta, ...], timedelta]:
    """The windows an SLO needs measured: burn-rate windows + throughput, and its period."""
    period = current_period(slo.window, now)
    return tuple(sorted({THROUGHPUT_WINDOW, *condition_windows(slo)})), period.now - period.start


def plan_for(slo: SLO, now: datetime) -> SLOPlan:
    return _plan(slo, *windows_for(slo, now), alert_windows(slo))


def _plan(
    slo: SLO,
    windows: tuple[timedelta, ...],
    period: timedelta,
    conditions: tuple[BurnRateWindow, ...],
) -> SLOPlan:
    policy = slo.remediation
    backends = (
        tuple(BackendPlan(b.name, b.sli, tuple(policy.short_windows)) for b in policy.backends)
        if policy is not None
        else ()
    )
    buckets, quantiles = _latency_plan(slo.sli)
    return SLOPlan(slo, windows, period, buckets, backends, quantiles, conditions)


def _latency_plan(sli: SLI) -> tuple[tuple[timedelta, ...], tuple[float, ...]]:
    """The bucket windows and collector-computed quantiles a kind's percentiles need."""
    match sli:
        case LatencySLI():
            return (PERCENTILE_WINDOW,), ()
        case NativeLatencySLI():  # percentiles computed by the collector (PromQL or buckets)
            return (PERCENTILE_WINDOW,), tuple(q for _, q in PERCENTILES)
        case RatioSLI() | QuerySLI() | RawSLI():
            return (), ()
        case _:
            assert_never(sli)


def build_plan(slos: Iterable[SLO], now: datetime) -> tuple[SLOPlan, ...]:
    """One plan per SLO whose period has begun (a period of zero length measures nothing).

    The windows and conditions depend only on an SLO's alerting and period, which most SLOs
    share (a spec's defaults are one instance each): they are worked out once per pair of
    those objects."""
    windows: dict[
        tuple[int, int],
        tuple[Alerting, Window, tuple[timedelta, ...], timedelta, tuple[BurnRateWindow, ...]],
    ]
    windows = {}  # by the objects' ids; holding them keeps the ids theirs for the whole call
    plans = []
    for slo in slos:
        key = (id(slo.alerting), id(slo.window))
        found = windows.get(key)
        if found is None:
            found = windows[key] = (
                slo.alerting,
                slo.window,
                *windows_for(slo, now),
                alert_windows(slo),
            )
        if found[3] > timedelta(0):
            plans.append(_plan(slo, found[2], found[3], found[4]))
    return tuple(plans)
