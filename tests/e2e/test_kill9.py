"""Crash safety of the Alertmanager webhook: kill -9 during a burst loses no acknowledged alert.

A real `meshwatch serve` takes concurrent deliveries (unique fingerprints, several alerts
per delivery) and is killed with SIGKILL in the middle of the burst. It is restarted on the
same database; then every fingerprint that got a 2xx must be in the store, and every
delivery is all-or-nothing (one transaction: never half of a delivery's alerts stored).
Runs on SQLite (WAL, the default) and on a fresh PostgreSQL database. The same burst with
SIGTERM instead shows the graceful shutdown: in-flight deliveries are answered, never 5xx.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from meshwatch.store import make_engine
from meshwatch.store.tables import AlertRow
from tests.support.burst import BurstResult, Delivery, burst
from tests.support.postgres import database_url
from tests.support.serve import TOKEN, ServeProcess

pytestmark = pytest.mark.integration

ACKS_BEFORE_KILL = 400
ALERTS_PER_DELIVERY = 3


def stored_fingerprints(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.execute(select(AlertRow.fingerprint)).scalars())
    finally:
        engine.dispose()


def burst_and_kill(serve: ServeProcess, graceful: bool = False) -> BurstResult:
    """Deliver from 16 threads; SIGKILL (or SIGTERM) after ACKS_BEFORE_KILL acknowledgements."""
    stop = threading.Event()
    acked = threading.Semaphore(0)

    def count(delivery: Delivery) -> None:
        if delivery.acknowledged:
            acked.release()

    with ThreadPoolExecutor(1) as pool:
        running = pool.submit(
            burst,
            serve.url,
            token=TOKEN,
            workers=16,
            stop=stop,
            duration=60,
            alerts_per_request=ALERTS_PER_DELIVERY,
            on_delivery=count,
        )
        for _ in range(ACKS_BEFORE_KILL):
            assert acked.acquire(timeout=30), f"burst stalled: {serve.log()}"
        if graceful:
            serve.terminate()
            serve.wait(30)
        else:
            serve.kill9()
        time.sleep(0.5)  # the clients see refused connections for a while
        stop.set()
        return running.result(timeout=60)


@pytest.mark.parametrize(
    "kind", [pytest.param("sqlite", id="sqlite"), pytest.param("postgresql", id="postgresql")]
)
def test_kill9_during_burst_loses_no_acknowledged_alert(kind: str, tmp_path: Path) -> None:
    with database_url(kind, tmp_path, "kill9") as url:
        config = {"database_url": url}
        serve = ServeProcess(tmp_path / "serve", config=config, log_level="warning").start()
        try:
            result = burst_and_kill(serve)
        finally:
            serve.stop()
        assert serve.returncode == -9
        failed = [d for d in result.deliveries if not d.acknowledged]
        assert len(result.acknowledged) >= ACKS_BEFORE_KILL
        assert failed, "the kill happened after the burst: nothing was in flight"
        assert all(d.status is None for d in failed), result.statuses()

        with ServeProcess(tmp_path / "serve", config=config, log_level="warning") as again:
            ready = httpx.get(f"{again.url}/readyz", timeout=5)
            assert ready.status_code == 200, ready.text
            stored = stored_fingerprints(url)
            listed = httpx.get(f"{again.url}/api/v1/alerts", params={"limit": 1}, timeout=5)
            assert listed.status_code == 200

        acknowledged = result.acknowledged_fingerprints()
        lost = acknowledged - stored
        assert not lost, f"{len(lost)} acknowledged alerts lost, e.g. {sorted(lost)[:5]}"
        # In-flight deliveries may or may not have committed, but never half of one.
        for delivery in failed:
            present = [fp for fp in delivery.fingerprints if fp in stored]
            assert len(present) in (0, len(delivery.fingerprints)), delivery
        assert stored <= result.sent_fingerprints()


def test_sigterm_during_burst_answers_in_flight_deliveries(tmp_path: Path) -> None:
    """Graceful shutdown mid-burst: no 5xx, every 2xx stored, the lifespan shutdown ran."""
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    serve = ServeProcess(tmp_path / "serve", config={"database_url": url}, log_level="info")
    serve.start()
    try:
        result = burst_and_kill(serve, graceful=True)
    finally:
        serve.stop()
    assert serve.returncode in (0, -15), serve.log()
    assert "Application shutdown complete" in serve.log(20000)
    assert not [d for d in result.deliveries if d.status is not None and d.status >= 500]
    stored = stored_fingerprints(url)
    lost = result.acknowledged_fingerprints() - stored
    assert not lost, f"{len(lost)} acknowledged alerts lost"
    for delivery in result.deliveries:
        present = [fp for fp in delivery.fingerprints if fp in stored]
        assert len(present) in (0, len(delivery.fingerprints)), delivery
