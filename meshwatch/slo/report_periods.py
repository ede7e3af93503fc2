"""Which span of time a report covers, and how finely it is bucketed.

A report period is written like an SLO window, plus the calendar units reports are owed in:

* a duration (`1h`, `36h`, `7d`, `90d`): the span of that length ending at `at`;
* `calendar-week`, `calendar-month`, `calendar-quarter`: the last *complete* calendar
  week (Monday 00:00), month (the 1st) or quarter (1 January, April, July, October) before
  `at`, in UTC or the time zone asked for (local midnight, DST included) — the report a
  team owes on the 1st is about the month that just ended;
* an explicit ISO 8601 interval `START/END` (`2026-11-01T00:00:00Z/2026-11-08T00:00:00Z`);
  naive times are UTC.

Pure functions of their arguments; `at` is timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from meshwatch.model import parse_duration
from meshwatch.slo.calendar import Unit, calendar_bounds, zone
from meshwatch.slo.periods import utc

CALENDAR_PERIODS: Final = ("calendar-week", "calendar-month", "calendar-quarter")
MAX_BUCKETS: Final = 200
# Bucket lengths a report may use, shortest first; 7 d -> 1 h (168), 30 d -> 6 h (120).
_STEPS: Final = tuple(
    timedelta(seconds=s) for s in (300, 900, 3600, 6 * 3600, 86400, 7 * 86400, 30 * 86400)
)
_HELP: Final = (
    "use a duration (1h, 36h, 7d, 90d), calendar-week, calendar-month, calendar-quarter "
    "or START/END (ISO 8601 times)"
)


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{text.strip()!r} is not an ISO 8601 time") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def interval(start: datetime, end: datetime) -> str:
    """The period string of an explicit span: `START/END` in UTC, to the second."""
    start, end = utc(start), utc(end)
    if end <= start:
        raise ValueError(f"the report ends ({end:%Y-%m-%dT%H:%M:%SZ}) before it starts")
    return f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


def check_report_period(text: str, *, allow_interval: bool = True) -> str:
    """`text` if it is a valid report period; raise ValueError with what to write otherwise."""
    value = text.strip()
    if value in CALENDAR_PERIODS:
        return value
    if "/" in value:
        if not allow_interval:
            raise ValueError(f"{value!r}: a scheduled report needs a duration or calendar period")
        first, _, second = value.partition("/")
        return interval(_moment(first), _moment(second))
    try:
        parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"invalid report period {value!r}; {_HELP}") from exc
    return value


def report_bounds(period: str, at: datetime, time_zone: str = "UTC") -> tuple[datetime, datetime]:
    """`(start, end)` in UTC of the report `period` seen at `at` (see the module docstring);
    calendar periods are those of `time_zone` (an IANA name), starting at local midnight."""
    at = utc(at)
    value = check_report_period(period)
    if value in CALENDAR_PERIODS:
        unit: Unit = "week" if value == "calendar-week" else "month"
        if value == "calendar-quarter":
            unit = "quarter"
        return calendar_bounds(unit, zone(time_zone), at, back=1)
    if "/" in value:
        first, _, second = value.partition("/")
        return _moment(first), _moment(second)
    return at - parse_duration(value), at


def report_step(start: datetime, end: datetime) -> timedelta:
    """The shortest bucket length that keeps the report at or under `MAX_BUCKETS` buckets."""
    span = end - start
    for step in _STEPS:
        if span / step <= MAX_BUCKETS:
            return step
    return _STEPS[-1]
