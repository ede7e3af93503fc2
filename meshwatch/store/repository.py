"""`Store`: every repository of meshwatch's database, sharing one engine."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from meshwatch.model import SLOStatus
from meshwatch.store.actions import ActionLog
from meshwatch.store.alerts import AlertLog
from meshwatch.store.backend_history import write_backends
from meshwatch.store.engine import writer
from meshwatch.store.errors import store_errors
from meshwatch.store.history import StatusHistory, write_statuses
from meshwatch.store.outbox import Outbox, enqueue_in
from meshwatch.store.records import BackendPoint
from meshwatch.store.reports import ReportRuns
from meshwatch.store.snapshots import Snapshots


class Store:
    """The store, built from an engine (`make_engine(url)`); opening nothing by itself.

    `store.history`, `store.alerts`, `store.actions`, `store.reports`, `store.outbox`,
    `store.snapshots`.
    APScheduler's `SQLAlchemyJobStore(engine=store.engine)` can share the same database.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.history = StatusHistory(engine)
        self.alerts = AlertLog(engine)
        self.actions = ActionLog(engine)
        self.reports = ReportRuns(engine)
        self.outbox = Outbox(engine)
        self.snapshots = Snapshots(engine)

    @store_errors
    def save_cycle(
        self,
        statuses: Sequence[SLOStatus],
        notifications: Sequence[tuple[str, str, Mapping[str, Any]]],
        now: datetime,
        backends: Sequence[BackendPoint] = (),
    ) -> int:
        """One evaluation cycle's statuses and the notifications they cause, in ONE transaction.

        `notifications` are (key, target, payload) outbox items. Saved apart, a crash between
        the two commits would keep a state change whose notification was never queued (and
        the restart, resuming from the saved state, would not see a change to notify).
        `backends` are the cycle's per-backend measurements (backend history), saved with them.
        Returns how many notifications were new.
        """
        if not statuses and not notifications and not backends:
            return 0
        with writer(self.engine).begin() as conn:
            write_statuses(conn, statuses)
            write_backends(conn, backends)
            return sum(
                enqueue_in(conn, key, target, body, now) for key, target, body in notifications
            )

    @store_errors
    def ping(self) -> None:
        """Raise StoreError unless the database answers (for `/readyz`)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Close pooled connections (the engine's owner may do this instead)."""
        self.engine.dispose()
