"""The API over a real SQLite store (FastAPI TestClient, no network)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient

from meshwatch.model import State
from meshwatch.store import Store
from tests.integration.api.conftest import NOW, TOKEN, make_slo, make_status

AUTH = {"Authorization": f"Bearer {TOKEN}"}

PAYLOAD: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="MeshwatchErrorBudgetBurn"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "meshwatch",
    "groupLabels": {"alertname": "MeshwatchErrorBudgetBurn"},
    "commonLabels": {},
    "commonAnnotations": {},
    "externalURL": "http://127.0.0.1:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "MeshwatchErrorBudgetBurn",
                "meshwatch_service": "checkout",
                "meshwatch_slo": "availability",
                "severity": "page",
            },
            "annotations": {"summary": "burning"},
            "startsAt": "2026-11-25T09:02:37.123Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://127.0.0.1:9090/graph",
            "fingerprint": "2176cc11c49efaf4",
        },
        {
            "status": "resolved",
            "labels": {"alertname": "Other"},
            "annotations": {},
            "startsAt": "2026-11-25T08:00:00Z",
            "endsAt": "2026-11-25T09:00:00Z",
            "generatorURL": "",
            "fingerprint": "aaaa",
        },
    ],
}


def test_health_and_metrics(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "no evaluation has completed yet" in ready.json()["problems"]
    assert client.get("/metrics").status_code == 200


def test_slos_list_filters_and_detail(client: TestClient, store: Store) -> None:
    checkout = make_slo("checkout", "availability")
    store.history.save_statuses([make_status(checkout, State.BREACHED)])
    listed = client.get("/api/v1/slos").json()
    assert [s["id"] for s in listed] == ["checkout-availability", "frontend-availability"]
    assert client.get("/api/v1/slos", params={"state": "breached"}).json()[0]["id"] == checkout.id
    assert [s["id"] for s in client.get("/api/v1/slos", params={"service": "frontend"}).json()] == [
        "frontend-availability"
    ]
    assert client.get("/api/v1/slos", params={"state": "bogus"}).status_code == 422
    detail = client.get(f"/api/v1/slos/{checkout.id}").json()
    assert detail["status"]["state"] == "breached"
    assert client.get(f"/api/v1/slos/{checkout.id}/status").json()["burn_rate"]["1h"] == 0.5
    assert client.get("/api/v1/slos/nope").status_code == 404
    assert client.get("/api/v1/slos/frontend-availability/status").status_code == 409
    history = client.get(
        f"/api/v1/slos/{checkout.id}/history",
        params={"start": "2026-11-25T00:00:00Z", "end": "2026-11-25T13:00:00Z", "step": 300},
    ).json()
    assert [p["state"] for p in history] == ["breached"]
    bad_range = client.get(
        f"/api/v1/slos/{checkout.id}/history",
        params={"start": "2026-11-25T13:00:00Z", "end": "2026-11-25T00:00:00Z"},
    )
    assert bad_range.status_code == 422
    assert "metrics" not in NOW.isoformat()  # keep NOW imported for the history window above


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        pytest.param({}, 401, id="no-token-401"),
        pytest.param({"Authorization": "Bearer wrong"}, 403, id="wrong-token-403"),
        pytest.param({"Authorization": "Basic abc"}, 401, id="not-bearer-401"),
    ],
)
def test_webhook_needs_the_token(client: TestClient, headers: dict[str, str], code: int) -> None:
    assert (
        client.post("/api/v1/alerts/alertmanager", json=PAYLOAD, headers=headers).status_code
        == code
    )


def test_webhook_is_idempotent_and_links_slos(client: TestClient) -> None:
    first = client.post("/api/v1/alerts/alertmanager", json=PAYLOAD, headers=AUTH)
    assert first.status_code == 200, first.text
    assert first.json() == {"received": 2, "new": 2}
    again = client.post("/api/v1/alerts/alertmanager", json=PAYLOAD, headers=AUTH)
    assert again.json() == {"received": 2, "new": 0}
    stored = client.get("/api/v1/alerts", params={"slo": "checkout-availability"}).json()
    assert len(stored) == 1
    assert stored[0]["deliveries"] == 2
    assert stored[0]["status"] == "firing"
    resolved = client.get("/api/v1/alerts", params={"state": "resolved"}).json()
    assert [a["fingerprint"] for a in resolved] == ["aaaa"]


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda p: p.update(version="3"), id="wrong-version"),
        pytest.param(lambda p: p.pop("alerts"), id="no-alerts"),
        pytest.param(lambda p: p["alerts"][0].pop("fingerprint"), id="no-fingerprint"),
        pytest.param(lambda p: p["alerts"][0].update(startsAt="yesterday"), id="bad-time"),
        pytest.param(
            lambda p: p["alerts"][0].update(startsAt="2026-11-25T09:00:00"), id="naive-time"
        ),
        pytest.param(lambda p: p["alerts"][0].update(status="pending"), id="bad-status"),
    ],
)
def test_bad_payload_is_4xx_with_reason(client: TestClient, mutate: Any) -> None:
    payload = copy.deepcopy(PAYLOAD)
    mutate(payload)
    response = client.post("/api/v1/alerts/alertmanager", json=payload, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_garbage_and_oversized_bodies(client: TestClient) -> None:
    garbage = client.post(
        "/api/v1/alerts/alertmanager",
        content=b"{not json",
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert garbage.status_code == 422
    big = client.post(
        "/api/v1/alerts/alertmanager",
        content=b"x" * 70_000,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert big.status_code == 413


def test_store_down_is_503_so_alertmanager_retries(client: TestClient, store: Store) -> None:
    store.engine.dispose()
    from sqlalchemy import text

    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE alert_events"))
    response = client.post("/api/v1/alerts/alertmanager", json=PAYLOAD, headers=AUTH)
    assert response.status_code == 503
