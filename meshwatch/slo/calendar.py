"""Calendar periods in a time zone: weeks, months and quarters that start at local midnight.

A calendar period starts at 00:00 local time on its first day (the 1st of the month, the
1st of January/April/July/October, or the week's first day, Monday unless said otherwise)
and ends where the next one starts. Both bounds are returned as UTC instants, so a
period's length is real elapsed time: a Europe/Berlin March is 31 d - 1 h, its October
31 d + 1 h, and the week holding a DST change is 167 h or 169 h.

Local midnight that does not exist (a zone that springs forward at 00:00) starts the
period at the transition; a midnight that happens twice starts it at the first one
(`fold=0`, as `zoneinfo` reads wall times).

Pure apart from reading the zone database once per name (`zone`, cached).
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Unit = Literal["week", "month", "quarter"]
UNITS: Final[tuple[Unit, ...]] = ("week", "month", "quarter")
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@functools.lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; raise ValueError with what to write for an unknown one."""
    text = name.strip()
    try:
        if not text or text != name:
            raise ValueError(name)
        return ZoneInfo(text)
    except (ValueError, ZoneInfoNotFoundError, OSError):
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as UTC, Europe/Berlin "
            "or America/New_York"
        ) from None


def check_zone(name: str) -> str:
    """`name` if it is a known IANA zone; raise ValueError otherwise (see `zone`)."""
    zone(name)
    return name


def _first_day(unit: Unit, day: date, week_start: int) -> date:
    if unit == "week":
        return day - timedelta(days=(day.weekday() - week_start) % 7)
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)


def _add(unit: Unit, first: date, count: int) -> date:
    """The first day `count` periods after (or before, when negative) the one at `first`."""
    if unit == "week":
        return first + timedelta(days=7 * count)
    months = count * (3 if unit == "quarter" else 1)
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """00:00 of `day` in `tz` as a UTC instant (`fold=0`; see the module docstring)."""
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def calendar_bounds(
    unit: Unit, tz: ZoneInfo, now: datetime, *, week_start: int = 0, back: int = 0
) -> tuple[datetime, datetime]:
    """`(start, end)` in UTC of the calendar period holding `now` (timezone-aware), or of
    the one `back` periods before it (`back=1`: the last complete period)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now.isoformat()}")
    if not 0 <= week_start <= 6:
        raise ValueError(f"week_start is a weekday 0 (Monday) .. 6 (Sunday), got {week_start}")
    local = now.astimezone(tz)
    first = _add(unit, _first_day(unit, local.date(), week_start), -back)
    return local_midnight(first, tz), local_midnight(_add(unit, first, 1), tz)
