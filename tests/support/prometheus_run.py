"""A real Prometheus for the collector tests and the evaluate benchmark (127.0.0.1, own session).

Stopped by its pid, never by name. The data directory may be pre-populated with blocks made by
`promtool tsdb create-blocks-from openmetrics` (see tests/support/backfill.py): Prometheus
loads them at start, and the retention must then be above the history's age, or it deletes
them within a minute.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prometheus_config(
    *,
    scrape_targets: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    scrape_interval: str = "1s",
    evaluation_interval: str = "1s",
) -> str:
    """A prometheus.yml (JSON is valid YAML) scraping `scrape_targets` under job `live`."""
    config: dict[str, object] = {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": evaluation_interval},
        "rule_files": [str(p) for p in rule_files],
        "scrape_configs": [
            {"job_name": "live", "static_configs": [{"targets": list(scrape_targets)}]}
        ]
        if scrape_targets
        else [],
    }
    return json.dumps(config, indent=2)


class PrometheusProcess:
    """One Prometheus daemon; use as a context manager or call `start()` / `stop()`."""

    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        config: str | None = None,
        retention: str = "40d",
        extra_args: Sequence[str] = (),
    ) -> None:
        self.binary = binary
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config_path = workdir / "prometheus.yml"
        self.log_path = workdir / "prometheus.log"
        self._config = config if config is not None else prometheus_config()
        self._retention = retention
        self._extra_args = tuple(extra_args)
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self, timeout: float = 30.0) -> PrometheusProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        self.config_path.write_text(self._config)
        self.port = free_port()
        cmd = [
            self.binary,
            f"--config.file={self.config_path}",
            f"--storage.tsdb.path={self.data_dir}",
            f"--storage.tsdb.retention.time={self._retention}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--web.enable-lifecycle",
            "--log.level=warn",
            *self._extra_args,
        ]
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"prometheus not ready in {timeout}s: {self.log_path.read_text()[-2000:]}"
        )

    def reload(self, config: str | None = None) -> None:
        """Write a new config (if given) and ask Prometheus to reload it and its rule files."""
        if config is not None:
            self._config = config
            self.config_path.write_text(config)
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=30) as resp:
            if resp.status != 200:
                raise RuntimeError(f"reload failed: HTTP {resp.status}")

    def query(self, promql: str, at: float | None = None) -> list[dict[str, object]]:
        """Instant query through plain HTTP (for harness checks, independent of meshwatch)."""
        params = {"query": promql, **({"time": str(at)} if at is not None else {})}
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = json.loads(resp.read())
        result: list[dict[str, object]] = body["data"]["result"]
        return result

    def stop(self, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout)

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
