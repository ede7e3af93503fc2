"""A hung notification receiver must not delay a healthy one (issue 17 item 9).

Two real HTTP receivers on 127.0.0.1 (threads): one holds every request longer than the
sender's timeout, one answers at once. Ten notifications are due for each, interleaved in
the outbox. Before, delivery was sequential, so every healthy notification waited behind a
full timeout of the hung one (10 x timeout per run, and the scheduler skipped the next
runs). Now each target has its own lane: the healthy receiver gets all ten within the run,
and the run lasts about one timeout, because the hung lane stops at its first timeout and
leaves the rest due (untouched, not lost) for the next run.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from meshwatch.notify.sender import Endpoint, deliver_due
from meshwatch.store import Store
from tests.support.receiver import Receiver

pytestmark = pytest.mark.integration

TIMEOUT_S = 1.0
ITEMS = 10
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_hung_receiver_does_not_block_the_healthy_one(store: Store) -> None:
    receiver = Receiver({"/hung": ["timeout"] * ITEMS}, hold_seconds=3 * TIMEOUT_S).start()
    try:
        endpoints = {
            "hung": Endpoint(f"{receiver.url}/hung", None, TIMEOUT_S),
            "healthy": Endpoint(f"{receiver.url}/healthy", None, TIMEOUT_S),
        }
        for n in range(ITEMS):
            for target in ("hung", "healthy"):
                store.outbox.enqueue(f"{target}-{n}", target, {"n": n}, NOW)
        began = time.perf_counter()
        with httpx.Client() as client:
            report = deliver_due(store.outbox, endpoints, client, NOW)
        elapsed = time.perf_counter() - began
        healthy = receiver.received("/healthy")
        assert len(healthy) == ITEMS and all(r.delivered for r in healthy)
        assert report.delivered == ITEMS
        assert report.failed == 1  # the hung lane stopped at its first timeout
        assert elapsed < 3 * TIMEOUT_S, f"run took {elapsed:.1f}s"
        # nothing lost: the hung target's other items are still due, never attempted
        due = [i for i in store.outbox.due(NOW) if i.target == "hung"]
        assert len(due) == ITEMS - 1 and all(i.attempts == 0 for i in due)
    finally:
        receiver.stop()
