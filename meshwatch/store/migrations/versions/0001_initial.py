"""Initial schema: status history, alerts, remediation log and holds, reports, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Types are spelt out here (not imported from meshwatch.store) so that this migration keeps
creating the same schema whatever later code does.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def _id(table: str) -> tuple[sa.Column[int], sa.PrimaryKeyConstraint]:
    return (
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
    )


def upgrade() -> None:
    op.create_table(
        "status_history",
        *_id("status_history"),
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("worst_state", sa.String(16), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("slo", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("objective", sa.Float(), nullable=False),
        sa.Column("period_sli", sa.Float(), nullable=True),
        sa.Column("budget_remaining", sa.Float(), nullable=True),
        sa.Column("budget_remaining_seconds", sa.Float(), nullable=True),
        sa.Column("budget_remaining_requests", sa.Float(), nullable=True),
        sa.Column("throughput", sa.Float(), nullable=True),
        sa.Column("windows", sa.JSON(), nullable=False),
    )
    op.create_index("ix_status_history_slo_at", "status_history", ["slo_id", "at_us"])
    op.create_index("ix_status_history_step_at", "status_history", ["step_s", "at_us"])

    op.create_table(
        "status_latest",
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slo_id", name="pk_status_latest"),
    )

    op.create_table(
        "alert_events",
        *_id("alert_events"),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("alertname", sa.String(255), nullable=False),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("slo_id", sa.String(255), nullable=True),
        sa.Column("labels", JSON, nullable=False),
        sa.Column("annotations", JSON, nullable=False),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.Column("first_received_at", TS, nullable=False),
        sa.Column("last_received_at", TS, nullable=False),
        sa.Column("deliveries", sa.Integer(), nullable=False),
        sa.UniqueConstraint("fingerprint", "starts_at", name="uq_alert_events_fingerprint_starts"),
    )
    op.create_index("ix_alert_events_slo_starts", "alert_events", ["slo_id", "starts_at"])
    op.create_index("ix_alert_events_starts", "alert_events", ["starts_at"])

    op.create_table(
        "remediation_actions",
        *_id("remediation_actions"),
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("actuator", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("weights_before", JSON, nullable=False),
        sa.Column("weights_after", JSON, nullable=False),
        sa.Column("params", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("completed_at", TS, nullable=True),
    )
    op.create_index("ix_remediation_actions_target_id", "remediation_actions", ["target", "id"])
    op.create_index("ix_remediation_actions_slo_id", "remediation_actions", ["slo_id", "id"])

    op.create_table(
        "remediation_holds",
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("by", sa.String(255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("target", name="pk_remediation_holds"),
    )

    op.create_table(
        "report_runs",
        *_id("report_runs"),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_index("ix_report_runs_started", "report_runs", ["started_at"])

    op.create_table(
        "notification_outbox",
        *_id("notification_outbox"),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("target", sa.String(255), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.UniqueConstraint("key", name="uq_notification_outbox_key"),
    )
    op.create_index(
        "ix_notification_outbox_due", "notification_outbox", ["delivered_at", "next_attempt_at"]
    )


def downgrade() -> None:
    for table in (
        "notification_outbox",
        "report_runs",
        "remediation_holds",
        "remediation_actions",
        "alert_events",
        "status_latest",
        "status_history",
    ):
        op.drop_table(table)
