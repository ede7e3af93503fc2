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
from meshwatch.collectors.prometheus_http import PrometheusQuerier, open_querier
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import CollectorError, SpecError, StoreError
from meshwatch.jobs import tasks
from meshwatch.jobs.leader import LeaderGate
from meshwatch.jobs.report_schedule import ScheduledReports, add_report_jobs
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.jobs.scheduler import IntervalJob, build_scheduler, lifespan_for
from meshwatch.jobs.snapshots import ScrapeSnapshots
from meshwatch.jobs.source_health import describe_failure, describe_scrape_failures
from meshwatch.loop.remediation import RemediationLoop
from meshwatch.model import SLO
from meshwatch.remediate.base import Actuator
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.remediate.kube_client import KubeClient, kube_config
from meshwatch.remediate.kubernetes import KubeRouteActuator
from meshwatch.remediate.noop import NoopActuator
from meshwatch.remediate.registry import (
    KUBE_ACTUATORS,
    build_registry,
    kube_actuators,
    named_actuators,
    unconfigured,
)
from meshwatch.remediate.weights import starting_weights
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


@dataclass
class _Collection:
    source: tasks.CollectorSource
    name: str
    jobs: list[IntervalJob]
    closers: list[Callable[[], None]]
    describe: Callable[[CollectorError], str] = str
    snapshots: ScrapeSnapshots | None = None


def _prometheus(settings: Settings, url: str) -> _Collection:
    collector = PrometheusCollector(prometheus_querier(settings, url))

    def source(slos: Sequence[SLO], now: datetime) -> SLICollector:
        return collector  # the engine hands it the cycle's whole plan in one `measure` call

    return _Collection(
        source, "prometheus", [], [], lambda exc: describe_failure("prometheus", url, exc)
    )


def prometheus_querier(settings: Settings, url: str) -> PrometheusQuerier:
    """The querier of `url` with the settings' credentials and `prometheus_timeout`."""
    return open_querier(
        url,
        timeout=settings.prometheus_timeout.total_seconds(),
        http_config=settings.prometheus_http_config,
    )


def _scrape(settings: Settings, slos: Sequence[SLO], runtime: Runtime, store: Store) -> _Collection:
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
        health = scraper.health()
        failing = [
            (h.job, h.url, h.last_error) for h in health.values() if h.scrapes_total and not h.up
        ]
        if health and len(failing) == len(health):  # blind: every target fails
            raise CollectorError(describe_scrape_failures(failing))
        return scrape_store

    job = IntervalJob("scrape", scrape, settings.scrape_interval)
    snapshots = ScrapeSnapshots(scrape_store, store)
    snapshots.resume()  # before the first scrape: windows continue where they were saved
    return _Collection(source, "scrape", [job], [client.close], snapshots=snapshots)


def report_runner(
    settings: Settings, store: Store, runtime: Runtime, clock: Callable[[], datetime]
) -> ReportRunner:
    """Reports from Prometheus when it is configured (any past period), else from history."""
    prometheus = (
        PrometheusCollector(prometheus_querier(settings, settings.prometheus_url))
        if settings.prometheus_url
        else None
    )
    builder = ReportBuilder(
        store, lambda: runtime.slos, prometheus, settings.min_coverage, settings.report_time_zone
    )
    return ReportRunner(
        builder, store, settings.report_directory, clock, webhooks=settings.webhooks
    )


def _actuators(
    settings: Settings, slos: Sequence[SLO]
) -> tuple[dict[str, Actuator], list[Callable[[], None]]]:
    """The data planes the settings configure, plus a noop one for `actuator: noop` policies.

    Policies whose actuator is not configured were refused before (`_refuse_unconfigured`).
    """
    closers: list[Callable[[], None]] = []
    envoy = None
    if settings.envoy is not None:
        admin = httpx.Client(base_url=settings.envoy.admin_url, timeout=5.0)
        closers.append(admin.close)
        envoy = EnvoyActuator(
            settings.envoy.rds_path, admin, confirm_timeout=settings.envoy.confirm_timeout_seconds
        )
    kube: dict[str, KubeRouteActuator] = {}
    if settings.kubernetes is not None and named_actuators(slos) & set(KUBE_ACTUATORS):
        config = kube_config(settings.kubernetes.kubeconfig, settings.kubernetes.context)
        client = KubeClient.connect(config)
        closers.append(client.close)
        kube = kube_actuators(client, named_actuators(slos))
        log.info("actuators %s through the API server %s", sorted(kube), config.cluster.server)
    noop_routes = {
        slo.remediation.target: starting_weights(slo.remediation)
        for slo in slos
        if slo.remediation is not None and slo.remediation.actuator == "noop"
    }
    noop = NoopActuator(noop_routes) if noop_routes else None
    return build_registry(envoy=envoy, kube=kube, noop=noop), closers


def _refuse_unconfigured(settings: Settings, slos: Sequence[SLO]) -> None:
    """A policy whose actuator the settings do not configure (no `envoy:` for envoy, no
    `kubernetes:` for istio, gateway and linkerd) is refused: SpecError at its spec line.

    With the master switch off (`remediation_enabled: false`) nothing can act anyway, so the
    same specs can be shipped to every environment: each such policy is logged as a warning
    at start and its route stays frozen ("no actuator configured") instead.
    """
    problems = unconfigured(
        slos, envoy=settings.envoy is not None, kubernetes=settings.kubernetes is not None
    )
    if problems and settings.remediation_enabled:
        raise SpecError(problems)
    for problem in problems:
        log.warning("remediation is off; %s", problem)


def _save_on_stop(
    snapshots: ScrapeSnapshots, gate: LeaderGate, clock: Callable[[], datetime]
) -> None:
    """The last snapshot of a graceful stop (after the scheduler has stopped scraping)."""
    if not gate.is_leader:
        return
    try:
        size = snapshots.save(clock())
    except StoreError as exc:
        log.error("cannot save the scrape snapshot on stop: %s", exc)
        return
    log.info("saved the scrape snapshot on stop (%s bytes)", size)


def build_service(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    alert_listeners: Sequence[AlertListener] = (),
    extra_hooks: Sequence[tasks.EvaluationHook] = (),
) -> Service:
    """Migrate the store, load the SLOs and wire collectors, jobs and the app (not started)."""
    slos = load_slos(settings)
    _refuse_unconfigured(settings, slos)
    upgrade(settings.database_url)
    store = Store(make_engine(settings.database_url))
    runtime = Runtime(slos=slos)
    if settings.prometheus_url:
        collection = _prometheus(settings, settings.prometheus_url)
    else:
        collection = _scrape(settings, slos, runtime, store)
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
        remediation.on_alerts(store.alerts.firing())  # what fired before a restart still fires
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
        describe=collection.describe,
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
    final: list[Callable[[], None]] = []
    if collection.snapshots is not None:
        snapshots = collection.snapshots
        every = settings.snapshot_interval
        acting.append(IntervalJob("snapshot", snapshots.save, every, first_delay=every))
        final.append(lambda: _save_on_stop(snapshots, gate, clock))
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
        lifespan=lifespan_for(scheduler, on_stop=final),
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
