"""An Alertmanager retry storm against a real `meshwatch serve` (issue 17 item 1).

A real Alertmanager 0.25 holds `GROUPS` alerts, each in its own group (`group_by` a label
unique per alert), with a short group wait and interval, and flushes them all at once to
meshwatch's webhook: thousands of concurrent deliveries, retried by Alertmanager whenever
meshwatch answers 503. On SQLite and on PostgreSQL, with and without a kill -9 (and a
restart on the same port) in the middle, the test shows:

- `/healthz` answers within 1 s of meshwatch's own time every time it is polled while
  meshwatch runs, the restarted process included (the poller starts again when it listens,
  and it starts under the full retry storm), and within the chart's liveness timeout (3 s)
  of wall time: see `HealthPoller` for what "own time" excludes and why;
- every alert is stored exactly once (one row per fingerprint);
- the deliveries meshwatch processed (the `deliveries` counter of the stored rows) stay close
  to the number of groups sent, i.e. work is not done again for clients that have gone;
- the RSS of the server after the storm is back near its baseline.

The timeouts come from Alertmanager's own timings: a failed notification is retried within
the flush (backoff) and again at every `group_interval`, so all groups must be stored within
a bounded number of intervals once meshwatch listens.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from meshwatch.store import make_engine
from meshwatch.store.tables import AlertRow
from tests.support.alertmanager import AlertmanagerProcess, alertmanager_config
from tests.support.binaries import require_binary
from tests.support.postgres import database_url
from tests.support.serve import TOKEN, WEBHOOK_PATH, ServeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GROUPS = 2_000
GROUP_INTERVAL_S = 2.0
HEALTH_GOAL_S = 1.0
IN_FLIGHT_AT_KILL = GROUPS  # at most every group can be in flight
REDONE_STEADY = 0.5
"""Share of groups that may be processed twice without a crash: a delivery already in a
commit when Alertmanager's deadline passes is written, and Alertmanager sends it again.
Measured 1.5-22 % here; the collapse this guards against was 9.3 deliveries per group."""


PROBE_TIMEOUT_S = 3.0
"""The Helm chart's liveness probe `timeoutSeconds`: a slower answer is a failed probe."""


def cpu_wait(pid: int, tid: int) -> float:
    """Seconds thread `tid` of process `pid` has been runnable but waiting for a CPU
    (the run-queue delay of /proc/PID/task/TID/schedstat; 0 once the thread is gone)."""
    try:
        return int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


HEALTH_EVERY_S = 0.1
STORED_WITHIN_S = 40 * GROUP_INTERVAL_S  # the drain, on a loaded 2-core machine
KILL_AFTER_STORED = 300
MAX_IN_FLIGHT = 512  # Settings.webhook_max_concurrent's default
CONNECTION_BYTES = 10 * 1024
DELIVERY_BYTES = 16 * 1024
"""Measured here (diagnostics of a storm: RSS, glibc's mallinfo2, pymalloc's arena stats):
an open connection costs the server about 10 KiB, an admitted delivery waiting for its
commit about 16 KiB more; after the storm Python's allocated blocks are back at their
baseline count (within 1 MB: no leak), what stays is allocator free space (pymalloc pools
in arenas that still hold a live block; glibc pages the idle-time `malloc_trim` cannot
return), never more than the peak's growth."""
RSS_SLACK_BYTES = 2 * (GROUPS * CONNECTION_BYTES + MAX_IN_FLIGHT * DELIVERY_BYTES)
"""What stays after the storm is bounded by the peak's growth, and the peak by one open
connection per group and `MAX_IN_FLIGHT` admitted deliveries (the rest are shed before any
task exists): 27.5 MiB, doubled for the spread between runs. Measured after the storm:
+10 to +16 MiB (the collapse this guards against was +70 MiB to +3.3 GB)."""
SETTLE_S = 12.0
"""Past the app's idle trim (10 s without deliveries, after uvicorn's 5 s keep-alive)."""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


@dataclass
class HealthPoller:
    """Polls /healthz from its own thread; records the slowest answer and any miss.

    This machine is shared: with a load of 10-17 on two cores, a thread that becomes
    runnable waits for a CPU, and the probe's wall time includes those waits on both sides
    (measured: 0.28 s of a 0.43 s answer, 0.86 s of a 0.98 s one). What meshwatch answers
    for is the rest: `own` = wall time minus the run-queue delay that the server's
    event-loop thread (the one that answers `/healthz`) and this poller's thread accrued
    during the poll (Linux schedstat; the larger of the two, as they may overlap). Time
    the loop spends blocked on anything of its own (the GIL held by the writer thread, a
    long batch, synchronous work on the loop) is not run-queue delay and stays in `own`.
    `own` must stay under `HEALTH_GOAL_S` (1 s); the wall time under `PROBE_TIMEOUT_S` (a
    kubelet would count a slower answer as failed).
    """

    url: str
    server_pid: int
    slowest: float = 0.0
    slowest_own: float = 0.0
    slowest_after_restart: float = 0.0
    polls: int = 0
    slow: list[tuple[float, float, float]] = field(default_factory=list)  # (at, wall, own)
    misses: list[str] = field(default_factory=list)
    # After a kill -9 the new process starts under the full retry storm: its misses and
    # answers over budget are listed apart (and held to the same budget).
    after_restart: list[str] = field(default_factory=list)
    restarted: bool = False
    poller_tid: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _paused: threading.Event = field(default_factory=threading.Event)

    def waited(self) -> tuple[float, float]:
        return cpu_wait(self.server_pid, self.server_pid), cpu_wait(os.getpid(), self.poller_tid)

    def run(self) -> None:
        self.poller_tid = threading.get_native_id()
        with httpx.Client(timeout=PROBE_TIMEOUT_S) as client:
            while not self._stop.wait(HEALTH_EVERY_S):
                if self._paused.is_set():
                    continue
                began, waited_before = time.perf_counter(), self.waited()
                try:
                    ok = client.get(f"{self.url}/healthz").status_code == 200
                except httpx.HTTPError as exc:
                    if self._paused.is_set():  # the kill happened during this poll
                        continue
                    ok = False
                    (self.after_restart if self.restarted else self.misses).append(
                        f"{type(exc).__name__} after {time.perf_counter() - began:.2f}s"
                    )
                took = time.perf_counter() - began
                server_after, poller_after = self.waited()
                # The larger of the two waits only: they may overlap, and `own` must not
                # come out shorter than meshwatch's share of the poll.
                own = took - max(server_after - waited_before[0], poller_after - waited_before[1])
                if took > HEALTH_GOAL_S / 4:
                    self.slow.append((round(time.monotonic(), 1), round(took, 2), round(own, 2)))
                self.polls += 1
                self.slowest = max(self.slowest, took)
                self.slowest_own = max(self.slowest_own, own)
                if self.restarted:
                    self.slowest_after_restart = max(self.slowest_after_restart, took)
                if self.restarted and (own >= HEALTH_GOAL_S or not ok):
                    self.after_restart.append(f"status ok={ok} after {took:.2f}s (own {own:.2f}s)")
                elif not ok and not self.misses:
                    self.misses.append(f"status != 200 after {took:.2f}s")

    def pause(self) -> None:
        self._paused.set()

    def resume(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.restarted = True
        self._paused.clear()

    @contextmanager
    def running(self) -> Iterator[HealthPoller]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(10)


def stored(url: str) -> tuple[int, int, int]:
    """(rows, distinct fingerprints, sum of deliveries) of the storm's alerts."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows, distinct, deliveries = conn.execute(
                select(
                    func.count(),
                    func.count(AlertRow.fingerprint.distinct()),
                    func.coalesce(func.sum(AlertRow.deliveries), 0),
                ).where(AlertRow.alertname == "StormAlert")
            ).one()
    finally:
        engine.dispose()
    return int(rows), int(distinct), int(deliveries)


def raise_alerts(alertmanager: AlertmanagerProcess) -> None:
    """GROUPS alerts, one group each, through Alertmanager's API v2 (in a few posts)."""
    alerts = [
        {
            "labels": {
                "alertname": "StormAlert",
                "instance": f"i{n:05d}",
                "meshwatch_service": "checkout",
                "meshwatch_slo": "availability",
                "severity": "ticket",
            },
            "annotations": {"summary": f"storm alert {n}"},
        }
        for n in range(GROUPS)
    ]
    with httpx.Client(timeout=30) as client:
        for start in range(0, GROUPS, 500):
            client.post(
                f"{alertmanager.url}/api/v2/alerts", json=alerts[start : start + 500]
            ).raise_for_status()


def wait_stored(url: str, count: int, timeout: float) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout
    result = stored(url)
    while result[1] < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"only {result[1]} of {count} alerts stored in {timeout:.0f}s")
        time.sleep(0.5)
        result = stored(url)
    return result


def settle_rss(pid: int, seconds: float) -> int:
    """The lowest RSS over `seconds` once the storm is over (allocator returns memory lazily)."""
    lowest = rss_bytes(pid)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.5)
        lowest = min(lowest, rss_bytes(pid))
    return lowest


@pytest.mark.parametrize("kill", [pytest.param(False, id="steady"), pytest.param(True, id="kill9")])
@pytest.mark.parametrize("kind", [pytest.param("sqlite"), pytest.param("postgresql")])
def test_retry_storm(kind: str, kill: bool, tmp_path: Path) -> None:
    binary = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    with database_url(kind, tmp_path, "storm") as url:
        config = {"database_url": url}
        serve = ServeProcess(tmp_path / "serve", config=config, log_level="warning").start()
        try:
            baseline_rss = rss_bytes(serve.pid)
            am_config = alertmanager_config(
                f"{serve.url}{WEBHOOK_PATH}",
                token=TOKEN,
                group_by=("instance",),
                group_wait="1s",
                group_interval=f"{GROUP_INTERVAL_S:g}s",
            )
            poller = HealthPoller(serve.url, serve.pid)
            peak_rss = baseline_rss
            with (
                AlertmanagerProcess(binary, tmp_path / "am", am_config) as alertmanager,
                poller.running(),
            ):
                began = time.monotonic()
                raise_alerts(alertmanager)
                if kill:
                    wait_stored(url, KILL_AFTER_STORED, STORED_WITHIN_S)
                    poller.pause()
                    serve.kill9()
                    time.sleep(GROUP_INTERVAL_S)  # Alertmanager keeps retrying meanwhile
                    serve = ServeProcess(
                        tmp_path / "serve2", config=config, log_level="warning", port=serve.port
                    ).start()
                    poller.resume(serve.pid)
                deadline = time.monotonic() + STORED_WITHIN_S
                while stored(url)[1] < GROUPS and time.monotonic() < deadline:
                    peak_rss = max(peak_rss, rss_bytes(serve.pid))
                    time.sleep(0.5)
                rows, distinct, deliveries = wait_stored(url, GROUPS, 1.0)
                drained = time.monotonic() - began
                time.sleep(2 * GROUP_INTERVAL_S)  # late retries of already stored groups
                rows, distinct, deliveries = stored(url)
                after_rss = settle_rss(serve.pid, SETTLE_S)
                peak_rss = max(peak_rss, after_rss)
            report = (
                f"{kind} kill={kill}: {GROUPS} groups stored in {drained:.1f}s; "
                f"deliveries processed {deliveries} ({deliveries / GROUPS:.3f} per group); "
                f"/healthz slowest {poller.slowest * 1000:.0f} ms over {poller.polls} polls "
                f"(after the restart: slowest {poller.slowest_after_restart * 1000:.0f} ms, "
                f"over budget {poller.after_restart[:5]}) "
                f"(slowest own time {poller.slowest_own * 1000:.0f} ms, at load "
                f"{os.getloadavg()[0]:.1f}); "
                f"RSS {baseline_rss >> 20} -> peak {peak_rss >> 20} -> {after_rss >> 20} MiB"
            )
            print(report, f"began {began:.1f} slow polls (at, wall, own) {poller.slow}")
            assert not poller.misses, f"{poller.misses[:5]}; {report}"
            assert poller.slowest_own < HEALTH_GOAL_S, report
            assert poller.polls > 10, report
            assert not poller.after_restart, report
            assert rows == distinct == GROUPS, report
            # A kill -9 loses the answers of what was in flight (committed or not): Alertmanager
            # sends those again, at most one per group (all could have been in flight).
            redone = REDONE_STEADY * GROUPS + (IN_FLIGHT_AT_KILL if kill else 0)
            assert deliveries <= GROUPS + redone, report
            assert after_rss <= baseline_rss + RSS_SLACK_BYTES, report
        finally:
            serve.stop()
