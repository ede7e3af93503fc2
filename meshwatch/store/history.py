"""Status history: one row per SLO per evaluation, downsampled by `prune`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, case, delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement

from meshwatch.model import STATE_SEVERITY, SLOStatus, State
from meshwatch.store import tiling
from meshwatch.store.backend_history import BackendHistory
from meshwatch.store.codec import STATUS_COLUMNS, status_from_values, status_row
from meshwatch.store.compaction import (
    BucketMerge,
    Carry,
    compact_tier,
    last_per_bucket,
    step_micros,
)
from meshwatch.store.engine import strict_json, writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import HistoryPoint, PruneResult, WindowSum
from meshwatch.store.retention import Compaction, RetentionPolicy, prune_plan
from meshwatch.store.tables import LatestRow, StatusRow
from meshwatch.store.types import from_micros, to_micros

log = logging.getLogger(__name__)

_STATE_BY_RANK = {rank: state for state, rank in STATE_SEVERITY.items()}


def _worst_rank() -> ColumnElement[int]:
    return case(
        {state.value: rank for state, rank in STATE_SEVERITY.items()},
        value=StatusRow.worst_state,
        else_=STATE_SEVERITY[State.UNKNOWN],
    )


# a bucket keeps its last status, with the worst state any of its rows had
_MERGE = BucketMerge(
    StatusRow,
    (StatusRow.slo_id,),
    {"worst_state": Carry(func.max(_worst_rank()), lambda rank: _STATE_BY_RANK[int(rank)].value)},
)


class StatusHistory:
    """Save and read SLO statuses; ORM rows never leave this class."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)
        self.backends = BackendHistory(engine, self._writer)

    @store_errors
    def save_statuses(self, statuses: Sequence[SLOStatus]) -> None:
        """Append one evaluation cycle in one transaction (bulk insert + latest pointers)."""
        if not statuses:
            return
        with self._writer.begin() as conn:
            write_statuses(conn, statuses)

    @store_errors
    def latest(self, slo_id: str | None = None) -> list[SLOStatus]:
        """The newest status of one SLO (zero or one item) or of every SLO, by slo_id."""
        query = (
            select(StatusRow)
            .join(
                LatestRow,
                (LatestRow.slo_id == StatusRow.slo_id) & (LatestRow.at_us == StatusRow.at_us),
            )
            .order_by(StatusRow.slo_id, StatusRow.id.desc())
        )
        if slo_id is not None:
            query = query.where(LatestRow.slo_id == slo_id)
        found: dict[str, SLOStatus] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):  # the same evaluation saved twice: the last save
                if row.slo_id not in found:
                    found[row.slo_id] = status_from_values(row._mapping)
        return list(found.values())

    @store_errors
    def history(
        self,
        slo_id: str,
        start: datetime,
        end: datetime,
        step: timedelta | None = None,
        limit: int | None = None,
    ) -> list[HistoryPoint]:
        """Points of `slo_id` with start <= at < end, oldest first.

        Without `step`, every stored row, or the first `limit` of them. With `step`, one
        point per bucket of `step` aligned to the epoch: the bucket's last status, its worst
        state and its number of samples.
        Buckets without a stored row are left out (no data is not good data); a step finer
        than what pruning kept for old history yields one point per kept row.
        """
        start_us, end_us = to_micros(start), to_micros(end)
        if end_us <= start_us:
            return []
        where = (StatusRow.slo_id == slo_id, StatusRow.at_us >= start_us, StatusRow.at_us < end_us)
        with self._engine.connect() as conn:
            if step is None:
                raw = select(StatusRow).where(*where).order_by(StatusRow.at_us, StatusRow.id)
                rows: Iterable[Any] = conn.execute(raw if limit is None else raw.limit(limit))
                return [self._point(row._mapping, None) for row in rows]
            step_us = step_micros(start_us, end_us, step)
            rows = conn.execute(last_per_bucket(_MERGE, step_us, where))
            return [self._point(row._mapping, step_us) for row in rows]

    @store_errors
    def window_sums(
        self,
        start: datetime,
        end: datetime,
        *,
        slo_ids: Sequence[str],
        windows: Sequence[tuple[str, timedelta]],
        period: timedelta | None,
        step: timedelta,
        bucket: timedelta,
    ) -> list[WindowSum]:
        """Request-weighted sums for reports, each request counted once, for many SLOs at once.

        The last point of each `step` in (start, end] contributes one of its `windows`, the
        longest that fits since the previous step's point (`meshwatch.store.tiling`); the
        sums are per SLO per `bucket` counted from `start`, ordered by slo_id, bucket. SLOs
        or steps without any of `windows` are left out (the caller reads those point by point).
        """
        with self._engine.connect() as conn:
            return list(
                tiling.window_sums(
                    conn,
                    start_us=to_micros(start),
                    end_us=to_micros(end),
                    slo_ids=slo_ids,
                    windows=windows,
                    period=period,
                    step=step,
                    bucket=bucket,
                )
            )

    @staticmethod
    def _point(values: Mapping[Any, Any], step_us: int | None) -> HistoryPoint:
        status = status_from_values(values)
        if step_us is None:
            return HistoryPoint(status.at, status, State(values["worst_state"]), values["samples"])
        return HistoryPoint(
            at=from_micros(values["bucket"] * step_us),
            status=status,
            worst_state=_STATE_BY_RANK[int(values["carry_worst_state"])],
            samples=int(values["bucket_samples"]),
        )

    @store_errors
    def prune(self, now: datetime, policy: RetentionPolicy | None = None) -> PruneResult:
        """Downsample and expire history per `policy` (default `RetentionPolicy()`).

        Idempotent and incremental: only rows finer than a tier's resolution are looked at,
        one bucket width (e.g. 5 minutes of every SLO) per transaction, so writers are never
        blocked for long. Safe to run while statuses are being saved; run one at a time.
        """
        plan = prune_plan(policy or RetentionPolicy(), now)
        compacted = sum(self._compact(step) for step in plan.compactions)
        with self._writer.begin() as conn:
            expired = conn.execute(
                delete(StatusRow).where(StatusRow.at_us < plan.delete_before_us)
            ).rowcount
            conn.execute(delete(LatestRow).where(LatestRow.at_us < plan.delete_before_us))
        backend_compacted, backend_expired = self.backends.prune(plan)
        log.info(
            "pruned status history: %s rows compacted, %s expired (backends: %s, %s)",
            compacted,
            expired,
            backend_compacted,
            backend_expired,
        )
        return PruneResult(compacted, expired, backend_compacted, backend_expired)

    def _compact(self, compaction: Compaction) -> int:
        return compact_tier(self._engine, self._writer, _MERGE, compaction)


def write_statuses(conn: Connection, statuses: Sequence[SLOStatus]) -> None:
    """Insert `statuses` and move the latest pointers, inside the caller's transaction.

    The rows go to the driver as tuples in one executemany, their maps already JSON: a
    Core insert's per-row parameter processing made a 10,000-SLO write ~20 % slower on
    SQLite (0.37 -> 0.30 s of CPU on a small machine) and ~35 % on PostgreSQL."""
    if not statuses:
        return
    rows = [status_row(status, strict_json) for status in statuses]  # maps made strict
    newest: dict[str, int] = {}
    for row in rows:
        slo_id, at_us = row[0], row[1]
        if at_us >= newest.get(slo_id, at_us):
            newest[slo_id] = at_us
    paramstyle = conn.dialect.paramstyle
    conn.exec_driver_sql(_insert_sql(paramstyle), rows)
    conn.exec_driver_sql(_latest_sql(paramstyle), sorted(newest.items()))  # in key order


_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # sqlite3; psycopg (both styles)


def _latest_sql(paramstyle: str) -> str:
    """Move each `(slo_id, at_us)` latest pointer forward, never back: the same statement on
    SQLite and PostgreSQL, sent to the driver as tuples (SQLAlchemy's per-row parameter
    processing of 10,000 pointers cost a sixth of the cycle's store write)."""
    mark = _MARKS[paramstyle]
    table = LatestRow.__tablename__
    return (
        f"INSERT INTO {table} (slo_id, at_us) VALUES ({mark}, {mark}) "
        f"ON CONFLICT (slo_id) DO UPDATE SET at_us = excluded.at_us "
        f"WHERE excluded.at_us > {table}.at_us"
    )


def _insert_sql(paramstyle: str) -> str:
    """`INSERT INTO status_history (STATUS_COLUMNS) VALUES (...)` for a positional driver."""
    mark = _MARKS[paramstyle]
    columns = ", ".join(STATUS_COLUMNS)
    marks = ", ".join(mark for _ in STATUS_COLUMNS)
    return f"INSERT INTO {StatusRow.__tablename__} ({columns}) VALUES ({marks})"
