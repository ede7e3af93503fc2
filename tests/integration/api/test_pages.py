"""The HTML status page over a real SQLite store seeded with a week of history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.settings import Settings
from meshwatch.store import Store, make_engine, upgrade
from tests.support import report_history as h


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    h.seed(store)
    yield store
    store.close()


def client_for(store: Store, **settings: object) -> TestClient:
    app = create_app(
        Settings(**settings),  # type: ignore[arg-type]
        store=store,
        runtime=Runtime(slos=h.SLOS),
        clock=lambda: h.END,
    )
    return TestClient(app)


@pytest.fixture(scope="module")
def client(seeded: Store) -> Iterator[TestClient]:
    with client_for(seeded) as client:
        yield client


def rows(html: str) -> dict[str, str]:
    """slo id -> state class of each SLO row."""
    found = re.findall(r'<tr class="slo-row (state-\w+)" data-slo="([^"]+)"', html)
    return {slo: cls for cls, slo in found}


def test_overview_lists_every_slo_and_marks_the_breached_one(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert rows(html) == {
        "checkout-availability": "state-breached",
        "checkout-latency": "state-ok",
        "frontend-availability": "state-ok",
    }
    assert "<script" not in html
    assert "MeshwatchErrorBudgetBurn" in html  # recent alerts
    assert "checkout-route" in html and "applied" in html  # remediation actions, outcome
    assert "Grafana" not in html  # not configured


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            "?service=checkout", {"checkout-availability", "checkout-latency"}, id="service"
        ),
        pytest.param("?state=breached", {"checkout-availability"}, id="state"),
        pytest.param("?service=frontend&state=breached", set(), id="both-none-match"),
        pytest.param("?service=&state=", {s.id for s in h.SLOS}, id="empty-means-all"),
    ],
)
def test_filters(client: TestClient, query: str, expected: set[str]) -> None:
    response = client.get("/" + query)
    assert response.status_code == 200
    assert set(rows(response.text)) == expected


def test_unknown_state_filter_is_a_422_with_the_reason(client: TestClient) -> None:
    response = client.get("/?state=sad")
    assert response.status_code == 422
    assert "state must be one of" in response.json()["detail"]


@pytest.mark.parametrize(
    ("range_", "budget_points", "sli_points"),
    [
        # hourly statuses from END-7d+1h to END: 168 stored hours, each one hour of SLI
        pytest.param("7d", 168, 168, id="7d-hourly"),
        # start and end inclusive for the budget (25 statuses); 24 hours of SLI between them
        pytest.param("24h", 25, 24, id="24h"),
        # 6 h buckets: 28 in the week + the one holding the status at END; the SLI of each
        # bucket is its last hour (the longest stored window that fits)
        pytest.param("30d", 29, 29, id="30d-6h-steps"),
    ],
)
def test_slo_page_draws_both_charts_from_history(
    client: TestClient, range_: str, budget_points: int, sli_points: int
) -> None:
    html = client.get(f"/slos/checkout-availability?range={range_}").text
    budget = re.search(
        r'<svg class="chart chart-budget" data-kind="budget" data-points="(\d+)"', html
    )
    sli = re.search(r'<svg class="chart chart-sli" data-kind="sli" data-points="(\d+)"', html)
    assert budget is not None and sli is not None
    assert int(budget.group(1)) == budget_points
    assert int(sli.group(1)) == sli_points


def test_slo_page_shows_alerts_and_actions_of_that_slo(client: TestClient) -> None:
    html = client.get("/slos/checkout-availability").text
    assert "MeshwatchErrorBudgetBurn" in html and "checkout-route" in html
    other = client.get("/slos/frontend-availability").text
    assert "MeshwatchErrorBudgetBurn" not in other and "No remediation actions." in other


def test_service_page_has_charts_for_each_of_its_slos(client: TestClient) -> None:
    html = client.get("/services/checkout").text
    assert html.count('data-kind="budget"') == 2 and html.count('data-kind="sli"') == 2
    assert html.count('data-points="168"') == 4  # the same week of history as the SLO page
    assert set(rows(html)) == {"checkout-availability", "checkout-latency"}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        pytest.param("/slos/nope", 404, id="unknown-slo"),
        pytest.param("/services/nope", 404, id="unknown-service"),
        pytest.param("/slos/checkout-latency?range=1y", 422, id="bad-range"),
    ],
)
def test_missing_pages_are_4xx_with_a_reason(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    assert response.json()["detail"]


def test_grafana_links_when_configured(seeded: Store) -> None:
    with client_for(seeded, grafana_url="https://grafana.example/") as client:
        overview = client.get("/").text
        service = client.get("/services/checkout").text
    assert 'href="https://grafana.example/d/meshwatch-overview"' in overview
    assert 'href="https://grafana.example/d/meshwatch-svc-checkout"' in service


def test_empty_store_renders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    try:
        with client_for(store) as client:
            overview = client.get("/")
            page = client.get("/slos/checkout-latency")
        assert overview.status_code == 200 and "state-unknown" in overview.text
        assert page.status_code == 200 and 'data-points="0"' in page.text
    finally:
        store.close()
