"""Error ratio, error budget, burn rate and time to exhaustion (SRE Workbook, ch. 5).

Conventions: `target` is the objective as a ratio (0.999 for 99.9 %), so the budget is the
allowed error ratio `1 - target`. Ratios are fractions, durations are `timedelta`, request
counts are floats (they come from `increase()` and may be fractional).

No traffic is not good traffic: `error_ratio` raises `NoDataError` when a window has no
requests instead of returning 0 or 1, and callers turn that into `unknown` with its reason.
Longer windows and aggregates are request-weighted: add `Counts`, then divide once
(`sum_counts`), never average ratios.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

from meshwatch.errors import NoDataError, NoTrafficError
from meshwatch.model import Counts


def allowed_error_ratio(target: float) -> float:
    """The budget as an error ratio: 0.001 for a 0.999 target. Raise ValueError outside (0, 1)."""
    if not 0.0 < target < 1.0:  # NaN fails the comparison too
        raise ValueError(f"target must be a ratio strictly between 0 and 1, got {target!r}")
    return 1.0 - target


def _check_counts(counts: Counts) -> None:
    if math.isnan(counts.errors) or math.isnan(counts.total):
        raise NoDataError("no data (NaN counts)")
    if counts.total < 0 or counts.errors < 0 or math.isinf(counts.total + counts.errors):
        raise ValueError(f"counts must be finite and not negative, got {counts!r}")


def error_ratio(counts: Counts, *, window: str = "") -> float:
    """Errors / requests, clamped to [0, 1].

    `increase()` extrapolates each counter on its own, so errors can come out slightly above
    the total; the ratio is clamped rather than reported above 100 %. Raises
    `NoTrafficError` ("no traffic" or "no traffic in <window>") when `total` is 0.
    """
    errors, total = counts.errors, counts.total
    # hot path (every window of every SLO, every cycle): traffic, finite, not negative;
    # NaN fails every comparison, so anything else takes the checks below
    if total > 0.0 and errors >= 0.0 and total + errors < math.inf:
        return min(errors / total, 1.0)
    _check_counts(counts)
    if counts.total == 0:
        raise NoTrafficError(window)
    return min(counts.errors / counts.total, 1.0)


def availability(counts: Counts, *, window: str = "") -> float:
    """Good requests / requests (the SLI), 1 - `error_ratio`; raises `NoDataError` likewise."""
    return 1.0 - error_ratio(counts, window=window)


def counts_from_good(good: float, total: float) -> Counts:
    """Counts of a good/total SLI: errors = total - good, never below 0.

    `increase()` can report slightly more good events than total (slo-generator#319).
    """
    return Counts(errors=max(total - good, 0.0), total=total)


def ratio_counts(ratio: float) -> Counts:
    """Stand-in counts for a precomputed error ratio (raw SLIs): `ratio` errors in 1 request.

    The ratio survives; request counts do not, so `evaluate` leaves requests, throughput and
    the budget in requests empty for raw SLIs. Raises `NoDataError` for NaN (0/0 upstream).
    """
    if math.isnan(ratio):
        raise NoTrafficError()
    return Counts(errors=min(max(ratio, 0.0), 1.0), total=1.0)


def sum_counts(counts: Iterable[Counts]) -> Counts:
    """Request-weighted aggregate: sum of errors over sum of requests.

    Use it for long windows built from short ones and for aggregates across versions or
    SLOs. It differs from the mean of the ratios whenever traffic is uneven: 1 error in 10
    requests plus 0 in 990 is 0.1 %, not the 5 % a mean of ratios would report.
    """
    errors = 0.0
    total = 0.0
    for item in counts:
        errors += item.errors
        total += item.total
    return Counts(errors=errors, total=total)


def burn_rate(ratio: float, target: float) -> float:
    """How many times faster than sustainable the budget burns: error ratio / (1 - target).

    1 spends exactly the budget by the end of the period; 14.4 spends 2 % of a 30-day budget
    in one hour.
    """
    return ratio / allowed_error_ratio(target)


def budget_spent(rate: float, window: timedelta, period: timedelta) -> float:
    """Share of the period's budget spent by burning at `rate` for `window`.

    Workbook: "budget consumed = burn rate x alerting window / period" (14.4 x 1 h / 30 d = 2 %).
    """
    return rate * (window / period)


def time_to_exhaustion(remaining: float, rate: float, period: timedelta) -> timedelta | None:
    """How long until the `remaining` share of the budget is gone at burn rate `rate`.

    With the whole budget left, that is `period / rate` (Workbook Table 5-4: 1 -> 30 d,
    1,000 -> 43.2 min at 30 d). Zero when nothing is left; None when the budget never runs
    out at that rate (`rate <= 0`, or later than `timedelta.max`, some 2.7 million years).
    """
    if remaining <= 0:
        return timedelta(0)
    if rate <= 0:
        return None
    seconds = period.total_seconds() * (remaining / rate)
    if seconds >= timedelta.max.total_seconds():
        return None
    return timedelta(seconds=seconds)


def detection_time(
    target: float, ratio: float, window: timedelta, factor: float = 1.0
) -> timedelta | None:
    """How long an error ratio must last before `ratio_rate<window> > factor x budget` fires.

    Workbook: `(1 - SLO) / error ratio x window x burn rate` (a 100 % outage trips a 10 min
    window at 0.1 % in 0.6 s, a 36 h window in 2 min 10 s). Assumes the window held no errors
    before. None when `ratio` can never push the window over the threshold.
    """
    threshold = factor * allowed_error_ratio(target)
    if ratio <= threshold:
        return None
    return window * (threshold / ratio)


class BudgetFigures(NamedTuple):
    """`ErrorBudget.figures()`: the numbers a status reads, computed together."""

    error_ratio: float
    consumed: float
    remaining: float
    remaining_seconds: float
    requests: float
    remaining_requests: float


@dataclass(frozen=True, slots=True)
class ErrorBudget:
    """The error budget of one period, from the request-weighted counts of the period.

    As a ratio the whole budget is 1. `consumed` is the period's burn rate (errors as a share
    of what the objective allows over the requests counted) and may exceed 1; `remaining` is
    `1 - consumed`, negative when overspent — the same number as
    `meshwatch:slo_error_budget_remaining:ratio`.

    As time: `total_seconds` is how long a 100 % outage could last in the whole period,
    `(1 - target) x period`, split by the same shares.

    As requests: `total_requests` is how many failures the period allows,
    `(1 - target) x period_requests`; `consumed_requests` are the errors counted and
    `remaining_requests` the difference. `period_requests` is the requests counted unless
    the caller passes a projection (e.g. for a calendar month in progress).
    """

    target: float
    period: timedelta
    errors: float
    requests: float
    period_requests: float

    @staticmethod
    def from_counts(
        counts: Counts, target: float, period: timedelta, *, period_requests: float | None = None
    ) -> ErrorBudget:
        """Budget of a period whose counts are `counts`; raises `NoDataError` for no traffic."""
        error_ratio(counts)  # validates, and rejects no traffic before anything is derived
        allowed_error_ratio(target)
        if period <= timedelta(0):
            raise ValueError(f"period must be positive, got {period}")
        projected = counts.total if period_requests is None else period_requests
        if projected < counts.total:
            raise ValueError(
                f"period requests {projected:g} below the requests counted {counts.total:g}"
            )
        return ErrorBudget(
            target=target,
            period=period,
            errors=min(counts.errors, counts.total),
            requests=counts.total,
            period_requests=projected,
        )

    @property
    def allowed_ratio(self) -> float:
        return allowed_error_ratio(self.target)

    def figures(self) -> BudgetFigures:
        """The numbers a status shows, worked out together (every SLO, every cycle); the
        properties of the same names read them from here."""
        allowed = allowed_error_ratio(self.target)
        ratio = self.errors / self.requests
        consumed = ratio / allowed
        remaining = 1.0 - consumed
        return BudgetFigures(
            error_ratio=ratio,
            consumed=consumed,
            remaining=remaining,
            remaining_seconds=remaining * (allowed * self.period.total_seconds()),
            requests=self.requests,
            remaining_requests=allowed * self.period_requests - self.errors,
        )

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests

    @property
    def consumed(self) -> float:
        """Share of the budget spent, 0 with no errors, 1 when exactly spent, > 1 overspent."""
        return self.figures().consumed

    @property
    def remaining(self) -> float:
        """Share of the budget left: 1 - consumed (negative when overspent)."""
        return self.figures().remaining

    @property
    def total_seconds(self) -> float:
        """Seconds of full outage the whole period allows."""
        return self.allowed_ratio * self.period.total_seconds()

    @property
    def consumed_seconds(self) -> float:
        return self.consumed * self.total_seconds

    @property
    def remaining_seconds(self) -> float:
        return self.figures().remaining_seconds

    @property
    def total_requests(self) -> float:
        """Failed requests the objective allows over `period_requests` requests."""
        return self.allowed_ratio * self.period_requests

    @property
    def consumed_requests(self) -> float:
        return self.errors

    @property
    def remaining_requests(self) -> float:
        return self.figures().remaining_requests
