"""A real Prometheus for integration tests: config text in, base URL out.

    with running_prometheus(config_text, workdir) as prom:
        prom.query("up")

`prometheus_factory` (session-scoped; register it with `pytest_plugins` or import it into a
conftest) starts as many servers as tests ask for and stops them all when the session ends.
Each server runs in its own process session on a free 127.0.0.1 port with its own tmp storage,
and is stopped by its pid, never by name.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.binaries import require_binary

READY_TIMEOUT_S = 20.0


def free_port() -> int:
    """A port nobody listens on right now (127.0.0.1 only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrometheusError(AssertionError):
    """Prometheus answered with an error (a bad query, a failed start)."""


@dataclass
class Prometheus:
    """One running Prometheus; `base_url` is `http://127.0.0.1:<port>`."""

    base_url: str
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def api(self, path: str, params: dict[str, str] | None = None, method: str = "GET") -> Any:
        """Call `/api/v1/<path>`; return `data` or raise PrometheusError with its message."""
        url = f"{self.base_url}/api/v1/{path}"
        body = urllib.parse.urlencode(params or {}).encode()
        if method == "GET" and params:
            url, body = f"{url}?{body.decode()}", b""
        request = urllib.request.Request(url, data=body or None, method=method)
        if body:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                payload = json.load(response)
        except urllib.error.HTTPError as exc:
            payload = json.load(exc)
        if payload.get("status") != "success":
            raise PrometheusError(f"{payload.get('errorType')}: {payload.get('error')}")
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """POST an instant query; the result vector (or a one-element list for scalars)."""
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", params, method="POST")
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def wait_for(self, expr: str, timeout: float = 30.0, count: int = 1) -> list[dict[str, Any]]:
        """Poll `expr` until it returns at least `count` series; fail after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if len(result) >= count:
                return result
            if time.monotonic() > deadline:
                raise PrometheusError(f"{expr!r} returned {len(result)} series after {timeout} s")
            time.sleep(0.5)

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM by pid, SIGKILL after 10 s; idempotent."""
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def start_prometheus(config_text: str, workdir: Path, *, retention: str = "45d") -> Prometheus:
    """Write `config_text` to `workdir/prometheus.yml`, start Prometheus, wait for /-/ready."""
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(config_text, encoding="utf-8")
    port = free_port()
    log_path = workdir / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--storage.tsdb.retention.time={retention}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-lifecycle",
                "--web.enable-admin-api",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}", process, workdir, log_path)
    _wait_ready(prom)
    return prom


def _wait_ready(prom: Prometheus) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if prom.process.poll() is not None:
            raise PrometheusError(
                f"prometheus exited with {prom.process.returncode}:\n{prom.log()}"
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{prom.base_url}/-/ready", timeout=1) as response,
        ):
            if response.status == 200:
                return
        time.sleep(0.1)
    prom.stop()
    raise PrometheusError(f"prometheus not ready after {READY_TIMEOUT_S} s:\n{prom.log()}")


@contextlib.contextmanager
def running_prometheus(config_text: str, workdir: Path) -> Iterator[Prometheus]:
    prom = start_prometheus(config_text, workdir)
    try:
        yield prom
    finally:
        prom.stop()


@pytest.fixture(scope="session")
def prometheus_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], Prometheus]]:
    """Start a Prometheus per call (`factory(config_text)`); all are stopped at session end."""
    started: list[Prometheus] = []

    def factory(config_text: str) -> Prometheus:
        prom = start_prometheus(config_text, tmp_path_factory.mktemp("prometheus"))
        started.append(prom)
        return prom

    yield factory
    for prom in started:
        prom.stop()
