"""Report runs: name and scheduled time of scheduled runs, unique (the run claim).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report_runs") as batch:
        batch.add_column(sa.Column("name", sa.String(255), nullable=True))
        batch.add_column(sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint("uq_report_runs_name_scheduled", ["name", "scheduled_at"])


def downgrade() -> None:
    with op.batch_alter_table("report_runs") as batch:
        batch.drop_constraint("uq_report_runs_name_scheduled", type_="unique")
        batch.drop_column("scheduled_at")
        batch.drop_column("name")
