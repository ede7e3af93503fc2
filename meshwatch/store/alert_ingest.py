"""Group commit of webhook deliveries: a bounded queue and one writer thread.

Under a retry storm Alertmanager sends many small deliveries at once. Written one by one,
each pays its own transaction and fsync, and on SQLite they queue on the write lock at the
store's per-commit speed (about 60 per second were seen), holding a thread each. Here every
delivery is queued, and one writer thread takes everything waiting (up to `max_batch_alerts`)
into one transaction: a burst drains at the store's real speed, and each caller's future is
resolved only after the commit that holds its alerts, so an acknowledgement still means
"committed". The queue is bounded (`max_queued_alerts`): when it is full `submit` raises
`IngestFull` at once, and the webhook answers 503 with Retry-After instead of piling up
memory. A caller whose client has gone can `abandon` its delivery while it is still waiting.
Before it takes a batch the writer waits briefly for as many deliveries as the last commit
held (`_linger`: at most half that commit's time), so a steady set of clients shares each
commit instead of alternating one delivery with the rest. A delivery may carry a
`callback` for an event loop; the callbacks of a batch reach each loop in one call.
When the queue has been empty for `idle_after` seconds after some writes, the writer calls
`on_idle` once (the app gives the allocator's free memory back there; see api.memory).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from meshwatch.errors import MeshwatchError, StoreDataError
from meshwatch.store.alerts import AlertLog
from meshwatch.store.records import AlertEvent

log = logging.getLogger(__name__)


class IngestFull(MeshwatchError):
    """The delivery queue is full; the caller should ask the client to retry later."""


class IngestClosed(MeshwatchError):
    """The writer has stopped (shutdown); nothing more is accepted."""


class CallbackLoop(Protocol):
    """Where a delivery's `callback` runs (an asyncio event loop)."""

    def call_soon_threadsafe(self, callback: Callable[..., object], /, *args: Any) -> Any: ...


@dataclass(eq=False)
class Delivery:
    """One queued delivery; `future` resolves to its number of new alerts after the commit.

    `callback`, if set, then runs on `loop`: the callbacks of one batch are handed to each
    loop at once (one wake-up of the loop per commit, not one per delivery).
    """

    alerts: Sequence[AlertEvent]
    future: Future[int] = field(default_factory=Future)
    taken: bool = False
    abandoned: bool = False
    loop: CallbackLoop | None = None
    callback: Callable[[], None] | None = None


class AlertIngest:
    """Queue deliveries for `log`; one writer thread (started on first use) commits batches."""

    def __init__(
        self,
        log_: AlertLog,
        clock: Callable[[], datetime],
        *,
        max_queued_alerts: int = 20_000,
        max_batch_alerts: int = 5_000,
        on_idle: Callable[[], None] | None = None,
        idle_after: float = 1.0,
        max_linger: float = 0.005,
    ) -> None:
        self._log = log_
        self._clock = clock
        self.max_queued_alerts = max_queued_alerts
        self.max_batch_alerts = max_batch_alerts
        self._queue: deque[Delivery] = deque()
        self._queued_alerts = 0
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._on_idle = on_idle
        self.idle_after = idle_after
        self.max_linger = max_linger
        self._expected = 0  # deliveries in the last batch
        self._last_commit = 0.0  # seconds the last batch took
        self._written = False  # since the last quiet period
        self._idle_due = False

    @property
    def queued_alerts(self) -> int:
        """Alerts waiting for the writer (not those of the batch being written)."""
        return self._queued_alerts

    def submit(
        self,
        alerts: Sequence[AlertEvent],
        *,
        loop: CallbackLoop | None = None,
        callback: Callable[[], None] | None = None,
    ) -> Delivery:
        """Queue one delivery; IngestFull when the queue cannot take it now.

        A delivery larger than the whole queue is still taken when the queue is empty, so
        every group the webhook schema allows can be stored. `callback` runs on `loop` once
        `future` is resolved (never for an abandoned delivery).
        """
        delivery = Delivery(alerts, loop=loop, callback=callback)
        with self._cond:
            if self._closed:
                raise IngestClosed("the alert writer has stopped")
            size = len(alerts)
            if self._queue and self._queued_alerts + size > self.max_queued_alerts:
                raise IngestFull(f"{self._queued_alerts} alerts are waiting to be stored")
            self._queue.append(delivery)
            self._queued_alerts += size
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="meshwatch-alert-writer", daemon=True
                )
                self._thread.start()
            if len(self._queue) in (1, self._expected):  # the first, or the batch is full
                self._cond.notify()
        return delivery

    def abandon(self, delivery: Delivery) -> bool:
        """Drop `delivery` unless the writer took it already; True when dropped."""
        with self._cond:
            if delivery.taken or delivery.abandoned:
                return delivery.abandoned
            delivery.abandoned = True
            self._queued_alerts -= len(delivery.alerts)
        delivery.future.cancel()
        return True

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the writer thread (the next `submit` restarts it)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._thread = None
            self._closed = False

    def _take(self) -> list[Delivery] | None:
        """The next batch; None when closed; [] when the queue went quiet after writes."""
        with self._cond:
            while not self._queue and not self._closed:
                if not (self._written and self._on_idle is not None):
                    self._cond.wait()
                elif not self._cond.wait(self.idle_after) and not self._queue:
                    self._written = False
                    self._idle_due = True
                    return []
            self._linger()
            batch: list[Delivery] = []
            size = 0
            while self._queue:
                head = self._queue[0]
                if head.abandoned:
                    self._queue.popleft()
                    continue
                if batch and size + len(head.alerts) > self.max_batch_alerts:
                    break
                self._queue.popleft()
                head.taken = True
                size += len(head.alerts)
                batch.append(head)
            self._queued_alerts -= size
            if not batch and self._closed:
                return None
            self._written = self._written or bool(batch)
            return batch

    def _linger(self) -> None:
        """Wait (a bounded time) for the deliveries the last commit answered to come back.

        Clients that were just acknowledged send their next delivery a moment later; taking
        the first of them alone would commit it by itself while the others queue for the
        next commit, and batches would alternate between one delivery and the rest. A
        commit costs about the same whatever its size (one fsync, or one round trip), so
        waiting up to half the last commit's time for as many deliveries as it held costs
        a lone delivery at most half a commit and lets a steady set of clients share each
        commit. With nobody else around (the last batch held one delivery) there is no
        wait at all.
        """
        if self._expected <= 1 or self._closed:
            return
        deadline = time.monotonic() + min(self.max_linger, self._last_commit / 2)
        while (
            len(self._queue) < self._expected
            and self._queued_alerts < self.max_batch_alerts
            and not self._closed
        ):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._cond.wait(remaining):
                return

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            if batch:
                self._write(batch)
            elif self._idle_due and self._on_idle is not None:
                self._idle_due = False
                self._on_idle()

    def _write(self, batch: list[Delivery]) -> None:
        began = time.monotonic()
        try:
            counts = self._log.record_deliveries([d.alerts for d in batch], self._clock())
        except StoreDataError as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                _call_back(batch)
                return
            # One delivery the database refuses must not fail its neighbours: retry alone.
            log.warning("a batch of %s deliveries was refused (%s); writing each", len(batch), exc)
            for delivery in batch:
                self._write([delivery])
        except Exception as exc:  # an outage fails the batch: every caller answers 503
            for delivery in batch:
                delivery.future.set_exception(exc)
            _call_back(batch)
        else:
            with self._cond:
                self._expected, self._last_commit = len(batch), time.monotonic() - began
            for delivery, new in zip(batch, counts, strict=True):
                delivery.future.set_result(new)
            _call_back(batch)


def _call_back(batch: Sequence[Delivery]) -> None:
    """Hand the callbacks of `batch` to their loops, all of one loop in one call."""
    by_loop: dict[CallbackLoop, list[Callable[[], None]]] = {}
    for delivery in batch:
        if delivery.loop is not None and delivery.callback is not None:
            by_loop.setdefault(delivery.loop, []).append(delivery.callback)
    for loop, callbacks in by_loop.items():
        try:
            loop.call_soon_threadsafe(_run_all, callbacks)
        except RuntimeError:  # the loop is closed (a forced shutdown): nobody to answer
            log.debug("dropped %s callbacks for a closed event loop", len(callbacks))


def _run_all(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        callback()
