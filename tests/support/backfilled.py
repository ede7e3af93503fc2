"""One Prometheus holding 30 days of backfilled history, shared by the whole test session.

The blocks are made once per test run, even across pytest-xdist workers: the first worker
to take the lock in the run's shared temporary folder writes them (with the moment the
history ends), the others wait on the lock and reuse them. Each worker then starts its own
Prometheus on a copy of the blocks: a Prometheus owns its data directory (it compacts the
24 h blocks and writes its WAL there), so two servers cannot share one.

The Prometheus also scrapes a live Istio-style exporter every second (`LiveExporter`,
service `live`, 200 req/s, 2 % errors); the backfilled services are those of
`default_history`.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.backfill import History, LiveExporter, Traffic, backfill, default_history
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

LIVE = Traffic("live", rps=200.0, error_ratio=0.02)
RETENTION = "40d"  # above the history's 30 days, or Prometheus deletes the blocks at start


@dataclass(frozen=True)
class Backfilled:
    prometheus: PrometheusProcess
    history: History
    live: LiveExporter

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.history.end_ts, UTC)


def shared_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder every xdist worker of this run sees (the session's own without xdist)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if base.name.startswith("popen-gw") else base


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def shared_blocks(root: Path, promtool: str) -> tuple[Path, History]:
    """The run's backfilled blocks and their history, written by the first caller."""
    folder = root / "backfilled-30d"
    folder.mkdir(exist_ok=True)
    stamp = folder / "now.txt"
    with _locked(folder / ".lock"):
        if not stamp.exists():
            now = datetime.now(UTC)
            backfill(default_history(now), folder / "data", promtool, folder)
            stamp.write_text(now.isoformat())
        now = datetime.fromisoformat(stamp.read_text())
    return folder / "data", default_history(now)


@contextmanager
def backfilled_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    promtool = require_binary("promtool", "/usr/bin/promtool")
    blocks, history = shared_blocks(shared_root(tmp_path_factory), promtool)
    workdir = tmp_path_factory.mktemp("backfilled-prometheus")
    shutil.copytree(blocks, workdir / "data")
    live = LiveExporter([LIVE]).start()
    prom = PrometheusProcess(
        prometheus_bin,
        workdir,
        config=prometheus_config(scrape_targets=[live.target]),
        retention=RETENTION,
    )
    try:
        prom.start()
        yield Backfilled(prom, history, live)
    finally:
        prom.stop()
        live.stop()
