"""Where an SLO period starts and ends at a given moment.

A rolling window always ends now and starts `length` earlier. A calendar window is the
current calendar week (starting on its first day, Monday by default, at 00:00) or month
(starting the 1st at 00:00) in the window's time zone (UTC by default; see `calendar`); its
length is the real elapsed length of that week or month (28 to 31 days for months, give or
take the hour of a DST change), not the nominal 30 days `Window.calendar` stores for
choosing burn-rate factors.

Every function takes `now` as a timezone-aware datetime; it is converted to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meshwatch.model import CalendarUnit, Window, WindowKind
from meshwatch.slo.calendar import Unit, calendar_bounds, zone


@dataclass(frozen=True, slots=True)
class Period:
    """One SLO period as seen at `now`: `start <= now <= end` (UTC)."""

    start: datetime
    end: datetime
    now: datetime

    @property
    def length(self) -> timedelta:
        """The whole period: the rolling length, or the real length of this week/month."""
        return self.end - self.start

    @property
    def elapsed(self) -> timedelta:
        """Time from the start of the period to `now` (the whole length for rolling windows)."""
        return self.now - self.start

    @property
    def remaining(self) -> timedelta:
        """Time from `now` to the end of the period (always zero for rolling windows)."""
        return self.end - self.now

    @property
    def elapsed_fraction(self) -> float:
        """Share of the period already behind us, 0..1."""
        return self.elapsed / self.length


def utc(now: datetime) -> datetime:
    """`now` in UTC; raise ValueError for a naive datetime (its zone would be a guess)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    return now.astimezone(UTC)


def _calendar(window: Window, now: datetime, back: int) -> tuple[datetime, datetime]:
    if window.unit is None:
        raise ValueError(f"calendar window without a unit: {window!r}")
    unit: Unit = "week" if window.unit is CalendarUnit.WEEK else "month"
    tz = zone(window.time_zone)
    return calendar_bounds(unit, tz, now, week_start=window.week_start, back=back)


def current_period(window: Window, now: datetime) -> Period:
    """The period of `window` that contains `now` (for rolling windows: the one ending now)."""
    now = utc(now)
    if window.kind is WindowKind.ROLLING:
        return Period(now - window.length, now, now)
    start, end = _calendar(window, now, 0)
    return Period(start, end, now)


def previous_period(window: Window, now: datetime) -> Period:
    """The last complete period before the one containing `now`, as reports use it.

    For rolling windows that is the window ending `length` before now. Its `now` is its end,
    so `elapsed == length` and `remaining == 0`.
    """
    now = utc(now)
    if window.kind is WindowKind.ROLLING:
        end = now - window.length
        return Period(end - window.length, end, end)
    start, end = _calendar(window, now, 1)
    return Period(start, end, end)


def period_bounds(window: Window, now: datetime) -> tuple[datetime, datetime]:
    """`(start, end)` in UTC of the period containing `now`; see `current_period`."""
    period = current_period(window, now)
    return period.start, period.end


def period_length(window: Window, now: datetime) -> timedelta:
    """Length of the period containing `now`: the rolling length, or the real week/month."""
    if window.kind is WindowKind.ROLLING:  # every SLO, every cycle: no Period to build
        utc(now)  # naive `now` is refused either way
        return window.length
    return current_period(window, now).length
