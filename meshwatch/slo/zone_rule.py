"""A time zone's current DST rule, as the zone database states it for the years ahead.

Every TZif file (version 2+) ends with a POSIX TZ string that gives the rule the zone
follows after its last listed transition, e.g. `CET-1CEST,M3.5.0,M10.5.0/3` (Europe/Berlin:
UTC+1, summer UTC+2 from the last Sunday of March 02:00 local to the last Sunday of October
03:00 local) or `EST5EDT,M3.2.0,M11.1.0` (America/New_York). The generated rules apply that
rule to every year, which is what the zone does from its last rule change on (2007 for
New York, 1996 for Berlin); `ZoneRule.offset` computes the same thing in Python so tests can
hold PromQL to it, and hold it to `zoneinfo`.

`zone_rule(name)` reads the file (the `tzdata` package first, so rules do not depend on the
host; then the system zone directories); `parse_posix_tz` is pure.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path

_NAME = r"(?:[A-Za-z]{3,}|<[+\-0-9A-Za-z]+>)"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_TZ_RE = re.compile(
    rf"^(?P<std>{_NAME})(?P<std_off>{_OFFSET})"
    rf"(?:(?P<dst>{_NAME})(?P<dst_off>{_OFFSET})?"
    r",M(?P<sm>\d+)\.(?P<sw>\d)\.(?P<sd>\d)(?:/(?P<st>[+-]?[\d:]+))?"
    r",M(?P<em>\d+)\.(?P<ew>\d)\.(?P<ed>\d)(?:/(?P<et>[+-]?[\d:]+))?)?$"
)


def _seconds(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")]
    parts += [0] * (3 - len(parts))
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2])


@dataclass(frozen=True, slots=True)
class Transition:
    """`Mm.w.d/time`: the `week`-th (5 = last) `weekday` (0 = Sunday) of `month`, at `time`
    seconds after local midnight (in the offset in force just before the change)."""

    month: int
    week: int
    weekday: int
    time: int

    def day(self, year: int) -> int:
        """The day of the month the transition falls on in `year`."""
        first = datetime(year, self.month, 1, tzinfo=UTC)
        sunday_based = (first.weekday() + 1) % 7
        day = 1 + (self.weekday - sunday_based) % 7 + 7 * (self.week - 1)
        next_month = datetime(year + self.month // 12, self.month % 12 + 1, 1, tzinfo=UTC)
        while day > (next_month - first).days:
            day -= 7
        return day


@dataclass(frozen=True, slots=True)
class ZoneRule:
    """UTC offsets in seconds east of UTC; `start`/`end` are None for zones without DST."""

    std: int
    dst: int
    start: Transition | None = None
    end: Transition | None = None

    @property
    def has_dst(self) -> bool:
        return self.start is not None

    def offset(self, moment: datetime) -> int:
        """The offset at `moment` under this rule (any year, as the generated PromQL)."""
        if self.start is None or self.end is None:
            return self.std
        local = moment.astimezone(UTC) + timedelta(seconds=self.std)  # local standard time
        begin = _instant(self.start, local.year)
        finish = _instant(self.end, local.year) - timedelta(seconds=self.dst - self.std)
        naive = local.replace(tzinfo=None)
        northern = begin < finish  # DST inside one calendar year
        in_dst = begin <= naive < finish if northern else not finish <= naive < begin
        return self.dst if in_dst else self.std


def _instant(rule: Transition, year: int) -> datetime:
    return datetime(year, rule.month, rule.day(year)) + timedelta(seconds=rule.time)


def parse_posix_tz(text: str) -> ZoneRule:
    """`CET-1CEST,M3.5.0,M10.5.0/3` -> ZoneRule; ValueError for forms not handled (Julian
    day rules `Jn`/`n`, which no zone in the database uses for its current rule)."""
    match = _TZ_RE.match(text.strip())
    if match is None:
        raise ValueError(f"unsupported POSIX TZ rule {text!r}")
    std = -_seconds(match["std_off"])
    if match["dst"] is None:
        return ZoneRule(std, std)
    dst = -_seconds(match["dst_off"]) if match["dst_off"] else std + 3600
    start = Transition(
        int(match["sm"]), int(match["sw"]), int(match["sd"]), _seconds(match["st"] or "2")
    )
    end = Transition(
        int(match["em"]), int(match["ew"]), int(match["ed"]), _seconds(match["et"] or "2")
    )
    return ZoneRule(std, dst, start, end)


def _tzif(name: str) -> bytes:
    parts = name.split("/")
    try:
        return resources.files("tzdata").joinpath("zoneinfo", *parts).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError):
        pass
    for root in zoneinfo.TZPATH:
        path = Path(root, *parts)
        if path.is_file():
            return path.read_bytes()
    raise ValueError(f"no zone file for {name!r}")


@functools.lru_cache(maxsize=64)
def zone_rule(name: str) -> ZoneRule:
    """The current rule of IANA zone `name` (its TZif footer); ValueError when unknown."""
    data = _tzif(name)
    if not data.startswith(b"TZif") or data[4:5] < b"2":
        raise ValueError(f"zone file of {name!r} has no POSIX rule (TZif version 1)")
    footer = data.rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii")
    return parse_posix_tz(footer)


def rule_mismatch(name: str, since: datetime, years: int = 10) -> datetime | None:
    """The first day (noon UTC, from `since`, over `years`) on which the zone's yearly rule
    gives another offset than its listed transitions (Africa/Casablanca lists Ramadan
    changes decades ahead), or None when the rule holds. Daily samples: a mismatch lasting
    less than a day between two noons is not seen."""
    rule = zone_rule(name)
    tz = zoneinfo.ZoneInfo(name)
    day = since.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    for _ in range(years * 366):
        actual = day.astimezone(tz).utcoffset()
        if actual is None or int(actual.total_seconds()) != rule.offset(day):
            return day
        day += timedelta(days=1)
    return None
