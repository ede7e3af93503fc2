"""`Store`: every repository of meshwatch's database, sharing one engine."""

from __future__ import annotations

from sqlalchemy import Engine, text

from meshwatch.store.actions import ActionLog
from meshwatch.store.alerts import AlertLog
from meshwatch.store.errors import store_errors
from meshwatch.store.history import StatusHistory
from meshwatch.store.outbox import Outbox
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
    def ping(self) -> None:
        """Raise StoreError unless the database answers (for `/readyz`)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Close pooled connections (the engine's owner may do this instead)."""
        self.engine.dispose()
