"""The embedded scraper's windows across restarts: saved to the store, resumed on start.

`ScrapeSnapshots.save` runs as an interval job (on the leader, every `snapshot_interval`)
and once more on a graceful stop; `resume` runs once at start, before the first scrape, so
a restart (a `kill -9` too, from the last periodic save) continues every window instead of
starting it empty. Events while meshwatch was down are not counted: the first scrape after
a restart is a new baseline (see `ScrapeStore.snapshot`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.errors import StoreError
from meshwatch.store import Store

log = logging.getLogger(__name__)

SCRAPE_SNAPSHOT = "scrape"
"""The snapshot's name in the store (one row, replaced on every save)."""


@dataclass
class ScrapeSnapshots:
    scrape_store: ScrapeStore
    store: Store
    name: str = SCRAPE_SNAPSHOT

    def save(self, now: datetime) -> int:
        """Write the windows of every followed series; the snapshot's size in bytes."""
        data = self.scrape_store.snapshot()
        self.store.snapshots.save(self.name, data, now)
        log.debug("saved scrape snapshot: %s bytes", len(data))
        return len(data)

    def resume(self) -> int:
        """Restore the last saved windows; how many tracks were restored (0: none usable)."""
        try:
            snapshot = self.store.snapshots.load(self.name)
        except StoreError as exc:
            log.error("cannot read the scrape snapshot, windows start empty: %s", exc)
            return 0
        if snapshot is None:
            return 0
        try:
            restored = self.scrape_store.restore(snapshot.data)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            log.warning("ignoring the scrape snapshot of %s: %s", snapshot.saved_at, exc)
            return 0
        log.info(
            "resumed %s scrape windows from the snapshot of %s",
            restored,
            snapshot.saved_at.isoformat(),
        )
        return restored
