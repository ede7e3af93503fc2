"""A real `python -m meshwatch serve` for integration tests and benchmarks.

The process runs in its own session, on a free port on 127.0.0.1, with the working directory
and config file of the caller's choosing and an environment stripped of every `MESHWATCH_*`
variable of the parent (so the developer's shell cannot change what a test sees). It is
stopped by its pid: SIGTERM (graceful: uvicorn finishes in-flight requests, the scheduler
waits for running jobs), then SIGKILL after a timeout. `kill9()` is the crash.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.support.process import Daemon

TOKEN = "svctest-token"
WEBHOOK_PATH = "/api/v1/alerts/alertmanager"


class ServeProcess(Daemon):
    """One `meshwatch serve`; use as a context manager or call `start()` / `stop()`."""

    name = "meshwatch serve"
    ready_path = "/healthz"
    stop_timeout = 15.0

    def __init__(
        self,
        workdir: Path,
        *,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        token: str | None = TOKEN,
        log_level: str = "info",
        port: int | None = None,
    ) -> None:
        super().__init__(workdir, "serve.log", port=port)
        self.config = dict(config) if config is not None else None
        self.token = token
        self.log_level = log_level
        self.config_path = workdir / "meshwatch.yaml"
        self._env = dict(env or {})

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MESHWATCH_")}
        if self.token:
            env["MESHWATCH_API_TOKEN"] = self.token
        env.update(self._env)
        return env

    def cwd(self) -> Path:
        return self.workdir

    def prepare(self) -> None:
        if self.config is not None:
            self.config_path.write_text(json.dumps(self.config, indent=2, default=str))

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "meshwatch", "serve", "--port", str(self.port)]
        cmd += ["--log-level", self.log_level]
        if self.config is not None:
            cmd += ["--config", str(self.config_path)]
        return cmd

    def terminate(self) -> None:
        """Send SIGTERM (graceful shutdown) without waiting."""
        if self.running:
            os.kill(self.pid, signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self._proc is not None, "not started"
        return self._proc.wait(timeout)

    def kill9(self) -> None:
        """The crash: SIGKILL, no shutdown code runs."""
        if self.running:
            os.kill(self.pid, signal.SIGKILL)
            assert self._proc is not None
            self._proc.wait(10)


# --- Alertmanager webhook payloads -------------------------------------------------------


def am_alert(
    fingerprint: str | None = None,
    *,
    status: str = "firing",
    labels: Mapping[str, str] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> dict[str, Any]:
    """One alert as Alertmanager 0.25 sends it (zero endsAt while firing)."""
    start = starts_at or datetime.now(UTC)
    return {
        "status": status,
        "labels": {"alertname": "MeshwatchErrorBudgetBurn", **(labels or {})},
        "annotations": {"summary": "burning"},
        "startsAt": start.isoformat().replace("+00:00", "Z"),
        "endsAt": (
            ends_at.isoformat().replace("+00:00", "Z") if ends_at else "0001-01-01T00:00:00Z"
        ),
        "generatorURL": "http://127.0.0.1:9090/graph",
        "fingerprint": fingerprint or uuid.uuid4().hex[:16],
    }


def am_payload(alerts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A version-4 webhook body grouping `alerts` (top-level status as Alertmanager sets it)."""
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="MeshwatchErrorBudgetBurn"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "meshwatch",
        "groupLabels": {"alertname": "MeshwatchErrorBudgetBurn"},
        "commonLabels": {"alertname": "MeshwatchErrorBudgetBurn"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts),
    }


# --- an SLO the embedded scrape collector can measure ------------------------------------


def live_ratio_spec(service: str = "live", objective: float = 99.0, window: str = "7d") -> str:
    """A native spec: availability of `service` from tests.support.backfill.LiveExporter."""
    total = f'istio_requests_total{{destination_service_name="{service}"}}'
    bad = f'istio_requests_total{{destination_service_name="{service}",response_code="503"}}'
    return (
        "apiVersion: meshwatch/v1\n"
        "kind: ServiceLevels\n"
        f"service: {service}\n"
        "slos:\n"
        "  - name: availability\n"
        f"    objective: {objective}\n"
        f"    window: {window}\n"
        "    sli:\n"
        "      ratio:\n"
        f"        total: '{total}'\n"
        f"        bad: '{bad}'\n"
    )
