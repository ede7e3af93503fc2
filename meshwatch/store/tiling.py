"""Report sums from status history, each request counted once, computed by the database.

Per SLO, the report period (start, end] is cut into `step`s counted from `start`; the last
status of each step stands for the time since the previous step's last status (`gap`),
through ONE of its windows picked as `meshwatch.slo.tiling.pick` does (the closest to the
gap, scaled by gap / window within its tolerances). Windows of consecutive statuses
therefore never overlap, whatever the evaluation interval, the retention tier (raw, 5 min,
1 h rows) or a restart gap; time no window covers is returned as uncovered, not filled in.
A status that knows its own `coverage` (share of its period with samples) also caps the
time its window stands for: a `3d` window resting on 30 minutes of samples covers 30 min.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Float, case, cast, func, literal, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from meshwatch.slo.tiling import JITTER, LONGER
from meshwatch.store.records import WindowSum
from meshwatch.store.tables import StatusRow

_US = timedelta(microseconds=1)


def _us(delta: timedelta) -> int:
    return int(delta / _US)


def window_sums(
    conn: Connection,
    *,
    start_us: int,
    end_us: int,
    slo_ids: Sequence[str],
    windows: Sequence[tuple[str, timedelta]],
    period: timedelta | None,
    step: timedelta,
    bucket: timedelta,
) -> Iterator[WindowSum]:
    """Sums per (SLO, report bucket), ordered by slo_id and bucket; see the module doc.

    `windows` are the (name, length) pairs a status may carry; `period` is the SLO period
    the stored `coverage` is a share of (None: coverage is not used).
    """
    step_us, bucket_us = _us(step), _us(bucket)
    if step_us <= 0 or bucket_us <= 0:
        raise ValueError("step and bucket must be positive")
    if end_us <= start_us or not slo_ids or not windows:
        return
    ordered = sorted(windows, key=lambda item: item[1], reverse=True)
    step_of = (StatusRow.at_us - (start_us + 1)) // step_us
    # the last row of each step by id only: the JSON is read by primary key, and only for
    # those rows (carrying it through the grouping and the window function is 5x slower)
    columns = (StatusRow.slo_id, StatusRow.id)
    where = (
        StatusRow.slo_id.in_(slo_ids),
        StatusRow.at_us > start_us,
        StatusRow.at_us <= end_us,
    )
    if conn.dialect.name == "postgresql":
        last = (
            select(*columns, StatusRow.at_us)
            .where(*where)
            .ext(distinct_on(StatusRow.slo_id, step_of))
            .order_by(StatusRow.slo_id, step_of, StatusRow.at_us.desc(), StatusRow.id.desc())
            .subquery()
        )
    else:  # SQLite: bare columns come from the row holding MAX(at_us)
        last = (
            select(*columns, func.max(StatusRow.at_us).label("at_us"))
            .where(*where)
            .group_by(StatusRow.slo_id, step_of)
            .subquery()
        )
    previous = func.lag(last.c.at_us, 1, start_us).over(
        partition_by=last.c.slo_id, order_by=last.c.at_us
    )
    lagged = select(  # light rows only: the window function sorts whatever it carries
        last.c.slo_id, last.c.at_us, last.c.id, cast(last.c.at_us - previous, Float).label("gap")
    ).subquery()
    gap = lagged.c.gap
    lengths = [float(_us(length)) for _, length in ordered]  # longest first
    names = [name for name, _ in ordered]

    def measured(source: Any, i: int) -> tuple[ColumnElement[float], ColumnElement[float]]:
        column = source.windows
        return (
            column[("requests", names[i])].as_float(),
            column[("sli", names[i])].as_float(),
        )

    row = aliased(StatusRow)
    # only windows the status measured (gap test first: both engines stop at a false term)
    short = case(
        *[((gap >= n) & measured(row, i)[0].is_not(None), n) for i, n in enumerate(lengths)]
    )
    long = case(
        *[
            ((gap < n) & (gap * (1.0 + LONGER) >= n) & measured(row, i)[0].is_not(None), n)
            for i, n in reversed(list(enumerate(lengths)))
        ]
    )
    gaps = (
        select(
            lagged.c.slo_id,
            lagged.c.at_us,
            lagged.c.id,
            row.coverage,
            gap,
            short.label("short"),
            long.label("long"),
        )
        .select_from(lagged.join(row, row.id == lagged.c.id))
        # materialized: flattened, `short`/`long` would be recomputed at every use below
        .cte("gaps")
        .prefix_with("MATERIALIZED")
    )
    g = gaps.c
    chosen = case(
        (g.short.is_(None), g.long),
        (g.long.is_(None), g.short),
        (g.long - g.gap < g.gap - g.short, g.long),
        else_=g.short,
    )
    picked = (
        select(g.slo_id, g.at_us, g.id, g.coverage, g.gap, chosen.label("length"))
        .cte("picked")
        .prefix_with("MATERIALIZED")
    )
    p = picked.c
    # the chosen window's numbers, read by primary key once per tile (JSON only for them)
    second = aliased(StatusRow)
    tiles = (
        select(
            p.slo_id,
            p.at_us,
            p.coverage,
            p.gap,
            p.length,
            case(*[(p.length == n, measured(second, i)[0]) for i, n in enumerate(lengths)]).label(
                "req"
            ),
            case(*[(p.length == n, measured(second, i)[1]) for i, n in enumerate(lengths)]).label(
                "sli"
            ),
        )
        .select_from(picked.join(second, second.id == p.id))
        # materialized: flattened into the final GROUP BY, SQLite would sort both rows'
        # JSON along with every group key (5x slower)
        .cte("tiles")
        .prefix_with("MATERIALIZED")
    )
    span = case((tiles.c.gap <= tiles.c.length * (1.0 + JITTER), tiles.c.gap), else_=tiles.c.length)
    scale = span / tiles.c.length
    covered: ColumnElement[float] = span
    if period is not None:
        seen = tiles.c.coverage * float(_us(period))
        covered = case((tiles.c.coverage.is_(None), span), (seen < span, seen), else_=span)
    errors = tiles.c.req * (1.0 - func.coalesce(tiles.c.sli, 1.0)) * scale  # no traffic: no errors
    index = (tiles.c.at_us - (start_us + 1)) // bucket_us
    query = (
        select(
            tiles.c.slo_id,
            index.label("bucket"),
            func.sum(tiles.c.req * scale),
            func.sum(case((errors < 0.0, literal(0.0)), else_=errors)),
            func.sum(covered),
            func.count(),
        )
        .where(tiles.c.length.is_not(None), tiles.c.req.is_not(None))
        .group_by(tiles.c.slo_id, index)
        .order_by(tiles.c.slo_id, index)
    )
    for slo_id, number, total, bad, covered_us, points in conn.execute(query):
        yield WindowSum(
            slo_id,
            int(number),
            float(total),
            float(bad),
            int(points),
            covered=timedelta(microseconds=float(covered_us)),
        )
