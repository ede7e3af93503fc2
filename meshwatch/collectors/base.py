"""What the evaluation engine needs from any metrics source (Prometheus or the scraper).

One small Protocol: `counts`/`buckets` answer one SLI over many windows (reports, ad-hoc
use), and `measure` answers a whole cycle's plan — every SLO, its windows, period, latency
buckets and remediation backends — in one batch call keyed by SLO id (the engine builds the
plan; the collector decides how to fetch it: Prometheus in O(1) queries from the recorded
series, the scraper from its in-process history). Windows end at `now` (UTC-aware).

Per-window failures are values, not exceptions, so one bad window (or one SLI kind the
source cannot compute) never hides the others:

* `NoSeriesError`   ("no series") the selector matches no series at all;
* `NoTrafficError`  ("no traffic") series exist but no event happened in the window;
* `CollectorError(...)`        the source cannot compute this SLI (the scraper answers
                               `CollectorError("needs Prometheus")` for QuerySLI/RawSLI)
                               or failed for this SLI.

A collector raises `CollectorError` only when the whole source is unusable (Prometheus down).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, assert_never

from meshwatch import errors
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import (
    SLI,
    SLO,
    BurnRateWindow,
    Counts,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
)

log = logging.getLogger(__name__)

NEEDS_PROMETHEUS = "needs Prometheus"
NO_SERIES = errors.NO_SERIES  # the messages of NoSeriesError / NoTrafficError
NO_TRAFFIC = errors.NO_TRAFFIC

WindowCounts = Mapping[timedelta, Counts | CollectorError]
"""Counts of one SLI per window, or why that window is unknown."""

BucketCounts = Mapping[float, float]
"""Increase of a classic histogram's cumulative buckets over a window: upper bound (`le`,
`math.inf` for `+Inf`) -> events at or under it. Input to `histogram_quantile`."""

WindowBuckets = Mapping[timedelta, BucketCounts | CollectorError]


@dataclass(frozen=True, slots=True)
class BackendPlan:
    """One remediation backend to measure on its policy's short windows."""

    name: str
    sli: SLI
    windows: tuple[timedelta, ...]


@dataclass(frozen=True, slots=True)
class SLOPlan:
    """What one SLO needs measured in one cycle; the engine builds it (`engine.plan`).

    `windows` are the burn-rate and throughput windows; `period` is the part of the SLO
    period that ends at `now` (the whole length of a rolling window, the elapsed part of a
    calendar one); `bucket_windows` are the windows whose histogram buckets give the
    latency percentiles (latency SLIs only); `quantiles` (native-histogram latency SLIs only)
    are the percentiles the collector computes itself over the first bucket window.
    """

    slo: SLO
    windows: tuple[timedelta, ...]
    period: timedelta
    bucket_windows: tuple[timedelta, ...] = ()
    backends: tuple[BackendPlan, ...] = ()
    quantiles: tuple[float, ...] = ()
    conditions: tuple[BurnRateWindow, ...] | None = None
    """The SLO's enabled alert conditions (`slo.policy.alert_windows`), when the engine
    worked them out with the plan; None: work them out from the SLO."""
    count_windows: tuple[timedelta, ...] = field(init=False, repr=False, compare=False)
    """Every window `Measured.counts` answers: `windows` and the period (read several times
    per SLO and cycle, so computed once)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "count_windows", _count_windows(self.windows, self.period))


@functools.lru_cache(maxsize=1024)
def _count_windows(windows: tuple[timedelta, ...], period: timedelta) -> tuple[timedelta, ...]:
    """`windows` and the period, once each: the same few pairs for every SLO, every cycle."""
    return tuple(dict.fromkeys((*windows, period)))


@dataclass(frozen=True, slots=True)
class Measured:
    """The answers to one `SLOPlan`; failures per window are values, as in `counts`.

    `coverage` is the share of the SLO period, ending at `now`, that has samples (0..1), or
    None when the source cannot tell.
    """

    counts: WindowCounts
    buckets: WindowBuckets = field(default_factory=dict)
    backends: Mapping[str, WindowCounts] = field(default_factory=dict)
    coverage: float | None = None
    # Timeslices SLOs only: every count window in slices (errors = bad slices, total =
    # slices counted), see `meshwatch.collectors.slices`
    slices: WindowCounts = field(default_factory=dict)
    # native-histogram latency SLIs only: each of `SLOPlan.quantiles` (0..1) over the plan's
    # first bucket window, or why it is unknown (no series, no traffic, a failed query)
    quantiles: Mapping[float, float | CollectorError] = field(default_factory=dict)

    def source_error(self) -> str | None:
        """The first failure (not "no data") among the counts, if any: the reason to show."""
        for value in self.counts.values():
            if type(value) is Counts:  # most windows, every SLO and cycle
                continue
            if isinstance(value, CollectorError) and not isinstance(value, NoDataError):
                return str(value)
        return None


Measurements = Mapping[str, Measured]
"""`Measured` by SLO id: the answer of one `SLICollector.measure` batch call."""


class SLICollector(Protocol):
    """A metrics source the engine can evaluate SLIs against."""

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        """Errors and total events of `sli` over each window ending at `now`.

        RatioSLI: total = increase(total); errors = increase(bad), or total - increase(good).
        LatencySLI: total = increase(_count); errors = total - increase(_bucket{le=threshold}).
        Every window in `windows` is a key of the result.
        """
        ...

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        """Per-window increase of every bucket of `sli`'s histogram, summed over matching series."""
        ...

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        """Everything every plan asks for, at `now`, keyed by SLO id: the one batch call of a
        cycle (Prometheus: O(1) queries in the number of SLOs when the rules are loaded)."""
        ...


def measure_each(collector: SLICollector, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
    """`measure` as one `counts`/`buckets` call per SLO and backend, for in-process sources
    (the scraper, tests) where a call costs no round trip. Coverage is left unknown."""
    found: dict[str, Measured] = {}
    for plan in plans:
        try:
            buckets: WindowBuckets = {}
            sli = plan.slo.sli
            match sli:
                case LatencySLI():
                    if plan.bucket_windows:
                        buckets = collector.buckets(sli, plan.bucket_windows, now)
                case NativeLatencySLI() | RatioSLI() | QuerySLI() | RawSLI():
                    pass  # only a classic histogram has per-bound buckets
                case _:
                    assert_never(sli)
            found[plan.slo.id] = Measured(
                counts=collector.counts(plan.slo.sli, plan.count_windows, now),
                buckets=buckets,
                backends={b.name: _backend(collector, b, now) for b in plan.backends},
            )
        except CollectorError:
            raise
        except Exception as exc:  # a bug measuring one SLO must not stop the others
            log.exception("measuring %s failed", plan.slo.id)
            error = CollectorError(f"internal error: {type(exc).__name__}: {exc}")
            found[plan.slo.id] = Measured(counts=dict.fromkeys(plan.count_windows, error))
    return found


def _backend(collector: SLICollector, backend: BackendPlan, now: datetime) -> WindowCounts:
    try:
        return collector.counts(backend.sli, backend.windows, now)
    except CollectorError as exc:
        return dict.fromkeys(backend.windows, exc)
