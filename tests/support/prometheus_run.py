"""A real Prometheus for integration tests and benchmarks (127.0.0.1, own session).

    with PrometheusProcess(binary, workdir, config=prometheus_config(...)) as prom:
        prom.query("up")

Stopped by its pid, never by name (tests.support.process). The data directory may be
pre-populated with blocks made by `promtool tsdb create-blocks-from openmetrics` (see
tests/support/backfill.py): Prometheus loads them at start, and the retention must then be
above the history's age, or it deletes them within a minute. `prometheus_factory`
(session-scoped; import it into a test module or conftest) starts as many servers as tests
ask for and stops them all when the session ends.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.binaries import require_binary
from tests.support.process import Daemon, free_port

__all__ = [
    "PrometheusError",
    "PrometheusProcess",
    "free_port",
    "prometheus_config",
    "prometheus_factory",
]


class PrometheusError(AssertionError):
    """Prometheus answered with an error (a bad query, a failed start)."""


def prometheus_config(
    *,
    scrape_targets: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
    job_name: str = "live",
    metrics_path: str | None = None,
) -> str:
    """A prometheus.yml (JSON is valid YAML) scraping `scrape_targets` under `job_name`."""
    job: dict[str, object] = {"job_name": job_name}
    if metrics_path is not None:
        job["metrics_path"] = metrics_path
    job["static_configs"] = [{"targets": list(scrape_targets)}]
    config: dict[str, object] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [job] if scrape_targets else [],
    }
    return json.dumps(config, indent=2)


class PrometheusProcess(Daemon):
    """One Prometheus daemon; use as a context manager or call `start()` / `stop()`."""

    name = "prometheus"

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        config: str | None = None,
        retention: str = "40d",
        extra_args: Sequence[str] = (),
    ) -> None:
        super().__init__(workdir, "prometheus.log")
        self.binary = binary
        self.data_dir = workdir / "data"
        self.config_path = workdir / "prometheus.yml"
        self._config = config if config is not None else prometheus_config()
        self._retention = retention
        self._extra_args = tuple(extra_args)

    def prepare(self) -> None:
        self.data_dir.mkdir(exist_ok=True)
        self.config_path.write_text(self._config)

    def command(self) -> list[str]:
        return [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--storage.tsdb.retention.time={self._retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
            *self._extra_args,
        ]

    def reload(self, config: str | None = None) -> None:
        """Write a new config (if given) and ask Prometheus to reload it and its rule files."""
        if config is not None:
            self._config = config
            self.config_path.write_text(config)
        response = httpx.post(f"{self.url}/-/reload", timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"reload failed: HTTP {response.status_code}")

    def api(self, path: str, params: dict[str, str] | None = None, method: str = "GET") -> Any:
        """Call `/api/v1/<path>`; return `data` or raise PrometheusError with its message."""
        url = f"{self.url}/api/v1/{path}"
        if method == "GET":
            response = httpx.get(url, params=params, timeout=30)
        else:
            response = httpx.request(method, url, data=params, timeout=30)
        payload = response.json()
        if payload.get("status") != "success":
            raise PrometheusError(f"{payload.get('errorType')}: {payload.get('error')}")
        return payload["data"]

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query through plain HTTP (independent of meshwatch): the result vector,
        or a one-element list for scalars and strings."""
        params = {"query": promql}
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


@pytest.fixture(scope="session")
def prometheus_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[[str], PrometheusProcess]]:
    """Start a Prometheus per call (`factory(config_text)`); all are stopped at session end."""
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    started: list[PrometheusProcess] = []

    def factory(config_text: str) -> PrometheusProcess:
        prom = PrometheusProcess(
            binary,
            tmp_path_factory.mktemp("prometheus"),
            config=config_text,
            retention="45d",
            extra_args=("--web.enable-admin-api",),
        )
        started.append(prom.start())
        return prom

    yield factory
    for prom in started:
        prom.stop()
