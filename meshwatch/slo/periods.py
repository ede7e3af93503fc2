"""Where an SLO period starts and ends at a given moment.

A rolling window always ends now and starts `length` earlier. A calendar window is the
current UTC calendar week (starting Monday 00:00) or month (starting the 1st at 00:00); its
length is the real length of that week or month (28 to 31 days for months), not the nominal
30 days `Window.calendar` stores for choosing burn-rate factors.

Every function takes `now` as a timezone-aware datetime; it is converted to UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from meshwatch.model import CalendarUnit, Window, WindowKind


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


def _week_start(now: datetime) -> datetime:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=now.weekday())  # Monday is weekday 0


def _month_start(now: datetime) -> datetime:
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start: datetime) -> datetime:
    if start.month == 12:
        return start.replace(year=start.year + 1, month=1)
    return start.replace(month=start.month + 1)


def _previous_month(start: datetime) -> datetime:
    if start.month == 1:
        return start.replace(year=start.year - 1, month=12)
    return start.replace(month=start.month - 1)


def current_period(window: Window, now: datetime) -> Period:
    """The period of `window` that contains `now` (for rolling windows: the one ending now)."""
    now = utc(now)
    if window.kind is WindowKind.ROLLING:
        return Period(now - window.length, now, now)
    if window.unit is CalendarUnit.WEEK:
        start = _week_start(now)
        return Period(start, start + timedelta(days=7), now)
    if window.unit is CalendarUnit.MONTH:
        start = _month_start(now)
        return Period(start, _next_month(start), now)
    raise ValueError(f"calendar window without a unit: {window!r}")


def previous_period(window: Window, now: datetime) -> Period:
    """The last complete period before the one containing `now`, as reports use it.

    For rolling windows that is the window ending `length` before now. Its `now` is its end,
    so `elapsed == length` and `remaining == 0`.
    """
    current = current_period(window, now)
    if window.kind is WindowKind.ROLLING:
        end = current.start
        return Period(end - window.length, end, end)
    if window.unit is CalendarUnit.WEEK:
        return Period(current.start - timedelta(days=7), current.start, current.start)
    return Period(_previous_month(current.start), current.start, current.start)


def period_bounds(window: Window, now: datetime) -> tuple[datetime, datetime]:
    """`(start, end)` in UTC of the period containing `now`; see `current_period`."""
    period = current_period(window, now)
    return period.start, period.end


def period_length(window: Window, now: datetime) -> timedelta:
    """Length of the period containing `now`: the rolling length, or the real week/month."""
    return current_period(window, now).length
