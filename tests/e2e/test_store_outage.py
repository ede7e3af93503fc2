"""The webhook answers 5xx only while the store is unavailable, and recovers by itself.

A real `meshwatch serve` on a fresh PostgreSQL database. The database is made unreachable
(`ALLOW_CONNECTIONS false` and its sessions terminated): deliveries get 503 with
`Retry-After` (so Alertmanager retries) and /readyz is 503, while a bad payload is still a
422. Connections are allowed again: the same delivery, retried, gets 200 and is stored,
without restarting meshwatch. Then the same with a real Alertmanager 0.25 doing the retrying.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from tests.support.alertmanager import AlertmanagerProcess, alertmanager_config
from tests.support.binaries import require_binary
from tests.support.postgres import SERVER_URL, database_or_skip
from tests.support.serve import WEBHOOK_PATH, ServeProcess, am_alert, am_payload

pytestmark = pytest.mark.integration


@pytest.fixture
def database() -> Iterator[str]:
    with database_or_skip("outage") as url:
        yield url


def set_reachable(name: str, reachable: bool) -> None:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(
                text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(reachable).lower()}')
            )
            if not reachable:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"
                    ),
                    {"n": name},
                )
    finally:
        admin.dispose()


def test_503_while_the_store_is_down_then_200(database: str, tmp_path: Path) -> None:
    name = make_url(database).database
    assert name
    payload = am_payload([am_alert("outage0000000001"), am_alert("outage0000000002")])
    with ServeProcess(tmp_path, config={"database_url": database}, log_level="warning") as serve:
        url = f"{serve.url}{WEBHOOK_PATH}"
        set_reachable(name, False)
        try:
            down = httpx.post(url, json=payload, headers=serve.headers(), timeout=30)
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"] == "5"
            assert "store unavailable" in down.json()["detail"]
            assert httpx.get(f"{serve.url}/readyz", timeout=30).status_code == 503
            # a bad payload is still a 4xx, not a 5xx, while the store is down
            bad = httpx.post(url, json={"version": "3"}, headers=serve.headers(), timeout=30)
            assert bad.status_code == 422
        finally:
            set_reachable(name, True)
        deadline = time.monotonic() + 20
        while (
            up := httpx.post(url, json=payload, headers=serve.headers(), timeout=30)
        ).status_code != 200:
            assert time.monotonic() < deadline, up.text
            time.sleep(0.5)
        assert up.json() == {"received": 2, "new": 2}
        listed = httpx.get(f"{serve.url}/api/v1/alerts", timeout=10).json()
        assert {a["fingerprint"] for a in listed} == {"outage0000000001", "outage0000000002"}
        assert httpx.get(f"{serve.url}/readyz", timeout=10).status_code == 200


def test_alertmanager_retries_through_a_store_outage(database: str, tmp_path: Path) -> None:
    """A real Alertmanager gets 503 while the store is down and delivers once it is back."""
    binary = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    name = make_url(database).database
    assert name
    config = {"database_url": database}
    with ServeProcess(tmp_path / "serve", config=config, log_level="warning") as serve:
        am_config = alertmanager_config(f"{serve.url}{WEBHOOK_PATH}", token=serve.token)
        with AlertmanagerProcess(binary, tmp_path / "am", am_config) as alertmanager:
            set_reachable(name, False)
            try:
                alert = {
                    "labels": {
                        "alertname": "OutageProbe",
                        "meshwatch_service": "checkout",
                        "meshwatch_slo": "availability",
                    },
                    "annotations": {"summary": "posted during a store outage"},
                }
                posted = httpx.post(f"{alertmanager.url}/api/v2/alerts", json=[alert], timeout=5)
                assert posted.status_code == 200, posted.text
                deadline = time.monotonic() + 30
                while "status code 503" not in alertmanager.log(100_000):
                    assert time.monotonic() < deadline, alertmanager.log()
                    time.sleep(0.2)
            finally:
                set_reachable(name, True)
            deadline = time.monotonic() + 45
            while not (stored := _alerts(serve)):
                assert time.monotonic() < deadline, alertmanager.log()
                time.sleep(0.5)
    assert [a["alertname"] for a in stored] == ["OutageProbe"]
    assert stored[0]["slo_id"] == "checkout-availability"
    assert stored[0]["status"] == "firing"


def _alerts(serve: ServeProcess) -> list[dict[str, object]]:
    response = httpx.get(f"{serve.url}/api/v1/alerts", timeout=10)
    if response.status_code != 200:
        return []
    result: list[dict[str, object]] = response.json()
    return result
