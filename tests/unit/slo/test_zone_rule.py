"""A zone's yearly DST rule (the TZif footer) against `zoneinfo`, and the POSIX TZ parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from meshwatch.slo.zone_rule import Transition, ZoneRule, parse_posix_tz, rule_mismatch, zone_rule

FOLLOWING = (
    "UTC",
    "Europe/Berlin",
    "Europe/London",
    "Europe/Dublin",  # "negative" DST: GMT in winter is its DST
    "America/New_York",
    "America/Havana",  # changes at midnight
    "America/Santiago",  # changes at 24:00 on Saturdays
    "America/Nuuk",  # changes at -1:00 (the evening before)
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kolkata",
)


@pytest.mark.parametrize("name", FOLLOWING)
def test_rule_gives_the_offset_zoneinfo_gives_hour_by_hour(name: str) -> None:
    rule, tz = zone_rule(name), ZoneInfo(name)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    while moment < datetime(2028, 1, 1, tzinfo=UTC):
        offset = moment.astimezone(tz).utcoffset()
        assert offset is not None
        assert rule.offset(moment) == offset.total_seconds(), (name, moment)
        moment += timedelta(hours=1)
    assert rule_mismatch(name, datetime(2026, 1, 1, tzinfo=UTC), years=11) is None


def test_zone_with_listed_changes_beyond_its_rule_is_found() -> None:
    assert rule_mismatch("Africa/Casablanca", datetime(2026, 1, 1, tzinfo=UTC)) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "CET-1CEST,M3.5.0,M10.5.0/3",
            ZoneRule(3600, 7200, Transition(3, 5, 0, 7200), Transition(10, 5, 0, 10800)),
            id="berlin",
        ),
        pytest.param(
            "EST5EDT,M3.2.0,M11.1.0",
            ZoneRule(-18000, -14400, Transition(3, 2, 0, 7200), Transition(11, 1, 0, 7200)),
            id="new-york-default-times",
        ),
        pytest.param("<+0545>-5:45", ZoneRule(20700, 20700), id="kathmandu-no-dst"),
        pytest.param(
            "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
            ZoneRule(-7200, -3600, Transition(3, 5, 0, -3600), Transition(10, 5, 0, 0)),
            id="negative-time",
        ),
    ],
)
def test_parse_posix_tz(text: str, expected: ZoneRule) -> None:
    assert parse_posix_tz(text) == expected


@pytest.mark.parametrize("text", ["", "CET", "XST0XDT,J60,J300", "CET-1CEST,M3.5.0"])
def test_unsupported_posix_tz_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="unsupported POSIX TZ rule"):
        parse_posix_tz(text)


@pytest.mark.parametrize(
    ("transition", "year", "day"),
    [
        pytest.param(Transition(3, 5, 0, 0), 2026, 29, id="last-sunday-march-2026"),
        pytest.param(Transition(3, 5, 0, 0), 1970, 29, id="last-sunday-march-1970"),
        pytest.param(Transition(3, 2, 0, 0), 1970, 8, id="second-sunday-march-1970"),
        pytest.param(Transition(11, 1, 0, 0), 2026, 1, id="first-sunday-november-2026"),
        pytest.param(Transition(2, 5, 6, 0), 2024, 24, id="last-saturday-leap-february"),
    ],
)
def test_transition_day(transition: Transition, year: int, day: int) -> None:
    assert transition.day(year) == day
