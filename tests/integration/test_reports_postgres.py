"""Reports and report claims on PostgreSQL (127.0.0.1:5432, trust auth), in a throwaway database.

A database of its own, so that this branch's migrations never touch the shared `test` one.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from meshwatch.engine.runtime import Runtime
from meshwatch.jobs.report_schedule import ScheduledReports
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.render.reports_html import render_report
from meshwatch.settings import ScheduledReport
from meshwatch.store import ReportRun, Store, make_engine, upgrade
from tests.support import report_history as h
from tests.support.golden import GOLDEN

pytestmark = pytest.mark.integration

ADMIN = "host=127.0.0.1 user=postgres dbname=test connect_timeout=3"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    name = f"meshwatch_reports_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = f"postgresql+psycopg://postgres@127.0.0.1/{name}"
    upgrade(url)
    store = Store(make_engine(url))
    h.seed(store)
    store.close()
    yield url
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE {name} WITH (FORCE)")


def test_report_from_postgres_equals_the_golden_report(url: str) -> None:
    store = Store(make_engine(url))
    try:
        report = ReportBuilder(store, lambda: h.SLOS).build("7d", h.END)
    finally:
        store.close()
    assert render_report(report, "md") == (GOLDEN / "reports" / "fixed-7d.md").read_text()


def test_two_replicas_on_postgres_run_a_schedule_once(url: str, tmp_path: Path) -> None:
    fired = datetime(2026, 11, 23, 8, 0, 2, tzinfo=UTC)
    weekly = ScheduledReport(name="weekly-pg", cron="0 8 * * MON", period="7d", format="csv")
    stores = [Store(make_engine(url)) for _ in range(2)]
    replicas = [
        ScheduledReports(
            ReportRunner(
                ReportBuilder(store, lambda: Runtime(slos=h.SLOS).slos),
                store,
                tmp_path,
                lambda: fired,
            ),
            [weekly],
            f"pg{i}",
        )
        for i, store in enumerate(stores)
    ]
    barrier = threading.Barrier(2)
    results: list[ReportRun | None] = [None, None]

    def fire(i: int) -> None:
        barrier.wait()
        results[i] = replicas[i].run("weekly-pg", fired)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sum(r is not None for r in results) == 1
        runs = [r for r in stores[0].reports.list_report_runs() if r.name == "weekly-pg"]
        assert len(runs) == 1 and runs[0].uri.endswith(".csv")
    finally:
        for store in stores:
            store.close()
