"""Build a `Report` from what was measured: a pure function of SLOs, counts, alerts and actions.

The report period is tiled with non-overlapping measured windows. From stored history each
status carries request counts and SLIs per window (`5m`, `1h`, ...): walking the statuses in
time order, each one contributes the longest of its windows that ends at its time and does not
reach back into time already counted, so errors and requests are *summed* over the period
(request-weighted) rather than averaged point by point. Time no window covers lowers
`coverage`; it is never filled in. From Prometheus, the period's counts are one `increase()`
over the whole period and the buckets are `increase()` over each step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meshwatch.errors import NoDataError
from meshwatch.model import SLO, Counts, State
from meshwatch.render.report_slices import Measured, Slice, slices_from_statuses
from meshwatch.render.reports import (
    ActionItem,
    AlertItem,
    Bucket,
    Budget,
    Gap,
    Report,
    ReportPeriod,
    SLOReport,
    StateName,
    Summary,
)
from meshwatch.slo.budget import ErrorBudget, sum_counts
from meshwatch.slo.evaluate import DEFAULT_WARN_BELOW, EXHAUSTED_TOLERANCE
from meshwatch.slo.report_periods import report_bounds, report_step
from meshwatch.slo.streams import StreamKey, distinct_total, stream_key

WORST_WINDOWS = 3
DEFAULT_MIN_COVERAGE = 0.1  # settings `min_coverage`
__all__ = ["Measured", "Slice", "slices_from_statuses"]  # re-exported for callers


@dataclass(frozen=True, slots=True)
class AlertInput:
    name: str
    severity: str
    status: str
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class ActionInput:
    kind: str
    target: str
    state: str
    created_at: datetime
    reason: str
    dry_run: bool


@dataclass(frozen=True, slots=True)
class SLOInput:
    """Everything measured about one SLO. `period_counts` (Prometheus) overrides the slices'
    sum for the period totals; the slices still give the buckets."""

    slo: SLO
    slices: Sequence[Slice]
    alerts: Sequence[AlertInput] = ()
    actions: Sequence[ActionInput] = ()
    period_counts: Counts | None = None


def report_window(
    period: ReportPeriod, at: datetime, time_zone: str = "UTC"
) -> tuple[datetime, datetime]:
    """`(start, end)` of the report: the span before `at`, the last full calendar unit (in
    `time_zone`), or the explicit `START/END` (see `meshwatch.slo.report_periods`)."""
    return report_bounds(period, at, time_zone)


_STEP_REFERENCE = datetime(2026, 1, 15, tzinfo=UTC)


def step_for(period: ReportPeriod) -> timedelta:
    """Bucket length (at most 200 buckets): 5 min for 1 h, hourly for a week, 6-hourly for a
    month, daily for a quarter. Calendar units of any real length fall on the same step."""
    return report_step(*report_bounds(period, _STEP_REFERENCE))


def _buckets(
    slices: Sequence[Slice], start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, datetime, Counts | None]]:
    """Sum the slices into steps of `step` from `start` (a slice belongs to the step it ends in)."""
    count = max(1, math.ceil((end - start) / step))
    errors = [0.0] * count
    totals = [0.0] * count
    seen = [False] * count
    origin = start + timedelta(microseconds=1)  # a slice ending on a boundary is the earlier step
    for item in slices:
        index = min(max((item.end - origin) // step, 0), count - 1)
        errors[index] += item.errors
        totals[index] += item.total
        seen[index] = True
    out = []
    for i in range(count):
        lo = start + step * i
        counts = Counts(errors[i], totals[i]) if seen[i] else None
        out.append((lo, min(lo + step, end), counts))
    return out


def _state(budget: ErrorBudget | None) -> StateName:
    if budget is None:
        return State.UNKNOWN.value
    if budget.remaining <= EXHAUSTED_TOLERANCE:
        return State.BREACHED.value
    if budget.remaining < DEFAULT_WARN_BELOW:
        return State.WARNING.value
    return State.OK.value


def _budget(counts: Counts, slo: SLO, length: timedelta) -> ErrorBudget | None:
    try:
        return ErrorBudget.from_counts(counts, slo.target, length)
    except NoDataError:
        return None


def _ratio(errors: float, total: float) -> float | None:
    return None if total <= 0 else 1.0 - min(errors / total, 1.0)


def _gaps(buckets: Sequence[Bucket]) -> list[Gap]:
    """Runs of steps without data, merged."""
    gaps: list[Gap] = []
    for bucket in buckets:
        if bucket.requests is not None:
            continue
        if gaps and gaps[-1].end == bucket.start:
            gaps[-1] = Gap(start=gaps[-1].start, end=bucket.end)
        else:
            gaps.append(Gap(start=bucket.start, end=bucket.end))
    return gaps


def slo_report(
    item: SLOInput,
    start: datetime,
    end: datetime,
    step: timedelta,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> SLOReport:
    """The report of one SLO over (start, end]; coverage is measured from the slices."""
    slo = item.slo
    length = end - start
    covered = sum(
        ((s.end - s.start if s.covered is None else s.covered) for s in item.slices), timedelta(0)
    )
    covered = min(covered, length)
    counts = item.period_counts or sum_counts(Counts(s.errors, s.total) for s in item.slices)
    coverage = covered / length
    budget = _budget(counts, slo, length)
    allowed = slo.error_budget * counts.total
    buckets: list[Bucket] = []
    spent = 0.0
    seen = False
    for lo, hi, part in _buckets(item.slices, start, end, step):
        if part is not None:
            spent += part.errors
            seen = True
        remaining = (1.0 - spent / allowed) if seen and allowed > 0 else None
        buckets.append(
            Bucket(
                start=lo,
                end=hi,
                requests=None if part is None else part.total,
                errors=None if part is None else part.errors,
                sli=None if part is None else _ratio(part.errors, part.total),
                burn_rate=(
                    None
                    if part is None or part.total <= 0
                    else min(part.errors / part.total, 1.0) / slo.error_budget
                ),
                budget_remaining=remaining,
            )
        )
    worst = sorted(
        (b for b in buckets if b.burn_rate is not None and b.burn_rate > 0),
        key=lambda b: (-(b.burn_rate or 0.0), b.start),
    )[:WORST_WINDOWS]
    return SLOReport(
        slo_id=slo.id,
        service=slo.service,
        name=slo.name,
        description=slo.description,
        objective=slo.objective,
        state=_state(budget),
        requests=counts.total if counts.total > 0 else None,
        errors=counts.errors if counts.total > 0 else None,
        unit="requests" if slo.timeslices is None else "slices",
        achieved_sli=_ratio(counts.errors, counts.total),
        budget=None if budget is None else _budget_out(budget),
        coverage=coverage,
        covered_minutes=covered.total_seconds() / 60.0,
        low_coverage=coverage < min_coverage,
        gaps=_gaps(buckets),
        worst_windows=worst,
        alerts=[
            AlertItem(
                name=a.name,
                severity=a.severity,
                status=a.status,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
            )
            for a in sorted(item.alerts, key=lambda a: (a.starts_at, a.name))
            if a.starts_at < end and (a.ends_at is None or a.ends_at >= start)
        ],
        actions=[
            ActionItem(
                kind=a.kind,
                target=a.target,
                state=a.state,
                created_at=a.created_at,
                reason=a.reason,
                dry_run=a.dry_run,
            )
            for a in sorted(item.actions, key=lambda a: (a.created_at, a.kind))
            if start <= a.created_at < end
        ],
        buckets=buckets,
    )


def _budget_out(budget: ErrorBudget) -> Budget:
    return Budget(
        consumed_ratio=budget.consumed,
        remaining_ratio=budget.remaining,
        total_minutes=budget.total_seconds / 60.0,
        consumed_minutes=budget.consumed_seconds / 60.0,
        remaining_minutes=budget.remaining_seconds / 60.0,
        total_requests=budget.total_requests,
        consumed_requests=budget.consumed_requests,
        remaining_requests=budget.remaining_requests,
    )


def summarize(
    name: str, slos: Sequence[SLOReport], streams: Mapping[str, StreamKey] | None = None
) -> Summary:
    """Roll-up: distinct requests (by `streams`, slo_id -> stream), the lowest budget left,
    failed events summed, states counted. Without `streams`, SLOs are not added up."""
    by_state = {state.value: 0 for state in State}
    for report in slos:
        by_state[report.state] += 1
    measured = [Counts(r.errors, r.requests) for r in slos if r.requests and r.errors is not None]
    total = sum_counts(measured)
    keys = streams or {}
    requests = distinct_total(
        (keys.get(r.slo_id, StreamKey("unknown", r.slo_id)), r.requests) for r in slos
    )
    budgets = [r.budget.remaining_ratio for r in slos if r.budget is not None]
    return Summary(
        name=name,
        slos=len(slos),
        by_state=by_state,
        requests=requests.value if measured else None,
        requests_exact=requests.exact,
        errors=total.errors if measured else None,
        achieved_sli=_ratio(total.errors, total.total) if measured else None,
        lowest_budget_remaining=min(budgets) if budgets else None,
        alerts=sum(len(r.alerts) for r in slos),
        actions=sum(len(r.actions) for r in slos),
    )


def build_report(
    items: Sequence[SLOInput],
    *,
    period: ReportPeriod,
    start: datetime,
    end: datetime,
    source: str,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> Report:
    """The whole report: per SLO (sorted by id), per service, and mesh-wide."""
    step = step_for(period)
    reports = sorted(
        (slo_report(item, start, end, step, min_coverage) for item in items),
        key=lambda r: r.slo_id,
    )
    streams = {item.slo.id: stream_key(item.slo) for item in items}
    services = sorted({r.service for r in reports})
    return Report(
        title=f"SLO report {period}, {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC",
        period=period,
        start=start,
        end=end,
        source="prometheus" if source == "prometheus" else "history",
        step_minutes=int(step.total_seconds() // 60),
        min_coverage=min_coverage,
        mesh=summarize("mesh", reports, streams),
        services=[summarize(s, [r for r in reports if r.service == s], streams) for s in services],
        slos=reports,
    )
