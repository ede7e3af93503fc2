"""The composition root of `meshwatch serve` (and the demo): settings in, a running service out.

Everything is built here, once, from `Settings`: the store (migrated), the SLOs (loaded and
validated), the collector (Prometheus when `prometheus_url` is set, else the embedded
scraper), the runtime, the jobs and the FastAPI app whose lifespan runs the scheduler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI

from meshwatch.api.app import create_app
from meshwatch.api.deps import AlertListener
from meshwatch.api.metrics import LeadershipCollector
from meshwatch.collectors.base import SLICollector
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import windows_for
from meshwatch.engine.runtime import Runtime
from meshwatch.jobs import tasks
from meshwatch.jobs.leader import LeaderGate
from meshwatch.jobs.remediation import RemediationLoop
from meshwatch.jobs.report_schedule import ScheduledReports, add_report_jobs
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.jobs.scheduler import IntervalJob, build_scheduler, lifespan_for
from meshwatch.model import SLO
from meshwatch.remediate.base import Actuator
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.noop import NoopActuator
from meshwatch.remediate.registry import build_registry
from meshwatch.settings import Settings
from meshwatch.spec import LoadOptions, load_paths
from meshwatch.store import Store, make_engine, upgrade
from meshwatch.store.lock import AlwaysLeader, leader_lock

log = logging.getLogger(__name__)

NOTIFY_INTERVAL = timedelta(seconds=5)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Service:
    settings: Settings
    store: Store
    runtime: Runtime
    app: FastAPI
    scheduler: BackgroundScheduler
    evaluation: tasks.EvaluationJob
    remediation: RemediationLoop | None = None
    jobs: list[IntervalJob] = field(default_factory=list)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in reversed(self.closers):
            close()


def load_slos(settings: Settings) -> tuple[SLO, ...]:
    """The SLOs of the configured spec paths (SpecError lists every problem)."""
    if not settings.specs:
        return ()
    return load_paths(settings.specs, LoadOptions(sloth_period=settings.sloth_period)).slos


def all_windows(slo: SLO, now: datetime) -> tuple[timedelta, ...]:
    windows, elapsed = windows_for(slo, now)
    return (*windows, elapsed)


@dataclass
class _Collection:
    source: tasks.CollectorSource
    name: str
    jobs: list[IntervalJob]
    closers: list[Callable[[], None]]


def _prometheus(settings: Settings, url: str) -> _Collection:
    client = connect(url)
    collector = PrometheusCollector(PrometheusQuerier(client))

    def source(slos: Sequence[SLO], now: datetime) -> SLICollector:
        return collector.snapshot(slos, now, windows=lambda slo: all_windows(slo, now))

    return _Collection(source, "prometheus", [], [])


def _scrape(settings: Settings, slos: Sequence[SLO], runtime: Runtime) -> _Collection:
    scrape_store = ScrapeStore()
    for slo in slos:
        scrape_store.track_sli(slo.sli)
        if slo.remediation is not None:
            for backend in slo.remediation.backends:
                scrape_store.track_sli(backend.sli)
    client = httpx.Client()
    scraper = Scraper(
        scrape_store,
        [ScrapeTarget(url=t.url, job=t.name) for t in settings.scrape_targets],
        client,
    )

    def scrape(now: datetime) -> None:
        health = scraper.scrape_once(now)
        runtime.set_scrape_failures({url: float(h.failures_total) for url, h in health.items()})

    def source(slos: Sequence[SLO], now: datetime) -> SLICollector:
        return scrape_store

    job = IntervalJob("scrape", scrape, settings.scrape_interval)
    return _Collection(source, "scrape", [job], [client.close])


def report_runner(
    settings: Settings, store: Store, runtime: Runtime, clock: Callable[[], datetime]
) -> ReportRunner:
    """Reports from Prometheus when it is configured (any past period), else from history."""
    prometheus = (
        PrometheusCollector(PrometheusQuerier(connect(settings.prometheus_url)))
        if settings.prometheus_url
        else None
    )
    builder = ReportBuilder(store, lambda: runtime.slos, prometheus)
    return ReportRunner(
        builder, store, settings.report_directory, clock, webhooks=settings.webhooks
    )


def _actuators(
    settings: Settings, slos: Sequence[SLO]
) -> tuple[dict[str, Actuator], list[Callable[[], None]]]:
    """The data planes the settings configure, plus a noop one for `actuator: noop` policies.

    Only Envoy is driven by `serve` so far; Kubernetes-based actuators (istio, gateway,
    linkerd) need an API client that the settings do not configure yet, and their policies
    stay frozen with "no actuator configured" in the target status.
    """
    closers: list[Callable[[], None]] = []
    envoy = None
    if settings.envoy is not None:
        admin = httpx.Client(base_url=settings.envoy.admin_url, timeout=5.0)
        closers.append(admin.close)
        envoy = EnvoyActuator(
            settings.envoy.rds_path, admin, confirm_timeout=settings.envoy.confirm_timeout_seconds
        )
    noop_routes = {
        slo.remediation.target: _initial_weights(slo)
        for slo in slos
        if slo.remediation is not None and slo.remediation.actuator == "noop"
    }
    noop = NoopActuator(noop_routes) if noop_routes else None
    return build_registry(envoy=envoy, noop=noop), closers


def _initial_weights(slo: SLO) -> dict[str, int]:
    assert slo.remediation is not None
    backends = slo.remediation.backends
    if all(b.initial_weight is not None for b in backends):
        return {b.name: int(b.initial_weight or 0) for b in backends}
    share, extra = divmod(100, len(backends))
    return {b.name: share + (1 if i < extra else 0) for i, b in enumerate(backends)}


def build_service(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    alert_listeners: Sequence[AlertListener] = (),
    extra_hooks: Sequence[tasks.EvaluationHook] = (),
) -> Service:
    """Migrate the store, load the SLOs and wire collectors, jobs and the app (not started)."""
    slos = load_slos(settings)
    upgrade(settings.database_url)
    store = Store(make_engine(settings.database_url))
    runtime = Runtime(slos=slos)
    if settings.prometheus_url:
        collection = _prometheus(settings, settings.prometheus_url)
    else:
        collection = _scrape(settings, slos, runtime)
    listeners = list(alert_listeners)
    remediation = None
    if any(slo.remediation is not None for slo in slos):
        actuators, actuator_closers = _actuators(settings, slos)
        remediation = RemediationLoop(
            slos,
            store=store,
            runtime=runtime,
            actuators=actuators,
            enabled=settings.remediation_enabled,
            webhooks=settings.webhooks,
            max_age=max(settings.evaluate_interval * 3, timedelta(seconds=10)),
            clock=clock,
        )
        listeners.append(remediation.on_alerts)
        collection.closers.extend(actuator_closers)
    evaluation = tasks.EvaluationJob(
        runtime=runtime,
        store=store,
        source=collection.source,
        webhooks=settings.webhooks,
        hooks=list(extra_hooks),
        tracked=tasks.resume_tracking(store),
        collector_name=collection.name,
    )
    if remediation is not None:
        evaluation.hooks.append(remediation)  # after the statuses are stored
    notify_client = httpx.Client()
    # Jobs that act run on the leader only; scraping runs everywhere so a new leader has history.
    gate = LeaderGate(
        leader_lock(settings.database_url, settings.leader_lock_key)
        if settings.leader_election
        else AlwaysLeader(),
        settings.leader_check_interval,
        on_change=runtime.set_leader,
    )
    acting = [
        IntervalJob(
            "evaluate",
            evaluation,
            settings.evaluate_interval,
            first_delay=settings.scrape_interval if collection.jobs else timedelta(0),
        ),
        IntervalJob(
            "notify",
            lambda now: tasks.deliver(store, settings.webhooks, notify_client, now),
            NOTIFY_INTERVAL,
        ),
        IntervalJob("prune", lambda now: tasks.prune(store, now), settings.retention_interval),
    ]
    jobs = [*collection.jobs, gate.job(), *(gate.guard(job) for job in acting)]
    scheduler = build_scheduler(jobs, clock)
    reports = report_runner(settings, store, runtime, clock)
    if settings.reports:
        add_report_jobs(
            scheduler, ScheduledReports(reports, settings.reports), store.engine, clock()
        )
    app = create_app(
        settings,
        store=store,
        runtime=runtime,
        clock=clock,
        lifespan=lifespan_for(scheduler),
        alert_listeners=listeners,
        remediation=remediation,
        report_trigger=lambda period, fmt, at: reports.run(period, fmt, at),
    )
    app.state.registry.register(LeadershipCollector(lambda: runtime.leader))
    log.info("serving %s SLOs with the %s collector", len(slos), collection.name)
    return Service(
        settings=settings,
        store=store,
        runtime=runtime,
        app=app,
        scheduler=scheduler,
        evaluation=evaluation,
        remediation=remediation,
        jobs=jobs,
        closers=[store.close, notify_client.close, gate.release, *collection.closers],
    )
