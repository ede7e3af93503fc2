"""The closed loop with real processes, shared by the end-to-end tests and the benchmark.

Parts: the real Envoy of `tests.support.envoy` (clusters v1/v2 behind the route
`local_route/svc/main`), a traffic generator thread (sequential requests through Envoy's
listener on 127.0.0.1, bounded rate), optionally a real Prometheus scraping Envoy's
`/stats/prometheus` every second with the rules `meshwatch generate rules` writes for the
spec, and `meshwatch serve` as a subprocess (tests.support.serve: own session, free port, stopped by
its pid).
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.alertmanager import AlertmanagerProcess, alertmanager_config
from tests.support.binaries import require_binary
from tests.support.envoy import TARGET, EnvoyHarness
from tests.support.process import wait_for
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.serve import ServeProcess

TOKEN = "closed-loop-token"
ROOT = Path(__file__).resolve().parents[2]


def spec_text(
    *,
    windows: tuple[str, str] = ("10s", "30s"),
    step: int = 40,
    min_healthy_weight: int = 10,
    cooldown: str = "2s",
    recovery_window: str = "5s",
    min_requests: int = 20,
) -> str:
    """One SLO (99.9 % of v1+v2 answers non-5xx) whose policy drives the Envoy route."""
    return f"""\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: shop
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      mesh: {{kind: envoy, clusters: [v1, v2]}}
    remediation:
      actuator: envoy
      target: {TARGET}
      backends:
        - {{name: v1, weight: 50}}
        - {{name: v2, weight: 50}}
      short_windows: [{windows[0]}, {windows[1]}]
      step: {step}
      min_healthy_weight: {min_healthy_weight}
      min_requests: {min_requests}
      cooldown: {cooldown}
      recovery_window: {recovery_window}
      dry_run: false
"""


def write_spec(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "shop.yaml"
    path.write_text(text)
    return path


def generate_rules(spec: Path, out: Path) -> list[Path]:
    """meshwatch's own rules for `spec`, written by the CLI as a user would."""
    subprocess.run(
        [sys.executable, "-m", "meshwatch", "generate", "rules", str(spec), "-o", str(out)],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return sorted(out.glob("*.yaml"))


def start_prometheus(
    workdir: Path, envoy: EnvoyHarness, rule_files: list[Path]
) -> PrometheusProcess:
    """A real Prometheus scraping Envoy's admin `/stats/prometheus` every 1 s."""
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    config = prometheus_config(
        scrape_targets=[envoy.admin_url.removeprefix("http://")],
        rule_files=rule_files,
        job_name="envoy",
        metrics_path="/stats/prometheus",
    )
    return PrometheusProcess(binary, workdir, config=config).start()


def live_weights(envoy: EnvoyHarness) -> dict[str, int]:
    """The weights of the target route as Envoy serves them (`/config_dump`)."""
    with envoy.admin() as admin:
        dump = admin.get("/config_dump", params={"resource": "dynamic_route_configs"}).json()
    config_name, vhost_name, route_name = TARGET.split("/")
    for entry in dump.get("configs", []):
        config = entry["route_config"]
        if config["name"] != config_name:
            continue
        for vhost in config["virtual_hosts"]:
            for route in vhost["routes"] if vhost["name"] == vhost_name else []:
                if route.get("name") == route_name:
                    clusters = route["route"]["weighted_clusters"]["clusters"]
                    return {c["name"]: int(c.get("weight", 0)) for c in clusters}
    raise LookupError(f"{TARGET} not in Envoy's config dump")


@dataclass
class Traffic:
    """Sequential GETs through Envoy in a thread, about `rate` per second at most."""

    port: int
    rate: float = 200.0
    seen: list[tuple[float, str, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Traffic:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        pause = 1.0 / self.rate
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                self.seen.append((started, response.getheader("x-backend", "-"), response.status))
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                self.seen.append((started, "-", 0))
            time.sleep(max(0.0, pause - (time.monotonic() - started)))
        conn.close()

    def errors_between(self, start: float, end: float) -> tuple[int, int]:
        """(5xx or failed requests, all requests) sent in [start, end) (monotonic seconds)."""
        window = [s for t, _, s in list(self.seen) if start <= t < end]
        return sum(1 for s in window if s >= 500 or s == 0), len(window)

    def split(self, start: float, end: float) -> Counter[str]:
        return Counter(b for t, b, _ in list(self.seen) if start <= t < end)


class Serve(ServeProcess):
    """`meshwatch serve` as a subprocess with the Envoy actuator enabled; `start()` returns
    once serve has read the target's weights from Envoy."""

    def __init__(
        self,
        workdir: Path,
        spec: Path,
        envoy: EnvoyHarness,
        prometheus_url: str | None = None,
        *,
        enabled: bool = True,
        evaluate_seconds: float = 1.0,
    ) -> None:
        super().__init__(workdir, token=TOKEN)
        self.spec = spec
        self.envoy = envoy
        self.prometheus_url = prometheus_url
        self.enabled = enabled
        self.evaluate_seconds = evaluate_seconds
        self.config = self.serve_config()

    def serve_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "database_url": f"sqlite:///{self.workdir / 'meshwatch.db'}",
            "api_token": TOKEN,
            "specs": [str(self.spec)],
            "evaluate_interval": self.evaluate_seconds,
            "remediation_enabled": self.enabled,
            "envoy": {"rds_path": str(self.envoy.rds_path), "admin_url": self.envoy.admin_url},
        }
        if self.prometheus_url:
            config["prometheus_url"] = self.prometheus_url
        else:
            config["scrape_targets"] = [
                {"name": "envoy", "url": f"{self.envoy.admin_url}/stats/prometheus"}
            ]
            config["scrape_interval"] = 1
        return config

    def start(self, timeout: float = 30.0) -> Serve:
        super().start(timeout)
        try:
            wait_for(lambda: self.target()["weights"] is not None, timeout, "serve's first read")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"meshwatch serve did not start:\n{self.log(3000)}") from None
        return self

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(), timeout=10.0)

    def target(self) -> dict[str, Any]:
        with self.client() as client:
            (target,) = client.get("/api/v1/targets").raise_for_status().json()
        return dict(target)

    def actions(self) -> list[dict[str, Any]]:
        """The audit log, oldest first."""
        with self.client() as client:
            return list(reversed(client.get("/api/v1/actions").raise_for_status().json()))

    def post(self, path: str, body: Any = None) -> httpx.Response:
        with self.client() as client:
            return client.post(path, json=body)


@contextlib.contextmanager
def running(*parts: Any) -> Iterator[None]:
    """Stop every started part (anything with `stop()`) on exit, last started first."""
    try:
        yield
    finally:
        for part in reversed(parts):
            with contextlib.suppress(Exception):
                part.stop()


def page_alertmanager(workdir: Path, webhook_url: str) -> AlertmanagerProcess:
    """A real Alertmanager (Debian package) whose one receiver is meshwatch's webhook."""
    binary = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    config = alertmanager_config(
        webhook_url,
        token=TOKEN,
        group_by=("alertname", "meshwatch_backend"),
        group_interval="1s",
        repeat_interval="1m",
    )
    return AlertmanagerProcess(binary, workdir, config)
