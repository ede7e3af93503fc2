"""The SRE Workbook's numbers (ch. 5 "Alerting on SLOs"), as unit tests of the budget math.

Sources: slo-anchors.md §1. Where the Workbook rounds (43 minutes, 2 min 10 s, 26 s, 1.4 %,
13.9 %) the tolerance is stated next to the value.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.model import Counts, Severity
from meshwatch.slo.budget import (
    ErrorBudget,
    budget_spent,
    burn_rate,
    detection_time,
    error_ratio,
    time_to_exhaustion,
)
from meshwatch.slo.policy import budget_consumed_at_firing, evaluate_policy, time_to_fire
from meshwatch.slo.windows import default_burn_windows

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
THIRTY_DAYS = timedelta(days=30)


@pytest.mark.parametrize(
    ("rate", "ratio", "expected", "tolerance"),
    [
        pytest.param(1, 0.001, timedelta(days=30), timedelta(0), id="burn-1-30-days"),
        pytest.param(2, 0.002, timedelta(days=15), timedelta(0), id="burn-2-15-days"),
        pytest.param(10, 0.01, timedelta(days=3), timedelta(0), id="burn-10-3-days"),
        # the Workbook rounds 43.2 min to "43 minutes"
        pytest.param(1000, 1.0, 43 * MINUTE, timedelta(seconds=30), id="burn-1000-43-minutes"),
    ],
)
def test_table_5_4_burn_rate_to_time_to_exhaustion(
    rate: float, ratio: float, expected: timedelta, tolerance: timedelta
) -> None:
    assert burn_rate(ratio, 0.999) == pytest.approx(rate)
    exhausted = time_to_exhaustion(1.0, burn_rate(ratio, 0.999), THIRTY_DAYS)
    assert exhausted is not None
    assert abs(exhausted - expected) <= tolerance + timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        pytest.param(
            THIRTY_DAYS,
            [
                (Severity.PAGE, HOUR, 5 * MINUTE, 0.02, 14.4),
                (Severity.PAGE, 6 * HOUR, 30 * MINUTE, 0.05, 6.0),
                (Severity.TICKET, DAY, 2 * HOUR, 0.10, 3.0),
                (Severity.TICKET, 3 * DAY, 6 * HOUR, 0.10, 1.0),
            ],
            id="30d-14.4-6-3-1",
        ),
        pytest.param(
            timedelta(days=28),
            [
                (Severity.PAGE, HOUR, 5 * MINUTE, 0.02, 13.44),
                (Severity.PAGE, 6 * HOUR, 30 * MINUTE, 0.05, 5.6),
                (Severity.TICKET, DAY, 2 * HOUR, 0.10, 2.8),
                (Severity.TICKET, 3 * DAY, 6 * HOUR, 0.10, 0.9333),
            ],
            id="28d-13.44-5.6-2.8-0.9333",
        ),
    ],
)
def test_default_windows_match_the_workbook_and_sloth(
    period: timedelta, expected: list[tuple[Severity, timedelta, timedelta, float, float]]
) -> None:
    windows = default_burn_windows(period)
    got = [(w.severity, w.long, w.short, w.budget_share, w.factor) for w in windows]
    assert got == expected
    for window in windows:
        # budget consumed when it fires = burn rate x long window / period (2/5/10/10 %)
        assert budget_consumed_at_firing(window, period) == pytest.approx(
            window.budget_share, rel=1e-4
        )


def test_30_day_shares_over_720_hours() -> None:
    period = timedelta(hours=720)
    spent = [budget_spent(f, long, period) for f, long in ((14.4, HOUR), (6, 6 * HOUR))]
    spent += [budget_spent(3, DAY, period), budget_spent(1, 3 * DAY, period)]
    assert spent == pytest.approx([0.02, 0.05, 0.10, 0.10])


def test_low_traffic_one_failure_at_10_requests_per_hour() -> None:
    """10 req/h at 99.9 %: one failure is 13.9 % of a 30-day budget; 7 failures allowed.

    The Workbook calls it "a 1,000x burn rate" while also calling it "an hourly error rate of
    10 %" — 10 % / 0.1 % is 100x over the hour. 1,000x is the burn in the short window that
    holds only the failed request (100 % errors); the 13.9 % matches 100x for one hour.
    """
    hourly = error_ratio(Counts(errors=1, total=10))
    assert hourly == pytest.approx(0.10)
    assert burn_rate(hourly, 0.999) == pytest.approx(100)
    assert burn_rate(error_ratio(Counts(errors=1, total=1)), 0.999) == pytest.approx(1000)
    assert budget_spent(burn_rate(hourly, 0.999), HOUR, THIRTY_DAYS) == pytest.approx(
        0.139, abs=0.0005
    )
    month = ErrorBudget.from_counts(Counts(errors=1, total=10 * 24 * 30), 0.999, THIRTY_DAYS)
    assert month.total_requests == pytest.approx(7.2)  # "only seven failed requests"
    assert month.consumed == pytest.approx(0.139, abs=0.0005)
    # ... and it pages at once: 1h at 100x and 5m at 1000x are both above 14.4x
    windows = default_burn_windows(THIRTY_DAYS)
    result = evaluate_policy(windows, {HOUR: Counts(1, 10), 5 * MINUTE: Counts(1, 1)}, target=0.999)
    assert result.severity is Severity.PAGE


def test_five_nines_month_is_gone_in_26_seconds_of_total_outage() -> None:
    exhausted = time_to_exhaustion(1.0, burn_rate(1.0, 0.99999), THIRTY_DAYS)
    assert exhausted is not None
    assert exhausted.total_seconds() == pytest.approx(25.92)  # "26 s"
    budget = ErrorBudget.from_counts(Counts(errors=0, total=1), 0.99999, THIRTY_DAYS)
    assert budget.total_seconds == pytest.approx(25.92)


def test_ninety_percent_slo_total_outage_uses_1_4_percent_per_hour_and_never_pages_at_14_4() -> (
    None
):
    rate = burn_rate(1.0, 0.90)
    assert rate == pytest.approx(10)
    assert budget_spent(rate, HOUR, THIRTY_DAYS) == pytest.approx(0.014, abs=0.0005)
    fast_page = default_burn_windows(THIRTY_DAYS)[0]
    assert fast_page.factor == 14.4
    assert time_to_fire(fast_page, 0.90, 1.0) is None
    outage = {w: Counts(errors=1000, total=1000) for w in (HOUR, 5 * MINUTE)}
    assert evaluate_policy([fast_page], outage, target=0.90).firing == ()


@pytest.mark.parametrize(
    ("window", "factor", "expected", "tolerance_s"),
    [
        pytest.param(10 * MINUTE, 1.0, timedelta(seconds=0.6), 1e-6, id="approach-1-10m-0.6s"),
        # "2 min 10 s" is 129.6 s rounded
        pytest.param(36 * HOUR, 1.0, timedelta(minutes=2, seconds=10), 0.5, id="approach-2-36h"),
        # DESIGN.md: a 1h window needs ~50 s of a total outage before it crosses 14.4x
        pytest.param(HOUR, 14.4, timedelta(seconds=51.84), 1e-6, id="1h-at-14.4x-51.84s"),
    ],
)
def test_detection_time_of_a_total_outage(
    window: timedelta, factor: float, expected: timedelta, tolerance_s: float
) -> None:
    got = detection_time(0.999, 1.0, window, factor)
    assert got is not None
    assert got.total_seconds() == pytest.approx(expected.total_seconds(), abs=tolerance_s)


def test_approach_numbers() -> None:
    # approach 1: 0.1 % errors for 10 min uses 0.02 % of the monthly budget
    assert budget_spent(1.0, 10 * MINUTE, THIRTY_DAYS) == pytest.approx(0.0002, abs=0.00005)
    # approach 3: a 100 % outage for the 1 h `for:` uses 140 % of the 30-day budget
    assert budget_spent(burn_rate(1.0, 0.999), HOUR, THIRTY_DAYS) == pytest.approx(1.4, abs=0.02)
    # approach 4: a 35x burn exhausts the 30-day budget in 20.5 h
    exhausted = time_to_exhaustion(1.0, 35, THIRTY_DAYS)
    assert exhausted is not None
    assert exhausted / HOUR == pytest.approx(20.5, abs=0.1)


def test_fifteen_percent_errors_trip_the_1h_5m_page_in_about_six_minutes() -> None:
    """Approach 6's example: the short window crosses at once, the long one after ~5 min."""
    page = default_burn_windows(THIRTY_DAYS)[0]
    fired = time_to_fire(page, 0.999, 0.15)
    assert fired is not None
    assert fired / MINUTE == pytest.approx(5.76)
    short = detection_time(0.999, 0.15, page.short, page.factor)
    assert short is not None and short < MINUTE


def test_detection_never_happens_at_or_below_the_threshold() -> None:
    assert detection_time(0.999, 0.001, HOUR) is None
    assert detection_time(0.999, 0.0, HOUR) is None
