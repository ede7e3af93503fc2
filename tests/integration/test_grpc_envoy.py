"""`protocol: grpc` on the Envoy preset, against a real Envoy proxying a real gRPC service.

The service (grpcio) fails the way gRPC servers do: HTTP 200 with `grpc-status` 14. The
client counts every call's status and the version that answered (trailing metadata); both
engines must find exactly those failures, in the SLO and in the remediation loop's
per-backend SLIs, and the HTTP preset over the same traffic finds none (every answer is
HTTP 200), which is why the gRPC preset exists.

* Embedded engine: the scraper reads Envoy's `/stats/prometheus` before and after the traffic;
  counts are exact.
* Prometheus engine: a real Prometheus scrapes Envoy every `S` s and evaluates the generated
  rules. Its `increase()` extrapolates each series by up to 1.1 scrape intervals at both ends
  of what it sampled, so counts match within `2.2 S / sampled`; ratios of series scraped
  together are within the same bound (in practice nearly exact).
* The mesh dashboard on that Prometheus: every query parses and names real series; its gRPC
  success-rate panel gives each cluster's share of calls without a server-error status (the
  client's count, same bound) while the HTTP panel reads 100 % for both (all HTTP 200).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from meshwatch import conventions as c
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, RetryPolicy, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.meshes import envoy, grpc
from meshwatch.model import SLO, Counts
from meshwatch.render import dashboards, dashboards_overview
from meshwatch.render import dashboards_promql as q
from meshwatch.spec import load_text
from tests.integration.test_dashboard_queries import bind, check, variable_values
from tests.support.binaries import require_binary
from tests.support.grpc_envoy import (
    NOT_FOUND,
    VERSIONS,
    GrpcClient,
    GrpcEnvoy,
    greeter_spec,
    run_grpc_envoy,
)
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.slo_kinds import write_rules
from tests.support.stats import assert_share

pytestmark = pytest.mark.integration

S = 1.0  # Prometheus scrape and rule evaluation interval, seconds
QUIET_S = 20 * S  # sampled before the traffic, so the extrapolation bound is about 10 %
SPEC = greeter_spec(
    more_slos="""\
  - name: http
    objective: 99
    sli: {mesh: {kind: envoy, clusters: [greeter_v1, greeter_v2]}}
"""
)
CALLS, OUTAGE_CALLS = 400, 200  # greeter_v2 fails during the last OUTAGE_CALLS calls
SERVER_ERRORS = {"UNAVAILABLE"}  # what the service answers here that the default set counts


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[GrpcEnvoy]:
    with run_grpc_envoy(tmp_path, VERSIONS) as running:
        yield running


def _slos() -> dict[str, SLO]:
    return {slo.name: slo for slo in load_text(SPEC, "greeter.yaml").slos}


def _warm_up(mesh: GrpcEnvoy, client: GrpcClient) -> None:
    """Every counter the SLIs read exists before any engine's first look (Envoy creates a
    status counter at its first call), as in a long-running mesh."""
    for name in VERSIONS:
        for _ in range(20):
            client.say(version=name)
        client.say(NOT_FOUND, version=name)
        mesh.versions[name].failing = True
        for _ in range(20):
            client.say(version=name)
        mesh.versions[name].failing = False


def _traffic(mesh: GrpcEnvoy, client: GrpcClient) -> Counter[tuple[str, str]]:
    """Calls split 50/50 by Envoy; greeter_v2 fails for the second half; some NOT_FOUND."""
    before = Counter(client.seen)
    for i in range(CALLS):
        if i == CALLS - OUTAGE_CALLS:
            mesh.versions["greeter_v2"].failing = True
        client.say(NOT_FOUND if i % 10 == 0 else b"hi")
    mesh.versions["greeter_v2"].failing = False
    return client.seen - before


def _expected(seen: Counter[tuple[str, str]], backend: str | None = None) -> Counts:
    calls = {k: n for k, n in seen.items() if backend is None or k[0] == backend}
    errors = sum(n for (_, status), n in calls.items() if status in SERVER_ERRORS)
    return Counts(errors=float(errors), total=float(sum(calls.values())))


def test_embedded_engine_counts_grpc_failures_answered_with_http_200_exactly(
    mesh: GrpcEnvoy,
) -> None:
    slos = _slos()
    grpc_slo, http_slo = slos["grpc"], slos["http"]
    assert grpc_slo.remediation is not None
    backends = {b.name: b.sli for b in grpc_slo.remediation.backends}
    store = ScrapeStore()
    for sli in (grpc_slo.sli, http_slo.sli, *backends.values()):
        store.track_sli(sli)
    window = timedelta(minutes=5)
    with mesh.client() as client, httpx.Client() as http:
        _warm_up(mesh, client)
        scraper = Scraper(store, [ScrapeTarget(mesh.stats_url, job="envoy")], http)
        start = datetime.now(UTC)
        assert scraper.scrape_once(start)[mesh.stats_url].up
        seen = _traffic(mesh, client)
        later = start + timedelta(seconds=10)
        health = scraper.scrape_once(later)[mesh.stats_url]
    assert health.up, health.last_error
    # the servers answered what the client saw (warm-up included), version by version
    for name, version in mesh.versions.items():
        got = Counter({status: n for (b, status), n in client.seen.items() if b == name})
        assert version.answered == got, name
    assert sum(seen.values()) == CALLS
    # the outage really happened: greeter_v2 got its half of the last 200 calls, all failed
    assert_share(int(_expected(seen).errors), OUTAGE_CALLS, 0.5, f"UNAVAILABLE {dict(seen)}")
    assert store.counts(grpc_slo.sli, [window], later) == {window: _expected(seen)}
    for name, sli in backends.items():
        assert store.counts(sli, [window], later) == {window: _expected(seen, name)}, name
    # the same calls through the HTTP preset: all HTTP 200, so no error at all
    assert store.counts(http_slo.sli, [window], later) == {
        window: Counts(errors=0.0, total=float(sum(seen.values())))
    }


def _value(prom: PrometheusProcess, expr: str) -> float:
    result = prom.query(expr)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def _mesh_dashboard(
    prom: PrometheusProcess, slos: list[SLO], window: str
) -> tuple[dict[str, float], dict[str, float]]:
    """The mesh dashboard's queries on the real Prometheus; its gRPC and HTTP success rates
    per cluster of the service (`window` as Grafana's $__rate_interval)."""
    board = dashboards_overview.mesh(slos)
    values = {**variable_values(board.model), "__rate_interval": window}
    found = {where: bind(expr, values) for where, expr in dashboards.queries(board.model)}
    # meshwatch's own metrics are served by `serve`, which this test does not run; Envoy
    # creates a status counter at the first call answered with that status
    known = set(prom.api("label/__name__/values")) | {c.METRIC_ROUTE_WEIGHT, c.METRIC_ACTIONS}
    known |= {envoy.grpc_status_counter(code) for code in grpc.CODES.values()}
    problems = [check(prom, where, expr, known) for where, expr in found.items()]
    assert not [p for p in problems if p and "no series" not in p], problems
    rates = []
    for panel in ("gRPC success rate", "HTTP success rate"):
        result = prom.query(found[f"panel '{panel} per upstream cluster' A"])
        by_cluster = {r["metric"].get("envoy_cluster_name"): float(r["value"][1]) for r in result}
        rates.append({name: by_cluster[name] for name in VERSIONS})
    return rates[0], rates[1]


def test_prometheus_rules_count_grpc_failures_per_slo_and_per_backend(
    mesh: GrpcEnvoy, tmp_path: Path
) -> None:
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    slos = list(_slos().values())
    rules = write_rules(slos, tmp_path / "rules")
    admin = mesh.admin_url.removeprefix("http://")
    with mesh.client() as client:
        _warm_up(mesh, client)
        prom = PrometheusProcess(
            binary,
            tmp_path / "prometheus",
            config=prometheus_config(
                scrape_targets=[admin],
                rule_files=rules,
                metrics_path="/stats/prometheus",
                scrape_interval=f"{S:g}s",
                evaluation_interval=f"{S:g}s",
            ),
        ).start()
        try:
            first = float(prom.wait_for("envoy_cluster_grpc_total", timeout=60)[0]["value"][0])
            time.sleep(QUIET_S)  # flat counters before the calls: a longer sampled span
            seen = _traffic(mesh, client)
            done = time.time()
            # every rule group (the per-backend one runs every 5 s) evaluated data scraped
            # after the last call
            prom.wait_for(f"timestamp(envoy_cluster_grpc_total) > {done:.3f}", timeout=60)
            prom.wait_for(
                f"timestamp(meshwatch:backend_error:ratio_rate5m) > {done + S:.3f}",
                timeout=60,
                count=2,
            )
            prom.wait_for(
                f'timestamp(meshwatch:sli_error:ratio_rate5m{{meshwatch_slo="grpc"}}) '
                f"> {done + S:.3f}",
                timeout=60,
            )
            keys = 'meshwatch_service="greeter",meshwatch_slo='
            requests = _value(prom, f'meshwatch:sli_requests:increase5m{{{keys}"grpc"}}')
            errors = _value(prom, f'meshwatch:sli_errors:increase5m{{{keys}"grpc"}}')
            ratio = _value(prom, f'meshwatch:sli_error:ratio_rate5m{{{keys}"grpc"}}')
            http_errors = _value(prom, f'meshwatch:sli_errors:increase5m{{{keys}"http"}}')
            backend_ratio = {
                name: _value(
                    prom,
                    f'meshwatch:backend_error:ratio_rate5m{{{keys}"grpc",'
                    f'meshwatch_backend="{name}"}}',
                )
                for name in VERSIONS
            }
            sampled = time.time() - first
            # the service dashboard's per-version error ratio is valid PromQL with an answer
            # per version (Grafana's $__rate_interval as a window that holds the traffic)
            per_version = q.sli_error_ratio_by(slos[0], ("envoy_cluster_name",))
            assert per_version is not None
            window = f"{int(sampled + 5 * S)}s"
            dashboard = prom.query(per_version.replace("$__rate_interval", window))
            edges = _mesh_dashboard(prom, slos, window)
            # meshwatch's Prometheus engine, as `serve` runs it, on the same data
            collector = PrometheusCollector(
                PrometheusQuerier(connect(prom.url), policy=RetryPolicy(timeout=30.0))
            )
            engine = evaluate_all(slos, collector, datetime.now(UTC))
        finally:
            prom.stop()
    expected = _expected(seen)
    rel = 2.2 * S / (sampled - 2 * S)  # extrapolation bound (module docstring)
    print(
        f"sampled {sampled:.1f} s, bound {rel:.3f}: requests {requests:.1f} "
        f"(client {expected.total:g}), errors {errors:.1f} (client {expected.errors:g}), "
        f"ratio {ratio:.4f} (client {expected.errors / expected.total:.4f})"
    )
    assert requests == pytest.approx(expected.total, rel=rel)
    assert errors == pytest.approx(expected.errors, rel=rel)
    assert ratio == pytest.approx(expected.errors / expected.total, rel=rel)
    assert http_errors == 0.0
    for name, value in backend_ratio.items():
        mine = _expected(seen, name)
        assert value == pytest.approx(mine.errors / mine.total, rel=rel, abs=1e-12), name
    assert backend_ratio["greeter_v1"] == 0.0 and backend_ratio["greeter_v2"] > 0.2
    by_version = {r["metric"]["envoy_cluster_name"]: float(r["value"][1]) for r in dashboard}
    assert by_version.keys() == set(VERSIONS)
    assert by_version["greeter_v1"] == 0.0
    v2 = _expected(seen, "greeter_v2")
    assert by_version["greeter_v2"] == pytest.approx(v2.errors / v2.total, rel=rel)
    grpc_edges, http_edges = edges
    assert grpc_edges["greeter_v1"] == 1.0 and http_edges["greeter_v1"] == 1.0
    assert 1 - grpc_edges["greeter_v2"] == pytest.approx(v2.errors / v2.total, rel=rel)
    assert http_edges["greeter_v2"] == 1.0  # every failure was answered with HTTP 200
    status = next(st for st in engine.statuses if st.slo_id == "greeter-grpc")
    sli_5m = status.sli["5m"]
    assert sli_5m is not None
    assert 1 - sli_5m == pytest.approx(expected.errors / expected.total, rel=rel)
    for measured in engine.backends:
        counts = measured.counts[timedelta(minutes=5)]
        assert isinstance(counts, Counts), (measured.backend, counts)
        mine = _expected(seen, measured.backend)
        assert counts.errors / counts.total == pytest.approx(
            mine.errors / mine.total, rel=rel, abs=1e-12
        ), measured.backend
