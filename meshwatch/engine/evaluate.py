"""One evaluation cycle: every SLO's status at `now`, from either collector.

This is a plain function of (SLOs, collector, now); the job in `meshwatch.jobs` calls it on
an interval and stores the result. It builds the cycle's plan (`engine.plan`: per SLO the
burn-rate windows, the SLO period so far, latency buckets, remediation backends), asks the
collector for all of it in ONE `measure` call, and lets `meshwatch.slo.evaluate` turn the
counts into statuses. It also computes the aggregates users look at: per service and mesh.

A failure in one SLO (a bad query, a missing series, a bug) makes that SLO `unknown` with
the reason; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import assert_never

from meshwatch.collectors.base import Measured, SLICollector, SLOPlan
from meshwatch.engine.plan import PERCENTILE_WINDOW, PERCENTILES, THROUGHPUT_WINDOW, build_plan
from meshwatch.errors import CollectorError, NoDataError, NoSeriesError
from meshwatch.model import (
    SLO,
    STATE_SEVERITY,
    Counts,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    SLOStatus,
    State,
    format_duration,
)
from meshwatch.slo.evaluate import evaluate, throughput_of, unknown_status
from meshwatch.slo.histogram import histogram_quantiles
from meshwatch.slo.periods import current_period, utc
from meshwatch.slo.timeslices import slices_in

log = logging.getLogger(__name__)
_QUANTILES = tuple(q for _, q in PERCENTILES)


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


def evaluate_measured(plan: SLOPlan, measured: Measured, now: datetime) -> SLOStatus:
    """One SLO's status from what the collector measured for its plan."""
    slo = plan.slo
    errors: list[str] = []
    # Timeslices: budget, SLIs and burn rates in slices; throughput still in requests
    counted = measured.counts if slo.timeslices is None else measured.slices
    by_window: dict[timedelta, Counts | None] = {}
    for window in plan.windows:  # every window of every SLO, every cycle
        value = counted.get(window)
        by_window[window] = value if type(value) is Counts else _counts(value, errors)
    period_counts = _counts(counted.get(plan.period), errors)
    period_slices = None
    if slo.timeslices is not None and period_counts is not None:
        whole = slices_in(current_period(slo.window, now).length, slo.timeslices.slice)
        period_slices = max(float(whole), period_counts.total)
    status = evaluate(
        slo,
        by_window,
        now,
        period_counts=period_counts,
        period_requests=period_slices,
        latency=_latency(plan, measured),
        source_error=errors[0] if errors else None,
        coverage=measured.coverage,
        conditions=plan.conditions,
    )
    if slo.timeslices is not None:
        requests = {w: _counts(measured.counts.get(w), []) for w in plan.windows}
        status = replace(status, throughput=throughput_of(requests))
    return status


def _counts(value: Counts | CollectorError | None, errors: list[str]) -> Counts | None:
    """Counts for `slo.evaluate`: no series -> None, no traffic -> zero; a failure is noted."""
    if isinstance(value, Counts):
        return value
    if value is None or isinstance(value, NoSeriesError):
        return None
    if isinstance(value, NoDataError):
        return Counts(0.0, 0.0)
    errors.append(str(value))
    return None


def _latency(plan: SLOPlan, measured: Measured) -> dict[str, float | None]:
    sli = plan.slo.sli
    match sli:
        case NativeLatencySLI():
            found = {name: measured.quantiles.get(q) for name, q in PERCENTILES}
            return {name: v if isinstance(v, float) else None for name, v in found.items()}
        case LatencySLI():
            buckets = measured.buckets.get(PERCENTILE_WINDOW)
            if buckets is None or isinstance(buckets, CollectorError):
                return {name: None for name, _ in PERCENTILES}
            # in any order: `histogram_quantiles` sorts and merges the bounds itself
            values = histogram_quantiles(_QUANTILES, list(buckets.items()))
            return {name: v for (name, _), v in zip(PERCENTILES, values, strict=True)}
        case RatioSLI() | QuerySLI() | RawSLI():
            return {}
        case _:
            assert_never(sli)


def _backends(
    plan: SLOPlan, measured: Measured | None, failure: CollectorError | None
) -> list[BackendMeasurement]:
    out = []
    for backend in plan.backends:
        counts = measured.backends.get(backend.name) if measured is not None else None
        if counts is None:
            error = failure or CollectorError(f"backend {backend.name} was not measured")
            counts = dict.fromkeys(backend.windows, error)
        out.append(BackendMeasurement(plan.slo.id, backend.name, dict(counts)))
    return out


def aggregate(name: str, statuses: Sequence[SLOStatus]) -> Aggregate:
    """Roll statuses up: worst state, lowest budget left, total throughput, weighted errors."""
    by_state = {state.value: 0 for state in State}
    worst, severity = State.UNKNOWN, -1
    budget_min: float | None = None
    throughput, throughputs = 0.0, 0
    errors = total = 0.0
    weighted = False
    window = format_duration(THROUGHPUT_WINDOW)
    # one pass: per service and for the whole mesh, every cycle
    for s in statuses:
        state = s.state
        by_state[state.value] += 1
        if (rank := STATE_SEVERITY[state]) > severity:
            worst, severity = state, rank
        if (budget := s.budget_remaining) is not None:
            budget_min = budget if budget_min is None else min(budget_min, budget)
        if s.throughput is not None:
            throughput += s.throughput
            throughputs += 1
        sli, requests = s.sli.get(window), s.requests.get(window)
        if sli is not None and requests is not None and requests > 0:
            errors += (1.0 - sli) * requests  # request-weighted, as `sum_counts` adds them
            total += requests
            weighted = True
    return Aggregate(
        name=name,
        state=worst,
        slos=len(statuses),
        by_state=by_state,
        budget_remaining_min=budget_min,
        throughput=throughput if throughputs else None,
        error_ratio=errors / total if weighted and total > 0 else None,
    )


def evaluate_all(slos: Sequence[SLO], collector: SLICollector, now: datetime) -> Evaluation:
    """Evaluate every SLO at `now` from ONE `collector.measure` call over the cycle's plan.

    A source that fails as a whole makes every SLO `unknown` with its reason; a failure in
    one SLO's numbers (or a bug) makes only that SLO `unknown`.
    """
    now = utc(now)
    plans = {plan.slo.id: plan for plan in build_plan(slos, now)}
    failure: CollectorError | None = None
    try:
        measured = collector.measure(tuple(plans.values()), now)
    except CollectorError as exc:
        failure, measured = exc, {}
    statuses: list[SLOStatus] = []
    backends: list[BackendMeasurement] = []
    errors: dict[str, str] = {}
    for slo in slos:
        plan = plans.get(slo.id)
        found = measured.get(slo.id)
        if plan is None:
            statuses.append(unknown_status(slo, now, "the SLO period has just started"))
            continue
        if plan.backends:
            backends.extend(_backends(plan, found, failure))
        try:
            if found is None:
                raise failure or CollectorError("the collector did not measure this SLO")
            status = evaluate_measured(plan, found, now)
            if (problem := found.source_error()) is not None:
                errors[slo.id] = problem
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
        backends=tuple(backends),
        services=tuple(aggregate(name, group) for name, group in sorted(by_service.items())),
        mesh=aggregate("mesh", statuses),
        errors=errors,
    )
