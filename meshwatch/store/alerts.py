"""Alert events from Alertmanager webhooks, idempotent on (fingerprint, starts_at)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, select

from meshwatch.store.alerts_pg import upsert_alerts
from meshwatch.store.alerts_sqlite import upsert_alerts as upsert_alerts_sqlite
from meshwatch.store.engine import writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import AlertEvent, AlertRecord, AlertStatus
from meshwatch.store.tables import AlertRow

log = logging.getLogger(__name__)

COLUMN_CHARS = 255
"""Length of the alertname / service / slo_id columns (`tables.AlertRow`)."""


class AlertLog:
    """Record and list alert events; ORM rows never leave this class."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        # PostgreSQL's upsert is one statement, atomic on its own: in autocommit it commits
        # in the round trip that runs it (no BEGIN, no COMMIT round trips). The statement
        # returns only after the commit is flushed (synchronous_commit), so an
        # acknowledgement still follows the commit.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    def record_alerts(self, alerts: Sequence[AlertEvent], now: datetime) -> int:
        """Store one delivery's alerts in one transaction; return how many were new."""
        return self.record_deliveries([alerts], now)[0]

    @store_errors
    def record_deliveries(
        self, deliveries: Sequence[Sequence[AlertEvent]], now: datetime
    ) -> list[int]:
        """Store several deliveries in one transaction (one commit, one fsync); new per delivery.

        This is the group commit of the webhook: concurrent deliveries are written together,
        and each is acknowledged only after this commit. A key new to the store counts for
        the first delivery that carries it. A repeated (fingerprint, starts_at) updates
        status, ends_at, labels and annotations and counts the delivery. `resolved` is final
        for an alert instance: a late duplicate `firing` delivery does not reopen it
        (Alertmanager gives a re-fired alert a new startsAt). Safe under concurrent
        duplicate deliveries: rows are written with `ON CONFLICT`, in key order so two
        transactions cannot deadlock (PostgreSQL: one statement in autocommit, see
        `alerts_pg`).
        """
        unique = _merge_duplicates([alert for alerts in deliveries for alert in alerts])
        if not unique:
            return [0] * len(deliveries)
        carried = Counter(key for alerts in deliveries for key in _keys(alerts))
        rows = [_values(alert, now, carried) for alert in unique]
        if self._engine.dialect.name == "postgresql":
            with self._autocommit.connect() as conn:
                new_keys = upsert_alerts(conn, rows)
        else:
            with self._writer.begin() as conn:
                new_keys = upsert_alerts_sqlite(conn, rows)
        log.debug(
            "recorded %s alerts of %s deliveries, %s new", len(rows), len(deliveries), len(new_keys)
        )
        return _new_per_delivery(deliveries, new_keys)

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


def _new_per_delivery(
    deliveries: Sequence[Sequence[AlertEvent]], new_keys: set[tuple[str, datetime]]
) -> list[int]:
    unclaimed = set(new_keys)
    counts = []
    for alerts in deliveries:
        mine = _keys(alerts) & unclaimed
        unclaimed -= mine
        counts.append(len(mine))
    return counts


def _keys(alerts: Sequence[AlertEvent]) -> set[tuple[str, datetime]]:
    return {(a.fingerprint, _utc(a.starts_at)) for a in alerts}


def _column(text: str | None) -> str | None:
    """A label value for a 255-character index column; longer ones live only in `labels`.

    An over-long alertname is clipped (it is for display and filtering); an over-long
    service or SLO id cannot name a known SLO, so it is stored as none.
    """
    if text is None or len(text) <= COLUMN_CHARS:
        return text
    return None


def _readable(text: str) -> str:
    """Text that can be sent as UTF-8 (rows stored before lone surrogates were refused)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _readable_map(values: Mapping[str, str]) -> dict[str, str]:
    return {_readable(k): _readable(v) for k, v in values.items()}


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment.isoformat()} in an alert; use UTC")
    return moment.astimezone(UTC)


def _values(
    alert: AlertEvent, now: datetime, carried: Counter[tuple[str, datetime]]
) -> dict[str, Any]:
    """The row of `alert`; `deliveries` = how many of the batch's deliveries carry it."""
    starts_at = _utc(alert.starts_at)
    return {
        "fingerprint": alert.fingerprint,
        "starts_at": starts_at,
        "ends_at": None if alert.ends_at is None else _utc(alert.ends_at),
        "status": AlertStatus(alert.status).value,
        "alertname": alert.alertname[:COLUMN_CHARS],
        "service": _column(alert.service),
        "slo_id": _column(alert.slo_id),
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "first_received_at": now,
        "last_received_at": now,
        "deliveries": carried[(alert.fingerprint, starts_at)],
    }


def _record(values: Mapping[Any, Any]) -> AlertRecord:
    event = AlertEvent(
        fingerprint=values["fingerprint"],
        starts_at=values["starts_at"],
        status=AlertStatus(values["status"]),
        labels=_readable_map(values["labels"]),
        annotations=_readable_map(values["annotations"]),
        ends_at=values["ends_at"],
        generator_url=_readable(values["generator_url"]),
    )
    return AlertRecord(
        id=values["id"],
        event=event,
        first_received_at=values["first_received_at"],
        last_received_at=values["last_received_at"],
        deliveries=values["deliveries"],
    )
