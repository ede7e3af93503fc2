"""The webhook writer calls `on_idle` once per quiet period after writes (the idle trim)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from meshwatch.store import AlertEvent, AlertStatus, Store, make_engine, upgrade
from meshwatch.store.alert_ingest import AlertIngest

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
IDLE_S = 0.2


def test_on_idle_once_per_quiet_period_after_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    calls: list[float] = []
    called = threading.Event()

    def on_idle() -> None:
        calls.append(1)
        called.set()

    ingest = AlertIngest(store.alerts, lambda: T0, on_idle=on_idle, idle_after=IDLE_S)
    try:
        for round_ in range(2):
            called.clear()
            alerts = [AlertEvent(f"idle{round_}", T0, AlertStatus.FIRING, {"alertname": "A"})]
            assert ingest.submit(alerts).future.result(30) == 1
            assert called.wait(30), "no idle call after the queue went quiet"
            time.sleep(5 * IDLE_S)  # five more quiet periods without a write
            assert len(calls) == round_ + 1  # once per quiet period, not every idle_after
    finally:
        ingest.close()
        store.close()
