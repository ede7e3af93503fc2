"""An evaluation cycle's statuses and its notifications commit together (issue 17 item 12).

Before, the evaluation job saved the statuses in one transaction and queued the state-change
notifications in another: a crash (or a failing write) between the two kept the new state
and lost its notification for good, since a restart resumes from the saved state and sees no
change to announce. Here the outbox write fails (its table is gone); the cycle must then
leave no status behind either, and once the store is whole again the next cycle both saves
the state and queues its notification.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from meshwatch.collectors.base import Measurements, SLOPlan, measure_each
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import StoreError
from meshwatch.jobs.tasks import EvaluationJob
from meshwatch.model import SLI, SLO, Counts, RatioSLI, Selector, Window
from meshwatch.settings import WebhookTarget
from meshwatch.store import Store

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SLO_ = SLO(
    service="checkout",
    name="availability",
    objective=99.9,
    window=Window.rolling(timedelta(days=30)),
    sli=RatioSLI(total=Selector("http_requests_total"), bad=Selector("http_errors_total")),
)


class AllFailing:
    """Every request fails: the SLO is breached from the first cycle."""

    def counts(
        self, sli: SLI, windows: Sequence[timedelta], now: datetime
    ) -> dict[timedelta, Counts]:
        return {w: Counts(errors=1000.0, total=1000.0) for w in windows}

    def buckets(self, sli: object, windows: Sequence[timedelta], now: datetime) -> dict:  # type: ignore[type-arg]
        raise AssertionError("no latency SLI here")

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        return measure_each(self, plans, now)  # type: ignore[arg-type]


@pytest.fixture
def store(sqlite_store: Store) -> Store:
    """SQLite only: this is about one transaction, not about the database underneath."""
    return sqlite_store


def test_status_and_notification_commit_together(store: Store) -> None:
    job = EvaluationJob(
        runtime=Runtime(slos=(SLO_,)),
        store=store,
        source=lambda slos, now: AllFailing(),  # type: ignore[arg-type,return-value]
        webhooks=[WebhookTarget(name="ops", url="http://127.0.0.1:9/hook")],
    )
    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE notification_outbox RENAME TO outbox_away"))
    with pytest.raises(StoreError):
        job(NOW)
    assert store.history.latest() == [], "a status was saved without its notification"

    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE outbox_away RENAME TO notification_outbox"))
    job(NOW + timedelta(seconds=30))
    (latest,) = store.history.latest()
    assert latest.state.value == "breached"
    (item,) = store.outbox.due(NOW + timedelta(minutes=1))
    assert item.target == "ops" and item.payload["state"] == "breached"


class GCWatching(AllFailing):
    """Notes whether the cyclic garbage collector ran during the cycle's measurement."""

    def __init__(self) -> None:
        self.collector_enabled: list[bool] = []

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        self.collector_enabled.append(gc.isenabled())
        return super().measure(plans, now)


def test_the_cycle_pauses_the_cyclic_gc_and_restores_it_even_when_the_store_fails(
    store: Store,
) -> None:
    """The cycle's objects are freed by reference counting; the cyclic collector walking the
    quarter of a million samples of a 10,000-SLO cycle over and over took 40 % of it."""
    source = GCWatching()
    job = EvaluationJob(
        runtime=Runtime(slos=(SLO_,)),
        store=store,
        source=lambda slos, now: source,  # type: ignore[arg-type,return-value]
    )
    assert gc.isenabled()
    job(NOW)
    assert source.collector_enabled == [False]
    assert gc.isenabled()

    with store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE status_latest RENAME TO latest_away"))
    with pytest.raises(StoreError):
        job(NOW + timedelta(seconds=30))
    assert source.collector_enabled == [False, False]
    assert gc.isenabled(), "a failed cycle left the garbage collector off"
