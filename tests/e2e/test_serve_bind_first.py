"""`meshwatch serve` on a port already in use fails before it does anything.

Real processes: a real Envoy (tests.support.envoy) whose route is the target of an SLO's
remediation policy and whose admin `/stats/prometheus` is the embedded scraper's target,
and `meshwatch serve` (subprocess) started on a port a socket of this test listens on. The
process must exit non-zero with a clear message, and before that it must not have touched
anything: no database (SQLite file never created: no migration, no lock, no status, no
prune), no request to Envoy's admin (Envoy's own `http.admin.downstream_rq_total` moves
only by this test's reads) and the RDS file byte for byte as it was.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.closed_loop import spec_text, write_spec
from tests.support.envoy import EnvoyHarness, run_envoy
from tests.support.process import spawn
from tests.support.serve import ServeProcess

pytestmark = pytest.mark.integration

ADMIN_REQUESTS = "http.admin.downstream_rq_total"
EXIT_TIMEOUT = 60.0  # seconds for the interpreter to start, load settings and give up


@pytest.fixture
def envoy(tmp_path: Path) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path / "envoy") as harness:
        yield harness


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_a_taken_port_fails_before_anything_acts(
    tmp_path: Path, envoy: EnvoyHarness, taken_port: int
) -> None:
    spec = write_spec(tmp_path / "slos", spec_text())
    database = tmp_path / "meshwatch.db"
    config = {
        "database_url": f"sqlite:///{database}",
        "specs": [str(spec)],
        "scrape_targets": [{"name": "envoy", "url": f"{envoy.admin_url}/stats/prometheus"}],
        "scrape_interval": 1,
        "evaluate_interval": 1,
        "envoy": {"rds_path": str(envoy.rds_path), "admin_url": envoy.admin_url},
        "remediation_enabled": True,
    }
    rds_before = envoy.rds_path.read_bytes()
    admin_before = envoy.stats(ADMIN_REQUESTS)[ADMIN_REQUESTS]
    serve = ServeProcess(tmp_path / "serve", config=config, port=taken_port)
    serve.workdir.mkdir(parents=True)
    serve.port = taken_port
    serve.prepare()
    proc = spawn(serve.command(), serve.log_path, cwd=serve.cwd(), env=serve.environment())
    try:
        code = proc.wait(EXIT_TIMEOUT)
    except subprocess.TimeoutExpired:
        serve._proc = proc
        serve.stop()
        pytest.fail(f"serve kept running on a taken port: {serve.log()}")
    log = serve.log()
    assert code == 1, log
    assert f"cannot listen on 127.0.0.1:{taken_port}: address already in use" in log, log
    assert not database.exists(), "the store was opened before the bind failed"
    # the one admin request since `admin_before` is this read itself
    assert envoy.stats(ADMIN_REQUESTS)[ADMIN_REQUESTS] == admin_before + 1
    assert envoy.rds_path.read_bytes() == rds_before
