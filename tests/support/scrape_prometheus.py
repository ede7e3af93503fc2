"""A real Prometheus for the scrape tests (small; the lead may dedupe it with prometheus_proc.py).

Started in its own process session on a free 127.0.0.1 port with tmp storage, stopped by pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.binaries import require_binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrometheusProc:
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def query(self, expr: str, at: float) -> list[dict[str, Any]]:
        """Instant query at `at` (epoch seconds); the result vector."""
        body = urllib.parse.urlencode({"query": expr, "time": f"{at:.3f}"}).encode()
        with urllib.request.urlopen(f"{self.base_url}/api/v1/query", body, timeout=10) as resp:
            payload = json.load(resp)
        assert payload["status"] == "success", payload
        return list(payload["data"]["result"])

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _ready(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/-/ready", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def running_prometheus(config_text: str, workdir: Path) -> Iterator[PrometheusProc]:
    binary = require_binary("prometheus", "/usr/bin/prometheus")
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
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    prom = PrometheusProc(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{log_path.read_text()}")
            if _ready(prom.base_url):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"prometheus not ready:\n{log_path.read_text()}")
            time.sleep(0.1)
        yield prom
    finally:
        prom.stop()
