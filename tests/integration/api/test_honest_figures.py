"""Coverage, units and distinct-traffic roll-ups in the API and on the page (item 12: 3, 5, 6).

Two SLOs (availability and latency) on the same Envoy cluster measure the same 20 req/s;
the old service and mesh figures said 40 req/s. The old API had no coverage and latency
without a unit (`97.9279`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from meshwatch.api.app import create_app
from meshwatch.engine.evaluate import Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.model import SLO, LatencySLI, MeshSource, RatioSLI, Selector, State, Window
from meshwatch.settings import Settings
from meshwatch.store import Store
from tests.integration.api.conftest import NOW, make_status


def mesh_slo(service: str, name: str, target: str) -> SLO:
    sli = (
        LatencySLI("envoy_cluster_upstream_rq_time", 100.0)
        if name == "latency"
        else RatioSLI(total=Selector("envoy_cluster_upstream_rq_total"))
    )
    return SLO(
        service=service,
        name=name,
        objective=99.0,
        window=Window.rolling(timedelta(days=30)),
        sli=sli,
        mesh=MeshSource("envoy", target, "envoy_cluster_name"),
    )


SLOS = (
    mesh_slo("shop", "availability", "shop"),
    mesh_slo("shop", "latency", "shop"),
    mesh_slo("cart", "availability", "cart"),
)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    statuses = [
        replace(
            make_status(slo, State.OK),
            throughput=5.0 if slo.service == "cart" else 20.0,
            latency={"p50": 12.5, "p99": 97.9279},
            coverage=25 / (30 * 24 * 60),  # 25 minutes of a 30 d period
        )
        for slo in SLOS
    ]
    store.history.save_statuses(statuses)
    runtime = Runtime(slos=SLOS)
    runtime.record_evaluation(Evaluation(at=NOW, statuses=tuple(statuses)), 0.1)
    app = create_app(Settings(), store=store, runtime=runtime, clock=lambda: NOW)
    with TestClient(app) as client:
        yield client


def test_status_carries_coverage_and_latency_units(client: TestClient) -> None:
    body = client.get("/api/v1/slos/shop-latency/status").json()
    assert body["coverage"] == pytest.approx(25 / 43_200)
    assert body["low_coverage"] is True
    assert body["latency"]["p99"] == 97.9279  # unchanged field, histogram unit
    assert body["latency_unit"] == "ms"
    assert body["latency_seconds"]["p99"] == pytest.approx(0.0979279)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["StatusOut"]
    assert "Requests per second" in schema["properties"]["throughput"]["description"]
    assert "Seconds" in schema["properties"]["budget_remaining_seconds"]["description"]


def test_min_coverage_is_a_setting(store: Store, client: TestClient) -> None:
    app = create_app(
        Settings(min_coverage=0.0001), store=store, runtime=Runtime(slos=SLOS), clock=lambda: NOW
    )
    with TestClient(app) as other:
        assert other.get("/api/v1/slos/shop-latency/status").json()["low_coverage"] is False


def test_service_and_mesh_throughput_count_each_request_once(client: TestClient) -> None:
    services = {s["name"]: s for s in client.get("/api/v1/services").json()}
    assert services["shop"]["throughput"] == 20.0  # was 40: two SLOs, one stream
    assert services["shop"]["streams"] == 1 and services["shop"]["throughput_exact"]
    mesh = client.get("/api/v1/mesh").json()
    assert mesh["throughput"] == 25.0 and mesh["streams"] == 2 and mesh["throughput_exact"]


def test_page_shows_units_coverage_and_distinct_throughput(client: TestClient) -> None:
    html = client.get("/").text
    assert "97.9 ms" in html and "97.9279" not in html
    assert 'data-throughput="25.0"' in html and 'data-throughput="20.0"' in html
    assert "40.0 req/s" not in html
    assert "25 min of 30d" in html and "low coverage" in html
    slo = client.get("/slos/shop-latency").text
    assert "12.5 ms / — / 97.9 ms" in slo
