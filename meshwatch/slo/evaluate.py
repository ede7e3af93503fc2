"""An SLO's status from measured counts: the one decision both engines share.

The engine (Prometheus queries or the embedded scraper) measures `Counts` per window and for
the SLO period, and calls `evaluate`. State rules, in order:

1. `unknown` — the source failed (`source_error`), the data is stale, or the period has no
   series (`period_counts is None`) or no traffic (`total == 0`). Never 100 %.
2. `breached` — the period's error budget is spent (remaining <= 0, within 1e-9).
3. `warning` — a page or ticket burn-rate condition fires, or less than `warn_below`
   (default 25 %) of the budget remains.
4. `ok` — otherwise.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from meshwatch.errors import NO_SERIES, NoDataError
from meshwatch.model import (
    SLO,
    BurnRateWindow,
    Counts,
    Severity,
    SLOStatus,
    State,
    format_duration,
)
from meshwatch.slo.budget import BudgetFigures, ErrorBudget, allowed_error_ratio, error_ratio
from meshwatch.slo.kinds import has_counts
from meshwatch.slo.periods import period_length, utc
from meshwatch.slo.policy import (
    ConditionResult,
    alert_windows,
    evaluate_policy,
    over_threshold,
    window_ratio,
)

DEFAULT_WARN_BELOW = 0.25  # warn when less than a quarter of the budget is left
# A budget spent exactly (errors == (1 - target) x requests) is breached; float division can
# leave a remainder of 1e-16 either way, so anything within a billionth of 0 counts as spent.
EXHAUSTED_TOLERANCE = 1e-9


def unknown_status(
    slo: SLO,
    now: datetime,
    reason: str,
    *,
    latency: Mapping[str, float | None] | None = None,
) -> SLOStatus:
    """An `unknown` status with its reason and no numbers, e.g. when the source failed."""
    return SLOStatus(
        slo_id=slo.id,
        service=slo.service,
        slo=slo.name,
        at=utc(now),
        state=State.UNKNOWN,
        reason=reason,
        objective=slo.target,
        latency=dict(latency or {}),
    )


@functools.lru_cache(maxsize=256)
def _named(windows: tuple[timedelta, ...]) -> tuple[tuple[timedelta, str], ...]:
    """The windows in ascending order, each with its name: the maps' keys, in their order."""
    return tuple((window, format_duration(window)) for window in sorted(windows))


def _maps(
    counts_by_window: Mapping[timedelta, Counts | None], budget: float
) -> tuple[
    dict[timedelta, float | str],
    dict[str, float | None],
    dict[str, float | None],
    dict[str, float | None],
]:
    """Per window: the error ratio (or why there is none, as `window_ratios` gives it), and
    the SLI, burn rate (against the allowed error ratio `budget`) and request count by window
    name, None where there is no data; in one pass (every SLO, every cycle)."""
    ratios: dict[timedelta, float | str] = {}
    sli: dict[str, float | None] = {}
    burn: dict[str, float | None] = {}
    requests: dict[str, float | None] = {}
    for window, name in _named(tuple(counts_by_window)):
        counts = counts_by_window[window]
        if counts is None:
            requests[name] = None
            ratio: float | str = window_ratio(counts_by_window, window)
        else:
            requests[name] = total = counts.total
            errors = counts.errors
            # `error_ratio`'s own fast path: traffic, finite, not negative (NaN fails it)
            if total > 0.0 and errors >= 0.0 and total + errors < math.inf:
                ratio = min(errors / total, 1.0)
            else:
                ratio = window_ratio(counts_by_window, window)
        ratios[window] = ratio
        if isinstance(ratio, float):
            sli[name] = 1.0 - ratio
            burn[name] = ratio / budget
        else:
            sli[name] = burn[name] = None
    return ratios, sli, burn, requests


def throughput_of(counts_by_window: Mapping[timedelta, Counts | None]) -> float | None:
    """Requests per second over the shortest window (0 is a measurement; no series is None)."""
    if not counts_by_window:
        return None
    shortest = min(counts_by_window)
    counts = counts_by_window[shortest]
    if counts is None:
        return None
    return counts.total / shortest.total_seconds()


def _period_problem(slo: SLO, period_counts: Counts | None) -> str | None:
    if period_counts is None:
        return NO_SERIES
    try:
        error_ratio(period_counts, window=slo.window.name)
    except NoDataError as exc:
        return exc.reason
    return None


def _decide(
    remaining: float, firing: tuple[ConditionResult, ...], warn_below: float
) -> tuple[State, str]:
    """State and reason from the share of the budget `remaining` and what fires."""
    burning = ""
    if firing:
        ordered = sorted(firing, key=lambda c: c.window.severity is not Severity.PAGE)
        burning = ordered[0].reason
    if remaining <= EXHAUSTED_TOLERANCE:
        shown = round(remaining, 3) + 0.0  # no "-0.0%" from float noise
        reason = f"error budget exhausted (remaining {shown:.1%})"
        return State.BREACHED, f"{reason}; {burning}" if burning else reason
    if burning:
        return State.WARNING, burning
    if remaining < warn_below:
        return State.WARNING, f"error budget remaining {remaining:.1%} below {warn_below:.0%}"
    return State.OK, ""


def evaluate(
    slo: SLO,
    counts_by_window: Mapping[timedelta, Counts | None],
    now: datetime,
    *,
    period_counts: Counts | None,
    period_requests: float | None = None,
    latency: Mapping[str, float | None] | None = None,
    stale: bool = False,
    source_error: str | None = None,
    warn_below: float = DEFAULT_WARN_BELOW,
    coverage: float | None = None,
    conditions: Sequence[BurnRateWindow] | None = None,
) -> SLOStatus:
    """The status of `slo` at `now` from measured counts.

    `counts_by_window` maps each measured window (the burn-rate windows: 5m, 30m, 1h, ...) to
    its request-weighted counts: None when the source had no series, `total == 0` when it
    had series but no requests. `period_counts` are the counts since the start of the period
    (the whole rolling window, or this calendar week/month so far). `period_requests`
    optionally replaces the request count the budget-in-requests is based on (e.g. a
    projection for a calendar month in progress). `latency` is passed through (`p50`, `p90`,
    `p99` from `histogram_quantile`). `stale` or a `source_error` message make it `unknown`
    whatever the counts say; the per-window numbers given are still reported. `coverage` (the
    share of the period with data) is passed through. `conditions` are the SLO's enabled
    alert conditions when the caller has them already (`alert_windows(slo)`, from the plan).

    Timeslices SLOs (`slo.timeslices`) pass counts in slices
    (`meshwatch.slo.timeslices.slice_counts`): errors = bad slices, total = slices counted,
    and `period_requests` the slices of the whole period; SLIs are then good-slice shares,
    burn rates are in slices, and the minimum-traffic guard does not apply (a slice is only
    bad when it had traffic).

    Raw SLIs (an error ratio, no counts) pass `budget.ratio_counts(ratio)` per window: their
    requests, throughput and budget in requests are left None and `min_requests` is not
    applied, since there is no request count to apply it to.

    Raises ValueError for negative counts (a counter reset handled wrongly upstream) and for
    `warn_below` outside [0, 1].
    """
    if not 0.0 <= warn_below <= 1.0:
        raise ValueError(f"warn_below must be a ratio between 0 and 1, got {warn_below!r}")
    now = utc(now)
    target = slo.target
    raw = not has_counts(slo.sli)
    allowed = allowed_error_ratio(target)
    ratios, sli, burn, requests = _maps(counts_by_window, allowed)
    if raw:
        requests = dict.fromkeys(requests)

    def status(state: State, reason: str, figures: BudgetFigures | None = None) -> SLOStatus:
        if figures is not None:  # the period's numbers, unless measured as a window
            period_name = slo.window.name
            sli.setdefault(period_name, 1.0 - figures.error_ratio)
            burn.setdefault(period_name, figures.consumed)
            requests[period_name] = None if raw else requests.get(period_name, figures.requests)
        return SLOStatus(
            slo_id=slo.id,
            service=slo.service,
            slo=slo.name,
            at=now,
            state=state,
            reason=reason,
            objective=target,
            period_sli=None if figures is None else 1.0 - figures.error_ratio,
            budget_remaining=None if figures is None else figures.remaining,
            budget_remaining_seconds=None if figures is None else figures.remaining_seconds,
            budget_remaining_requests=(
                None if figures is None or raw else figures.remaining_requests
            ),
            throughput=None if raw else throughput_of(counts_by_window),
            sli=sli,
            burn_rate=burn,
            latency=dict(latency or {}),
            requests=requests,
            coverage=coverage,
        )

    problem = source_error or ("stale data" if stale else _period_problem(slo, period_counts))
    if problem is not None or period_counts is None:
        return status(State.UNKNOWN, problem or NO_SERIES)

    budget = ErrorBudget.from_counts(
        period_counts,
        target,
        period_length(slo.window, now),
        period_requests=period_requests,
    )
    # only the conditions over their thresholds can fire; most SLOs, most cycles, have none
    enabled = alert_windows(slo) if conditions is None else conditions
    over = over_threshold(enabled, ratios, target)
    firing: tuple[ConditionResult, ...] = ()
    if over:
        # Timeslices counts are in slices; a bad slice already had traffic, so no guard applies
        unguarded = raw or slo.timeslices is not None
        firing = evaluate_policy(
            over,
            counts_by_window,
            target,
            min_requests=0.0 if unguarded else slo.alerting.min_requests,
            period=None if unguarded else slo.window.length,
            period_requests=None if unguarded else period_counts.total,
            ratios=ratios,
        ).firing
    figures = budget.figures()
    state, reason = _decide(figures.remaining, firing, warn_below)
    return status(state, reason, figures)
