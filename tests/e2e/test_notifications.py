"""Notifications out, end to end: a real `meshwatch serve` notifies local receivers that fail.

An exporter serves 100 % errors for the SLO `live-availability` (embedded scrape collector,
1 s scrape and evaluation), so the SLO becomes breached within seconds. Two webhook targets
(generic JSON and Slack, each with an HMAC secret) point at a scripted receiver that answers
the first attempt with 500 and holds the second past the target's timeout. meshwatch is then
restarted on the same database (SIGTERM, new process) before the receiver recovers. Checked:

- the notification is delivered once per target after the restart (the outbox survived);
- every attempt carried the same `X-Meshwatch-Key` (one state change, one notification);
- the signature verifies with `meshwatch.notify.bodies.verify`, and fails with a wrong key;
- the bodies follow the documented schemas (generic v1, Slack `text` + `blocks`);
- the restarted process does not notify the same breach again (dedup across restarts).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from meshwatch.notify.bodies import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from meshwatch.store import make_engine
from meshwatch.store.tables import OutboxRow
from tests.support.backfill import LiveExporter, Traffic
from tests.support.receiver import Received, Receiver
from tests.support.serve import ServeProcess, live_ratio_spec

pytestmark = pytest.mark.integration

SECRETS = {"/json": b"json-secret", "/slack": b"slack-secret"}
TARGET_TIMEOUT = 1.0


@pytest.fixture
def exporter() -> Iterator[LiveExporter]:
    live = LiveExporter([Traffic("live", rps=100.0, error_ratio=1.0)]).start()
    yield live
    live.stop()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    script = ["fail", "timeout"]
    recv = Receiver({"/json": script, "/slack": script}, hold_seconds=TARGET_TIMEOUT + 2).start()
    yield recv
    recv.stop()


def outbox(url: str) -> list[dict[str, object]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(OutboxRow))]
    finally:
        engine.dispose()


def check_signature(item: Received) -> None:
    headers = {k.lower(): v for k, v in item.headers.items()}
    timestamp = headers[TIMESTAMP_HEADER.lower()]
    signature = headers[SIGNATURE_HEADER.lower()]
    assert signature.startswith("sha256=")
    assert verify(SECRETS[item.path], timestamp, item.body, signature)
    assert not verify(b"wrong", timestamp, item.body, signature)
    assert not verify(SECRETS[item.path], timestamp, item.body + b" ", signature)
    assert abs(int(timestamp) - item.at) < 30


def test_notification_survives_failures_timeouts_and_a_restart(
    tmp_path: Path, exporter: LiveExporter, receiver: Receiver
) -> None:
    (tmp_path / "live.yaml").write_text(live_ratio_spec())
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    config = {
        "database_url": url,
        "specs": [str(tmp_path / "live.yaml")],
        "scrape_targets": [{"name": "live", "url": f"http://{exporter.target}/metrics"}],
        "evaluate_interval": 1,
        "scrape_interval": 1,
        "webhooks": [
            {
                "name": name.strip("/"),
                "url": f"{receiver.url}{name}",
                "format": name.strip("/"),
                "secret": SECRETS[name].decode(),
                "timeout_seconds": TARGET_TIMEOUT,
            }
            for name in ("/json", "/slack")
        ],
    }
    with ServeProcess(tmp_path / "first", config=config) as first:
        receiver.wait_for(
            lambda: all(len(receiver.received(p)) >= 2 for p in SECRETS),
            timeout=40,
            what=f"a failed and a timed-out attempt per target\n{first.log()}",
        )
    # uvicorn re-raises SIGTERM after a graceful shutdown, hence -15 rather than 0.
    assert first.returncode in (0, -15), first.log()
    assert "Application shutdown complete" in first.log()
    assert not any(r.delivered for r in receiver.received())
    pending = outbox(url)
    assert len(pending) == 2, pending  # one notification per target, both still undelivered
    assert all(item["delivered_at"] is None and item["attempts"] >= 2 for item in pending)

    with ServeProcess(tmp_path / "second", config=config) as second:
        receiver.wait_for(
            lambda: all(any(r.delivered for r in receiver.received(p)) for p in SECRETS),
            timeout=40,
            what=f"delivery after the restart\n{second.log()}",
        )
        time.sleep(7)  # more than one notify interval and several evaluations: no duplicates
    stored = outbox(url)
    assert len(stored) == 2, [item["key"] for item in stored]
    assert all(item["delivered_at"] is not None for item in stored)

    for path in SECRETS:
        attempts = receiver.received(path)
        assert [r.behaviour for r in attempts][:2] == ["fail", "timeout"]
        assert sum(r.delivered for r in attempts) == 1, attempts
        assert len({r.headers[KEY_HEADER] for r in attempts}) == 1, attempts
        assert len({r.body for r in attempts}) == 1  # the same stored body every attempt
        for item in attempts:
            check_signature(item)

    generic = json.loads(receiver.received("/json")[-1].body)
    assert generic["version"] == "1"
    assert generic["kind"] == "slo.state_changed"
    assert generic["state"] == "breached"
    assert generic["slo"] == {"id": "live-availability", "service": "live"}
    assert receiver.received("/json")[-1].headers[KEY_HEADER] == f"{generic['key']}@json"
    assert generic["details"]["budget_remaining"] < 0
    slack = json.loads(receiver.received("/slack")[-1].body)
    assert "live-availability" in slack["text"]
    assert slack["blocks"][0]["type"] == "section"
