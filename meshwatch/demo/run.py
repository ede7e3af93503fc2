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
from datetime import timedelta
from pathlib import Path

import uvicorn

from meshwatch.demo import mesh
from meshwatch.demo.envoy import ROUTE_CONFIG, VIRTUAL_HOST, EnvoyProcess, start_envoy
from meshwatch.demo.traffic import Traffic
from meshwatch.demo.upstream import Behaviour, Version
from meshwatch.service import Service
from meshwatch.settings import ScrapeTarget, Settings

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


@dataclass
class Mesh:
    """The running local mesh: versions, Envoy and the traffic generator."""

    versions: dict[str, Version]
    envoy: EnvoyProcess
    traffic: Traffic

    def set_behaviour(self, service: str, version: str, behaviour: Behaviour) -> None:
        target = self.versions[mesh.cluster(service, version)]
        target.behaviour = behaviour

    def stop(self) -> None:
        self.traffic.stop()
        self.envoy.stop()
        for version in self.versions.values():
            version.stop()


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
        yield Mesh(versions, envoy, traffic)
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
    spec.write_text(
        mesh.spec_text(mesh.SpecParams(route_target=route_target(running))), encoding="utf-8"
    )
    return Settings(
        database_url=f"sqlite:///{workdir / 'meshwatch.db'}",
        api_token=secrets.token_urlsafe(16),
        specs=[spec],
        scrape_targets=[ScrapeTarget(name="envoy", url=running.envoy.stats_url)],
        evaluate_interval=timedelta(seconds=2),
        scrape_interval=timedelta(seconds=1),
        remediation_enabled=True,
        report_directory=workdir / "reports",
    )


def route_target(running: Mesh) -> str:
    """How the Envoy actuator names the checkout route (RDS file, config, host, route)."""
    return f"{ROUTE_CONFIG}/{VIRTUAL_HOST}/checkout"


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
