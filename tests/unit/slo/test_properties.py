"""Properties of the budget math that must hold for any numbers (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from meshwatch.model import SLO, CalendarUnit, Counts, RatioSLI, Selector, State, Window
from meshwatch.slo.budget import (
    ErrorBudget,
    budget_spent,
    burn_rate,
    error_ratio,
    sum_counts,
    time_to_exhaustion,
)
from meshwatch.slo.evaluate import evaluate
from meshwatch.slo.histogram import histogram_quantile
from meshwatch.slo.periods import current_period

targets = st.floats(min_value=0.5, max_value=0.99999)
requests = st.floats(min_value=1.0, max_value=1e9)
periods = st.integers(min_value=3600, max_value=400 * 86400).map(lambda s: timedelta(seconds=s))
shares = st.floats(min_value=0.0, max_value=1.0)


@st.composite
def counts(draw: st.DrawFn, min_total: float = 1.0) -> Counts:
    total = draw(st.floats(min_value=min_total, max_value=1e9))
    return Counts(errors=draw(shares) * total, total=total)


@given(counts(), targets, periods)
def test_consumed_plus_remaining_is_one(c: Counts, target: float, period: timedelta) -> None:
    budget = ErrorBudget.from_counts(c, target, period)
    assert budget.consumed + budget.remaining == pytest.approx(1.0)
    assert budget.consumed_seconds + budget.remaining_seconds == pytest.approx(budget.total_seconds)
    assert budget.consumed_requests + budget.remaining_requests == pytest.approx(
        budget.total_requests
    )


@given(targets, requests, periods)
def test_burn_rate_one_for_the_whole_period_spends_exactly_the_budget(
    target: float, total: float, period: timedelta
) -> None:
    ratio = 1.0 - target  # burn rate 1
    assert burn_rate(ratio, target) == pytest.approx(1.0)
    assert budget_spent(1.0, period, period) == pytest.approx(1.0)
    assert time_to_exhaustion(1.0, 1.0, period) == period
    budget = ErrorBudget.from_counts(Counts(errors=ratio * total, total=total), target, period)
    assert budget.consumed == pytest.approx(1.0)
    assert budget.remaining == pytest.approx(0.0, abs=1e-9)
    assert budget.remaining_requests == pytest.approx(0.0, abs=1e-6 * total * (1 - target))


@given(
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=1.0),
    targets,
    requests,
    periods,
)
def test_burn_and_consumed_are_monotone_in_errors(
    a: float, b: float, target: float, total: float, period: timedelta
) -> None:
    low, high = sorted((a, b))
    less = Counts(errors=low * total, total=total)
    more = Counts(errors=high * total, total=total)
    assert burn_rate(error_ratio(less), target) <= burn_rate(error_ratio(more), target)
    spent = [ErrorBudget.from_counts(c, target, period) for c in (less, more)]
    assert spent[0].consumed <= spent[1].consumed
    assert spent[0].remaining_seconds >= spent[1].remaining_seconds


@given(
    st.floats(min_value=0.0, max_value=10.0),
    st.floats(min_value=0.0, max_value=10.0),
    shares,
    periods,
)
def test_time_to_exhaustion_shrinks_as_burn_grows(
    a: float, b: float, remaining: float, period: timedelta
) -> None:
    slow, fast = sorted((a, b))
    assume(slow > 0 and remaining > 0)
    slow_time, fast_time = (time_to_exhaustion(remaining, r, period) for r in (slow, fast))
    if slow_time is None:  # never (beyond timedelta.max) is the longest time of all
        return
    assert fast_time is not None
    assert fast_time <= slow_time


@given(st.lists(counts(), min_size=1, max_size=20))
def test_aggregation_is_sum_over_sum(parts: list[Counts]) -> None:
    total = sum_counts(parts)
    assert total.total == pytest.approx(math.fsum(c.total for c in parts))
    assert error_ratio(total) == pytest.approx(
        math.fsum(c.errors for c in parts) / math.fsum(c.total for c in parts)
    )
    # bounded by the best and the worst part
    ratios = [error_ratio(c) for c in parts]
    assert min(ratios) - 1e-12 <= error_ratio(total) <= max(ratios) + 1e-12


@given(counts(), counts())
def test_aggregation_differs_from_the_mean_of_ratios_with_uneven_traffic(
    a: Counts, b: Counts
) -> None:
    ra, rb = error_ratio(a), error_ratio(b)
    assume(abs(ra - rb) > 1e-3 and abs(a.total - b.total) > 0.01 * max(a.total, b.total))
    weighted = error_ratio(sum_counts([a, b]))
    assert weighted != pytest.approx((ra + rb) / 2, rel=1e-9, abs=1e-12)
    # the weighted ratio leans towards the part with more traffic
    heavy = ra if a.total > b.total else rb
    assert abs(weighted - heavy) < abs((ra + rb) / 2 - heavy)


def test_aggregation_example() -> None:
    """1 error in 10 requests plus none in 990: 0.1 % request-weighted, 5 % as a mean."""
    parts = [Counts(1, 10), Counts(0, 990)]
    assert error_ratio(sum_counts(parts)) == pytest.approx(0.001)
    assert sum(error_ratio(c) for c in parts) / 2 == pytest.approx(0.05)


SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
windows = st.sampled_from(
    [
        Window.rolling(timedelta(days=30)),
        Window.rolling(timedelta(days=28)),
        Window.rolling(timedelta(hours=12)),
        Window.calendar(CalendarUnit.WEEK),
        Window.calendar(CalendarUnit.MONTH),
    ]
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)
maybe_counts = st.one_of(st.none(), st.just(Counts(0, 0)), counts())


@given(
    st.floats(min_value=50.0, max_value=99.999),
    windows,
    moments,
    st.one_of(st.none(), st.just(Counts(0, 0))),
    st.dictionaries(
        st.sampled_from([timedelta(minutes=5), timedelta(hours=1), timedelta(hours=6)]),
        maybe_counts,
    ),
)
def test_no_traffic_is_unknown_never_ok(
    objective: float,
    window: Window,
    now: datetime,
    period_counts: Counts | None,
    recent: dict[timedelta, Counts | None],
) -> None:
    slo = SLO("svc", "availability", objective, window, SLI)
    status = evaluate(slo, recent, now, period_counts=period_counts)
    assert status.state is State.UNKNOWN
    assert status.reason in {"no series", f"no traffic in {window.name}"}
    assert status.period_sli is None and status.budget_remaining is None


@given(st.floats(min_value=50.0, max_value=99.999), windows, moments, counts())
def test_with_traffic_the_state_follows_the_budget(
    objective: float, window: Window, now: datetime, period_counts: Counts
) -> None:
    slo = SLO("svc", "availability", objective, window, SLI)
    status = evaluate(slo, {}, now, period_counts=period_counts)
    assert status.budget_remaining is not None
    if status.budget_remaining <= 0:
        assert status.state is State.BREACHED
    elif status.budget_remaining < 0.25:
        assert status.state is State.WARNING
    else:
        assert status.state is State.OK


@given(windows, moments)
def test_period_contains_now(window: Window, now: datetime) -> None:
    period = current_period(window, now)
    assert period.start <= period.now <= period.end
    assert timedelta(hours=12) <= period.length <= timedelta(days=31)
    assert period.start.tzinfo is UTC


@given(
    st.lists(
        st.tuples(st.floats(min_value=0.001, max_value=1e4), st.floats(min_value=0, max_value=1e6)),
        min_size=1,
        max_size=12,
    ),
    st.floats(min_value=0.0, max_value=1.0),
    st.floats(min_value=0.0, max_value=1.0),
)
def test_quantiles_are_monotone_and_within_the_finite_bounds(
    raw: list[tuple[float, float]], qa: float, qb: float
) -> None:
    buckets = [*raw, (math.inf, max(c for _, c in raw) + 1)]
    low, high = sorted((qa, qb))
    first, second = histogram_quantile(low, buckets), histogram_quantile(high, buckets)
    assume(first is not None and second is not None)
    assert first is not None and second is not None
    assert first <= second + 1e-9
    assert 0.0 <= second <= max(b for b, _ in raw)
