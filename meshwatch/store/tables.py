"""The tables of the store (SQLAlchemy 2 declarative). Rows never leave `meshwatch.store`.

The Alembic migrations in `migrations/versions/` must produce exactly this schema; a test
compares `upgrade head` with `Base.metadata` on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from meshwatch.store.types import Id, Json, UTCDateTime

# Stable constraint names, so migrations can refer to them on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class StatusRow(Base):
    """One SLO evaluation, or (after pruning) the last one of a bucket of `step_s` seconds.

    `at_us` is microseconds since the epoch: exact, compact and bucketable with integer
    division on both engines. `samples` counts the evaluations the row stands for and
    `worst_state` the worst state among them, so compaction keeps a breach visible.
    """

    __tablename__ = "status_history"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    slo_id: Mapped[str] = mapped_column(String(255))
    at_us: Mapped[int] = mapped_column(BigInteger)
    step_s: Mapped[int] = mapped_column(Integer, default=0)  # 0 = a raw evaluation
    samples: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[str] = mapped_column(String(16))
    worst_state: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(255))
    slo: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    objective: Mapped[float] = mapped_column(Float)
    period_sli: Mapped[float | None] = mapped_column(Float)
    budget_remaining: Mapped[float | None] = mapped_column(Float)
    budget_remaining_seconds: Mapped[float | None] = mapped_column(Float)
    budget_remaining_requests: Mapped[float | None] = mapped_column(Float)
    throughput: Mapped[float | None] = mapped_column(Float)
    # Share of the SLO period (ending at `at_us`) with samples, 0..1; NULL when not measured.
    coverage: Mapped[float | None] = mapped_column(Float)
    # {"sli": {...}, "burn_rate": {...}, "latency": {...}, "requests": {...}}, see codec.py.
    # Plain JSON (text) on PostgreSQL too: never queried inside, ~30 % smaller than jsonb.
    windows: Mapped[dict[str, Any]] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_status_history_slo_at", "slo_id", "at_us"),
        Index("ix_status_history_step_at", "step_s", "at_us"),
    )


class LatestRow(Base):
    """When each SLO was last evaluated, so `latest()` finds its row by index, never by scan."""

    __tablename__ = "status_latest"

    slo_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    at_us: Mapped[int] = mapped_column(BigInteger)


class AlertRow(Base):
    """One Alertmanager alert instance: unique on (fingerprint, starts_at)."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    alertname: Mapped[str] = mapped_column(String(255))
    service: Mapped[str | None] = mapped_column(String(255))
    slo_id: Mapped[str | None] = mapped_column(String(255))
    labels: Mapped[dict[str, Any]] = mapped_column(Json)
    annotations: Mapped[dict[str, Any]] = mapped_column(Json)
    generator_url: Mapped[str] = mapped_column(Text)
    first_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deliveries: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("fingerprint", "starts_at", name="uq_alert_events_fingerprint_starts"),
        Index("ix_alert_events_slo_starts", "slo_id", "starts_at"),
        Index("ix_alert_events_starts", "starts_at"),
    )


class ActionRow(Base):
    """One remediation plan: written as `planned` before it is applied, completed after."""

    __tablename__ = "remediation_actions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    slo_id: Mapped[str] = mapped_column(String(255))
    target: Mapped[str] = mapped_column(String(255))
    actuator: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    weights_before: Mapped[dict[str, Any]] = mapped_column(Json)
    weights_after: Mapped[dict[str, Any]] = mapped_column(Json)
    params: Mapped[dict[str, Any]] = mapped_column(Json)
    reason: Mapped[str] = mapped_column(Text)
    dry_run: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_remediation_actions_target_id", "target", "id"),
        Index("ix_remediation_actions_slo_id", "slo_id", "id"),
    )


class HoldRow(Base):
    """A manual hold (or its release) on one remediation target."""

    __tablename__ = "remediation_holds"

    target: Mapped[str] = mapped_column(String(255), primary_key=True)
    held: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoopStateRow(Base):
    """The remediation planner's memory of one target (`LoopState.to_dict()`), across restarts."""

    __tablename__ = "remediation_loop_state"

    target: Mapped[str] = mapped_column(String(255), primary_key=True)
    slo_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReportRunRow(Base):
    """One run of the report job (scheduled or `meshwatch report`)."""

    __tablename__ = "report_runs"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32))
    format: Mapped[str] = mapped_column(String(16))
    uri: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text)
    # Scheduled runs only: the report's name and the cron time it ran for. Unique, so that
    # of two replicas firing the same schedule only the first to insert runs it (the claim).
    name: Mapped[str | None] = mapped_column(String(255))
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_report_runs_started", "started_at"),
        UniqueConstraint("name", "scheduled_at", name="uq_report_runs_name_scheduled"),
    )


class OutboxRow(Base):
    """A notification to deliver at least once; `key` makes enqueueing idempotent."""

    __tablename__ = "notification_outbox"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    target: Mapped[str] = mapped_column(String(255))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_notification_outbox_due", "delivered_at", "next_attempt_at"),)


class SnapshotRow(Base):
    """The last saved state of an in-process collector (the embedded scraper's windows)."""

    __tablename__ = "collector_snapshots"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BackendRow(Base):
    """One remediation backend's counts on its policy's short windows at one evaluation, or
    (after pruning) the last of a bucket of `step_s` seconds, standing for `samples` of them.

    `counts` maps a window name to `[errors, requests]`; a window that was not measured is
    absent and `reason` says why. Pruned by the same policy as `status_history`.
    """

    __tablename__ = "backend_history"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    slo_id: Mapped[str] = mapped_column(String(255))
    backend: Mapped[str] = mapped_column(String(255))
    at_us: Mapped[int] = mapped_column(BigInteger)
    step_s: Mapped[int] = mapped_column(Integer, default=0)
    samples: Mapped[int] = mapped_column(Integer, default=1)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_backend_history_slo_at", "slo_id", "at_us"),
        Index("ix_backend_history_step_at", "step_s", "at_us"),
    )
