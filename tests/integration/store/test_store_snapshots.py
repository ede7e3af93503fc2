"""Collector snapshots and the firing alerts a restart reads back (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.store import AlertStatus, Store
from tests.integration.store.test_store_alerts import alert

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def test_a_snapshot_is_replaced_and_read_back(store: Store) -> None:
    assert store.snapshots.load("scrape") is None
    store.snapshots.save("scrape", b'{"format": 1}', T0)
    store.snapshots.save("scrape", b"\x00" + b"x" * 300_000, T0 + timedelta(minutes=1))
    store.snapshots.save("other", b"o", T0)
    snapshot = store.snapshots.load("scrape")
    assert snapshot is not None
    assert snapshot.data == b"\x00" + b"x" * 300_000
    assert snapshot.saved_at == T0 + timedelta(minutes=1)


def test_firing_lists_every_alert_still_firing_oldest_first(store: Store) -> None:
    store.alerts.record_alerts([alert("late", starts_at=T0 + timedelta(minutes=5))], T0)
    store.alerts.record_alerts([alert("early", starts_at=T0)], T0)
    store.alerts.record_alerts([alert("gone", starts_at=T0)], T0)
    store.alerts.record_alerts([alert("gone", AlertStatus.RESOLVED, starts_at=T0)], T0)
    many = [alert(f"bulk-{i:03}", starts_at=T0 + timedelta(hours=1)) for i in range(150)]
    store.alerts.record_alerts(many, T0)
    firing = store.alerts.firing()
    assert [a.fingerprint for a in firing[:2]] == ["early", "late"]
    assert len(firing) == 152  # no page limit: a restart must know every firing alert
    assert all(a.status is AlertStatus.FIRING for a in firing)
