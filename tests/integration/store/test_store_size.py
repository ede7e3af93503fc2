"""Bytes a status row costs on disk (table + indexes), which with the row-count arithmetic of
`meshwatch.store.retention` bounds the store: 5,645 rows per SLO once history is 400 days old."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from meshwatch.store import RetentionPolicy, Store, rows_per_slo
from tests.integration.store.factories import status

pytestmark = pytest.mark.integration

SLOS, CYCLES = 1_000, 10


def _history_bytes(engine: Engine) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return int(
                conn.execute(text("SELECT pg_total_relation_size('status_history')")).scalar_one()
            )
        rows = conn.execute(
            text(
                "SELECT sum(pgsize) FROM dbstat WHERE name = 'status_history' "
                "OR name LIKE 'ix_status_history_%'"
            )
        )
        return int(rows.scalar_one())


def test_a_status_row_costs_under_a_kilobyte(store: Store, record_property: object) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    before = _history_bytes(store.engine)
    for cycle in range(CYCLES):
        at = t0 + timedelta(seconds=30 * cycle)
        store.history.save_statuses(
            [status(f"service{i % 50}-availability-{i}", at, seed=i + cycle) for i in range(SLOS)]
        )
    per_row = (_history_bytes(store.engine) - before) / (SLOS * CYCLES)
    assert 200 < per_row < 1_024, per_row
    steady = rows_per_slo(RetentionPolicy(), timedelta(seconds=30), timedelta(days=400))
    total_gb = steady * 1_000 * per_row / 1e9
    print(f"{store.engine.dialect.name}: {per_row:.0f} B/row, 1,000 SLOs: {total_gb:.2f} GB")
    assert total_gb < 6
