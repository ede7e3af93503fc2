"""Backend history: each remediation backend's counts per evaluation (issue 12 item 13).

The closed loop measures every backend of a remediated route on its policy's short windows
each cycle; keeping those counts lets the SLO page and the API show each version's SLI and
burn rate over time next to the route weights. Counts, not ratios, are stored, so a reader
derives SLI and burn rate exactly (and a bucket's figure is never an average of ratios).
Rows follow the status history's retention policy: raw, then the last row per bucket.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.engine import Connection

from meshwatch.model import Counts
from meshwatch.store.compaction import BucketMerge, compact_tier, last_per_bucket, step_micros
from meshwatch.store.engine import Writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import BackendPoint
from meshwatch.store.retention import PrunePlan
from meshwatch.store.tables import BackendRow
from meshwatch.store.types import from_micros, to_micros

_MERGE = BucketMerge(BackendRow, (BackendRow.slo_id, BackendRow.backend))  # last row per bucket


def row_values(point: BackendPoint) -> dict[str, Any]:
    """Column values of a raw backend_history row; counts that are not finite are left out
    (strict JSON has no NaN; a window without a number is not measured)."""
    counts = {
        name: [c.errors, c.total]
        for name, c in sorted(point.counts.items())
        if math.isfinite(c.errors) and math.isfinite(c.total)
    }
    return {
        "slo_id": point.slo_id,
        "backend": point.backend,
        "at_us": to_micros(point.at),
        "step_s": 0,
        "samples": 1,
        "counts": counts,
        "reason": point.reason,
    }


def write_backends(conn: Connection, points: Sequence[BackendPoint]) -> None:
    """Insert one cycle's backend points inside the caller's transaction."""
    if points:
        conn.execute(insert(BackendRow), [row_values(p) for p in points])


def _point(values: Mapping[Any, Any], samples: int | None = None) -> BackendPoint:
    return BackendPoint(
        slo_id=values["slo_id"],
        backend=values["backend"],
        at=from_micros(int(values["at_us"])),
        counts={
            name: Counts(float(pair[0]), float(pair[1])) for name, pair in values["counts"].items()
        },
        reason=values["reason"],
        samples=int(values["samples"] if samples is None else samples),
    )


class BackendHistory:
    """Save, read and prune backend points; rows never leave this class."""

    def __init__(self, engine: Engine, writer: Writer) -> None:
        self._engine = engine
        self._writer = writer

    @store_errors
    def save(self, points: Sequence[BackendPoint]) -> None:
        with self._writer.begin() as conn:
            write_backends(conn, points)

    @store_errors
    def history(
        self, slo_id: str, start: datetime, end: datetime, step: timedelta | None = None
    ) -> list[BackendPoint]:
        """Points of `slo_id`'s backends with start <= at < end, by backend then time.

        With `step`, per backend the last point of each bucket of `step` aligned to the
        epoch (its `samples` the bucket's); buckets without a row are left out.
        """
        start_us, end_us = to_micros(start), to_micros(end)
        if end_us <= start_us:
            return []
        where = (
            BackendRow.slo_id == slo_id,
            BackendRow.at_us >= start_us,
            BackendRow.at_us < end_us,
        )
        with self._engine.connect() as conn:
            if step is None:
                rows = conn.execute(
                    select(BackendRow)
                    .where(*where)
                    .order_by(BackendRow.backend, BackendRow.at_us, BackendRow.id)
                )
                return [_point(row._mapping) for row in rows]
            step_us = step_micros(start_us, end_us, step)
            rows = conn.execute(last_per_bucket(_MERGE, step_us, where))
            return [_point(row._mapping, int(row.bucket_samples)) for row in rows]

    def prune(self, plan: PrunePlan) -> tuple[int, int]:
        """Apply the status history's prune plan to backend rows: (compacted, expired)."""
        compacted = sum(
            compact_tier(self._engine, self._writer, _MERGE, step) for step in plan.compactions
        )
        with self._writer.begin() as conn:
            expired = conn.execute(
                delete(BackendRow).where(BackendRow.at_us < plan.delete_before_us)
            ).rowcount
        return compacted, expired
