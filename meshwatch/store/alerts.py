"""Alert events from Alertmanager webhooks, idempotent on (fingerprint, starts_at)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, select

from meshwatch.store.engine import upsert, writer
from meshwatch.store.records import AlertEvent, AlertRecord, AlertStatus
from meshwatch.store.tables import AlertRow

log = logging.getLogger(__name__)


class AlertLog:
    """Record and list alert events; ORM rows never leave this class."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

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
        with self._writer.begin() as conn:
            # executemany with one cached statement (SQLAlchemy batches it into multi-row
            # INSERT ... RETURNING): building a VALUES clause per delivery cost ~1 ms per alert.
            insert_new = upsert(conn, AlertRow)
            inserted = conn.execute(
                insert_new.on_conflict_do_nothing(
                    index_elements=[AlertRow.fingerprint, AlertRow.starts_at]
                ).returning(AlertRow.fingerprint, AlertRow.starts_at),
                rows,
            ).all()
            new_keys = {(fp, starts) for fp, starts in inserted}
            repeated = [
                row for row in rows if (row["fingerprint"], row["starts_at"]) not in new_keys
            ]
            if repeated:
                update = upsert(conn, AlertRow)
                resolved = AlertRow.status == AlertStatus.RESOLVED.value
                conn.execute(
                    update.on_conflict_do_update(
                        index_elements=[AlertRow.fingerprint, AlertRow.starts_at],
                        set_={
                            "status": case(
                                (resolved, AlertRow.status), else_=update.excluded.status
                            ),
                            "ends_at": case(
                                (resolved, AlertRow.ends_at), else_=update.excluded.ends_at
                            ),
                            "labels": update.excluded.labels,
                            "annotations": update.excluded.annotations,
                            "generator_url": update.excluded.generator_url,
                            "last_received_at": update.excluded.last_received_at,
                            "deliveries": AlertRow.deliveries + 1,
                        },
                    ),
                    repeated,
                )
        log.debug("recorded %s alerts, %s new", len(rows), len(new_keys))
        return len(new_keys)

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
