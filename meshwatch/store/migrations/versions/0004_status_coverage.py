"""Status history: the coverage of each status (share of its SLO period with samples).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("status_history") as batch:
        batch.add_column(sa.Column("coverage", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("status_history") as batch:
        batch.drop_column("coverage")
