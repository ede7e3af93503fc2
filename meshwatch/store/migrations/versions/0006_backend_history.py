"""Backend history: each remediation backend's counts per evaluation, for the SLO page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "backend_history",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("slo_id", sa.String(255), nullable=False),
        sa.Column("backend", sa.String(255), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("step_s", sa.Integer(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_backend_history"),
    )
    op.create_index("ix_backend_history_slo_at", "backend_history", ["slo_id", "at_us"])
    op.create_index("ix_backend_history_step_at", "backend_history", ["step_s", "at_us"])


def downgrade() -> None:
    op.drop_index("ix_backend_history_step_at", table_name="backend_history")
    op.drop_index("ix_backend_history_slo_at", table_name="backend_history")
    op.drop_table("backend_history")
