"""The webhook's fast path answers exactly as the route, and hands every other case to it.

A real app over SQLite (TestClient). A listener records what each delivery passed on; the
same payload is sent through the fast path (JSON, right token) and with headers that send
it to the route (`application/json; charset=utf-8` is still JSON: fast; a second
Authorization header after a wrong one opens nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from meshwatch.api.app import WEBHOOK_PATH, create_app
from meshwatch.settings import Settings
from meshwatch.store import AlertEvent, Store, make_engine, upgrade
from tests.support.serve import am_alert, am_payload

pytestmark = pytest.mark.integration

TOKEN = "fast-token"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[TestClient, Store, list[int]]]:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    heard: list[int] = []

    def listener(events: Sequence[AlertEvent]) -> None:
        heard.append(len(events))

    settings = Settings(api_token=SecretStr(TOKEN), database_url=url)
    app = create_app(settings, store=store, alert_listeners=[listener])
    with TestClient(app) as test_client:
        yield test_client, store, heard
    store.close()


def send(client: TestClient, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, bytes, str]:
    """(status, body, content-type) of one POST to the webhook."""
    response = client.post(WEBHOOK_PATH, content=body, headers=httpx.Headers(headers))
    return response.status_code, response.content, response.headers.get("content-type", "")


JSON = ("Content-Type", "application/json")
AUTH = ("Authorization", f"Bearer {TOKEN}")


def test_fast_path_answers_as_the_route(client: tuple[TestClient, Store, list[int]]) -> None:
    test_client, store, heard = client
    body = httpx.Request("POST", "/", json=am_payload([am_alert("f1"), am_alert("f2")])).content
    first = send(test_client, body, [JSON, AUTH])
    assert first == (200, b'{"received":2,"new":2}', "application/json")
    charset = ("Content-Type", "application/json; charset=utf-8")
    assert send(test_client, body, [charset, AUTH])[1] == b'{"received":2,"new":0}'
    assert heard == [2, 2]
    assert sorted(a.event.fingerprint for a in store.alerts.list_alerts()) == ["f1", "f2"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param(
            [("Authorization", "Bearer wrong"), AUTH],
            (401, 403),  # the client may join them; either way the first is not the token
            id="a-second-authorization-header-does-not-open-it",
        ),
        pytest.param([("Authorization", f"Bearer {TOKEN}x")], (403,), id="wrong-token"),
        pytest.param([], (401,), id="no-token"),
    ],
)
def test_refused_deliveries_store_nothing(
    client: tuple[TestClient, Store, list[int]],
    headers: list[tuple[str, str]],
    status: tuple[int, ...],
) -> None:
    test_client, store, heard = client
    body = httpx.Request("POST", "/", json=am_payload([am_alert("r1")])).content
    assert send(test_client, body, [JSON, *headers])[0] in status
    assert store.alerts.list_alerts() == [] and heard == []


def test_invalid_payload_gets_the_routes_422(client: tuple[TestClient, Store, list[int]]) -> None:
    test_client, _, _ = client
    payload = am_payload([am_alert("bad")])
    payload["alerts"][0]["labels"]["x"] = "nul\x00"
    body = httpx.Request("POST", "/", json=payload).content
    status, content, _ = send(test_client, body, [JSON, AUTH])
    assert status == 422
    detail = json.loads(content)["detail"]
    assert detail[0]["loc"][:3] == ["body", "alerts", 0]  # the route's locations, not ours
