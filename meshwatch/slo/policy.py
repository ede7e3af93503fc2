"""Multiwindow multi-burn-rate alert conditions, evaluated on measured counts.

A condition fires when the error ratio over both its long and its short window is above
`factor x (1 - target)` — the same comparison, in the same float arithmetic, as the generated
Prometheus rule `ratio_rate<long> > (factor * (1 - target)) and ratio_rate<short> > (...)`.
A window without traffic cannot fire (`NaN > x` is false in PromQL too), and neither can a
long window with fewer than `min_requests` requests (the Workbook's low-traffic problem: at
10 req/h one failed request is a 100x burn).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from meshwatch.errors import NoDataError
from meshwatch.model import SLO, BurnRateWindow, Counts, Severity
from meshwatch.slo.budget import allowed_error_ratio, budget_spent, detection_time, error_ratio
from meshwatch.slo.windows import default_burn_windows, window_name


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


def alert_windows(slo: SLO) -> tuple[BurnRateWindow, ...]:
    """The SLO's conditions: its own windows, or the Workbook's for its (nominal) period.

    Conditions of a disabled severity (`alerting.page` / `alerting.ticket` false) are left out.
    """
    windows = slo.alerting.windows or default_burn_windows(slo.window.length)
    enabled = {Severity.PAGE: slo.alerting.page, Severity.TICKET: slo.alerting.ticket}
    return tuple(w for w in windows if enabled[w.severity])


def _window_ratio(
    counts_by_window: Mapping[timedelta, Counts | None], window: timedelta
) -> float | str:
    """The window's error ratio, or why there is none ("no series for 5m", "no traffic in 5m")."""
    counts = counts_by_window.get(window)
    if counts is None:
        return f"no series for {window_name(window)}"
    try:
        return error_ratio(counts, window=window_name(window))
    except NoDataError as exc:
        return exc.reason


def evaluate_condition(
    window: BurnRateWindow,
    counts_by_window: Mapping[timedelta, Counts | None],
    target: float,
    *,
    min_requests: float = 0.0,
) -> ConditionResult:
    """Whether one condition fires on the counts of its long and short windows."""
    budget = allowed_error_ratio(target)
    threshold = window.factor * budget
    long_counts = counts_by_window.get(window.long)
    long_requests = None if long_counts is None else long_counts.total
    long_ratio = _window_ratio(counts_by_window, window.long)
    short_ratio = _window_ratio(counts_by_window, window.short)
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
            f"{long_requests:g} requests in {window_name(window.long)}"
            f" below min_requests {min_requests:g}",
        )
    if long_ratio > threshold and short_ratio > threshold:
        return result(
            True,
            f"{window.severity.value}: burn rate {long_ratio / budget:.1f}x over"
            f" {window_name(window.long)} and {short_ratio / budget:.1f}x over"
            f" {window_name(window.short)} (threshold {window.factor:g}x)",
        )
    return result(False, "")


def evaluate_policy(
    windows: Sequence[BurnRateWindow],
    counts_by_window: Mapping[timedelta, Counts | None],
    target: float,
    *,
    min_requests: float = 0.0,
) -> PolicyResult:
    """Every condition on the measured counts (keyed by window length)."""
    return PolicyResult(
        tuple(
            evaluate_condition(w, counts_by_window, target, min_requests=min_requests)
            for w in windows
        )
    )


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
