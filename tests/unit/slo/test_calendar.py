"""Calendar periods in a time zone: local midnight, real elapsed lengths across DST changes.

Expected instants are written by hand from the zones' published rules (EU: last Sunday of
March 01:00 UTC to last Sunday of October 01:00 UTC; US: second Sunday of March 02:00 local
to first Sunday of November 02:00 local), not computed with the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshwatch.model import CalendarUnit, Window
from meshwatch.slo.calendar import UNITS, Unit, calendar_bounds, check_zone, zone
from meshwatch.slo.periods import current_period, previous_period
from meshwatch.slo.report_periods import report_bounds

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("unit", "tz", "now", "start", "end", "length"),
    [
        pytest.param(
            "month",
            BERLIN,
            "2026-03-15T12:00",
            "2026-02-28T23:00",
            "2026-03-31T22:00",
            timedelta(days=31, hours=-1),
            id="berlin-march-spring-forward",
        ),
        pytest.param(
            "month",
            BERLIN,
            "2026-10-25T00:30",
            "2026-09-30T22:00",
            "2026-10-31T23:00",
            timedelta(days=31, hours=1),
            id="berlin-october-fall-back",
        ),
        pytest.param(
            "month",
            BERLIN,
            "2026-01-31T23:30",
            "2026-01-31T23:00",
            "2026-02-28T23:00",
            timedelta(days=28),
            id="berlin-february-begins-before-utc-midnight",
        ),
        pytest.param(
            "week",
            BERLIN,
            "2026-03-29T01:30",
            "2026-03-22T23:00",
            "2026-03-29T22:00",
            timedelta(hours=167),
            id="berlin-week-167h",
        ),
        pytest.param(
            "week",
            BERLIN,
            "2026-10-25T12:00",
            "2026-10-18T22:00",
            "2026-10-25T23:00",
            timedelta(hours=169),
            id="berlin-week-169h",
        ),
        pytest.param(
            "month",
            NEW_YORK,
            "2026-03-08T07:00",
            "2026-03-01T05:00",
            "2026-04-01T04:00",
            timedelta(days=31, hours=-1),
            id="new-york-march-spring-forward",
        ),
        pytest.param(
            "month",
            NEW_YORK,
            "2026-11-01T05:30",
            "2026-11-01T04:00",
            "2026-12-01T05:00",
            timedelta(days=30, hours=1),
            id="new-york-november-fall-back",
        ),
        pytest.param(
            "week",
            NEW_YORK,
            "2026-03-08T06:59",
            "2026-03-02T05:00",
            "2026-03-09T04:00",
            timedelta(hours=167),
            id="new-york-week-167h",
        ),
        pytest.param(
            "week",
            NEW_YORK,
            "2026-11-01T06:00",
            "2026-10-26T04:00",
            "2026-11-02T05:00",
            timedelta(hours=169),
            id="new-york-week-169h",
        ),
        pytest.param(
            "quarter",
            BERLIN,
            "2026-02-10T00:00",
            "2025-12-31T23:00",
            "2026-03-31T22:00",
            timedelta(days=90, hours=-1),
            id="berlin-q1",
        ),
        pytest.param(
            "quarter",
            NEW_YORK,
            "2026-12-31T23:00",
            "2026-10-01T04:00",
            "2027-01-01T05:00",
            timedelta(days=92, hours=1),
            id="new-york-q4",
        ),
    ],
)
def test_period_in_zone(
    unit: Unit, tz: ZoneInfo, now: str, start: str, end: str, length: timedelta
) -> None:
    bounds = calendar_bounds(unit, tz, utc(now))
    assert bounds == (utc(start), utc(end))
    assert bounds[1] - bounds[0] == length


@pytest.mark.parametrize(
    ("now", "start"),
    [
        pytest.param("2026-02-28T22:59:59.999999", "2026-01-31T23:00", id="last-instant-of-feb"),
        pytest.param("2026-02-28T23:00", "2026-02-28T23:00", id="local-midnight-is-march"),
    ],
)
def test_boundary_belongs_to_the_new_period(now: str, start: str) -> None:
    assert calendar_bounds("month", BERLIN, utc(now))[0] == utc(start)


def test_week_start_follows_the_given_weekday() -> None:
    sunday = 6
    start, end = calendar_bounds("week", NEW_YORK, utc("2026-03-11T12:00"), week_start=sunday)
    assert (start, end) == (utc("2026-03-08T05:00"), utc("2026-03-15T04:00"))
    assert start.astimezone(NEW_YORK).weekday() == sunday


def test_midnight_skipped_by_dst_starts_at_the_transition() -> None:
    # Cuba springs forward at 00:00 (-> 01:00) on 2026-03-08, a Sunday: that midnight never
    # happens, so a Sunday week starts at the transition, 05:00 UTC.
    havana = ZoneInfo("America/Havana")
    start, end = calendar_bounds("week", havana, utc("2026-03-09T00:00"), week_start=6)
    assert start == utc("2026-03-08T05:00")
    assert start.astimezone(havana).hour == 1
    assert end - start == timedelta(hours=167)


def test_back_gives_the_previous_complete_period() -> None:
    assert calendar_bounds("month", BERLIN, utc("2026-04-01T08:00"), back=1) == (
        utc("2026-02-28T23:00"),
        utc("2026-03-31T22:00"),
    )


def test_window_carries_the_zone_into_current_and_previous_periods() -> None:
    window = Window.calendar(CalendarUnit.MONTH, "Europe/Berlin")
    period = current_period(window, utc("2026-03-31T22:30"))  # 00:30 on 1 April in Berlin
    assert (period.start, period.end) == (utc("2026-03-31T22:00"), utc("2026-04-30T22:00"))
    assert period.elapsed == timedelta(minutes=30)
    previous = previous_period(window, utc("2026-03-31T22:30"))
    assert (previous.start, previous.end) == (utc("2026-02-28T23:00"), utc("2026-03-31T22:00"))
    assert previous.length == timedelta(days=31, hours=-1)


@pytest.mark.parametrize(
    ("zone_name", "start", "end"),
    [
        pytest.param("UTC", "2026-03-01T00:00", "2026-04-01T00:00", id="utc"),
        pytest.param("Europe/Berlin", "2026-03-31T22:00", "2026-04-30T22:00", id="berlin"),
    ],
)
def test_report_month_in_zone(zone_name: str, start: str, end: str) -> None:
    # 2026-04-30T22:30Z is 1 May 00:30 in Berlin but still 30 April in UTC.
    assert report_bounds("calendar-month", utc("2026-04-30T22:30"), zone_name) == (
        utc(start),
        utc(end),
    )


def test_report_quarter_in_zone() -> None:
    at = utc("2026-03-31T22:30")  # 1 April 00:30 in Berlin
    assert report_bounds("calendar-quarter", at, "Europe/Berlin") == (
        utc("2025-12-31T23:00"),
        utc("2026-03-31T22:00"),
    )
    assert report_bounds("calendar-quarter", at) == (utc("2025-10-01"), utc("2026-01-01"))


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Europe/Berln", id="typo"),
        pytest.param("", id="empty"),
        pytest.param(" Europe/Berlin", id="padded"),
        pytest.param("/etc/passwd", id="absolute-path"),
        pytest.param("../zoneinfo/UTC", id="relative-path"),
    ],
)
def test_unknown_zone_is_refused_with_what_to_write(name: str) -> None:
    with pytest.raises(ValueError, match="IANA name"):
        check_zone(name)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar_bounds("month", BERLIN, datetime(2026, 3, 1))


ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "Asia/Kolkata",
    "America/Havana",
    "Pacific/Chatham",
)


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2037, 12, 31), timezones=st.just(UTC)
    ),
    unit=st.sampled_from(UNITS),
    name=st.sampled_from(ZONES),
    week_start=st.integers(0, 6),
)
def test_periods_tile_time_and_start_at_local_midnight(
    moment: datetime, unit: Unit, name: str, week_start: int
) -> None:
    tz = zone(name)
    start, end = calendar_bounds(unit, tz, moment, week_start=week_start)
    assert start <= moment < end
    # the next period starts where this one ends, the previous one ends where it starts
    assert calendar_bounds(unit, tz, end, week_start=week_start)[0] == end
    assert (
        calendar_bounds(unit, tz, start - timedelta(microseconds=1), week_start=week_start)[1]
        == start
    )
    local = start.astimezone(tz)
    day_before = (start - timedelta(microseconds=1)).astimezone(tz)
    assert local.date() != day_before.date()  # the first instant of a local day
    first = {"week": local.weekday() == week_start, "month": local.day == 1}
    assert first.get(unit, local.day == 1 and local.month in (1, 4, 7, 10))
