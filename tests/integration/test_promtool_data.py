"""Generated rules under the real `promtool test rules`: no traffic, missing series, counter
resets, uneven traffic (request-weighted period), and one SLO written in three spec formats."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshwatch.model import SLO, LatencySLI, Matcher, RatioSLI, Selector
from meshwatch.render.rule_types import AlertingRule
from meshwatch.spec import load_paths
from tests.integration.burn_oracle import Oracle, Traffic, series_values
from tests.integration.promtool_run import (
    assert_passes,
    burn_checks,
    run_promtool,
    slo_groups,
    traffic_series,
)
from tests.integration.test_promtool_burn import checkout
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

SEL = 'meshwatch_service="{service}",meshwatch_slo="availability"'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def _http(code: str, values: str) -> dict[str, str]:
    return {"series": f'http_requests_total{{job="checkout",code="{code}"}}', "values": values}


def _expect(expr: str, minute: int, labels: str, value: float) -> dict[str, Any]:
    return {
        "expr": expr,
        "eval_time": f"{minute}m",
        "exp_samples": [{"labels": labels, "value": value}],
    }


def _no_alerts(name: str, minutes: range) -> list[dict[str, Any]]:
    return [{"eval_time": f"{t}m", "alertname": name, "exp_alerts": []} for t in minutes]


def _absent_rule(slo: SLO) -> AlertingRule:
    for group in slo_groups(slo):
        for rule in group.alerts():
            if rule.alert == "MeshwatchSLIAbsent":
                return rule
    raise AssertionError("no absent alert")


def _absent(slo: SLO) -> dict[str, Any]:
    rule = _absent_rule(slo)
    labels = {"meshwatch_service": slo.service, "meshwatch_slo": slo.name, **rule.labels}
    return {"exp_labels": labels, "exp_annotations": dict(rule.annotations)}


def test_no_traffic_is_unknown_and_raises_nothing(promtool: str, tmp_path: Path) -> None:
    idle = checkout()  # series exist, counters never move
    total = Selector("app_requests_total", (Matcher("job", "=", "odd"),))
    odd = SLO(  # errors counted by another counter that moves while requests do not: x / 0
        service="odd",
        name="availability",
        objective=99.9,
        window=idle.window,
        sli=RatioSLI(total=total, bad=Selector("app_errors_total", (Matcher("job", "=", "odd"),))),
    )
    minutes = 240
    series = [
        {"series": 'http_requests_total{job="checkout",code="200"}', "values": f"5000+0x{minutes}"},
        {"series": 'http_requests_total{job="checkout",code="500"}', "values": f"100+0x{minutes}"},
        {"series": 'app_requests_total{job="odd"}', "values": f"700+0x{minutes}"},
        {"series": 'app_errors_total{job="odd"}', "values": f"0+10x{minutes}"},
    ]
    nan_checks = [
        {  # NaN != NaN: the ratio exists and is NaN (no traffic = unknown), it is not 0
            "expr": f"count(meshwatch:sli_error:ratio_rate{w}{{{SEL.format(service=s)}}}"
            f" != meshwatch:sli_error:ratio_rate{w}{{{SEL.format(service=s)}}})",
            "eval_time": f"{minutes}m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
        for s in ("checkout", "odd")
        for w in ("5m", "1h", "6h")
    ]
    proc = run_promtool(
        promtool,
        tmp_path,
        [idle, odd],
        [
            {
                "name": "no-traffic",
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": _no_alerts("MeshwatchErrorBudgetBurn", range(0, minutes, 5))
                + _no_alerts("MeshwatchSLIAbsent", range(0, minutes, 15)),
                "promql_expr_test": nan_checks,
            }
        ],
    )
    assert_passes(proc)


def test_missing_series_raise_the_absent_alert(promtool: str, tmp_path: Path) -> None:
    gone = checkout()  # series stop after an hour
    ghost = checkout(service="ghost", job="ghost")  # selector never matched anything
    good, bad = Traffic().add(60, 1000, 0).counters()
    series = [
        _http("200", series_values(good) + " _x60"),
        _http("500", series_values(bad) + " _x60"),
    ]

    def at(t: int, *slos: SLO) -> dict[str, Any]:
        expected = [_absent(slo) for slo in slos]
        return {"eval_time": f"{t}m", "alertname": "MeshwatchSLIAbsent", "exp_alerts": expected}

    # ghost: absent from the start, firing after `for: 10m`. gone: the last 5m increase
    # needs two samples, so it disappears at 65m and fires at 75m.
    checks = [at(9), at(10, ghost), at(64, ghost), at(74, ghost), at(75, gone, ghost)]
    burn = _no_alerts("MeshwatchErrorBudgetBurn", range(0, 120, 5))
    proc = run_promtool(
        promtool,
        tmp_path,
        [gone, ghost],
        [
            {
                "name": "absent",
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": checks + burn,
            }
        ],
    )
    assert_passes(proc)


def test_counter_reset_raises_nothing(promtool: str, tmp_path: Path) -> None:
    good, bad = Traffic().add(180, 2000, 1).counters()  # 0.05 % errors: 0.5x, healthy
    reset = 90  # the proxy restarts: both counters start again from what the new one counted
    good = good[:reset] + [v - good[reset - 1] for v in good[reset:]]
    bad = bad[:reset] + [v - bad[reset - 1] for v in bad[reset:]]
    assert good[reset] < good[reset - 1]
    sel = SEL.format(service="checkout")
    labels = f'{{{sel},team="payments"}}'
    five, hour = "meshwatch:sli_requests:increase5m", "meshwatch:sli_errors:increase1h"
    proc = run_promtool(
        promtool,
        tmp_path,
        [checkout()],
        [
            {
                "name": "counter-reset",
                "interval": "1m",
                "input_series": [
                    _http("200", series_values(good)),
                    _http("500", series_values(bad)),
                ],
                "alert_rule_test": _no_alerts("MeshwatchErrorBudgetBurn", range(0, 180, 1))
                + _no_alerts("MeshwatchSLIAbsent", range(0, 180, 10)),
                "promql_expr_test": [
                    # exactly 5 minutes of traffic across the reset: no spike, no dip
                    _expect(f"{five}{{{sel}}}", reset + 2, f"{five}{labels}", 10000),
                    _expect(f"{hour}{{{sel}}}", reset + 30, f"{hour}{labels}", 60),
                ],
            }
        ],
    )
    assert_passes(proc)


def test_errors_are_never_counted_without_their_requests_across_a_scrape_gap(
    promtool: str, tmp_path: Path
) -> None:
    """The service fails 10 % for an hour, its target is down for 15 minutes (no series),
    then it is back without traffic. The 30m recordings made during the gap had no
    requests; had their errors still summed the older 5m terms, the 1h window 30 minutes
    later would hold errors without requests (100 % instead of no traffic). Errors are
    recorded exactly when requests are, so every window keeps errors <= requests and the
    ratio is NaN (no traffic), not 1."""
    sel = SEL.format(service="checkout")
    series = [
        _http("200", "0+90x60 _x15 5400+0x90"),
        _http("500", "0+10x60 _x15 600+0x90"),
    ]
    minutes = range(62, 165, 3)
    over = [  # errors above requests in some window: never
        {
            "expr": f"meshwatch:sli_errors:increase{w}{{{sel}}}"
            f" > meshwatch:sli_requests:increase{w}{{{sel}}}",
            "eval_time": f"{t}m",
            "exp_samples": [],
        }
        for t in minutes
        for w in ("30m", "1h", "2h")
    ]
    quiet = [  # no request in the last 30m, the older 30m term recorded in the gap
        {
            "expr": f"count(meshwatch:sli_error:ratio_rate1h{{{sel}}}"
            f" != meshwatch:sli_error:ratio_rate1h{{{sel}}})",
            "eval_time": f"{t}m",
            "exp_samples": [{"labels": "{}", "value": 1}],
        }
        for t in (95, 98, 140)
    ]
    proc = run_promtool(
        promtool,
        tmp_path,
        [checkout()],
        [
            {
                "name": "scrape-gap",
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": over + quiet,
            }
        ],
    )
    assert_passes(proc)


def test_uneven_traffic_gives_the_request_weighted_period_ratio(
    promtool: str, tmp_path: Path
) -> None:
    # 12h of heavy clean traffic, then 12h of a trickle with 50 % errors.
    traffic = Traffic().add(720, 10_000, 0).add(720, 10, 5)
    errors, requests = 720 * 5, 720 * 10_000 + 720 * 10
    period = errors / requests  # 0.0004995: half the budget of a 99.9 % SLO
    oracle = Oracle(traffic)
    assert oracle.counts(1440, 30 * 1440) == (errors, requests)
    sel = SEL.format(service="checkout")
    labels = f'{{{sel},team="payments"}}'
    ratio, left = "meshwatch:slo_period_error:ratio", "meshwatch:slo_error_budget_remaining:ratio"
    avg = f"avg_over_time(meshwatch:sli_error:ratio_rate5m{{{sel}}}[23h59m59s:5m])"
    proc = run_promtool(
        promtool,
        tmp_path,
        [checkout()],
        [
            {
                "name": "uneven-traffic",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "promql_expr_test": [
                    _expect(f"{ratio}{{{sel}}}", 1440, f"{ratio}{labels}", period),
                    _expect(f"{left}{{{sel}}}", 1440, f"{left}{labels}", 1 - period / 0.001),
                    # what an average of 5m ratios (Sloth's period rule) would say: 0.25
                    _expect(f"round(1000 * {avg})", 1440, labels, 250),
                ],
            }
        ],
        evaluation_interval="5m",
    )
    assert_passes(proc)


SPECS = {
    "native.yaml": """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout-native
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      ratio:
        total: 'http_requests_total{job="checkout"}'
        bad: 'http_requests_total{job="checkout",code=~"5.."}'
""",
    "sloth.yaml": """
version: prometheus/v1
service: checkout-sloth
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[{{.window}}]))'
        total_query: 'sum(rate(http_requests_total{job="checkout"}[{{.window}}]))'
    alerting:
      name: CheckoutSlothBurn
      page_alert: {}
      ticket_alert: {}
""",
    "openslo.yaml": """
apiVersion: openslo/v1
kind: SLO
metadata:
  name: availability
spec:
  service: checkout-openslo
  budgetingMethod: Occurrences
  timeWindow:
    - duration: 30d
      isRolling: true
  objectives:
    - target: 0.999
  indicator:
    metadata:
      name: checkout-good-ratio
    spec:
      ratioMetric:
        counter: true
        good:
          metricSource:
            type: prometheus
            spec:
              query: 'http_requests_total{job="checkout",code!~"5.."}'
        total:
          metricSource:
            type: prometheus
            spec:
              query: 'http_requests_total{job="checkout"}'
""",
}


def test_native_sloth_and_openslo_specs_alert_at_the_same_times(
    promtool: str, tmp_path: Path
) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for name, text in SPECS.items():
        (specs / name).write_text(text, encoding="utf-8")
    slos = list(load_paths([specs]).slos)
    assert sorted(s.service for s in slos) == [
        "checkout-native",
        "checkout-openslo",
        "checkout-sloth",
    ]
    start, stop = 420, 430  # 15 % errors for 10 min after 7h of clean traffic
    traffic = Traffic().add(start, 1000, 0).add(stop - start, 1000, 150).add(30, 1000, 0)
    oracle = Oracle(traffic)
    assert oracle.first("page", start, stop) == start + 6
    proc = run_promtool(
        promtool,
        tmp_path / "run",
        slos,
        [
            {
                "name": "three-formats",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks(slos, oracle, range(start - 2, stop + 30)),
            }
        ],
    )
    assert_passes(proc)


def test_latency_bucket_matches_either_le_spelling(promtool: str, tmp_path: Path) -> None:
    slo = SLO(
        service="search",
        name="latency",
        objective=90.0,
        window=checkout().window,
        sli=LatencySLI("h_seconds", 0.3, (Matcher("job", "=", "search"),)),
    )
    series = [  # two exporters spell the same bound differently; 0.35 must not be counted
        {"series": 'h_seconds_bucket{job="search",instance="a",le="0.3"}', "values": "0+90x30"},
        {"series": 'h_seconds_bucket{job="search",instance="a",le="0.35"}', "values": "0+95x30"},
        {"series": 'h_seconds_count{job="search",instance="a"}', "values": "0+100x30"},
        {"series": 'h_seconds_bucket{job="search",instance="b",le="0.30"}', "values": "0+45x30"},
        {"series": 'h_seconds_count{job="search",instance="b"}', "values": "0+50x30"},
    ]
    sel = SEL.format(service="search").replace("availability", "latency")
    errors, ratio = "meshwatch:sli_errors:increase5m", "meshwatch:sli_error:ratio_rate5m"
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "latency-le-spellings",
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    _expect(f"{errors}{{{sel}}}", 10, f"{errors}{{{sel}}}", 75),
                    _expect(f"{ratio}{{{sel}}}", 10, f"{ratio}{{{sel}}}", 0.1),
                ],
            }
        ],
    )
    assert_passes(proc)
