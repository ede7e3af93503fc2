"""Leader election for real: two `meshwatch serve` processes on one PostgreSQL database.

Both serve the API; only the one holding the advisory lock evaluates (and would remediate,
notify and write reports). Killing it with SIGKILL ends its database session, PostgreSQL
frees the lock, and the other process takes over within a few seconds.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text

from meshwatch import conventions as c
from tests.support.backfill import LiveExporter, Traffic
from tests.support.postgres import PostgresUnavailable, fresh_database
from tests.support.serve import ServeProcess

pytestmark = pytest.mark.integration

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


def metric(replica: ServeProcess, name: str) -> float | None:
    """The value of an unlabelled sample on /metrics, None when absent or unreachable."""
    try:
        body = httpx.get(f"{replica.url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    match = re.search(rf"^{re.escape(name)} (\S+)$", body, re.MULTILINE)
    return float(match.group(1)) if match else None


def leader(replica: ServeProcess) -> bool | None:
    value = metric(replica, c.METRIC_LEADER)
    return None if value is None else value == 1.0


def last_evaluation(replica: ServeProcess) -> float | None:
    return metric(replica, c.METRIC_LAST_EVALUATION)


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> float:
    """Seconds until `predicate()` is true; fails with `what` after `timeout`."""
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
def database() -> Iterator[str]:
    try:
        with fresh_database("leader") as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def replicas(
    database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[ServeProcess]]:
    exporter = LiveExporter([Traffic("checkout", rps=100.0, error_ratio=0.01)]).start()
    tmp = tmp_path_factory.mktemp("leader")
    (tmp / "checkout.yaml").write_text(SPEC)
    config = {
        "database_url": database,
        "specs": [str(tmp / "checkout.yaml")],
        "scrape_targets": [{"name": "checkout", "url": f"http://{exporter.target}/metrics"}],
        "evaluate_interval": 1,  # seconds
        "scrape_interval": 1,
        "leader_check_interval": 1,
    }
    started: list[ServeProcess] = []
    try:
        for name in ("a", "b"):  # one after the other: the first runs the migration
            replica = ServeProcess(tmp / name, config=config).start()
            started.append(replica)
            _wait(lambda r=replica: leader(r) is not None, 30, f"replica {name} to elect")
        yield started
    finally:
        for replica in started:
            replica.stop()
            sys.stderr.write(f"--- {replica.workdir.name} ---\n{replica.log(3000)}\n")
        exporter.stop()


def test_one_leader_evaluates_and_a_follower_takes_over_when_it_dies(
    replicas: list[ServeProcess], database: str
) -> None:
    engine = create_engine(database)
    try:
        roles = {r.workdir.name: leader(r) for r in replicas}
        assert sorted(roles.values(), key=str) == [False, True], roles
        (first,) = [r for r in replicas if leader(r)]
        (second,) = [r for r in replicas if r is not first]

        # Both serve the API; both are ready (a follower does not need fresh evaluations).
        for replica in replicas:
            ready = httpx.get(f"{replica.url}/readyz", timeout=2)
            assert ready.json()["leader"] is (replica is first), ready.text
        listed = httpx.get(f"{second.url}/api/v1/slos", timeout=2)
        assert listed.status_code == 200 and listed.json(), listed.text

        # Only the leader evaluates: its evaluation clock moves, the follower has none,
        # and the history grows by about one row per second (two writers would double it).
        _wait(lambda: last_evaluation(first) is not None, 15, "a first evaluation")
        before = last_evaluation(first)
        rows_before, t0 = _history_rows(engine), time.monotonic()
        time.sleep(4)
        rows_after, elapsed = _history_rows(engine), time.monotonic() - t0
        after = last_evaluation(first)
        assert before is not None and after is not None and after > before
        assert last_evaluation(second) is None
        assert leader(second) is False
        assert 1 <= rows_after - rows_before <= elapsed + 2, (rows_before, rows_after, elapsed)

        # Kill the leader: its session ends, the follower takes the lock and evaluates.
        killed_at = time.monotonic()
        first.kill9()
        takeover = _wait(lambda: leader(second) is True, TAKEOVER_LIMIT_S, "a new leader")
        _wait(lambda: last_evaluation(second) is not None, TAKEOVER_LIMIT_S, "evaluations")
        evaluating = time.monotonic() - killed_at
        sys.stderr.write(
            f"takeover after SIGKILL: leader in {takeover:.2f}s, "
            f"first evaluation {evaluating:.2f}s after the kill\n"
        )
        rows_at_takeover = _history_rows(engine)
        _wait(
            lambda: _history_rows(engine) >= rows_at_takeover + 2,
            TAKEOVER_LIMIT_S,
            "history to keep growing after the takeover",
        )
        assert evaluating < TAKEOVER_LIMIT_S
    finally:
        engine.dispose()
