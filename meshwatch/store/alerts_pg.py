"""The alert upsert on PostgreSQL as one fixed statement over arrays (`unnest`).

SQLAlchemy's multi-row `INSERT ... VALUES (...), (...)` has a different text for every batch
size, so psycopg re-parses its placeholders each time (in Python: about 1 ms per row for a
batch of 500, more than the database's own work). Here the batch travels as one array per
column: the statement text never changes, psycopg and PostgreSQL parse it once, and one
round trip both inserts the new alerts and updates the repeated ones. `xmax = 0` in
RETURNING tells the rows this statement inserted from those it updated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from meshwatch.store.engine import compact_json

ON_CONFLICT = """
ON CONFLICT (fingerprint, starts_at) DO UPDATE SET
    status = CASE WHEN alert_events.status = 'resolved' THEN alert_events.status
                  ELSE EXCLUDED.status END,
    ends_at = CASE WHEN alert_events.status = 'resolved' THEN alert_events.ends_at
                   ELSE EXCLUDED.ends_at END,
    labels = EXCLUDED.labels,
    annotations = EXCLUDED.annotations,
    generator_url = EXCLUDED.generator_url,
    last_received_at = EXCLUDED.last_received_at,
    deliveries = alert_events.deliveries + EXCLUDED.deliveries
"""
"""What a repeated (fingerprint, starts_at) updates (SQLite's upsert uses it too):
`resolved` is final for an alert instance."""

UPSERT = """
INSERT INTO alert_events (
    fingerprint, starts_at, ends_at, status, alertname, service, slo_id, labels, annotations,
    generator_url, first_received_at, last_received_at, deliveries)
SELECT * FROM unnest(
    %(fingerprint)s::varchar[], %(starts_at)s::timestamptz[], %(ends_at)s::timestamptz[],
    %(status)s::varchar[], %(alertname)s::varchar[], %(service)s::varchar[],
    %(slo_id)s::varchar[], %(labels)s::text[]::jsonb[], %(annotations)s::text[]::jsonb[],
    %(generator_url)s::text[], %(first_received_at)s::timestamptz[],
    %(last_received_at)s::timestamptz[], %(deliveries)s::integer[])
"""
UPSERT += ON_CONFLICT + "RETURNING fingerprint, starts_at, (xmax = 0) AS inserted\n"

COLUMNS = (
    "fingerprint",
    "starts_at",
    "ends_at",
    "status",
    "alertname",
    "service",
    "slo_id",
    "labels",
    "annotations",
    "generator_url",
    "first_received_at",
    "last_received_at",
    "deliveries",
)


def upsert_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> set[tuple[str, datetime]]:
    """Insert or update `rows` (unique keys, in key order); the keys that were new."""
    arrays: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for row in rows:
        for name in COLUMNS:
            value = row[name]
            arrays[name].append(compact_json(value) if name in ("labels", "annotations") else value)
    result = conn.exec_driver_sql(UPSERT, arrays)
    return {(fp, starts) for fp, starts, inserted in result if inserted}
