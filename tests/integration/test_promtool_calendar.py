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

import dataclasses
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshwatch.model import SLO, Alerting, CalendarUnit, Matcher, RatioSLI, Selector, Window
from meshwatch.render.rules_calendar import (
    local_midnight_expr,
    now_local_expr,
    offset_expr,
    start_of_expr,
)
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


def _sample(expr: str, minute: int, value: float, labels: str = "") -> dict[str, Any]:
    return {
        "expr": expr,
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": labels, "value": value}],
    }


def _minute(moment: datetime) -> int:
    minute = int((moment - EPOCH) / timedelta(minutes=1))
    assert minute % 5 == 0  # every check lands on an evaluation
    return minute


def run_suite(
    promtool: str, folder: Path, tests: list[dict[str, Any]], interval: str
) -> subprocess.CompletedProcess[str]:
    """`promtool test rules` of expressions alone (no rule file)."""
    suite = {"rule_files": [], "evaluation_interval": interval, "tests": tests}
    (folder / "test.yaml").write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return subprocess.run(
        [promtool, "test", "rules", "test.yaml"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_period_start_and_offset_follow_local_midnight_across_dst(
    promtool: str, tmp_path: Path
) -> None:
    """The three steps the rules record, each at each instant (no rules evaluated: cheap):
    the offset from `time()`, the local midnight from the offset, the start from it."""
    checks: list[dict[str, Any]] = []
    for name, text in CASES:
        slo = SLOS[name]
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        rule = zone_rule(slo.window.time_zone)
        start = brute_force_start(slo, moment)
        offset = rule.offset(moment)
        wall = start.timestamp() + rule.offset(start)  # local midnight read as if UTC
        minute = _minute(moment)
        local = now_local_expr(rule, str(offset))
        checks += [
            _sample(f"vector({offset_expr(rule, 'time()')})", minute, offset),
            _sample(f"vector({local_midnight_expr(slo, local)})", minute, wall),
            _sample(f"vector({start_of_expr(rule, f'{wall:.0f}')})", minute, start.timestamp()),
        ]
    # the lengths the brute force finds are the ones the zones' rules give
    ny = SLOS["ny-month"]
    march = brute_force_start(ny, datetime(1970, 4, 1, 4, tzinfo=UTC)) - brute_force_start(
        ny, datetime(1970, 3, 31, tzinfo=UTC)
    )
    assert march == timedelta(days=31, hours=-1)
    tests = [{"interval": "1h", "input_series": [], "promql_expr_test": checks}]
    assert_passes(run_suite(promtool, tmp_path, tests, "1h"))


# a Sunday week in New York: 8 March 1970 00:00 EST to 15 March 00:00 EDT (167 h)
NY_WEEK = [
    "1970-03-08T04:55",  # the week before
    "1970-03-08T05:00",  # 00:00 EST: the period starts, nothing counted yet
    "1970-03-08T06:55",  # just before spring forward (07:00Z)
    "1970-03-08T07:05",
    "1970-03-15T03:55",  # 23:55 EDT on Saturday: 167 h - 5 min of requests
    "1970-03-15T04:00",  # 00:00 EDT: the next period starts an hour "early" in UTC
    "1970-03-15T04:30",
]


@pytest.mark.slow  # 21,000 evaluations from the epoch: ~90 s of promtool CPU
def test_period_counts_accumulate_across_spring_forward_and_reset_at_local_midnight(
    promtool: str, tmp_path: Path
) -> None:
    """The recorded rules of one America/New_York Sunday-week SLO, evaluated every 5m from
    the epoch (promtool's start) to a week later than the DST change: the period holds the
    traffic's own count since local midnight, through the 23-hour day."""
    slo = dataclasses.replace(
        _slo("ny-week", CalendarUnit.WEEK, "America/New_York"),
        window=Window.calendar(CalendarUnit.WEEK, "America/New_York", week_start=6),
        alerting=Alerting(page=False, ticket=False, absent=False),
    )
    labels = f'{{meshwatch_service="checkout",meshwatch_slo="{slo.name}"}}'
    checks: list[dict[str, Any]] = []
    last = 0
    for text in NY_WEEK:
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
        minute = _minute(moment)
        last = max(last, minute)
        start = brute_force_start(slo, moment)
        elapsed = (moment - start).total_seconds()
        for record, value in (
            ("meshwatch:slo_period_start:timestamp", start.timestamp()),
            ("meshwatch:sli_requests:increase_period", elapsed),
            ("meshwatch:sli_errors:increase_period", elapsed / 60),
        ):
            checks.append(_sample(f"{record}{labels}", minute, value, f"{record}{labels}"))
        if elapsed:
            record = "meshwatch:slo_period_error:ratio"
            checks.append(_sample(f"{record}{labels}", minute, 1 / 60, f"{record}{labels}"))
    week = datetime(1970, 3, 15, 4, tzinfo=UTC) - brute_force_start(slo, moment - STEP * 4)
    assert week == timedelta(hours=167)  # the brute force agrees with the rule: a short week
    steps = last // 5 + 2
    series = [  # 1 request/s, 1 error/min, sampled every 5 minutes
        {"series": 'http_requests_total{job="checkout",code="200"}', "values": f"0+295x{steps}"},
        {"series": 'http_requests_total{job="checkout",code="500"}', "values": f"0+5x{steps}"},
    ]
    tests = [{"interval": "5m", "input_series": series, "promql_expr_test": checks}]
    assert_passes(run_promtool(promtool, tmp_path, [slo], tests, evaluation_interval="5m"))
