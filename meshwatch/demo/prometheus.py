"""`meshwatch demo --prometheus`: a Prometheus from PATH scraping the demo's Envoy.

It loads the rules meshwatch generates for the demo's SLOs, scrapes Envoy's
`/stats/prometheus` every second and evaluates every second, on 127.0.0.1 with a free
port and its own storage folder. It runs in its own process session and is stopped by pid.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from meshwatch.demo import daemons
from meshwatch.errors import PrometheusNotFound
from meshwatch.model import SLO
from meshwatch.render.rules import rule_files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config_document(target: str, metrics_path: str, rule_paths: Sequence[Path]) -> str:
    return yaml.safe_dump(
        {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(p) for p in rule_paths],
            "scrape_configs": [
                {
                    "job_name": "envoy",
                    "metrics_path": metrics_path,
                    "static_configs": [{"targets": [target]}],
                }
            ],
        },
        sort_keys=False,
    )


@dataclass
class PrometheusProcess:
    process: subprocess.Popen[bytes]
    url: str

    def stop(self, timeout: float = 10.0) -> None:
        daemons.stop(self.process, timeout)


def prometheus_binary() -> str:
    """The `prometheus` binary on PATH; `PrometheusNotFound` (a MeshwatchError) without one."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusNotFound("--prometheus needs a `prometheus` binary on PATH")
    return binary


def start_prometheus(
    workdir: Path, slos: Sequence[SLO], stats_url: str, *, timeout: float = 30.0
) -> PrometheusProcess:
    """Start Prometheus with meshwatch's rules for `slos`, scraping `stats_url`."""
    binary = prometheus_binary()
    workdir.mkdir(parents=True, exist_ok=True)
    rules = []
    for name, text in sorted(rule_files(slos).items()):
        path = workdir / name
        path.write_text(text, encoding="utf-8")
        rules.append(path)
    target = httpx.URL(stats_url)
    config = workdir / "prometheus.yml"
    config.write_text(
        config_document(f"{target.host}:{target.port}", target.path, rules), encoding="utf-8"
    )
    port = free_port()
    with (workdir / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while True:
            try:
                if client.get(f"{url}/-/ready").status_code == 200:
                    return PrometheusProcess(process, url)
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"prometheus did not start; see {workdir / 'prometheus.log'}")
            time.sleep(0.1)
