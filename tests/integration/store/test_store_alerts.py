"""Alert events: idempotent on (fingerprint, startsAt), also under concurrent deliveries."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from meshwatch.store import AlertEvent, AlertStatus, Store
from meshwatch.store.tables import AlertRow

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 25, 9, 2, 37, tzinfo=UTC)
NOW = datetime(2026, 11, 25, 9, 3, tzinfo=UTC)


def alert(
    fingerprint: str,
    status: AlertStatus = AlertStatus.FIRING,
    *,
    starts_at: datetime = T0,
    service: str = "reviews",
    slo: str = "availability",
    ends_at: datetime | None = None,
) -> AlertEvent:
    return AlertEvent(
        fingerprint=fingerprint,
        starts_at=starts_at,
        status=status,
        labels={
            "alertname": "MeshwatchErrorBudgetBurn",
            "meshwatch_service": service,
            "meshwatch_slo": slo,
            "meshwatch_severity": "page",
        },
        annotations={"summary": f"{service} burning error budget at 14.4x"},
        ends_at=ends_at,
        generator_url="http://127.0.0.1:9090/graph?g0.expr=x",
    )


def test_first_delivery_is_new_and_a_repeat_is_not(store: Store) -> None:
    firing = alert("2176cc11c49efaf4")
    assert store.alerts.record_alerts([firing], NOW) == 1
    assert store.alerts.record_alerts([firing], NOW + timedelta(minutes=1)) == 0
    [record] = store.alerts.list_alerts()
    assert record.event == firing
    assert record.deliveries == 2
    assert record.first_received_at == NOW
    assert record.last_received_at == NOW + timedelta(minutes=1)
    assert record.event.slo_id == "reviews-availability"


def test_resolve_updates_the_same_alert_and_is_final(store: Store) -> None:
    store.alerts.record_alerts([alert("fp1")], NOW)
    resolved = alert("fp1", AlertStatus.RESOLVED, ends_at=T0 + timedelta(minutes=5))
    assert store.alerts.record_alerts([resolved], NOW + timedelta(minutes=6)) == 0
    # a late duplicate of the firing delivery does not reopen it
    assert store.alerts.record_alerts([alert("fp1")], NOW + timedelta(minutes=7)) == 0
    [record] = store.alerts.list_alerts()
    assert record.event.status is AlertStatus.RESOLVED
    assert record.event.ends_at == T0 + timedelta(minutes=5)
    assert record.deliveries == 3
    # the same fingerprint firing again later is a new alert instance
    refired = alert("fp1", starts_at=T0 + timedelta(hours=1))
    assert store.alerts.record_alerts([refired], NOW + timedelta(hours=1)) == 1
    assert [r.event.status for r in store.alerts.list_alerts()] == [
        AlertStatus.FIRING,
        AlertStatus.RESOLVED,
    ]


def test_one_delivery_is_one_transaction_and_counts_only_new_alerts(store: Store) -> None:
    store.alerts.record_alerts([alert("a"), alert("b")], NOW)
    batch = [alert("b"), alert("c"), alert("c", AlertStatus.RESOLVED), alert("d")]
    assert store.alerts.record_alerts(batch, NOW) == 2
    records = {r.event.fingerprint: r for r in store.alerts.list_alerts()}
    assert sorted(records) == ["a", "b", "c", "d"]
    assert records["c"].event.status is AlertStatus.RESOLVED  # within a delivery resolved wins
    assert records["b"].deliveries == 2
    assert store.alerts.record_alerts([], NOW) == 0


def test_list_alerts_filters_by_slo_and_state(store: Store) -> None:
    store.alerts.record_alerts(
        [
            alert("r1", starts_at=T0),
            alert("r2", AlertStatus.RESOLVED, starts_at=T0 + timedelta(minutes=1)),
            alert("p1", starts_at=T0 + timedelta(minutes=2), service="payments", slo="latency"),
            AlertEvent("x1", T0 + timedelta(minutes=3), AlertStatus.FIRING, {"alertname": "Other"}),
        ],
        NOW,
    )
    assert [r.event.fingerprint for r in store.alerts.list_alerts()] == ["x1", "p1", "r2", "r1"]
    assert [r.event.fingerprint for r in store.alerts.list_alerts(limit=2)] == ["x1", "p1"]
    by_slo = store.alerts.list_alerts(slo_id="reviews-availability")
    assert [r.event.fingerprint for r in by_slo] == ["r2", "r1"]
    firing = store.alerts.list_alerts(slo_id="reviews-availability", state=AlertStatus.FIRING)
    assert [r.event.fingerprint for r in firing] == ["r1"]
    [other] = store.alerts.list_alerts(state=AlertStatus.FIRING, limit=1)
    assert other.event.slo_id is None and other.event.alertname == "Other"


def test_old_alerts_expire(store: Store) -> None:
    store.alerts.record_alerts([alert("old")], NOW - timedelta(days=100))
    store.alerts.record_alerts([alert("kept", starts_at=T0 - timedelta(days=100))], NOW)
    assert store.alerts.expire(NOW - timedelta(days=90)) == 1
    assert [r.event.fingerprint for r in store.alerts.list_alerts()] == ["kept"]


def test_naive_timestamps_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.alerts.record_alerts([AlertEvent("n", datetime(2026, 1, 1), AlertStatus.FIRING)], NOW)


@pytest.mark.slow
def test_concurrent_duplicate_deliveries_lose_nothing_and_count_each_alert_once(
    store: Store,
) -> None:
    """Alertmanager HA delivers the same groups twice, at once: 8 senders, shuffled batches."""
    alerts = [alert(f"fp{i:03d}", starts_at=T0 + timedelta(seconds=i)) for i in range(60)]
    senders, rounds = 8, 5
    barrier = threading.Barrier(senders)
    new_counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def send(seed: int) -> None:
        rng = random.Random(seed)
        try:
            barrier.wait()
            for _ in range(rounds):
                batch = alerts[:]
                rng.shuffle(batch)
                for start in range(0, len(batch), 20):
                    new = store.alerts.record_alerts(batch[start : start + 20], NOW)
                    with lock:
                        new_counts.append(new)
        except BaseException as exc:  # reported below, with the thread's seed
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(seed,)) for seed in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sum(new_counts) == len(alerts)
    with store.engine.connect() as conn:
        rows = conn.execute(select(AlertRow.fingerprint, AlertRow.deliveries)).all()
        total = conn.execute(select(func.sum(AlertRow.deliveries))).scalar()
    assert sorted(fp for fp, _ in rows) == [a.fingerprint for a in alerts]
    assert {deliveries for _, deliveries in rows} == {senders * rounds}
    assert total == senders * rounds * len(alerts)
