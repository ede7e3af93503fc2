"""Calendar and rolling period bounds: UTC, weeks start on Monday, months have real lengths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from meshwatch.model import CalendarUnit, Window
from meshwatch.slo.periods import current_period, period_bounds, period_length, previous_period

MONTH = Window.calendar(CalendarUnit.MONTH)
WEEK = Window.calendar(CalendarUnit.WEEK)


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "start", "end", "days"),
    [
        pytest.param(at(2026, 1, 15, 12), at(2026, 1, 1), at(2026, 2, 1), 31, id="january-31"),
        pytest.param(at(2023, 2, 10), at(2023, 2, 1), at(2023, 3, 1), 28, id="february-28"),
        pytest.param(at(2024, 2, 29, 23, 59), at(2024, 2, 1), at(2024, 3, 1), 29, id="leap-feb"),
        pytest.param(at(2100, 2, 3), at(2100, 2, 1), at(2100, 3, 1), 28, id="2100-not-leap"),
        pytest.param(at(2000, 2, 3), at(2000, 2, 1), at(2000, 3, 1), 29, id="2000-leap"),
        pytest.param(at(2026, 4, 30, 23), at(2026, 4, 1), at(2026, 5, 1), 30, id="april-30"),
        pytest.param(at(2026, 12, 31, 23), at(2026, 12, 1), at(2027, 1, 1), 31, id="december"),
        pytest.param(at(2026, 3, 1), at(2026, 3, 1), at(2026, 4, 1), 31, id="first-midnight"),
    ],
)
def test_calendar_month(now: datetime, start: datetime, end: datetime, days: int) -> None:
    assert period_bounds(MONTH, now) == (start, end)
    assert period_length(MONTH, now) == timedelta(days=days)


@pytest.mark.parametrize(
    ("now", "start"),
    [
        pytest.param(at(2026, 11, 25, 9, 30), at(2026, 11, 23), id="wednesday"),
        pytest.param(at(2026, 11, 23), at(2026, 11, 23), id="monday-midnight-starts-a-week"),
        pytest.param(at(2026, 11, 29, 23, 59, 59), at(2026, 11, 23), id="sunday-night"),
        pytest.param(at(2027, 1, 1, 6), at(2026, 12, 28), id="across-new-year"),
    ],
)
def test_calendar_week_starts_monday(now: datetime, start: datetime) -> None:
    period = current_period(WEEK, now)
    assert period.start == start
    assert period.start.weekday() == 0
    assert period.length == timedelta(days=7)
    assert period.elapsed + period.remaining == period.length


def test_non_utc_now_is_converted_to_utc() -> None:
    # 01:00 on 1 March at UTC+2 is still 28 February in UTC
    now = datetime(2026, 3, 1, 1, 0, tzinfo=timezone(timedelta(hours=2)))
    assert period_bounds(MONTH, now) == (at(2026, 2, 1), at(2026, 3, 1))
    assert current_period(MONTH, now).now == at(2026, 2, 28, 23)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        period_bounds(MONTH, datetime(2026, 3, 1))


def test_rolling_window_ends_now() -> None:
    now = at(2026, 11, 25, 9, 30)
    window = Window.rolling(timedelta(days=28))
    period = current_period(window, now)
    assert (period.start, period.end) == (now - timedelta(days=28), now)
    assert period.elapsed == timedelta(days=28)
    assert period.remaining == timedelta(0)
    assert period.elapsed_fraction == 1.0


def test_elapsed_and_remaining_of_a_month() -> None:
    period = current_period(MONTH, at(2026, 11, 16))
    assert period.elapsed == timedelta(days=15)
    assert period.remaining == timedelta(days=15)
    assert period.elapsed_fraction == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("window", "now", "start", "end"),
    [
        pytest.param(MONTH, at(2026, 1, 10), at(2025, 12, 1), at(2026, 1, 1), id="month-over-year"),
        pytest.param(MONTH, at(2024, 3, 5), at(2024, 2, 1), at(2024, 3, 1), id="leap-february"),
        pytest.param(WEEK, at(2026, 11, 25), at(2026, 11, 16), at(2026, 11, 23), id="week"),
        pytest.param(
            Window.rolling(timedelta(days=7)),
            at(2026, 11, 25),
            at(2026, 11, 11),
            at(2026, 11, 18),
            id="rolling",
        ),
    ],
)
def test_previous_period(window: Window, now: datetime, start: datetime, end: datetime) -> None:
    period = previous_period(window, now)
    assert (period.start, period.end) == (start, end)
    assert period.remaining == timedelta(0)
