"""Report runs and the notification outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.errors import StoreError
from meshwatch.store import ReportStatus, Store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)


def test_report_runs_are_recorded_and_listed_newest_first(store: Store) -> None:
    ok = store.reports.record_report_run(
        period="7d",
        format="html",
        uri="/var/lib/meshwatch/reports/2026-11-25.html",
        started=NOW,
        finished=NOW + timedelta(seconds=3),
        status=ReportStatus.OK,
    )
    failed = store.reports.record_report_run(
        period="calendar-month",
        format="csv",
        uri="",
        started=NOW + timedelta(days=1),
        finished=None,
        status=ReportStatus.FAILED,
        error="Prometheus unreachable",
    )
    runs = store.reports.list_report_runs()
    assert [r.id for r in runs] == [failed, ok]
    assert runs[0].error == "Prometheus unreachable" and runs[0].finished_at is None
    got = store.reports.get_report_run(ok)
    assert got is not None
    assert (got.period, got.format, got.status) == ("7d", "html", ReportStatus.OK)
    assert got.finished_at == NOW + timedelta(seconds=3)
    assert store.reports.get_report_run(failed + 1) is None
    assert len(store.reports.list_report_runs(limit=1)) == 1


def test_a_report_run_is_started_then_finished(store: Store) -> None:
    run_id = store.reports.start_report_run(period="30d", format="md", uri="/tmp/r.md", started=NOW)
    running = store.reports.get_report_run(run_id)
    assert running is not None
    assert (running.status, running.finished_at) == (ReportStatus.RUNNING, None)
    done = store.reports.finish_report_run(
        run_id, status=ReportStatus.OK, finished=NOW + timedelta(seconds=1)
    )
    assert (done.status, done.finished_at, done.uri) == (
        ReportStatus.OK,
        NOW + timedelta(seconds=1),
        "/tmp/r.md",
    )
    with pytest.raises(StoreError, match="already ok"):
        store.reports.finish_report_run(run_id, status=ReportStatus.FAILED, finished=NOW)
    with pytest.raises(StoreError, match="no report run"):
        store.reports.finish_report_run(run_id + 1, status=ReportStatus.FAILED, finished=NOW)
    with pytest.raises(ValueError, match="ok or failed"):
        store.reports.finish_report_run(run_id, status=ReportStatus.RUNNING, finished=NOW)


def test_outbox_enqueue_is_idempotent_on_key(store: Store) -> None:
    payload = {"slo": "checkout-availability", "state": "breached", "budget": -0.5, "n": [1, 2]}
    assert store.outbox.enqueue("checkout-availability:breached:1", "slack", payload, NOW)
    assert not store.outbox.enqueue("checkout-availability:breached:1", "slack", {}, NOW)
    [item] = store.outbox.due(NOW)
    assert (item.key, item.target, item.payload, item.attempts) == (
        "checkout-availability:breached:1",
        "slack",
        payload,
        0,
    )


def test_outbox_retries_until_delivered(store: Store) -> None:
    store.outbox.enqueue("k1", "hook", {"a": 1}, NOW)
    store.outbox.enqueue("k2", "hook", {"a": 2}, NOW + timedelta(seconds=1))
    assert [i.key for i in store.outbox.due(NOW)] == ["k1"]
    first, second = store.outbox.due(NOW + timedelta(seconds=1))
    assert (first.key, second.key) == ("k1", "k2")

    store.outbox.mark_failed(first.id, "HTTP 503", NOW + timedelta(seconds=30))
    assert [i.key for i in store.outbox.due(NOW + timedelta(seconds=2))] == ["k2"]
    retry = store.outbox.due(NOW + timedelta(seconds=30))
    assert [i.key for i in retry] == ["k2", "k1"]  # by next attempt
    failed = store.outbox.get(first.id)
    assert failed is not None and (failed.attempts, failed.last_error) == (1, "HTTP 503")

    store.outbox.mark_delivered(first.id, NOW + timedelta(seconds=31))
    delivered = store.outbox.get(first.id)
    assert delivered is not None
    assert (delivered.attempts, delivered.delivered_at) == (2, NOW + timedelta(seconds=31))
    assert [i.key for i in store.outbox.due(NOW + timedelta(days=1))] == ["k2"]
    assert store.outbox.pending() == 1
    assert store.outbox.due(NOW + timedelta(days=1), limit=0) == []
    with pytest.raises(StoreError, match="already delivered"):
        store.outbox.mark_delivered(first.id, NOW)
    with pytest.raises(StoreError, match="does not exist"):
        store.outbox.mark_failed(first.id + 100, "x", NOW)


def test_outbox_expires_old_items(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    store.outbox.enqueue("old-delivered", "hook", {}, NOW - timedelta(days=8))
    store.outbox.enqueue("old-stuck", "hook", {}, NOW - timedelta(days=8))
    store.outbox.enqueue("fresh", "hook", {}, NOW)
    [delivered] = [i for i in store.outbox.due(NOW) if i.key == "old-delivered"]
    store.outbox.mark_delivered(delivered.id, NOW)
    assert store.outbox.expire(NOW - timedelta(days=7)) == 2
    assert "gave up on 1 undelivered" in caplog.text
    assert [i.key for i in store.outbox.due(NOW)] == ["fresh"]
    assert store.outbox.expire(NOW - timedelta(days=7)) == 0
