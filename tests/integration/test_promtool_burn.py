"""Generated rules under the real `promtool test rules`: alerts fire when the Workbook says.

Every scenario feeds synthetic counters (1 sample/min) to promtool and checks, minute by
minute, that the burn alerts promtool reports are exactly those of the oracle
(`burn_oracle.py`, which computes the windows independently); the scenario's key timings
are asserted against the SRE Workbook (ch. 5) in plain numbers.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta
from pathlib import Path

import pytest

from meshwatch.model import SLO, Alerting, Matcher, RatioSLI, Selector, Window
from meshwatch.spec import load_paths
from tests.integration.burn_oracle import Oracle, Traffic, series_values
from tests.integration.promtool_run import assert_passes, burn_checks, run_promtool, traffic_series
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

T = 120  # minute the errors start, after 2h of clean traffic
R = 130  # minute they stop


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def checkout(service: str = "checkout", job: str = "checkout") -> SLO:
    total = Selector("http_requests_total", (Matcher("job", "=", job),))
    return SLO(
        service=service,
        name="availability",
        objective=99.9,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(total=total, bad=total.with_matchers(Matcher("code", "=~", "5.."))),
        labels=(("team", "payments"),),
        alerting=Alerting(runbook_url="https://runbooks.example/checkout"),
    )


def test_total_outage_pages_in_a_minute_and_clears_when_short_windows_are_clean(
    promtool: str, tmp_path: Path
) -> None:
    traffic = Traffic().add(T, 1000, 0).add(R - T, 1000, 1000).add(60, 1000, 0)
    oracle = Oracle(traffic)
    # Workbook: a 100 % outage crosses 14.4x over 1h in 52 s -> first sample after it starts.
    assert oracle.first("page", T - 20, T + 20) == T + 1
    # Both page conditions fire together at T+5 ...
    assert oracle.burn(T + 5, 60) > 14.4 and oracle.burn(T + 5, 360) > 6
    # ... the 1h/5m one stops 5 min after recovery, the 6h/30m one when its 30m window is clean.
    assert oracle.burn(R + 5, 5) == 0 and oracle.burn(R + 29, 30) > 6
    assert oracle.first("page", R, R + 60, firing=False) == R + 30
    # Exact windows: the 1d/2h ticket fires with the page (5m tiles made it wait until T+5).
    assert oracle.first("ticket", T - 20, T + 20) == T + 1
    slo = checkout()
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "total-outage",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], oracle, range(T - 10, R + 60)),
            }
        ],
    )
    assert_passes(proc)


def test_15_percent_errors_for_10_minutes_pages_after_6_and_clears_5_after(
    promtool: str, tmp_path: Path
) -> None:
    # A day of clean history first, so that every window is full as in the Workbook.
    start, stop = 1500, 1510
    traffic = Traffic().add(start, 1000, 0).add(stop - start, 1000, 150).add(60, 1000, 0)
    oracle = Oracle(traffic)
    # Workbook: the 1h window crosses 14.4x after 5.76 min; samples are 1 min apart.
    assert oracle.first("page", start, stop) == start + 6
    assert oracle.firing(stop + 4, "page") is not None
    assert oracle.first("page", start + 6, stop + 60, firing=False) == stop + 5  # 5 min after
    assert oracle.burn(stop, 360) < 6  # the 6h/30m condition never joins
    assert all(oracle.firing(t, "ticket") is None for t in range(stop + 60))  # 1.04x over 1d
    slo = checkout()
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "fifteen-percent",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], oracle, range(start - 5, stop + 40)),
            }
        ],
    )
    assert_passes(proc)


def test_steady_2x_burn_opens_a_ticket_and_never_pages(promtool: str, tmp_path: Path) -> None:
    day = 1440
    traffic = Traffic().add(day, 1000, 0).add(day + 60, 1000, 2)  # 0.2 % errors = 2x
    oracle = Oracle(traffic, step=5)  # evaluation every 5 min
    ticks = range(0, traffic.minutes + 1, 5)  # evaluation every 5 min
    assert all(oracle.firing(t, "page") is None for t in ticks)
    opened = oracle.first("ticket", day, traffic.minutes + 1)
    # The 3d ratio (1 day clean + t days at 2x) crosses 1x when t > 1 day: the ideal is the
    # first minute after 2 days; the ticket opens at the first evaluation after it.
    assert Oracle(traffic).first("ticket", day, traffic.minutes + 1) == day + day + 1
    assert opened == day + day + 5
    minutes = sorted({*range(0, traffic.minutes + 1, 60), *range(opened - 15, opened + 15, 5)})
    slo = checkout()
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "steady-2x",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], oracle, minutes),
            }
        ],
        evaluation_interval="5m",
    )
    assert_passes(proc)


def test_one_failed_request_in_a_quiet_hour_of_a_busy_service_cannot_page(
    promtool: str, tmp_path: Path
) -> None:
    traffic = Traffic().add(1440, 1000, 0)  # a busy day: 1.44 M requests in the period
    for _ in range(30):  # then 10 requests per hour for 3 hours
        traffic.add(1, 1, 0).add(5, 0, 0)
    traffic.add(1, 1, 1).add(59, 0, 0)  # one failed request
    oracle = Oracle(traffic)
    failed = 1440 + 181
    # Without a guard this would page: 1 error in 10 requests is a 100x burn over 1h ...
    assert oracle.burn(failed, 60) == 100 and oracle.burn(failed, 5) == 1000
    assert Oracle(traffic, guard="none").firing(failed, "page") is not None
    # ... but it spends 1 / 1,440 of a 1,440-failure budget, far below the 2 % a page stands
    # for, and it is one failure, not two.
    assert all(oracle.firing(t, "page") is None for t in range(traffic.minutes))
    slo = checkout()
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": "quiet-hour",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], oracle, range(1590, traffic.minutes, 2)),
            }
        ],
    )
    assert_passes(proc)


@pytest.mark.parametrize("seed", [pytest.param(s, id=f"seed-{s}") for s in (7, 2024)])
def test_random_traffic_agrees_with_the_oracle_every_minute(
    promtool: str, tmp_path: Path, seed: int
) -> None:
    """Bursty random traffic with idle gaps: every alert state and window ratio must match."""
    rng = random.Random(seed)
    traffic = Traffic()
    while traffic.minutes < 600:
        minutes = rng.randint(5, 40)
        requests = rng.choice([0, 3, 50, 400, 1000])
        share = rng.choice([0, 0, 0.001, 0.01, 0.05, 0.3, 1.0])
        traffic.add(minutes, requests, round(requests * share))
    oracle = Oracle(traffic)
    slo = checkout()
    sel = 'meshwatch_service="checkout",meshwatch_slo="availability"'
    checks = []
    for t in range(30, traffic.minutes, 37):
        for window, minutes in (("5m", 5), ("1h", 60), ("6h", 360), ("1d", 1440)):
            ratio = oracle.ratio(t, minutes)
            name = f"meshwatch:sli_error:ratio_rate{window}"
            if math.isnan(ratio):  # no traffic: the ratio is NaN (NaN != NaN keeps it)
                expr, labels, value = f"count({name}{{{sel}}} != {name}{{{sel}}})", "{}", 1.0
            else:
                expr, labels, value = f"{name}{{{sel}}}", f'{name}{{{sel},team="payments"}}', ratio
            expected = [{"labels": labels, "value": value}]
            checks.append({"expr": expr, "eval_time": f"{t}m", "exp_samples": expected})
    fired = {
        sev for t in range(traffic.minutes) for sev in ("page", "ticket") if oracle.firing(t, sev)
    }
    assert fired, "the traffic should make something fire, or the test proves little"
    proc = run_promtool(
        promtool,
        tmp_path,
        [slo],
        [
            {
                "name": f"random-{seed}",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                "alert_rule_test": burn_checks([slo], oracle, range(traffic.minutes)),
                "promql_expr_test": checks,
            }
        ],
    )
    assert_passes(proc)


MESH_SPEC = """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: {service}
slos:
  - name: availability
    objective: 99.9
    sli: {{mesh: {mesh}}}
"""
MESHES = {  # service -> (preset, (good series, bad series) in the mesh's own metric names)
    "istio": (
        "{kind: istio, service: checkout}",
        'istio_requests_total{reporter="destination",destination_service_name="checkout",response_code="200"}',
        'istio_requests_total{reporter="destination",destination_service_name="checkout",response_code="503"}',
    ),
    "envoy": (
        "{kind: envoy, cluster: svc_v1}",
        'envoy_cluster_upstream_rq{envoy_cluster_name="svc_v1",envoy_response_code="200"}',
        'envoy_cluster_upstream_rq{envoy_cluster_name="svc_v1",envoy_response_code="503"}',
    ),
    "linkerd": (
        "{kind: linkerd, deployment: web}",
        'response_total{deployment="web",direction="inbound",classification="success"}',
        'response_total{deployment="web",direction="inbound",classification="failure"}',
    ),
}  # fmt: skip


def test_mesh_presets_page_on_their_own_metrics(promtool: str, tmp_path: Path) -> None:
    for service, (mesh, _, _) in MESHES.items():
        spec = MESH_SPEC.format(service=service, mesh=mesh)
        (tmp_path / f"{service}.yaml").write_text(spec, encoding="utf-8")
    slos = list(load_paths(sorted(tmp_path.glob("*.yaml"))).slos)
    traffic = Traffic().add(T, 1000, 0).add(R - T, 1000, 1000).add(40, 1000, 0)
    good, bad = traffic.counters()
    series = [
        {"series": name, "values": series_values(values)}
        for _, good_name, bad_name in MESHES.values()
        for name, values in ((good_name, good), (bad_name, bad))
    ]
    oracle = Oracle(traffic)
    assert oracle.first("page", T - 5, R) == T + 1
    proc = run_promtool(
        promtool,
        tmp_path / "run",
        slos,
        [
            {
                "name": "mesh-presets",
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": burn_checks(slos, oracle, range(T - 5, R + 40)),
            }
        ],
    )
    assert_passes(proc)
