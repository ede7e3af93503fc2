"""google/slo-generator's report math (report.py `SLOReport.build`) and no-data cases.

slo-anchors.md §4.4 / §10.4: window 43200 s, goal 0.9, SLI 0.5 -> burn rate 5.0, budget
72 min, error minutes 360, remaining -288 min. slo-generator rounds its burn rate to one
decimal; meshwatch does not round.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.errors import NoDataError
from meshwatch.model import Counts
from meshwatch.slo.budget import ErrorBudget, availability, burn_rate, error_ratio


def test_report_formula_numbers() -> None:
    budget = ErrorBudget.from_counts(
        Counts(errors=5, total=10), target=0.9, period=timedelta(seconds=43200)
    )
    assert 1 - budget.error_ratio == pytest.approx(0.5)
    assert budget.consumed == pytest.approx(5.0)  # error_budget_burn_rate
    assert budget.total_seconds / 60 == pytest.approx(72)  # error_budget_minutes
    assert budget.consumed_seconds / 60 == pytest.approx(360)  # error_minutes
    assert budget.remaining_seconds / 60 == pytest.approx(-288)  # remaining minutes
    assert budget.consumed * 100 == pytest.approx(500)  # error_budget_consumed_ratio (a %)


@pytest.mark.parametrize(
    ("counts", "sli"),
    [
        pytest.param(Counts(errors=5, total=10), 0.5, id="enough_events"),
        pytest.param(Counts(errors=15, total=15), 0.0, id="no_good_events"),
        pytest.param(Counts(errors=0, total=15), 1.0, id="no_bad_events"),
    ],
)
def test_dummy_cases_with_data(counts: Counts, sli: float) -> None:
    assert availability(counts) == pytest.approx(sli)


def test_no_events_is_no_data_not_a_ratio() -> None:
    with pytest.raises(NoDataError, match="no traffic in 1h"):
        error_ratio(Counts(errors=0, total=0), window="1h")


def test_rounding_is_not_applied() -> None:
    """slo-generator's round(x, 1) turns 14.36 into 14.4 and then fails `> 14.4`."""
    assert burn_rate(0.01436, 0.999) == pytest.approx(14.36)
    assert burn_rate(0.01436, 0.999) < 14.4
