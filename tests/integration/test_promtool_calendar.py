"""Calendar periods in a time zone under the real `promtool test rules`, across DST changes.

promtool evaluates rules from the Unix epoch on, so the scenario runs in early 1970 under
each zone's *current* yearly rule (`slo.zone_rule`; Berlin had no DST in 1970, its rule
is applied anyway, exactly as the generated PromQL applies it to every year).
`tests/unit/slo/test_zone_rule.py` holds that rule to `zoneinfo` for the years ahead.

The expected period start is found by brute force here: walk back in 15-minute steps (all
these zones change offset and start their days on quarter hours) while the local date,
under the rule, stays in the same week/month. The counts are the traffic's own: 1 request
per second, 1 error per minute, so the period holds exactly `t - start` requests.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from meshwatch.model import SLO, CalendarUnit, Matcher, RatioSLI, Selector, Window
from meshwatch.slo.zone_rule import ZoneRule, zone_rule
from tests.integration.promtool_run import assert_passes, run_promtool
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=15)
EVALUATION = timedelta(minutes=5)


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def _slo(name: str, unit: CalendarUnit, zone: str) -> SLO:
    total = Selector("http_requests_total", (Matcher("job", "=", "checkout"),))
    return SLO(
        service="checkout",
        name=name,
        objective=99.0,
        window=Window.calendar(unit, zone),
        sli=RatioSLI(total=total, bad=total.with_matchers(Matcher("code", "=~", "5.."))),
    )


SLOS = {
    "ny-month": _slo("ny-month", CalendarUnit.MONTH, "America/New_York"),
    "berlin-week": _slo("berlin-week", CalendarUnit.WEEK, "Europe/Berlin"),
    "berlin-month": _slo("berlin-month", CalendarUnit.MONTH, "Europe/Berlin"),
    "sydney-month": _slo("sydney-month", CalendarUnit.MONTH, "Australia/Sydney"),
}

# (SLO, instant): around each DST change and each period boundary under the rule
CASES = [
    ("ny-month", "1970-03-01T04:55"),  # still February (EST)
    ("ny-month", "1970-03-01T05:00"),  # March starts at 00:00 EST
    ("ny-month", "1970-03-08T06:55"),  # just before spring forward (07:00Z)
    ("ny-month", "1970-03-08T07:05"),
    ("ny-month", "1970-04-01T03:55"),  # 23:55 EDT on 31 March
    ("ny-month", "1970-04-01T04:00"),  # April starts at 00:00 EDT: March was 31 d - 1 h
    ("ny-month", "1970-04-01T04:30"),
    ("berlin-week", "1970-03-22T22:55"),
    ("berlin-week", "1970-03-22T23:00"),  # Monday 00:00 CET
    ("berlin-week", "1970-03-29T00:55"),  # Sunday, before 02:00 CET -> 03:00 CEST
    ("berlin-week", "1970-03-29T01:05"),
    ("berlin-week", "1970-03-29T21:55"),  # the 167 h week's last minutes
    ("berlin-week", "1970-03-29T22:00"),  # Monday 00:00 CEST
    ("berlin-month", "1970-03-31T21:55"),
    ("berlin-month", "1970-03-31T22:00"),  # 1 April 00:00 CEST
    ("sydney-month", "1970-03-31T12:55"),
    ("sydney-month", "1970-03-31T13:00"),  # 1 April 00:00 AEDT (+11)
    ("sydney-month", "1970-04-05T15:55"),  # before falling back (03:00 AEDT -> 02:00 AEST)
    ("sydney-month", "1970-04-05T16:05"),
    ("sydney-month", "1970-04-30T13:55"),  # 23:55 AEST on 30 April
    ("sydney-month", "1970-04-30T14:00"),  # 1 May 00:00 AEST: April was 30 d + 1 h
]


def _key(slo: SLO, rule: ZoneRule, moment: datetime) -> date:
    local = (moment + timedelta(seconds=rule.offset(moment))).date()
    if slo.window.unit is CalendarUnit.WEEK:
        return local - timedelta(days=(local.weekday() - slo.window.week_start) % 7)
    return local.replace(day=1)


def brute_force_start(slo: SLO, moment: datetime) -> datetime:
    rule = zone_rule(slo.window.time_zone)
    key = _key(slo, rule, moment)
    start = EPOCH + (moment - EPOCH) // STEP * STEP
    while _key(slo, rule, start - STEP) == key:
        start -= STEP
    return start


def _sample(expr: str, slo: SLO, minute: int, value: float) -> dict[str, Any]:
    labels = f'{{meshwatch_service="checkout",meshwatch_slo="{slo.name}"}}'
    return {
        "expr": f"{expr}{labels}",
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": f"{expr}{labels}", "value": value}],
    }


def test_period_start_offset_and_counts_follow_local_midnight_across_dst(
    promtool: str, tmp_path: Path
) -> None:
    checks: list[dict[str, Any]] = []
    last = 0
    for name, text in CASES:
        slo = SLOS[name]
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        minute = int((moment - EPOCH) / timedelta(minutes=1))
        assert minute % 5 == 0  # every check lands on an evaluation
        last = max(last, minute)
        start = brute_force_start(slo, moment)
        elapsed = (moment - start).total_seconds()
        rule = zone_rule(slo.window.time_zone)
        checks += [
            _sample("meshwatch:slo_period_start:timestamp", slo, minute, start.timestamp()),
            _sample("meshwatch:slo_utc_offset:seconds", slo, minute, rule.offset(moment)),
            _sample("meshwatch:sli_requests:increase_period", slo, minute, elapsed),
            _sample("meshwatch:sli_errors:increase_period", slo, minute, elapsed / 60),
        ]
        if elapsed > 0:
            checks.append(_sample("meshwatch:slo_period_error:ratio", slo, minute, 1 / 60))
    # the lengths the brute force found are the ones the zones' rules give
    assert brute_force_start(SLOS["ny-month"], datetime(1970, 4, 1, 4, tzinfo=UTC)) - (
        brute_force_start(SLOS["ny-month"], datetime(1970, 3, 31, tzinfo=UTC))
    ) == timedelta(days=31, hours=-1)
    minutes = last + 10
    series = [
        {"series": 'http_requests_total{job="checkout",code="200"}', "values": f"0+59x{minutes}"},
        {"series": 'http_requests_total{job="checkout",code="500"}', "values": f"0+1x{minutes}"},
    ]
    tests = [{"interval": "1m", "input_series": series, "promql_expr_test": checks}]
    proc = run_promtool(promtool, tmp_path, list(SLOS.values()), tests, evaluation_interval="5m")
    assert_passes(proc)
