"""The notification outbox: notifications are committed first, delivered at least once.

One dispatcher per database is assumed: `due()` does not lock the items it returns.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update

from meshwatch.errors import StoreError
from meshwatch.store.engine import upsert, writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import OutboxItem
from meshwatch.store.tables import OutboxRow

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    @store_errors
    def enqueue(self, key: str, target: str, payload: Mapping[str, Any], now: datetime) -> bool:
        """Queue a notification unless one with `key` exists; True when it was new."""
        with self._writer.begin() as conn:
            return enqueue_in(conn, key, target, payload, now)

    @store_errors
    def due(self, now: datetime, limit: int = 100) -> list[OutboxItem]:
        """Undelivered items whose next attempt is due, oldest due first."""
        query = (
            select(OutboxRow)
            .where(OutboxRow.delivered_at.is_(None), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_item(row._mapping) for row in conn.execute(query)]

    @store_errors
    def pending(self) -> int:
        """Undelivered items (due or not), for health metrics."""
        query = select(func.count()).where(OutboxRow.delivered_at.is_(None))
        with self._engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    @store_errors
    def mark_delivered(self, item_id: int, now: datetime) -> None:
        self._change(
            item_id,
            delivered_at=now,
            attempts=OutboxRow.attempts + 1,
            last_error="",
        )

    @store_errors
    def mark_failed(self, item_id: int, error: str, next_attempt: datetime) -> None:
        """Count a failed attempt and schedule the next one (the caller picks the backoff)."""
        self._change(
            item_id,
            attempts=OutboxRow.attempts + 1,
            last_error=error,
            next_attempt_at=next_attempt,
        )

    def _change(self, item_id: int, **values: Any) -> None:
        with self._writer.begin() as conn:
            changed = conn.execute(
                update(OutboxRow)
                .where(OutboxRow.id == item_id, OutboxRow.delivered_at.is_(None))
                .values(**values)
            ).rowcount
        if not changed:
            raise StoreError(f"outbox item {item_id} does not exist or was already delivered")

    @store_errors
    def expire(self, before: datetime) -> int:
        """Delete items created before `before`, delivered or not; return how many.

        Undelivered ones are given up on (logged as a warning with their count).
        """
        old = OutboxRow.created_at < before
        with self._writer.begin() as conn:
            undelivered = conn.execute(
                select(func.count()).where(old, OutboxRow.delivered_at.is_(None))
            ).scalar_one()
            removed = conn.execute(delete(OutboxRow).where(old)).rowcount
        if undelivered:
            log.warning(
                "gave up on %s undelivered notifications older than %s", undelivered, before
            )
        return int(removed)

    @store_errors
    def get(self, item_id: int) -> OutboxItem | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(OutboxRow).where(OutboxRow.id == item_id)).first()
        return None if row is None else _item(row._mapping)


def _item(values: Mapping[Any, Any]) -> OutboxItem:
    return OutboxItem(
        id=int(values["id"]),
        key=values["key"],
        target=values["target"],
        payload=dict(values["payload"]),
        created_at=values["created_at"],
        next_attempt_at=values["next_attempt_at"],
        attempts=int(values["attempts"]),
        delivered_at=values["delivered_at"],
        last_error=values["last_error"],
    )


def enqueue_in(
    conn: Connection, key: str, target: str, payload: Mapping[str, Any], now: datetime
) -> bool:
    """`Outbox.enqueue` inside the caller's transaction."""
    stmt = upsert(conn, OutboxRow).values(
        key=key,
        target=target,
        payload=dict(payload),
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        delivered_at=None,
        last_error="",
    )
    inserted = conn.execute(
        stmt.on_conflict_do_nothing(index_elements=[OutboxRow.key]).returning(OutboxRow.id)
    ).first()
    return inserted is not None
