"""Rows written before the work they record and completed exactly once after it.

A remediation action is written `planned` before the actuator is called and a report run
`running` before the report is built; either is completed once (applied/failed/..., ok or
failed). Completing is one guarded UPDATE: it changes the row only while it is still
pending, so two completions cannot both win, and the loser learns what the row became.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import RowMapping, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute

from meshwatch.errors import StoreError
from meshwatch.store.tables import ActionRow, ReportRunRow


def complete_once(
    conn: Connection,
    table: type[ActionRow] | type[ReportRunRow],
    row_id: int,
    state: InstrumentedAttribute[str],
    pending: str,
    values: dict[str, Any],
    what: str,
) -> RowMapping:
    """Set `values` on row `row_id` if its `state` column is still `pending`; the row after.

    StoreError when there is no such row (`no WHAT with id N`) or it was completed before
    (`WHAT N is already STATE`); `what` names the record, e.g. "report run".
    """
    changed = conn.execute(
        update(table).where(table.id == row_id, state == pending).values(**values)
    ).rowcount
    row = conn.execute(select(table).where(table.id == row_id)).first()
    if row is None:
        raise StoreError(f"no {what} with id {row_id}")
    if not changed:
        raise StoreError(f"{what} {row_id} is already {row._mapping[state.key]}")
    return row._mapping
