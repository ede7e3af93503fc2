"""`meshwatch demo`: a local mesh behind a real Envoy, meshwatch watching it, one incident.

Timeline (default): traffic starts; after `incident_at` seconds checkout v2 answers every
request with a 500; meshwatch's scrape collector sees v2 burn its budget while v1 stays
healthy and shifts v2's weight to its floor in Envoy; after `incident_length` seconds v2
is healthy again, and once it has stayed healthy for the policy's recovery window meshwatch
brings its traffic back step by step. The run ends after `duration` seconds (or Ctrl-C)
with a summary and a Markdown report; every process and thread it started is stopped.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from rich.console import Console
from rich.live import Live

from meshwatch.demo import mesh
from meshwatch.demo.envoy import EnvoyProcess, start_envoy
from meshwatch.demo.prometheus import PrometheusProcess, prometheus_binary, start_prometheus
from meshwatch.demo.traffic import Traffic, error_ratio
from meshwatch.demo.upstream import Behaviour, Version
from meshwatch.demo.view import ActionLine, Frame, render
from meshwatch.errors import MeshwatchError
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.service import Service, build_service
from meshwatch.settings import EnvoySettings, ScrapeTarget, Settings
from meshwatch.spec import load_text

OUTAGE = Behaviour(error_ratio=1.0, latency_median_ms=3.0)
HEALTHY = Behaviour()


@dataclass(frozen=True, slots=True)
class DemoOptions:
    duration: float = 200.0
    port: int = 8080
    incident: bool = True
    incident_at: float = 30.0
    incident_length: float = 40.0
    prometheus: bool = False
    workdir: Path | None = None
    spec: mesh.SpecParams | None = None  # None: the demo's defaults for the route target
    evaluate_interval: timedelta = timedelta(seconds=2)
    stop_when_restored: bool = False  # end as soon as the canary has its traffic back


@dataclass
class Mesh:
    """The running local mesh: versions, Envoy and the traffic generator."""

    versions: dict[str, Version]
    envoy: EnvoyProcess
    traffic: Traffic
    routes: EnvoyActuator  # reads the live routes; meshwatch's own actuator writes them

    def set_behaviour(self, service: str, version: str, behaviour: Behaviour) -> None:
        target = self.versions[mesh.cluster(service, version)]
        target.behaviour = behaviour

    def live_weights(self) -> dict[str, dict[str, int]]:
        """The weighted clusters Envoy serves now, per route (its admin config dump)."""
        return {
            route.name: dict(self.routes.current(mesh.route_target(route.name)).weights)
            for route in mesh.routes()
        }


@contextlib.contextmanager
def running_mesh(workdir: Path) -> Iterator[Mesh]:
    versions = {
        mesh.cluster(service, v): Version(service, v)
        for service, split in mesh.SERVICES.items()
        for v in split
    }
    started: list[Version] = []
    envoy: EnvoyProcess | None = None
    traffic: Traffic | None = None
    try:
        for version in versions.values():
            version.start()
            started.append(version)
        envoy = start_envoy(
            workdir / "envoy", {name: v.port for name, v in versions.items()}, mesh.routes()
        )
        traffic = Traffic(envoy.listener_port, dict(mesh.RATES))
        traffic.start()
        with httpx.Client(base_url=envoy.admin_url, timeout=2.0) as admin:
            yield Mesh(versions, envoy, traffic, EnvoyActuator(envoy.rds_path, admin))
    finally:
        if traffic is not None:
            traffic.stop()
        if envoy is not None:
            envoy.stop()
        for version in started:
            version.stop()


@dataclass
class ServerThread:
    """uvicorn in a thread of this process, stopped by flag (no signal handlers)."""

    service: Service
    port: int
    server: uvicorn.Server = field(init=False)
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        config = uvicorn.Config(
            self.service.app, host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="demo-api", daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start on 127.0.0.1:{self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def demo_settings(workdir: Path, running: Mesh, options: DemoOptions) -> Settings:
    """Settings of the meshwatch the demo runs: scrape collector, SQLite, actuator on."""
    spec = workdir / "slos.yaml"
    spec.write_text(mesh.spec_text(spec_params(options)), encoding="utf-8")
    return Settings(
        database_url=f"sqlite:///{workdir / 'meshwatch.db'}",
        api_token=secrets.token_urlsafe(16),
        specs=[spec],
        scrape_targets=[ScrapeTarget(name="envoy", url=running.envoy.stats_url)],
        evaluate_interval=options.evaluate_interval,
        scrape_interval=timedelta(seconds=1),
        remediation_enabled=True,
        envoy=EnvoySettings(rds_path=running.envoy.rds_path, admin_url=running.envoy.admin_url),
        report_directory=workdir / "reports",
    )


def spec_params(options: DemoOptions) -> mesh.SpecParams:
    return options.spec or mesh.SpecParams()


def scenario(options: DemoOptions) -> Callable[[float], str]:
    """The phase at `elapsed` seconds (pure; the run loop applies behaviour changes)."""

    def phase(elapsed: float) -> str:
        if not options.incident or elapsed < options.incident_at:
            return "steady traffic"
        if elapsed < options.incident_at + options.incident_length:
            return "INCIDENT: checkout v2 answers 500"
        return "checkout v2 repaired: waiting for recovery"

    return phase


def default_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="meshwatch-demo-"))


@dataclass
class Summary:
    """What the demo shows at the end (and the demo test checks)."""

    workdir: Path
    seconds: float
    incident_start: float | None = None
    first_shift: float | None = None
    restored: float | None = None
    actions: list[ActionLine] = field(default_factory=list)
    client_error_ratio: float | None = None
    final_weights: dict[str, dict[str, int]] = field(default_factory=dict)
    report: Path | None = None

    @property
    def detection_seconds(self) -> float | None:
        if self.incident_start is None or self.first_shift is None:
            return None
        return self.first_shift - self.incident_start


def _action_lines(service: Service, limit: int = 8) -> list[ActionLine]:
    return [
        ActionLine(
            at=a.created_at.strftime("%H:%M:%S"),
            target=a.plan.target,
            kind=a.plan.kind,
            state=a.state.value,
            weights=" ".join(f"{k}={v}" for k, v in a.plan.weights_after.items()),
            reason=a.plan.reason,
        )
        for a in service.store.actions.list_actions(limit=limit)
    ]


def run_demo(
    options: DemoOptions,
    console: Console,
    *,
    on_frame: Callable[[Frame], None] | None = None,
) -> Summary:
    """Run the whole demo; returns its summary. Ctrl-C ends it early, cleanly."""
    if options.prometheus:
        prometheus_binary()  # before anything starts: a clean error, nothing to stop
    workdir = options.workdir or default_workdir()
    workdir.mkdir(parents=True, exist_ok=True)
    phase_at = scenario(options)
    url = f"http://127.0.0.1:{options.port}/"
    with running_mesh(workdir) as running, _maybe_prometheus(options, workdir, running) as prom:
        settings = demo_settings(workdir, running, options)
        if prom is not None:
            settings = settings.model_copy(update={"prometheus_url": prom.url})
        service = build_service(settings)
        server = ServerThread(service, options.port)
        summary = Summary(workdir=workdir, seconds=0.0)
        started = time.monotonic()
        try:
            server.start()
            with Live(console=console, refresh_per_second=2, transient=False) as live:
                while (elapsed := time.monotonic() - started) < options.duration:
                    frame = _step(options, running, service, summary, phase_at, elapsed, url)
                    live.update(render(frame))
                    if on_frame is not None:
                        on_frame(frame)
                    if options.stop_when_restored and summary.restored is not None:
                        break
                    time.sleep(1.0)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted: stopping the demo[/yellow]")
        finally:
            summary.seconds = time.monotonic() - started
            summary.client_error_ratio = error_ratio(running.traffic.snapshot(), "/checkout")
            with contextlib.suppress(MeshwatchError):
                summary.final_weights = running.live_weights()
            summary.actions = _action_lines(service, limit=50)
            server.stop()
            summary.report = write_report(service, workdir)
            service.close()
    return summary


def _step(
    options: DemoOptions,
    running: Mesh,
    service: Service,
    summary: Summary,
    phase_at: Callable[[float], str],
    elapsed: float,
    url: str,
) -> Frame:
    """One tick: apply the scenario, then gather what the view shows."""
    in_incident = options.incident and (
        options.incident_at <= elapsed < options.incident_at + options.incident_length
    )
    running.set_behaviour(
        mesh.INCIDENT_SERVICE, mesh.INCIDENT_VERSION, OUTAGE if in_incident else HEALTHY
    )
    if in_incident and summary.incident_start is None:
        summary.incident_start = elapsed
    weights: dict[str, dict[str, int]] = {}
    with contextlib.suppress(MeshwatchError):
        weights = running.live_weights()
    canary = weights.get(mesh.INCIDENT_SERVICE, {}).get(
        mesh.cluster(mesh.INCIDENT_SERVICE, mesh.INCIDENT_VERSION)
    )
    initial = mesh.SERVICES[mesh.INCIDENT_SERVICE][mesh.INCIDENT_VERSION]
    if summary.incident_start is not None and canary is not None:
        if summary.first_shift is None and canary < initial:
            summary.first_shift = elapsed
        elif summary.first_shift is not None and summary.restored is None and canary >= initial:
            summary.restored = elapsed
    seen = running.traffic.snapshot()
    return Frame(
        elapsed=elapsed,
        phase=phase_at(elapsed),
        url=url,
        statuses=sorted(service.store.history.latest(), key=lambda s: s.slo_id),
        weights=weights,
        client_errors={path: error_ratio(seen, path) for path in mesh.RATES},
        actions=_action_lines(service),
    )


@contextlib.contextmanager
def _maybe_prometheus(
    options: DemoOptions, workdir: Path, running: Mesh
) -> Iterator[PrometheusProcess | None]:
    if not options.prometheus:
        yield None
        return
    spec = mesh.spec_text(spec_params(options))
    slos = load_text(spec, "demo-slos.yaml").slos
    prom = start_prometheus(workdir / "prometheus", slos, running.envoy.stats_url)
    try:
        yield prom
    finally:
        prom.stop()


def write_report(service: Service, workdir: Path) -> Path | None:
    """The demo's closing SLO report (Markdown, last 7 days = the demo's history)."""
    runner = ReportRunner(
        builder=ReportBuilder(store=service.store, slos=lambda: service.runtime.slos),
        store=service.store,
        directory=workdir / "reports",
        clock=now_utc,
    )
    run = runner.run("7d", "md", name="meshwatch-demo")
    return Path(run.uri) if run.uri else None


def now_utc() -> datetime:
    return datetime.now(UTC)
