"""Hostile input to the API (issue 17 items 2, 4, 5, 7, 13): never a write opened, never a 5xx.

Each case failed on the code before: an empty or whitespace token was accepted and
`Bearer \\xa0` matched it; a NUL byte or lone surrogate reached the store (503 forever on
PostgreSQL, a poisoned alert list on SQLite); dates at the edge of `datetime` raised
OverflowError (500); nothing declared the bearer scheme or warned about a missing token.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError
from sqlalchemy import insert

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import SpecError
from meshwatch.settings import Settings, load_settings
from meshwatch.store import ReportRun, Store
from meshwatch.store.tables import AlertRow
from tests.integration.api.conftest import NOW, TOKEN
from tests.support.postgres import database_url

WEBHOOK = "/api/v1/alerts/alertmanager"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def payload(**alert: Any) -> dict[str, Any]:
    base = {
        "status": "firing",
        "labels": {
            "alertname": "MeshwatchErrorBudgetBurn",
            "meshwatch_service": "checkout",
            "meshwatch_slo": "availability",
        },
        "annotations": {"summary": "burning"},
        "startsAt": "2026-11-25T11:58:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "a1b2c3d4e5f60718",
    }
    base.update(alert)
    return {"version": "4", "groupKey": "{}:{}", "status": "firing", "alerts": [base]}


# --- item 2: empty token, RFC 6750 parsing -------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("   ", id="spaces"),
        pytest.param("\xa0", id="nbsp"),
        pytest.param("to ken", id="inner-space"),
    ],
)
def test_unusable_token_is_a_settings_error(token: str) -> None:
    with pytest.raises(ValidationError, match="api_token"):
        Settings(api_token=SecretStr(token))


def test_empty_token_in_the_environment_stops_startup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHWATCH_API_TOKEN", "")
    with pytest.raises(SpecError, match="api_token is empty"):
        load_settings(None)


def test_empty_token_in_the_config_file_stops_startup(tmp_path: Path) -> None:
    config = tmp_path / "meshwatch.yaml"
    config.write_text('api_token: ""\n')
    with pytest.raises(SpecError, match="api_token"):
        load_settings(config)


@pytest.mark.parametrize(
    ("header", "code"),
    [
        pytest.param(b"Bearer " + TOKEN.encode(), 200, id="exact"),
        pytest.param(b"bearer " + TOKEN.encode(), 200, id="scheme-case-insensitive"),
        pytest.param(b"Bearer   " + TOKEN.encode(), 200, id="several-spaces"),
        pytest.param(b"Bearer " + TOKEN.encode() + b"\xa0", 401, id="trailing-nbsp"),
        pytest.param(b"Bearer \xa0" + TOKEN.encode(), 401, id="leading-nbsp"),
        pytest.param(b"Bearer " + TOKEN.encode() + b"\x85", 401, id="trailing-nel"),
        pytest.param(b"Bearer \xa0", 401, id="only-nbsp"),
        pytest.param(b"Bearer\t" + TOKEN.encode(), 401, id="tab-separator"),
        pytest.param(b"Bearer" + TOKEN.encode(), 401, id="no-separator"),
        pytest.param(b"Bearer " + TOKEN.encode() + b" x", 401, id="two-tokens"),
        pytest.param(b"Bearer wrong", 403, id="wrong"),
    ],
)
def test_authorization_header_follows_rfc6750(client: TestClient, header: bytes, code: int) -> None:
    response = client.post(WEBHOOK, json=payload(), headers={"Authorization": header})  # type: ignore[dict-item]
    assert response.status_code == code, response.text
    if code == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")


# --- item 13: no token -----------------------------------------------------------------------


def test_no_token_warns_at_startup_and_refuses_writes(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="meshwatch.api.app"):
        app = create_app(Settings(), store=store, runtime=Runtime(), clock=lambda: NOW)
    assert "MESHWATCH_API_TOKEN is not set" in caplog.text
    with TestClient(app) as client:
        response = client.post(WEBHOOK, json=payload(), headers=AUTH)
    assert response.status_code == 403
    assert "MESHWATCH_API_TOKEN" in response.json()["detail"]


def test_openapi_declares_the_bearer_scheme(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "MESHWATCH_API_TOKEN; without it set on the server every write gets 403.",
    }
    assert document["paths"][WEBHOOK]["post"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/v1/alerts"]["get"]


# --- items 4 and 5: poison text, on SQLite and PostgreSQL ------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    from meshwatch.store import make_engine, upgrade

    with database_url(request.param, tmp_path, "poison") as url:
        upgrade(url)
        store = Store(make_engine(url))
        settings = Settings(api_token=SecretStr(TOKEN))
        app = create_app(settings, store=store, runtime=Runtime(), clock=lambda: NOW)
        try:
            with TestClient(app) as client:
                yield client
        finally:
            store.close()


POISON = [
    pytest.param({"labels": {"alertname": "A", "team": "x\x00y"}}, "labels", id="nul-label"),
    pytest.param({"labels": {"alertname": "A", "te\x00am": "x"}}, "labels", id="nul-label-key"),
    pytest.param({"annotations": {"summary": "\x00"}}, "annotations", id="nul-annotation"),
    pytest.param({"fingerprint": "ab\x00cd"}, "fingerprint", id="nul-fingerprint"),
    pytest.param({"generatorURL": "http://x/\x00"}, "generatorURL", id="nul-url"),
    pytest.param({"annotations": {"summary": "\ud800"}}, "annotations", id="surrogate-annotation"),
    pytest.param({"labels": {"alertname": "\udfff"}}, "labels", id="surrogate-label"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("alert", "field"), POISON)
def test_poison_text_is_a_4xx_naming_the_field(
    any_store_client: TestClient, alert: dict[str, Any], field: str
) -> None:
    body = json.dumps(payload(**alert))  # ensure_ascii: \u0000 and \ud800 as JSON escapes
    response = any_store_client.post(
        WEBHOOK, content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])
    listed = any_store_client.get("/api/v1/alerts")
    assert listed.status_code == 200
    assert listed.json() == []


@pytest.mark.integration
def test_long_alertname_is_stored_safely(any_store_client: TestClient) -> None:
    name = "A" * 300
    slo = "s" * 300
    labels = {"alertname": name, "meshwatch_service": "checkout", "meshwatch_slo": slo}
    response = any_store_client.post(WEBHOOK, json=payload(labels=labels), headers=AUTH)
    assert response.status_code == 200, response.text
    (stored,) = any_store_client.get("/api/v1/alerts").json()
    assert stored["labels"]["alertname"] == name
    assert stored["labels"]["meshwatch_slo"] == slo


def test_a_stored_surrogate_does_not_poison_the_alert_list(
    client: TestClient, store: Store
) -> None:
    """A row written before surrogates were refused still lists (replacement character)."""
    row = {
        "fingerprint": "old",
        "starts_at": NOW,
        "ends_at": None,
        "status": "firing",
        "alertname": "A",
        "service": None,
        "slo_id": None,
        "labels": {"alertname": "A"},
        "annotations": {"summary": "bad \ud800 text"},
        "generator_url": "",
        "first_received_at": NOW,
        "last_received_at": NOW,
        "deliveries": 1,
    }
    with store.engine.begin() as conn:
        conn.execute(insert(AlertRow), [row])
    listed = client.get("/api/v1/alerts")
    assert listed.status_code == 200
    assert listed.json()[0]["annotations"]["summary"] == "bad ? text"


# --- item 7: dates at the edge -----------------------------------------------------------------


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param("0001-01-01T00:00:00+14:00", id="year-1-east"),
        pytest.param("9999-12-31T23:59:59-14:00", id="year-9999-west"),
    ],
)
def test_webhook_dates_at_the_edge_are_422(client: TestClient, moment: str) -> None:
    response = client.post(WEBHOOK, json=payload(startsAt=moment), headers=AUTH)
    assert response.status_code == 422
    assert "outside" in response.text


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({"start": "0001-01-01T00:00:00+14:00"}, id="start-overflows"),
        pytest.param({"end": "0001-01-01T00:00:00+00:00"}, id="end-minus-24h-underflows"),
        pytest.param({"end": "9999-12-31T23:59:59+00:00"}, id="end-year-9999"),
        pytest.param({"start": "2026-01-01T00:00:00"}, id="naive"),
    ],
)
def test_history_dates_at_the_edge_are_422(client: TestClient, params: dict[str, str]) -> None:
    response = client.get("/api/v1/slos/checkout-availability/history", params=params)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    "at",
    [
        pytest.param("0001-01-01T00:00:00Z", id="year-1"),
        pytest.param("9999-12-31T00:00:00Z", id="year-9999"),
        pytest.param("0001-01-01T00:00:00+14:00", id="year-1-east"),
    ],
)
def test_report_dates_at_the_edge_are_422(store: Store, at: str) -> None:
    def trigger(*_: object) -> ReportRun:
        raise AssertionError("an out-of-range report must not be started")

    settings = Settings(api_token=SecretStr(TOKEN))
    app = create_app(settings, store=store, clock=lambda: NOW, report_trigger=trigger)
    with TestClient(app) as client:
        response = client.post("/api/v1/reports", json={"period": "7d", "at": at}, headers=AUTH)
    assert response.status_code == 422, response.text


def test_webhook_dates_in_range_still_work(client: TestClient) -> None:
    start = datetime(2026, 11, 25, 11, 0, tzinfo=UTC).isoformat()
    response = client.post(WEBHOOK, json=payload(startsAt=start), headers=AUTH)
    assert response.status_code == 200
