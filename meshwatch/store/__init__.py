"""meshwatch's database: SLO status history, alerts, remediation audit log, report runs and
the notification outbox (SQLAlchemy 2 + Alembic; SQLite WAL by default, PostgreSQL via
psycopg 3). Domain objects in, domain objects out; ORM rows never leave this package.
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
