"""Buckets of the history tables: each bucket is represented by its last row.

Shared by status history and backend history, for reading (`last_per_bucket`: one point
per bucket of a requested step) and for pruning (`compact_tier`: rows merged for good).
Both keep, per bucket (and per SLO, or per SLO and backend), the newest row with the
bucket's summed `samples`; a table may carry more per-bucket aggregates onto that row
(status history: the worst state). `compact_tier` finds where to start and bounds each
transaction to one bucket width of rows, so writers are never blocked for long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, Select, delete, func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.expression import ColumnElement, bindparam
from sqlalchemy.sql.functions import FunctionElement

from meshwatch.store.engine import Writer
from meshwatch.store.retention import Compaction
from meshwatch.store.tables import BackendRow, StatusRow

_US = 1_000_000
MAX_POINTS = 11_000  # buckets per series a read may ask for, like Prometheus' range limit


@dataclass(frozen=True, slots=True)
class Carry:
    """A per-bucket aggregate written onto the bucket's kept row."""

    aggregate: FunctionElement[Any]  # e.g. `func.max(rank)`, taken over the bucket's rows
    value: Callable[[Any], object]  # the aggregate's value -> the column's value


@dataclass(frozen=True, slots=True)
class BucketMerge:
    """How one history table merges a bucket's rows: its table, its series key, what it carries."""

    table: type[StatusRow] | type[BackendRow]
    key: tuple[InstrumentedAttribute[Any], ...]  # the columns naming one series
    carry: Mapping[str, Carry] = field(default_factory=dict)  # column name -> aggregate


def step_micros(start_us: int, end_us: int, step: timedelta) -> int:
    """`step` in microseconds; ValueError unless positive and [start, end) has at most
    MAX_POINTS buckets of it."""
    step_us = int(step / timedelta(microseconds=1))
    if step_us <= 0:
        raise ValueError("step must be positive")
    if (end_us - start_us) // step_us > MAX_POINTS:
        raise ValueError(f"more than {MAX_POINTS} points; use a longer step")
    return step_us


def last_per_bucket(
    merge: BucketMerge, step_us: int, where: Iterable[ColumnElement[bool]]
) -> Select[Any]:
    """Per series, the last row of each bucket of `step_us` among the rows `where` selects,
    by series then time. Besides the row's columns: `bucket` (its number since the epoch),
    `bucket_samples` and each carried aggregate as `carry_<column>`."""
    table = merge.table
    bucket = table.at_us // step_us
    partition = (*merge.key, bucket)
    ranked = (
        select(
            table,
            bucket.label("bucket"),
            func.row_number()
            .over(partition_by=partition, order_by=(table.at_us.desc(), table.id.desc()))
            .label("rn"),
            func.sum(table.samples).over(partition_by=partition).label("bucket_samples"),
            *(
                carry.aggregate.over(partition_by=partition).label(f"carry_{name}")
                for name, carry in merge.carry.items()
            ),
        )
        .where(*where)
        .subquery()
    )
    series = (ranked.c[column.key] for column in merge.key)
    return select(ranked).where(ranked.c.rn == 1).order_by(*series, ranked.c.at_us)


def compact_tier(engine: Engine, writer: Writer, merge: BucketMerge, compaction: Compaction) -> int:
    """Merge the table's rows finer than the tier, older than its boundary; rows removed."""
    table = merge.table
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
            removed += merge_slice(conn, merge, compaction.step_s, lo, hi)
        lo = hi
    return removed


def merge_slice(conn: Connection, merge: BucketMerge, step_s: int, lo: int, hi: int) -> int:
    """Merge rows in [lo, hi) into buckets of `step_s` seconds: keep each bucket's last.

    One ranking query; the keepers are updated and the others deleted by primary key
    (executemany), which is much cheaper than re-ranking inside a DELETE. A bucket already
    merged at this step (one row of `step_s`) is left alone. Returns the rows deleted.
    """
    table = merge.table
    partition = (*merge.key, table.at_us // (step_s * _US))
    ranked = conn.execute(
        select(
            table.id,
            table.step_s,
            func.row_number()
            .over(partition_by=partition, order_by=(table.at_us.desc(), table.id.desc()))
            .label("rn"),
            func.count().over(partition_by=partition).label("rows"),
            func.sum(table.samples).over(partition_by=partition).label("samples"),
            *(
                carry.aggregate.over(partition_by=partition).label(f"carry_{name}")
                for name, carry in merge.carry.items()
            ),
        ).where(table.at_us >= lo, table.at_us < hi, table.step_s <= step_s)
    ).all()
    keepers = [
        {
            "keeper_id": row.id,
            "keeper_samples": int(row.samples),
            **{
                f"keeper_{name}": carry.value(row._mapping[f"carry_{name}"])
                for name, carry in merge.carry.items()
            },
        }
        for row in ranked
        if row.rn == 1 and (row.rows > 1 or row.step_s < step_s)
    ]
    losers = [{"loser_id": row.id} for row in ranked if row.rn > 1]
    if keepers:
        conn.execute(
            update(table)
            .where(table.id == bindparam("keeper_id"))
            .values(
                step_s=step_s,
                samples=bindparam("keeper_samples"),
                **{name: bindparam(f"keeper_{name}") for name in merge.carry},
            ),
            keepers,
        )
    if losers:
        conn.execute(delete(table).where(table.id == bindparam("loser_id")), losers)
    return len(losers)
