"""SQLite writers of one process queue in-process instead of in SQLite's sleeping busy handler.

With a 1 ms busy timeout, 8 threads writing at once would fail with "database is locked"
unless their write transactions are serialized before `BEGIN IMMEDIATE` (engine.Writer).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meshwatch.store import AlertEvent, AlertStatus, Store, make_engine, upgrade

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def test_concurrent_writers_never_see_database_is_locked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url, busy_timeout_ms=1))

    def deliver(n: int) -> int:
        alerts = [
            AlertEvent(f"w{n:03d}a{i}", T0, AlertStatus.FIRING, {"alertname": "A"})
            for i in range(5)
        ]
        return store.alerts.record_alerts(alerts, T0)

    try:
        with ThreadPoolExecutor(8) as pool:
            new = list(pool.map(deliver, range(400)))
        assert sum(new) == 2000
        assert len(store.alerts.list_alerts(limit=5000)) == 2000
    finally:
        store.close()
