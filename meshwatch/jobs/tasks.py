"""The jobs as plain functions of their dependencies and `now` (the scheduler only calls them).

`evaluate`: measure and evaluate every SLO, store the statuses, remember them for the API,
queue notifications for state changes, and hand the evaluation to the remediation loop.
`deliver`: send due notifications from the outbox. `prune`: downsample old history.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx

from meshwatch.bulk import without_cyclic_gc
from meshwatch.collectors.base import (
    Measurements,
    SLICollector,
    SLOPlan,
    WindowBuckets,
    WindowCounts,
)
from meshwatch.engine.evaluate import Evaluation, evaluate_all
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import CollectorError
from meshwatch.jobs.backend_history import backend_points
from meshwatch.model import SLI, SLO, LatencySLI
from meshwatch.notify.events import Tracked, resume, track
from meshwatch.notify.outbox import outbox_items
from meshwatch.notify.sender import DeliveryReport, Endpoint, deliver_due
from meshwatch.settings import WebhookTarget
from meshwatch.store import Store

log = logging.getLogger(__name__)

CollectorSource = Callable[[Sequence[SLO], datetime], SLICollector]
"""Builds the collector for one cycle (e.g. one batched Prometheus snapshot)."""

EvaluationHook = Callable[[Evaluation, datetime], None]


@dataclass
class EvaluationJob:
    runtime: Runtime
    store: Store
    source: CollectorSource
    webhooks: Sequence[WebhookTarget] = ()
    hooks: list[EvaluationHook] = field(default_factory=list)
    tracked: dict[str, Tracked] = field(default_factory=dict)
    collector_name: str = "collector"
    describe: Callable[[CollectorError], str] = str
    """The short reason of a source failure (see `jobs.source_health`), shown per SLO."""

    def __call__(self, now: datetime) -> Evaluation:
        started = time.perf_counter()
        slos = self.runtime.slos
        problem = None
        try:
            collector = self.source(slos, now)
        except CollectorError as exc:
            problem = self.describe(exc)
            collector = _Failing(CollectorError(problem))
        guarded = _Described(collector, self.describe)
        # a cycle of 10,000 SLOs decodes a quarter of a million samples and builds and stores
        # 10,000 statuses, all freed by reference counting; the cyclic collector walking them
        # again and again took 40 % of the cycle
        with without_cyclic_gc():
            evaluation = evaluate_all(slos, guarded, now)
            problem = problem or guarded.problem
            self.runtime.set_source_problem(self.collector_name, problem)
            tracked, events = dict(self.tracked), []
            for status in evaluation.statuses:
                tracked[status.slo_id], new = track(tracked.get(status.slo_id), status)
                events.extend(new)
            # statuses and their notifications commit together (issue 17 item 12)
            self.store.save_cycle(
                evaluation.statuses,
                outbox_items(self.webhooks, events),
                now,
                backends=backend_points(evaluation.backends, evaluation.at),
            )
        self.tracked = tracked
        self.runtime.record_evaluation(evaluation, time.perf_counter() - started)
        for hook in self.hooks:
            hook(evaluation, now)
        if problem is not None:  # every SLO failed with the source: each one is an error
            log.warning(
                "evaluated %s SLOs in %.3fs (%s errors: %s)",
                len(evaluation.statuses),
                time.perf_counter() - started,
                len(evaluation.statuses),
                problem,
            )
            return evaluation
        log.info(
            "evaluated %s SLOs in %.3fs (%s errors)",
            len(evaluation.statuses),
            time.perf_counter() - started,
            len(evaluation.errors),
        )
        return evaluation


def resume_tracking(store: Store) -> dict[str, Tracked]:
    """Per-SLO tracked state from the last stored statuses, so a restart does not re-notify."""
    return {status.slo_id: resume(status) for status in store.history.latest()}


class _Described:
    """The cycle's collector, with a failure of its one `measure` call (the whole source is
    unreadable) turned into the short reason of `describe`, kept as `problem`."""

    def __init__(self, inner: SLICollector, describe: Callable[[CollectorError], str]) -> None:
        self.inner = inner
        self.describe = describe
        self.problem: str | None = None

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        return self.inner.counts(sli, windows, now)

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        return self.inner.buckets(sli, windows, now)

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        try:
            return self.inner.measure(plans, now)
        except CollectorError as exc:
            if isinstance(self.inner, _Failing):
                raise
            self.problem = self.describe(exc)
            raise CollectorError(self.problem) from exc


class _Failing:
    """The collector of a cycle whose source is down: every window of every SLO is unknown."""

    def __init__(self, error: CollectorError) -> None:
        self.error = error

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        return dict.fromkeys(windows, self.error)

    def buckets(
        self, sli: LatencySLI, windows: Sequence[timedelta], now: datetime
    ) -> WindowBuckets:
        return dict.fromkeys(windows, self.error)

    def measure(self, plans: Sequence[SLOPlan], now: datetime) -> Measurements:
        raise self.error


def endpoints(webhooks: Sequence[WebhookTarget]) -> dict[str, Endpoint]:
    return {
        t.name: Endpoint(
            url=t.url,
            secret=t.secret.get_secret_value().encode() if t.secret is not None else None,
            timeout_seconds=t.timeout_seconds,
        )
        for t in webhooks
    }


def deliver(
    store: Store, webhooks: Sequence[WebhookTarget], client: httpx.Client, now: datetime
) -> DeliveryReport:
    return deliver_due(store.outbox, endpoints(webhooks), client, now)


ALERT_RETENTION = timedelta(days=400)  # as long as the longest history tier
OUTBOX_RETENTION = timedelta(days=7)  # far past the sender's max_age (24 h)


def prune(store: Store, now: datetime) -> None:
    """Downsample status history; drop alerts and outbox items past their retention."""
    result = store.history.prune(now)
    alerts = store.alerts.expire(now - ALERT_RETENTION)
    outbox = store.outbox.expire(now - OUTBOX_RETENTION)
    log.info("pruned history: %s; expired %s alerts, %s outbox items", result, alerts, outbox)
