"""Idempotence under concurrency: an HA Alertmanager pair delivering the same group at once.

Eight clients POST the same firing group (3 alerts) to a running `meshwatch serve` at the
same moment, ten times each, then the resolved group likewise. Every delivery gets 200; the
store ends with one row per alert (fingerprint + startsAt), resolved, with every delivery
counted, and exactly one delivery per alert reported it as new. SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.postgres import database_url
from tests.support.serve import WEBHOOK_PATH, ServeProcess, am_alert, am_payload

pytestmark = pytest.mark.integration

CLIENTS = 8
ROUNDS = 10


def deliver_concurrently(serve: ServeProcess, payload: dict[str, Any]) -> list[dict[str, int]]:
    barrier = threading.Barrier(CLIENTS)

    def client(_: int) -> list[dict[str, int]]:
        answers = []
        with httpx.Client(headers=serve.headers(), timeout=30) as http:
            for _ in range(ROUNDS):
                barrier.wait(timeout=30)
                response = http.post(f"{serve.url}{WEBHOOK_PATH}", json=payload)
                assert response.status_code == 200, response.text
                answers.append(response.json())
        return answers

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [answer for answers in pool.map(client, range(CLIENTS)) for answer in answers]


@pytest.mark.parametrize(
    "kind", [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
)
def test_simultaneous_duplicate_deliveries_store_each_alert_once(kind: str, tmp_path: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    labels = {"meshwatch_service": "checkout", "meshwatch_slo": "availability"}
    fingerprints = [f"dupe{n:012d}" for n in range(3)]
    firing = am_payload([am_alert(fp, labels=labels, starts_at=start) for fp in fingerprints])
    resolved = am_payload(
        [
            am_alert(
                fp,
                status="resolved",
                labels=labels,
                starts_at=start,
                ends_at=start + timedelta(minutes=1),
            )
            for fp in fingerprints
        ]
    )
    with database_url(kind, tmp_path, "dupes") as url:
        config = {"database_url": url}
        with ServeProcess(tmp_path / "serve", config=config, log_level="warning") as serve:
            first = deliver_concurrently(serve, firing)
            second = deliver_concurrently(serve, resolved)
            stored = httpx.get(
                f"{serve.url}/api/v1/alerts", params={"slo": "checkout-availability"}
            ).json()
    assert sum(a["new"] for a in first) == 3
    assert sum(a["new"] for a in second) == 0
    assert all(a["received"] == 3 for a in first + second)
    assert sorted(a["fingerprint"] for a in stored) == fingerprints
    for alert in stored:
        assert alert["status"] == "resolved"
        assert alert["deliveries"] == 2 * CLIENTS * ROUNDS
        assert alert["ends_at"] is not None
