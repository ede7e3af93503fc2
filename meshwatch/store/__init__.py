"""meshwatch's database: SLO status history, alerts, remediation audit log, report runs and
the notification outbox (SQLAlchemy 2 + Alembic; SQLite WAL by default, PostgreSQL via
psycopg 3). Domain objects in, domain objects out; ORM rows never leave this package, and
database failures surface as `meshwatch.errors.StoreError`. Datetimes are aware UTC.

    engine = make_engine(url)            # nothing connects at import
    upgrade(engine)                      # Alembic to head; `serve` does this on start
    store = Store(engine)

    store.history.save_statuses(statuses)            # one cycle, one transaction
    store.history.latest(slo_id=None) -> [SLOStatus]
    store.history.history(slo_id, start, end, step=None) -> [HistoryPoint]
    store.history.prune(now, policy=RetentionPolicy()) -> PruneResult   # backend rows too
    store.history.backends.history(slo_id, start, end, step=None) -> [BackendPoint]
    store.save_cycle(statuses, notifications, now, backends=[BackendPoint])  # one transaction
    store.alerts.record_alerts(alerts, now) -> int   # new ones; idempotent
    store.alerts.list_alerts(slo_id=None, state=None, limit=100) -> [AlertRecord]
    store.alerts.firing() -> [AlertEvent]            # still firing, oldest first
    store.alerts.expire(before) -> int
    store.actions.create_action(plan, now) -> id     # BEFORE applying
    store.actions.complete_action(id, state, detail, now) -> Action
    store.actions.get_action(id) / list_actions(target=None, slo_id=None, limit=100) / counts()
    store.actions.set_hold(target, held, by, reason, now) / holds() / is_held(target)
    store.reports.record_report_run(...) / start_report_run(...) / finish_report_run(...)
    store.reports.get_report_run(id) / list_report_runs(limit=100)
    store.outbox.enqueue(key, target, payload, now) -> bool / due(now, limit=100)
    store.outbox.mark_delivered(id, now) / mark_failed(id, error, next_attempt)
    store.outbox.expire(before) -> int / pending() -> int / get(id)
    store.snapshots.save(name, data, now) / load(name) -> Snapshot | None
    store.ping()                                     # readiness
"""

from meshwatch.store.engine import DEFAULT_URL, make_engine, normalize_url
from meshwatch.store.migrate import current_revision, head_revision, upgrade
from meshwatch.store.records import (
    Action,
    ActionPlan,
    ActionState,
    AlertEvent,
    AlertRecord,
    AlertStatus,
    BackendPoint,
    HistoryPoint,
    Hold,
    OutboxItem,
    PruneResult,
    ReportRun,
    ReportStatus,
    WindowSum,
)
from meshwatch.store.repository import Store
from meshwatch.store.retention import RetentionPolicy, Tier, rows_per_slo

__all__ = [
    "DEFAULT_URL",
    "Action",
    "ActionPlan",
    "ActionState",
    "AlertEvent",
    "AlertRecord",
    "AlertStatus",
    "BackendPoint",
    "HistoryPoint",
    "Hold",
    "OutboxItem",
    "PruneResult",
    "ReportRun",
    "ReportStatus",
    "RetentionPolicy",
    "Store",
    "Tier",
    "WindowSum",
    "current_revision",
    "head_revision",
    "make_engine",
    "normalize_url",
    "rows_per_slo",
    "upgrade",
]
