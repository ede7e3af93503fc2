"""Multiwindow multi-burn-rate alert conditions, evaluated on measured counts.

A condition fires when the error ratio over both its long and its short window is above
`factor x (1 - target)` — the same comparison, in the same float arithmetic, as the generated
Prometheus rule `ratio_rate<long> > (factor * (1 - target)) and ratio_rate<short> > (...)`.
A window without traffic cannot fire (`NaN > x` is false in PromQL too).

The minimum-traffic guard is on failed requests and the budget they spend, not on traffic:
a condition also needs `min(2, share x budget x period requests)` failed requests in its long
window (`min_failures`), where `share = factor x long / period` is the part of the period's
budget the condition stands for (2 % for 1h at 14.4x over 30d). One failed request in a quiet
hour of a busy service spends almost nothing and cannot page; the same failure at a service
whose whole period is 10 requests an hour spends 14 % of the budget and pages, as the burn
rate says. A sustained outage always has two failures, so no traffic level hides it. An
explicit `alerting.min_requests` keeps the older guard on traffic: `min_requests` requests
in the long window.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from meshwatch.errors import NoDataError, NoSeriesError
from meshwatch.model import SLO, BurnRateWindow, Counts, Severity, format_duration
from meshwatch.slo.budget import allowed_error_ratio, budget_spent, detection_time, error_ratio
from meshwatch.slo.windows import default_burn_windows


@dataclass(frozen=True, slots=True)
class ConditionResult:
    """One condition at one moment. Burn rates are None where the window had no traffic."""

    window: BurnRateWindow
    long_burn_rate: float | None
    short_burn_rate: float | None
    long_requests: float | None
    firing: bool
    reason: str  # why it fires, or why it cannot ("no traffic in 5m", "below min_requests")


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """Every condition of an SLO's alerting, in the order given."""

    conditions: tuple[ConditionResult, ...]

    @property
    def firing(self) -> tuple[ConditionResult, ...]:
        return tuple(c for c in self.conditions if c.firing)

    @property
    def page(self) -> bool:
        return any(c.window.severity is Severity.PAGE for c in self.firing)

    @property
    def ticket(self) -> bool:
        return any(c.window.severity is Severity.TICKET for c in self.firing)

    @property
    def severity(self) -> Severity | None:
        """The most urgent severity firing: page over ticket; None when nothing fires."""
        if self.page:
            return Severity.PAGE
        return Severity.TICKET if self.ticket else None


# Two failed requests; 1.5 so that increase()'s extrapolation of one failure never counts as two.
NOISE_FAILURES = 1.5


def failures_factor(window: BurnRateWindow, period: timedelta, target: float) -> float:
    """`share x budget`: the failed requests a condition needs per request of the period."""
    return window.factor * (window.long / period) * allowed_error_ratio(target)


def min_failures(
    window: BurnRateWindow, period: timedelta, target: float, period_requests: float
) -> float:
    """Failed requests the long window needs before the condition can fire: those that spend
    the condition's share of the period budget, at most two (NOISE_FAILURES)."""
    return min(NOISE_FAILURES, failures_factor(window, period, target) * period_requests)


def alert_windows(slo: SLO) -> tuple[BurnRateWindow, ...]:
    """The SLO's conditions: its own windows, or the Workbook's for its (nominal) period.

    Conditions of a disabled severity (`alerting.page` / `alerting.ticket` false) are left out.
    """
    alerting = slo.alerting
    return _enabled(alerting.windows, alerting.page, alerting.ticket, slo.window.length)


@functools.lru_cache(maxsize=1024)
def _enabled(
    windows: tuple[BurnRateWindow, ...], page: bool, ticket: bool, period: timedelta
) -> tuple[BurnRateWindow, ...]:
    """`alert_windows` of the few distinct alerting settings (asked every SLO, every cycle)."""
    enabled = {Severity.PAGE: page, Severity.TICKET: ticket}
    return tuple(w for w in windows or default_burn_windows(period) if enabled[w.severity])


def condition_windows(slo: SLO) -> frozenset[timedelta]:
    """Both windows (long and short) of every enabled condition of `slo`."""
    return frozenset(d for w in alert_windows(slo) for d in (w.long, w.short))


Ratios = Mapping[timedelta, float | str]  # window -> error ratio, or why there is none


def window_ratio(
    counts_by_window: Mapping[timedelta, Counts | None], window: timedelta
) -> float | str:
    """The window's error ratio, or why there is none ("no series for 5m", "no traffic in 5m")."""
    counts = counts_by_window.get(window)
    if counts is None:
        return str(NoSeriesError(format_duration(window)))
    try:
        return error_ratio(counts, window=format_duration(window))
    except NoDataError as exc:
        return exc.reason


def window_ratios(
    counts_by_window: Mapping[timedelta, Counts | None],
) -> dict[timedelta, float | str]:
    """Every measured window's error ratio, or why there is none: computed once per SLO and
    cycle, for the status's maps and for every condition."""
    return {window: window_ratio(counts_by_window, window) for window in counts_by_window}


def evaluate_condition(
    window: BurnRateWindow,
    counts_by_window: Mapping[timedelta, Counts | None],
    target: float,
    *,
    min_requests: float = 0.0,
    period: timedelta | None = None,
    period_requests: float | None = None,
    ratios: Ratios | None = None,
) -> ConditionResult:
    """Whether one condition fires on the counts of its long and short windows.

    With `min_requests` > 0 the long window needs that many requests; otherwise, given the
    `period` and its requests, it needs `min_failures` failed requests. `ratios` are the
    windows' error ratios when the caller has them already (`window_ratios`)."""
    budget = allowed_error_ratio(target)
    threshold = window.factor * budget
    long_counts = counts_by_window.get(window.long)
    long_requests = None if long_counts is None else long_counts.total
    known = ratios or {}
    long_ratio = known.get(window.long)
    if long_ratio is None:
        long_ratio = window_ratio(counts_by_window, window.long)
    short_ratio = known.get(window.short)
    if short_ratio is None:
        short_ratio = window_ratio(counts_by_window, window.short)
    long_burn = long_ratio / budget if isinstance(long_ratio, float) else None
    short_burn = short_ratio / budget if isinstance(short_ratio, float) else None

    def result(firing: bool, reason: str) -> ConditionResult:
        return ConditionResult(window, long_burn, short_burn, long_requests, firing, reason)

    if isinstance(long_ratio, str):
        return result(False, long_ratio)
    if isinstance(short_ratio, str):
        return result(False, short_ratio)
    if long_requests is not None and long_requests < min_requests:
        return result(
            False,
            f"{long_requests:g} requests in {format_duration(window.long)}"
            f" below min_requests {min_requests:g}",
        )
    if min_requests <= 0 and period is not None and period_requests is not None:
        needed = min_failures(window, period, target, period_requests)
        failed = 0.0 if long_counts is None else min(long_counts.errors, long_counts.total)
        if failed < needed:
            return result(
                False,
                f"{failed:g} failed requests in {format_duration(window.long)}"
                f" below the {needed:.3g} that spend its budget share",
            )
    if long_ratio > threshold and short_ratio > threshold:
        return result(
            True,
            f"{window.severity.value}: burn rate {long_ratio / budget:.1f}x over"
            f" {format_duration(window.long)} and {short_ratio / budget:.1f}x over"
            f" {format_duration(window.short)} (threshold {window.factor:g}x)",
        )
    return result(False, "")


def evaluate_policy(
    windows: Sequence[BurnRateWindow],
    counts_by_window: Mapping[timedelta, Counts | None],
    target: float,
    *,
    min_requests: float = 0.0,
    period: timedelta | None = None,
    period_requests: float | None = None,
    ratios: Ratios | None = None,
    firing_only: bool = False,
) -> PolicyResult:
    """Every condition on the measured counts (keyed by window length); `ratios` as in
    `evaluate_condition`.

    `firing_only` is for a caller that needs only `.firing`: a condition whose long or short
    window is not over its threshold cannot fire, whatever its guards say, so only the
    others are evaluated and kept (`over_threshold`); `.firing` is the same either way."""
    if firing_only:
        known = window_ratios(counts_by_window) if ratios is None else ratios
        windows = over_threshold(windows, known, target)
    return PolicyResult(
        tuple(
            evaluate_condition(
                w,
                counts_by_window,
                target,
                min_requests=min_requests,
                period=period,
                period_requests=period_requests,
                ratios=ratios,
            )
            for w in windows
        )
    )


def over_threshold(
    windows: Sequence[BurnRateWindow], ratios: Ratios, target: float
) -> list[BurnRateWindow]:
    """The conditions whose long and short windows' error ratios are both above the
    condition's threshold, compared as `evaluate_condition` does: the only ones that can
    fire (most SLOs, most cycles, have none)."""
    budget = allowed_error_ratio(target)
    over = []
    for window in windows:
        threshold = window.factor * budget
        long_ratio, short_ratio = ratios.get(window.long), ratios.get(window.short)
        if (
            isinstance(long_ratio, float)
            and isinstance(short_ratio, float)
            and long_ratio > threshold
            and short_ratio > threshold
        ):
            over.append(window)
    return over


def budget_consumed_at_firing(window: BurnRateWindow, period: timedelta) -> float:
    """Share of the period's budget spent when the long window first crosses the factor.

    Workbook: burn rate x long window / period (14.4 x 1 h / 30 d = 2 %).
    """
    return budget_spent(window.factor, window.long, period)


def time_to_fire(window: BurnRateWindow, target: float, ratio: float) -> timedelta | None:
    """How long a constant `ratio` takes to trip the condition from a clean long window.

    The long window decides (the short one, 1/12 as long, crosses first); None when `ratio`
    never reaches the factor — e.g. a 100 % outage against a 90 % SLO at 14.4x.
    """
    long = detection_time(target, ratio, window.long, window.factor)
    short = detection_time(target, ratio, window.short, window.factor)
    if long is None or short is None:
        return None
    return max(long, short)
