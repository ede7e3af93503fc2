"""Snapshots of in-process collector state, one row per name, replaced on every save.

The embedded scrape collector keeps its counter windows in memory; `serve` saves them here
periodically and on a graceful stop, and restores them on start, so a restart (a crash
too, from the last periodic save) does not begin every window empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select

from meshwatch.store.engine import upsert, writer
from meshwatch.store.errors import store_errors
from meshwatch.store.tables import SnapshotRow


@dataclass(frozen=True, slots=True)
class Snapshot:
    name: str
    data: bytes
    saved_at: datetime


class Snapshots:
    """Save and load named snapshots; ORM rows never leave this class."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    @store_errors
    def save(self, name: str, data: bytes, now: datetime) -> None:
        """Replace the snapshot called `name` (one transaction)."""
        with self._writer.begin() as conn:
            stmt = upsert(conn, SnapshotRow).values(name=name, data=data, saved_at=now)
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[SnapshotRow.name],
                    set_={"data": stmt.excluded.data, "saved_at": stmt.excluded.saved_at},
                )
            )

    @store_errors
    def load(self, name: str) -> Snapshot | None:
        """The last saved snapshot called `name`, if any."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(SnapshotRow.data, SnapshotRow.saved_at).where(SnapshotRow.name == name)
            ).first()
        if row is None:
            return None
        return Snapshot(name, bytes(row.data), row.saved_at)
