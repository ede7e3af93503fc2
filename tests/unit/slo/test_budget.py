"""Edge cases of the budget math: bad inputs, clamping, and budgets as time and requests."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.errors import NoDataError
from meshwatch.model import CalendarUnit, Counts, Window
from meshwatch.slo.budget import (
    ErrorBudget,
    allowed_error_ratio,
    availability,
    burn_rate,
    counts_from_good,
    error_ratio,
    ratio_counts,
    time_to_exhaustion,
)
from meshwatch.slo.periods import period_length


@pytest.mark.parametrize(
    "target",
    [
        pytest.param(99.9, id="percentage-not-ratio"),
        pytest.param(1.0, id="hundred-percent-has-no-budget"),
        pytest.param(0.0, id="zero"),
        pytest.param(-0.5, id="negative"),
        pytest.param(math.nan, id="nan"),
    ],
)
def test_target_must_be_a_ratio_inside_0_1(target: float) -> None:
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        allowed_error_ratio(target)
    with pytest.raises(ValueError):
        burn_rate(0.01, target)


@pytest.mark.parametrize(
    ("counts", "error", "match"),
    [
        pytest.param(Counts(0, 0), NoDataError, "no traffic", id="no-traffic"),
        pytest.param(Counts(math.nan, math.nan), NoDataError, "NaN", id="nan-counts"),
        pytest.param(Counts(0, -1), ValueError, "negative", id="negative-total"),
        pytest.param(Counts(-1, 10), ValueError, "negative", id="negative-errors"),
        pytest.param(Counts(math.inf, math.inf), ValueError, "finite", id="infinite"),
    ],
)
def test_counts_without_a_ratio(counts: Counts, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        error_ratio(counts)
    with pytest.raises(error, match=match):
        ErrorBudget.from_counts(counts, 0.999, timedelta(days=30))


def test_extrapolated_errors_above_total_are_clamped() -> None:
    """`increase()` extrapolates counters separately: errors can exceed requests a little."""
    assert error_ratio(Counts(errors=100.4, total=100.0)) == 1.0
    assert availability(Counts(errors=100.4, total=100.0)) == 0.0
    budget = ErrorBudget.from_counts(Counts(100.4, 100.0), 0.99, timedelta(days=1))
    assert budget.consumed == pytest.approx(100.0)


def test_budget_as_time_and_requests() -> None:
    budget = ErrorBudget.from_counts(Counts(errors=30, total=100_000), 0.999, timedelta(days=30))
    assert budget.allowed_ratio == pytest.approx(0.001)
    assert budget.consumed == pytest.approx(0.3)
    assert budget.remaining == pytest.approx(0.7)
    assert budget.total_seconds == pytest.approx(2592)  # 43.2 min of full outage in 30 d
    assert budget.remaining_seconds == pytest.approx(0.7 * 2592)
    assert budget.total_requests == pytest.approx(100)
    assert budget.consumed_requests == 30
    assert budget.remaining_requests == pytest.approx(70)


@pytest.mark.parametrize(
    ("counts", "target", "period_requests"),
    [
        pytest.param(Counts(30, 100_000), 0.999, None, id="partly-spent"),
        pytest.param(Counts(0, 7), 0.95, None, id="clean"),
        pytest.param(Counts(100.4, 100.0), 0.99, None, id="clamped-overspent"),
        pytest.param(Counts(10, 50_000), 0.999, 100_000.0, id="projected"),
        pytest.param(Counts(1, 3), 0.9999, None, id="far-overspent"),
    ],
)
def test_figures_are_the_properties(
    counts: Counts, target: float, period_requests: float | None
) -> None:
    """`figures()` (one call per status) gives exactly the properties' numbers, bit for bit."""
    budget = ErrorBudget.from_counts(
        counts, target, timedelta(days=28), period_requests=period_requests
    )
    figures = budget.figures()
    assert figures.error_ratio == budget.error_ratio
    assert figures.consumed == budget.consumed
    assert figures.remaining == budget.remaining
    assert figures.remaining_seconds == budget.remaining_seconds
    assert figures.requests == budget.requests
    assert figures.remaining_requests == budget.remaining_requests


def test_projected_requests_and_their_guard() -> None:
    budget = ErrorBudget.from_counts(
        Counts(10, 50_000), 0.999, timedelta(days=30), period_requests=100_000
    )
    assert budget.remaining == pytest.approx(0.8)  # the ratio view ignores the projection
    assert budget.remaining_requests == pytest.approx(90)
    with pytest.raises(ValueError, match="below the requests counted"):
        ErrorBudget.from_counts(Counts(1, 100), 0.999, timedelta(days=30), period_requests=50)


def test_openslo_low_traffic_example_week_budget() -> None:
    """OpenSLO treat-low-traffic example: 99.95 % over one week is 5 min 2.4 s of outage."""
    week = period_length(Window.calendar(CalendarUnit.WEEK), datetime(2026, 11, 23, tzinfo=UTC))
    budget = ErrorBudget.from_counts(Counts(0, 1), 0.9995, week)
    assert budget.total_seconds == pytest.approx(302.4)


def test_time_to_exhaustion_edges() -> None:
    period = timedelta(days=30)
    assert time_to_exhaustion(0.0, 5.0, period) == timedelta(0)
    assert time_to_exhaustion(-0.2, 5.0, period) == timedelta(0)
    assert time_to_exhaustion(0.5, 0.0, period) is None
    assert time_to_exhaustion(0.5, 1e-300, period) is None  # beyond timedelta.max
    assert time_to_exhaustion(0.5, 2.0, period) == timedelta(days=7, hours=12)


def test_counts_from_good_never_go_negative() -> None:
    assert counts_from_good(990, 1000) == Counts(errors=10, total=1000)
    assert counts_from_good(1000.09, 1000) == Counts(errors=0.0, total=1000)  # slo-generator#319


@pytest.mark.parametrize(
    ("ratio", "errors"),
    [
        pytest.param(0.25, 0.25, id="kept"),
        pytest.param(1.2, 1.0, id="clamped-high"),
        pytest.param(-0.1, 0.0, id="clamped-low"),
    ],
)
def test_ratio_counts(ratio: float, errors: float) -> None:
    assert ratio_counts(ratio) == Counts(errors=errors, total=1.0)


def test_ratio_counts_nan_is_no_data() -> None:
    with pytest.raises(NoDataError, match="no traffic"):
        ratio_counts(math.nan)
