"""Leader election for real: two `meshwatch serve` processes on one PostgreSQL database.

Both serve the API; only the one holding the advisory lock evaluates (and would remediate,
notify and write reports). Killing it with SIGKILL ends its database session, PostgreSQL
frees the lock, and the other process takes over within a few seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from meshwatch import conventions as c
from tests.support.backfill import LiveExporter, Traffic
from tests.support.prometheus_proc import free_port

pytestmark = pytest.mark.integration

SERVER_URL = os.environ.get(
    "MESHWATCH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TAKEOVER_LIMIT_S = 10.0

SPEC = """\
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      mesh: {kind: istio, service: checkout}
"""


@dataclass
class Replica:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def metric(self, name: str) -> float | None:
        """The value of an unlabelled sample on /metrics, None when absent or unreachable."""
        try:
            body = httpx.get(f"{self.url}/metrics", timeout=2).text
        except httpx.HTTPError:
            return None
        match = re.search(rf"^{re.escape(name)} (\S+)$", body, re.MULTILINE)
        return float(match.group(1)) if match else None

    def up(self) -> bool:
        assert self.process.poll() is None, f"{self.name} exited: {self.log.read_text()[-2000:]}"
        return self.leader() is not None

    def leader(self) -> bool | None:
        value = self.metric(c.METRIC_LEADER)
        return None if value is None else value == 1.0

    def last_evaluation(self) -> float | None:
        return self.metric(c.METRIC_LAST_EVALUATION)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        message = f"PostgreSQL at {SERVER_URL} is unreachable: {exc.orig}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    name = f"meshwatch_leader_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def exporter() -> Iterator[LiveExporter]:
    live = LiveExporter([Traffic("checkout", rps=100.0, error_ratio=0.01)]).start()
    yield live
    live.stop()


def _config(tmp: Path, database: str, target: str) -> Path:
    (tmp / "slos").mkdir()
    (tmp / "slos" / "checkout.yaml").write_text(SPEC)
    config = tmp / "config.yaml"
    config.write_text(
        f"database_url: {database}\n"
        "specs: [slos]\n"
        f"scrape_targets: [{{name: checkout, url: 'http://{target}/metrics'}}]\n"
        "evaluate_interval: 1\n"  # seconds
        "scrape_interval: 1\n"
        "leader_check_interval: 1\n"
    )
    return config


def _start(name: str, config: Path, tmp: Path) -> Replica:
    port = free_port()
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "meshwatch",
                "serve",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp,
            start_new_session=True,
        )
    return Replica(name, port, process, log)


def _wait(predicate: object, timeout: float, what: str) -> float:
    """Seconds until `predicate()` is true; fails with `what` after `timeout`."""
    assert callable(predicate)
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def _history_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM status_history")).scalar_one())


@pytest.fixture(scope="module")
def replicas(
    database: str, exporter: LiveExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Replica]]:
    tmp = tmp_path_factory.mktemp("leader")
    config = _config(tmp, database, exporter.target)
    started: list[Replica] = []
    try:
        # Start one first so the migration has run before the second starts.
        started.append(_start("a", config, tmp))
        _wait(started[0].up, 30, "replica a to answer /metrics")
        started.append(_start("b", config, tmp))
        _wait(started[1].up, 30, "replica b to answer /metrics")
        yield started
    finally:
        for replica in started:
            replica.kill()
        for replica in started:
            sys.stderr.write(f"--- {replica.name} ---\n{replica.log.read_text()[-3000:]}\n")


def test_one_leader_evaluates_and_a_follower_takes_over_when_it_dies(
    replicas: list[Replica], database: str
) -> None:
    engine = create_engine(database)
    try:
        leaders = [r for r in replicas if r.leader()]
        followers = [r for r in replicas if r.leader() is False]
        assert len(leaders) == 1 and len(followers) == 1, [(r.name, r.leader()) for r in replicas]
        leader, follower = leaders[0], followers[0]

        # Both serve the API; both are ready (a follower does not need fresh evaluations).
        for replica in replicas:
            ready = httpx.get(f"{replica.url}/readyz", timeout=2)
            assert ready.json()["leader"] is (replica is leader), ready.text
        status = httpx.get(f"{follower.url}/api/v1/slos", timeout=2)
        assert status.status_code == 200 and status.json(), status.text

        # Only the leader evaluates: its evaluation clock moves, the follower has none,
        # and the history grows by about one row per second (two writers would double it).
        first = _wait_value(leader.last_evaluation, 15, "a first evaluation on the leader")
        rows_before, t0 = _history_rows(engine), time.monotonic()
        time.sleep(4)
        rows_after, elapsed = _history_rows(engine), time.monotonic() - t0
        later = leader.last_evaluation()
        assert later is not None and later > first
        assert follower.last_evaluation() is None
        assert follower.leader() is False
        assert 1 <= rows_after - rows_before <= elapsed + 2, (rows_before, rows_after, elapsed)

        # Kill the leader: the follower takes the lock and starts evaluating.
        killed_at = time.monotonic()
        leader.kill()
        takeover = _wait(lambda: follower.leader() is True, TAKEOVER_LIMIT_S, "a new leader")
        evaluating = _wait(
            lambda: follower.last_evaluation() is not None, TAKEOVER_LIMIT_S, "evaluations"
        )
        sys.stderr.write(
            f"takeover after SIGKILL: leader in {takeover:.2f}s, "
            f"first evaluation {time.monotonic() - killed_at:.2f}s after the kill\n"
        )
        rows_at_takeover = _history_rows(engine)
        _wait(
            lambda: _history_rows(engine) >= rows_at_takeover + 2,
            TAKEOVER_LIMIT_S,
            "history to keep growing after the takeover",
        )
        assert takeover + evaluating < TAKEOVER_LIMIT_S
    finally:
        engine.dispose()


def _wait_value(read: object, timeout: float, what: str) -> float:
    assert callable(read)
    values: list[float] = []

    def present() -> bool:
        value = read()
        if value is not None:
            values.append(value)
        return value is not None

    _wait(present, timeout, what)
    return values[-1]
