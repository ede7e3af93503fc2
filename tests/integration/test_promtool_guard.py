"""Issue 12 items 2 and 12 under the real `promtool test rules`, with Sloth's shape alongside.

Every scenario loads meshwatch's generated rules and rules of the shape Sloth generates for the
same SLO (benchmarks/sloth_rules.py) into one promtool run over the same input series (1m
samples, 1m evaluation unless said), and checks minute by minute that:

- meshwatch's alerts are exactly those of the exact-window oracle with meshwatch's guard on
  failed requests (`burn_oracle.Oracle`), and Sloth's those of the oracle without a guard;
- meshwatch fires at the same evaluation as the exact-window ideal without a guard (so within
  one evaluation interval of it) wherever failures are not noise, and each incident is one
  run of firing: no clear and re-fire while the condition holds;
- the period error ratio and budget remaining are the exact request-weighted figures of the
  period up to the latest evaluation, minute by minute through an outage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from benchmarks.sloth_rules import budget as sloth_budget
from benchmarks.sloth_rules import groups as sloth_groups
from meshwatch.model import SLO
from tests.integration.burn_oracle import Oracle, Traffic
from tests.integration.promtool_run import (
    assert_passes,
    burn_checks,
    run_promtool,
    sloth_checks,
    traffic_series,
)
from tests.integration.test_promtool_burn import checkout
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

SEL = 'meshwatch_service="checkout",meshwatch_slo="availability"'
LABELS = f'{{{SEL},team="payments"}}'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def _quiet(traffic: Traffic, hours: int, failing: bool) -> Traffic:
    """10 requests an hour: one every 6 minutes, all failing or none."""
    for _ in range(hours * 10):
        traffic.add(1, 1, 1 if failing else 0).add(5, 0, 0)
    return traffic


def _jittered(traffic: Traffic, minutes: int, failing: bool) -> Traffic:
    """720 requests an hour, 11 and 13 in alternate minutes (around the old 99.99 % guard)."""
    for minute in range(minutes):
        requests = 11 if minute % 2 else 13
        traffic.add(1, requests, requests if failing else 0)
    return traffic


@dataclass(frozen=True)
class Scenario:
    name: str
    traffic: Traffic
    start: int  # first minute of the incident
    stop: int  # first minute after it
    objective: float = 99.9
    step: int = 1  # evaluation interval, minutes


SCENARIOS = [
    Scenario(
        "total-outage",
        Traffic().add(120, 1000, 0).add(10, 1000, 1000).add(60, 1000, 0),
        120,
        130,
    ),
    Scenario(
        "burst-15-percent",
        Traffic().add(420, 1000, 0).add(10, 1000, 150).add(40, 1000, 0),
        420,
        430,
    ),
    Scenario(
        "slow-burn-2x",
        Traffic().add(1440, 1000, 0).add(1500, 1000, 2),
        1440,
        2940,
        step=5,
    ),
    Scenario(
        "low-traffic-outage",
        _quiet(_quiet(_quiet(Traffic(), 3, False), 4, True), 1, False),
        180,
        420,
    ),
    Scenario(
        "low-traffic-outage-99.99",
        _quiet(_quiet(_quiet(Traffic(), 3, False), 4, True), 1, False),
        180,
        420,
        objective=99.99,
    ),
    Scenario(
        "jittered-outage-99.99",
        _jittered(_jittered(_jittered(Traffic(), 180, False), 240, True), 60, False),
        180,
        420,
        objective=99.99,
    ),
    Scenario(
        "low-traffic-single-failure",
        _quiet(Traffic(), 3, False).add(1, 1, 1).add(59, 0, 0),
        180,
        181,
    ),
]


def _minutes(s: Scenario) -> list[int]:
    end = s.traffic.minutes
    if s.step == 1:
        return list(range(max(0, s.start - 10), end))
    # the slow burn: every hour, and every evaluation around the ticket
    return sorted({*range(0, end, 60), *range(2 * 1440 - 30, 2 * 1440 + 30, s.step)})


def _oracles(s: Scenario, slo: SLO) -> tuple[Oracle, Oracle, Oracle]:
    """(meshwatch's rules, the exact-window ideal without a guard, Sloth's shape)."""
    rendered = float(f"{slo.error_budget:.10g}")  # the budget as the rules print it
    mesh = Oracle(s.traffic, budget=rendered, step=s.step)
    ideal = Oracle(s.traffic, budget=rendered, step=1, guard="none")
    sloth = Oracle(s.traffic, budget=sloth_budget(slo), step=s.step, guard="none", sloth=True)
    return mesh, ideal, sloth


@pytest.mark.parametrize("s", [pytest.param(s, id=s.name) for s in SCENARIOS])
def test_alerts_fire_with_the_exact_window_ideal_and_never_flap(
    promtool: str, tmp_path: Path, s: Scenario
) -> None:
    slo = replace(checkout(), objective=s.objective)
    mesh, ideal, sloth = _oracles(s, slo)
    end = s.traffic.minutes
    fired = False
    for severity in ("page", "ticket"):
        want = ideal.first(severity, s.start, end)
        got = mesh.first(severity, s.start, end)
        if want is None:
            assert got is None, (severity, got)
            continue
        fired = True
        assert got is not None and 0 <= got - want < s.step, (severity, want, got)
        runs = mesh.spans(severity, 0, end)
        assert len(runs) == 1, (severity, runs)  # one incident, one alert: no flapping
        assert all(ideal.firing(t, severity) is not None for t in range(want, s.stop, s.step))
    assert fired
    assert mesh.first("page", 0, s.start) is None  # nothing before the incident
    minutes = _minutes(s)
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": s.name,
                "interval": "1m",
                "input_series": traffic_series(s.traffic),
                "alert_rule_test": burn_checks([slo], mesh, minutes)
                + sloth_checks(slo, sloth, minutes),
            }
        ],
        evaluation_interval=f"{s.step}m",
        extra_groups=sloth_groups(slo),
    )
    assert_passes(proc)


def test_the_guard_keeps_one_failure_in_a_busy_services_quiet_hour_from_paging_sloth_does_not(
    promtool: str, tmp_path: Path
) -> None:
    # A busy day, then 3 quiet hours, one failure, a quiet hour, then an outage while quiet.
    traffic = _quiet(Traffic().add(1440, 1000, 0), 3, False).add(1, 1, 1).add(59, 0, 0)
    failed = 1440 + 181  # the counter shows it one sample later
    outage = traffic.minutes
    _quiet(traffic, 2, True)
    slo = checkout()
    mesh, ideal, sloth = _oracles(Scenario("quiet", traffic, failed, outage), slo)
    assert ideal.first("page", failed, outage) == failed  # Sloth's shape pages on it
    assert mesh.first("page", failed, outage) is None  # 1 of a 1,440-failure budget: noise
    # The outage in the same quiet spell pages at its second failure (+6 min, one request
    # later than the ideal): the guard's price, paid only where one failure spends < 2 %.
    assert ideal.first("page", outage, traffic.minutes) == outage + 1
    assert mesh.first("page", outage, traffic.minutes) == outage + 7
    # Known limit, shared with Sloth's shape and the ideal: at 10 req/h the 5m window is
    # empty one minute in six, and the 6h/30m condition cannot hold while the 6h window is
    # still mostly the busy day, so the 1h/5m page is interrupted then; never more than the
    # ideal's.
    runs, ideal_runs = (
        mesh.spans("page", outage, outage + 60),
        ideal.spans("page", outage, outage + 60),
    )
    assert 1 < len(runs) <= len(ideal_runs)
    minutes = list(range(failed - 5, traffic.minutes))
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "quiet-hour-of-a-busy-service",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], mesh, minutes)
                + sloth_checks(slo, sloth, minutes),
            }
        ],
        extra_groups=sloth_groups(slo),
    )
    assert_passes(proc)


def _period_checks(oracle: Oracle, minutes: range) -> list[dict[str, Any]]:
    ratio, left = "meshwatch:slo_period_error:ratio", "meshwatch:slo_error_budget_remaining:ratio"
    checks = []
    for t in minutes:
        errors, requests = oracle.counts(t, 30 * 1440)
        value = errors / requests
        for name, expected in ((ratio, value), (left, 1 - value / 0.001)):
            checks.append(
                {
                    "expr": f"{name}{{{SEL}}}",
                    "eval_time": f"{t}m",
                    "exp_samples": [{"labels": f"{name}{LABELS}", "value": expected}],
                }
            )
    return checks


@pytest.mark.parametrize("step", [1, 5], ids=["eval-1m", "eval-5m"])
def test_period_figures_are_exact_up_to_the_latest_evaluation_during_an_outage(
    promtool: str, tmp_path: Path, step: int
) -> None:
    start, stop = 120, 135
    traffic = Traffic().add(start, 1000, 0).add(stop - start, 1000, 1000).add(20, 1000, 0)
    oracle = Oracle(traffic, step=step)
    exact = Oracle(traffic)
    minutes = range(start - 3, traffic.minutes)
    # The exact figure moves every minute of the outage, so a lagging one cannot pass ...
    moving = [exact.counts(t, 30 * 1440)[0] for t in range(start, stop + 1)]
    assert len(set(moving)) == len(moving)
    # ... and the one checked is the exact one at most one evaluation interval before.
    assert all(0 <= t - (t - t % step) < step for t in minutes)
    proc = run_promtool(
        promtool,
        tmp_path,
        [checkout()],
        [
            {
                "name": f"fresh-period-{step}m",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "promql_expr_test": _period_checks(oracle, minutes),
            }
        ],
        evaluation_interval=f"{step}m",
    )
    assert_passes(proc)
