"""Alert events from Alertmanager webhooks, idempotent on (fingerprint, starts_at)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, delete, select

from meshwatch.store.engine import upsert, writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import AlertEvent, AlertRecord, AlertStatus
from meshwatch.store.tables import AlertRow

log = logging.getLogger(__name__)


class AlertLog:
    """Record and list alert events; ORM rows never leave this class."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    @store_errors
    def record_alerts(self, alerts: Sequence[AlertEvent], now: datetime) -> int:
        """Store one delivery's alerts in one transaction; return how many were new.

        A repeated (fingerprint, starts_at) updates status, ends_at, labels and annotations
        and counts the delivery. `resolved` is final for an alert instance: a late duplicate
        `firing` delivery does not reopen it (Alertmanager gives a re-fired alert a new
        startsAt). Safe under concurrent duplicate deliveries: inserts are
        `ON CONFLICT DO NOTHING`, taken in key order so two transactions cannot deadlock.
        """
        unique = _merge_duplicates(alerts)
        if not unique:
            return 0
        rows = [_values(alert, now) for alert in unique]
        key = [AlertRow.fingerprint, AlertRow.starts_at]
        with self._writer.begin() as conn:
            # executemany of one cached statement (no per-delivery compilation); the driver
            # batches it into multi-row VALUES. Only rows really inserted come back.
            insert_new = upsert(conn, AlertRow).on_conflict_do_nothing(index_elements=key)
            inserted = conn.execute(
                insert_new.returning(AlertRow.fingerprint, AlertRow.starts_at), rows
            ).all()
            new_keys = {(fp, starts) for fp, starts in inserted}
            repeated = [r for r in rows if (r["fingerprint"], r["starts_at"]) not in new_keys]
            if repeated:
                update = upsert(conn, AlertRow)
                resolved = AlertRow.status == AlertStatus.RESOLVED.value
                update = update.on_conflict_do_update(
                    index_elements=key,
                    set_={
                        "status": case((resolved, AlertRow.status), else_=update.excluded.status),
                        "ends_at": case(
                            (resolved, AlertRow.ends_at), else_=update.excluded.ends_at
                        ),
                        "labels": update.excluded.labels,
                        "annotations": update.excluded.annotations,
                        "generator_url": update.excluded.generator_url,
                        "last_received_at": update.excluded.last_received_at,
                        "deliveries": AlertRow.deliveries + 1,
                    },
                )
                conn.execute(update, repeated)
        log.debug("recorded %s alerts, %s new", len(rows), len(new_keys))
        return len(new_keys)

    @store_errors
    def list_alerts(
        self, slo_id: str | None = None, state: AlertStatus | None = None, limit: int = 100
    ) -> list[AlertRecord]:
        """Newest first (by starts_at), optionally for one SLO and/or one status."""
        query = select(AlertRow).order_by(AlertRow.starts_at.desc(), AlertRow.id.desc())
        if slo_id is not None:
            query = query.where(AlertRow.slo_id == slo_id)
        if state is not None:
            query = query.where(AlertRow.status == AlertStatus(state).value)
        with self._engine.connect() as conn:
            return [_record(row._mapping) for row in conn.execute(query.limit(limit))]

    @store_errors
    def firing(self) -> list[AlertEvent]:
        """Every alert instance still firing, oldest first (what a restart must remember)."""
        query = (
            select(AlertRow)
            .where(AlertRow.status == AlertStatus.FIRING.value)
            .order_by(AlertRow.starts_at, AlertRow.id)
        )
        with self._engine.connect() as conn:
            return [_record(row._mapping).event for row in conn.execute(query)]

    @store_errors
    def expire(self, before: datetime) -> int:
        """Delete alerts last delivered before `before` (the retention job); return how many."""
        with self._writer.begin() as conn:
            return int(
                conn.execute(delete(AlertRow).where(AlertRow.last_received_at < before)).rowcount
            )


def _merge_duplicates(alerts: Sequence[AlertEvent]) -> list[AlertEvent]:
    """One alert per key, sorted by key; within a delivery a resolved copy wins."""
    merged: dict[tuple[str, datetime], AlertEvent] = {}
    for alert in alerts:
        key = (alert.fingerprint, _utc(alert.starts_at))
        kept = merged.get(key)
        if kept is None or kept.status is not AlertStatus.RESOLVED:
            merged[key] = alert
    return [merged[key] for key in sorted(merged)]


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} in an alert; use UTC")
    return moment.astimezone(UTC)


def _values(alert: AlertEvent, now: datetime) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "starts_at": _utc(alert.starts_at),
        "ends_at": None if alert.ends_at is None else _utc(alert.ends_at),
        "status": AlertStatus(alert.status).value,
        "alertname": alert.alertname,
        "service": alert.service,
        "slo_id": alert.slo_id,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "first_received_at": now,
        "last_received_at": now,
        "deliveries": 1,
    }


def _record(values: Mapping[Any, Any]) -> AlertRecord:
    event = AlertEvent(
        fingerprint=values["fingerprint"],
        starts_at=values["starts_at"],
        status=AlertStatus(values["status"]),
        labels=dict(values["labels"]),
        annotations=dict(values["annotations"]),
        ends_at=values["ends_at"],
        generator_url=values["generator_url"],
    )
    return AlertRecord(
        id=values["id"],
        event=event,
        first_received_at=values["first_received_at"],
        last_received_at=values["last_received_at"],
        deliveries=values["deliveries"],
    )
