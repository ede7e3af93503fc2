"""Walk one retention tier of a history table in slices of one bucket width.

Shared by status history and backend history: each table merges its own rows (what a bucket
keeps differs), this finds where to start and bounds each transaction to one bucket width of
rows, so writers are never blocked for long.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import Connection

from meshwatch.store.engine import Writer
from meshwatch.store.retention import Compaction
from meshwatch.store.tables import BackendRow, StatusRow

_US = 1_000_000

MergeSlice = Callable[[Connection, int, int, int], int]
"""(conn, step_s, lo_us, hi_us) -> rows removed by merging [lo, hi) into buckets of step_s."""


def compact_tier(
    engine: Engine,
    writer: Writer,
    table: type[StatusRow] | type[BackendRow],
    compaction: Compaction,
    merge: MergeSlice,
) -> int:
    """Merge `table`'s rows finer than the tier, older than its boundary; rows removed."""
    step_us = compaction.step_s * _US
    with engine.connect() as conn:
        oldest = conn.execute(
            select(func.min(table.at_us)).where(
                table.step_s < compaction.step_s, table.at_us < compaction.before_us
            )
        ).scalar()
    if oldest is None:
        return 0
    removed = 0
    lo = oldest - oldest % step_us
    while lo < compaction.before_us:
        hi = min(lo + step_us, compaction.before_us)
        with writer.begin() as conn:
            removed += merge(conn, compaction.step_s, lo, hi)
        lo = hi
    return removed
