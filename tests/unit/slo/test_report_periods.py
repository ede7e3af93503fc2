"""Report periods: any duration, the last complete calendar unit, or an explicit interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.slo.report_periods import (
    check_report_period,
    interval,
    report_bounds,
    report_step,
)

AT = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)  # a Wednesday


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("period", "at", "start", "end"),
    [
        pytest.param("1h", AT, AT - timedelta(hours=1), AT, id="one-hour"),
        pytest.param("36h", AT, AT - timedelta(hours=36), AT, id="36-hours"),
        pytest.param("7d", AT, AT - timedelta(days=7), AT, id="week-rolling"),
        pytest.param("90d", AT, AT - timedelta(days=90), AT, id="90-days"),
        pytest.param(
            "calendar-week", AT, _utc(2026, 11, 9), _utc(2026, 11, 16), id="last-full-week"
        ),
        pytest.param(
            "calendar-month", AT, _utc(2026, 10, 1), _utc(2026, 11, 1), id="last-full-month"
        ),
        pytest.param(
            "calendar-month",
            _utc(2027, 1, 1),
            _utc(2026, 12, 1),
            _utc(2027, 1, 1),
            id="month-across-new-year",
        ),
        pytest.param(
            "calendar-quarter", AT, _utc(2026, 7, 1), _utc(2026, 10, 1), id="last-full-quarter"
        ),
        pytest.param(
            "calendar-quarter",
            _utc(2027, 2, 3),
            _utc(2026, 10, 1),
            _utc(2027, 1, 1),
            id="quarter-across-new-year",
        ),
        pytest.param(
            "2026-11-01T00:00:00Z/2026-11-08T12:00:00Z",
            AT,
            _utc(2026, 11, 1),
            _utc(2026, 11, 8, 12),
            id="explicit-interval",
        ),
        pytest.param(
            "2026-11-01/2026-11-02", AT, _utc(2026, 11, 1), _utc(2026, 11, 2), id="naive-is-utc"
        ),
    ],
)
def test_bounds(period: str, at: datetime, start: datetime, end: datetime) -> None:
    assert report_bounds(period, at) == (start, end)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        pytest.param(timedelta(hours=1), timedelta(minutes=5), id="1h-5m"),
        pytest.param(timedelta(hours=36), timedelta(minutes=15), id="36h-15m"),
        pytest.param(timedelta(days=7), timedelta(hours=1), id="7d-hourly-as-before"),
        pytest.param(timedelta(days=30), timedelta(hours=6), id="30d-6h-as-before"),
        pytest.param(timedelta(days=31), timedelta(hours=6), id="long-month-6h"),
        pytest.param(timedelta(days=92), timedelta(days=1), id="quarter-daily"),
        pytest.param(timedelta(days=800), timedelta(days=7), id="two-years-weekly"),
        pytest.param(timedelta(days=9000), timedelta(days=30), id="decades-monthly"),
    ],
)
def test_step_keeps_at_most_200_buckets(span: timedelta, step: timedelta) -> None:
    assert report_step(AT - span, AT) == step


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "7x",
            "invalid report period '7x'; use a duration (1h, 36h, 7d, 90d), calendar-week, "
            "calendar-month, calendar-quarter or START/END (ISO 8601 times)",
            id="bad-unit",
        ),
        pytest.param("calendar-year", "invalid report period 'calendar-year'", id="no-year"),
        pytest.param("0h", "invalid report period '0h'", id="zero"),
        pytest.param("yesterday/today", "'yesterday' is not an ISO 8601 time", id="bad-interval"),
        pytest.param(
            "2026-11-02/2026-11-01",
            "the report ends (2026-11-01T00:00:00Z) before it starts",
            id="reversed-interval",
        ),
    ],
)
def test_bad_periods_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        check_report_period(text)


def test_schedules_refuse_intervals() -> None:
    with pytest.raises(ValueError, match="a scheduled report needs a duration or calendar"):
        check_report_period("2026-11-01/2026-11-02", allow_interval=False)
    assert check_report_period(" calendar-quarter ", allow_interval=False) == "calendar-quarter"


def test_interval_is_normalised_to_utc_seconds() -> None:
    start = datetime(2026, 11, 1, 1, tzinfo=UTC).astimezone()
    assert interval(start, AT) == "2026-11-01T01:00:00Z/2026-11-18T09:30:00Z"
