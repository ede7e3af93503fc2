"""One evaluation cycle: every SLO's status at `now`, from either collector.

This is a plain function of (SLOs, collector, now); the job in `meshwatch.jobs` calls it on
an interval and stores the result. It measures, per SLO, the burn-rate windows, the SLO
period so far, and (for latency histograms) the percentiles; `meshwatch.slo.evaluate` turns
those counts into a status. It also measures each remediation backend on its short windows
and computes the aggregates users look at: per service and mesh-wide.

A failure in one SLO (a bad query, a missing series, a bug) makes that SLO `unknown` with
the reason; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meshwatch.collectors.base import NO_SERIES, SLICollector, WindowCounts
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLO, Counts, LatencySLI, SLOStatus, State, format_duration
from meshwatch.slo.budget import sum_counts
from meshwatch.slo.evaluate import evaluate, unknown_status
from meshwatch.slo.histogram import histogram_quantile
from meshwatch.slo.periods import current_period, utc
from meshwatch.slo.policy import alert_windows

log = logging.getLogger(__name__)

PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p90", 0.9), ("p99", 0.99))
THROUGHPUT_WINDOW = timedelta(minutes=5)
_STATE_RANK = {State.OK: 0, State.UNKNOWN: 1, State.WARNING: 2, State.BREACHED: 3}


@dataclass(frozen=True, slots=True)
class BackendMeasurement:
    """One remediation backend's counts on its policy's short windows."""

    slo_id: str
    backend: str
    counts: Mapping[timedelta, Counts | CollectorError]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """A roll-up of several SLOs (one service, or the whole mesh).

    `error_ratio` is request-weighted over `THROUGHPUT_WINDOW` across the SLOs that had
    traffic; `state` is the worst state (breached > warning > unknown > ok).
    """

    name: str
    state: State
    slos: int
    by_state: Mapping[str, int]
    budget_remaining_min: float | None
    throughput: float | None
    error_ratio: float | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    at: datetime
    statuses: tuple[SLOStatus, ...]
    backends: tuple[BackendMeasurement, ...] = ()
    services: tuple[Aggregate, ...] = ()
    mesh: Aggregate | None = None
    errors: Mapping[str, str] = field(default_factory=dict)  # slo_id -> failure reason


def windows_for(slo: SLO, now: datetime) -> tuple[tuple[timedelta, ...], timedelta]:
    """The windows an SLO needs measured: burn-rate windows + throughput, and its period."""
    period = current_period(slo.window, now)
    elapsed = period.now - period.start
    wanted = {THROUGHPUT_WINDOW}
    for window in alert_windows(slo):
        wanted.update((window.long, window.short))
    return tuple(sorted(wanted)), elapsed


def evaluate_slo(slo: SLO, collector: SLICollector, now: datetime) -> SLOStatus:
    """Measure and evaluate one SLO; a failing source makes it `unknown` with the reason."""
    windows, elapsed = windows_for(slo, now)
    if elapsed <= timedelta(0):
        return unknown_status(slo, now, "the SLO period has just started")
    measured = collector.counts(slo.sli, (*windows, elapsed), now)
    errors: list[str] = []
    by_window = {window: _counts(measured.get(window), errors) for window in windows}
    period_counts = _counts(measured.get(elapsed), errors)
    return evaluate(
        slo,
        by_window,
        now,
        period_counts=period_counts,
        latency=_latency(slo, collector, now),
        source_error=errors[0] if errors else None,
    )


def _counts(value: Counts | CollectorError | None, errors: list[str]) -> Counts | None:
    """Counts for `slo.evaluate`: no series -> None, no traffic -> zero; a failure is noted."""
    if isinstance(value, Counts):
        return value
    if value is None or (isinstance(value, NoDataError) and value.reason == NO_SERIES):
        return None
    if isinstance(value, NoDataError):
        return Counts(0.0, 0.0)
    errors.append(str(value))
    return None


def _latency(slo: SLO, collector: SLICollector, now: datetime) -> dict[str, float | None]:
    if not isinstance(slo.sli, LatencySLI):
        return {}
    buckets = collector.buckets(slo.sli, (THROUGHPUT_WINDOW,), now).get(THROUGHPUT_WINDOW)
    if buckets is None or isinstance(buckets, CollectorError):
        return {name: None for name, _ in PERCENTILES}
    pairs = sorted(buckets.items())
    return {name: histogram_quantile(q, pairs) for name, q in PERCENTILES}


def measure_backends(
    slos: Iterable[SLO], collector: SLICollector, now: datetime
) -> tuple[BackendMeasurement, ...]:
    """Counts of every remediation backend on its policy's short windows."""
    measurements = []
    for slo in slos:
        policy = slo.remediation
        if policy is None:
            continue
        for backend in policy.backends:
            counts: WindowCounts
            try:
                counts = collector.counts(backend.sli, policy.short_windows, now)
            except CollectorError as exc:
                counts = dict.fromkeys(policy.short_windows, exc)
            measurements.append(BackendMeasurement(slo.id, backend.name, dict(counts)))
    return tuple(measurements)


def aggregate(name: str, statuses: Sequence[SLOStatus]) -> Aggregate:
    """Roll statuses up: worst state, lowest budget left, total throughput, weighted errors."""
    by_state = {state.value: 0 for state in State}
    for status in statuses:
        by_state[status.state.value] += 1
    worst = max((s.state for s in statuses), key=_STATE_RANK.__getitem__, default=State.UNKNOWN)
    budgets = [s.budget_remaining for s in statuses if s.budget_remaining is not None]
    throughputs = [s.throughput for s in statuses if s.throughput is not None]
    window = format_duration(THROUGHPUT_WINDOW)
    weighted = [
        Counts((1.0 - sli) * requests, requests)
        for s in statuses
        if (sli := s.sli.get(window)) is not None
        and (requests := s.requests.get(window)) is not None
        and requests > 0
    ]
    total = sum_counts(weighted) if weighted else None
    return Aggregate(
        name=name,
        state=worst,
        slos=len(statuses),
        by_state=by_state,
        budget_remaining_min=min(budgets) if budgets else None,
        throughput=sum(throughputs) if throughputs else None,
        error_ratio=total.errors / total.total if total and total.total > 0 else None,
    )


def evaluate_all(slos: Sequence[SLO], collector: SLICollector, now: datetime) -> Evaluation:
    """Evaluate every SLO at `now`; per-SLO failures become `unknown` with the reason."""
    now = utc(now)
    statuses: list[SLOStatus] = []
    errors: dict[str, str] = {}
    for slo in slos:
        try:
            status = evaluate_slo(slo, collector, now)
        except CollectorError as exc:
            status = unknown_status(slo, now, str(exc))
            errors[slo.id] = str(exc)
        except Exception as exc:  # one broken SLO must not stop the cycle
            log.exception("evaluating %s failed", slo.id)
            status = unknown_status(slo, now, f"internal error: {type(exc).__name__}: {exc}")
            errors[slo.id] = status.reason
        statuses.append(status)
    by_service: dict[str, list[SLOStatus]] = {}
    for status in statuses:
        by_service.setdefault(status.service, []).append(status)
    return Evaluation(
        at=now,
        statuses=tuple(statuses),
        backends=measure_backends(slos, collector, now),
        services=tuple(aggregate(name, group) for name, group in sorted(by_service.items())),
        mesh=aggregate("mesh", statuses),
        errors=errors,
    )
