"""The alert upsert on SQLite as one statement per chunk of rows, sent as driver SQL.

Through the SQL expression layer a batch costs the writer thread (and the GIL that the
event loop needs) about a millisecond: an INSERT ... ON CONFLICT DO NOTHING RETURNING,
then an UPDATE for the repeated rows, each compiled from its cache key and each value
passed through its type's bind processor. With a single-alert delivery per client, that
millisecond is on the path of every acknowledgement. Here the batch is one
`INSERT ... VALUES (...), (...) ON CONFLICT DO UPDATE ... RETURNING` per chunk of
`CHUNK_ROWS` rows (SQLite binds at most 32,766 values per statement), with the values
already in the column formats the table's types store: timestamps as naive UTC text
(`types.UTCDateTime` on SQLite), JSON as `compact_json`. The statement does what
`alerts_pg.UPSERT` does on PostgreSQL (the same `ON_CONFLICT`); a row was inserted when
the `deliveries` it returns is the batch's own count (an updated row adds the count to a
stored one, which is >= 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection

from meshwatch.store.alerts_pg import COLUMNS, ON_CONFLICT
from meshwatch.store.engine import compact_json

CHUNK_ROWS = 500

TIMESTAMPS = frozenset({"starts_at", "ends_at", "first_received_at", "last_received_at"})
JSONS = frozenset({"labels", "annotations"})


@cache
def _statement(rows: int) -> str:
    placeholders = "(" + ", ".join("?" * len(COLUMNS)) + ")"
    return (
        f"INSERT INTO alert_events ({', '.join(COLUMNS)}) VALUES "
        + ", ".join([placeholders] * rows)
        + ON_CONFLICT
        + "RETURNING fingerprint, starts_at, deliveries"
    )


def stored_time(moment: datetime | None) -> str | None:
    """`moment` as `types.UTCDateTime` stores it on SQLite (SQLAlchemy's DATETIME text)."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
    )


def upsert_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[tuple[str, datetime]]:
    """Insert or update `rows` (unique keys); the keys that were new."""
    new: set[tuple[str, datetime]] = set()
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        values: list[Any] = []
        keys: dict[tuple[str, str | None], tuple[tuple[str, datetime], int]] = {}
        for row in chunk:
            for name in COLUMNS:
                value = row[name]
                if name in TIMESTAMPS:
                    value = stored_time(value)
                elif name in JSONS:
                    value = compact_json(value)
                values.append(value)
            stored = (row["fingerprint"], stored_time(row["starts_at"]))
            keys[stored] = ((row["fingerprint"], row["starts_at"]), row["deliveries"])
        result = conn.exec_driver_sql(_statement(len(chunk)), tuple(values))
        for fingerprint, starts_at, deliveries in result:
            key, carried = keys[(fingerprint, starts_at)]
            if deliveries == carried:
                new.add(key)
    return new
