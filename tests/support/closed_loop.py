"""The closed loop with real processes, shared by the end-to-end tests and the benchmark.

Parts: the real Envoy of `tests.support.envoy` (clusters v1/v2 behind the route
`local_route/svc/main`), a traffic generator thread (sequential requests through Envoy's
listener on 127.0.0.1, bounded rate), optionally a real Prometheus scraping Envoy's
`/stats/prometheus` every second with the rules `meshwatch generate rules` writes for the
spec, and `meshwatch serve` as a subprocess (own session, free port, stopped by its pid).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.binaries import require_binary
from tests.support.envoy import TARGET, EnvoyHarness
from tests.support.prometheus_run import PrometheusProcess, free_port

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
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {
                "job_name": "envoy",
                "metrics_path": "/stats/prometheus",
                "static_configs": [{"targets": [envoy.admin_url.removeprefix("http://")]}],
            }
        ],
    }
    return PrometheusProcess(binary, workdir, config=json.dumps(config, indent=2)).start()


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


@dataclass
class Serve:
    """`meshwatch serve` as a subprocess with the Envoy actuator enabled."""

    workdir: Path
    spec: Path
    envoy: EnvoyHarness
    prometheus_url: str | None = None
    enabled: bool = True
    evaluate_seconds: float = 1.0
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
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
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "meshwatch.yaml"
        config_path.write_text(json.dumps(self.config(), indent=2))
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESHWATCH_")}
        with (self.workdir / "serve.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "meshwatch",
                    "serve",
                    "--config",
                    str(config_path),
                    "--port",
                    str(self.port),
                ],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for(lambda: self.target()["weights"] is not None, timeout, "serve's first read")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"meshwatch serve did not start:\n{self.log()[-3000:]}") from None
        return self

    def log(self) -> str:
        return (self.workdir / "serve.log").read_text(errors="replace")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {TOKEN}"}, timeout=10.0
        )

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


def wait_for(check: Callable[[], object], timeout: float, what: str, every: float = 0.05) -> float:
    """Poll `check` until truthy; the seconds it took. Exceptions count as not yet."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(Exception):
            if check():
                return time.monotonic() - start
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


@contextlib.contextmanager
def running(*parts: Any) -> Iterator[None]:
    """Stop every started part (anything with `stop()`) on exit, last started first."""
    try:
        yield
    finally:
        for part in reversed(parts):
            with contextlib.suppress(Exception):
                part.stop()


@dataclass
class Alertmanager:
    """A real Alertmanager (Debian package) whose one receiver is meshwatch's webhook."""

    workdir: Path
    webhook_url: str
    token: str = TOKEN
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Alertmanager:
        binary = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
        (self.workdir / "data").mkdir(parents=True, exist_ok=True)
        config = {
            "route": {
                "receiver": "meshwatch",
                "group_by": ["alertname", "meshwatch_backend"],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1m",
            },
            "receivers": [
                {
                    "name": "meshwatch",
                    "webhook_configs": [
                        {
                            "url": self.webhook_url,
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {"type": "Bearer", "credentials": self.token}
                            },
                        }
                    ],
                }
            ],
        }
        config_path = self.workdir / "alertmanager.yml"
        config_path.write_text(json.dumps(config, indent=2))
        self.port = free_port()
        with (self.workdir / "alertmanager.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config_path}",
                    f"--storage.path={self.workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_for(lambda: httpx.get(f"{self.url}/-/ready").is_success, timeout, "alertmanager")
        except TimeoutError:
            self.stop()
            raise
        return self

    def post_alert(self, labels: dict[str, str], ends_at: str | None = None) -> None:
        """Raise (or, with `ends_at` in the past, resolve) an alert through AM's API v2."""
        alert: dict[str, Any] = {"labels": labels, "annotations": {"summary": "test"}}
        if ends_at is not None:
            alert["endsAt"] = ends_at
        httpx.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=10).raise_for_status()

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)
