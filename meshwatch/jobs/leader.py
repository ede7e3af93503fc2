"""Leader election for the jobs that act: only the leader evaluates, remediates, notifies.

Every replica serves the API (it reads the shared store); the jobs that write statuses,
change routes or send messages run on one replica only. `LeaderGate` asks its `LeaderLock`
at most once per `check_every` (a dedicated `leader` job keeps asking even when no acting
job is due, so a follower takes over within about `check_every` of the leader's death) and
`LeaderGate.guard` wraps an `IntervalJob` so that it does nothing on a follower.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from meshwatch.jobs.scheduler import IntervalJob
from meshwatch.store.lock import LeaderLock

log = logging.getLogger(__name__)


@dataclass
class LeaderGate:
    lock: LeaderLock
    check_every: timedelta = timedelta(seconds=2)
    on_change: Callable[[bool], object] = lambda leading: None
    is_leader: bool = False
    checked_at: datetime | None = None
    _mutex: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def leading(self, now: datetime) -> bool:
        """Whether this replica leads at `now`; asks the lock when the last answer is stale."""
        with self._mutex:
            if self.checked_at is None or now - self.checked_at >= self.check_every:
                self._refresh(now)
            return self.is_leader

    def _refresh(self, now: datetime) -> None:
        first, self.checked_at = self.checked_at is None, now
        leading = self.lock.try_acquire()
        if leading != self.is_leader:
            log.warning("leadership %s", "acquired" if leading else "lost")
        if first or leading != self.is_leader:
            self.is_leader = leading
            self.on_change(leading)

    def job(self) -> IntervalJob:
        """The job that keeps asking for leadership (and notices losing it)."""
        return IntervalJob("leader", self.leading, self.check_every)

    def guard(self, job: IntervalJob) -> IntervalJob:
        """`job`, run only while this replica leads."""

        def run(now: datetime) -> object:
            if not self.leading(now):
                return None
            return job.run(now)

        return replace(job, run=run)

    def release(self) -> None:
        with self._mutex:
            self.lock.release()
            if self.is_leader:
                self.is_leader = False
                self.on_change(False)
