"""Scheduled reports: APScheduler's SQLAlchemy job store on a real SQLite file, and the claim."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from meshwatch.engine.runtime import Runtime
from meshwatch.jobs.report_schedule import (
    JOBSTORE,
    ScheduledReports,
    add_report_jobs,
    last_fire_time,
)
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.settings import ScheduledReport, Settings, WebhookTarget
from meshwatch.store import ReportRun, ReportStatus, Store, make_engine, upgrade
from tests.support import report_history as h


@pytest.mark.parametrize(
    ("cron", "now", "expected"),
    [
        pytest.param(
            "0 8 * * *",
            datetime(2026, 11, 25, 10, 15, tzinfo=UTC),
            datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
            id="daily-fired-today",
        ),
        pytest.param(
            "0 8 * * *",
            datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 25, 8, 0, tzinfo=UTC),
            id="exactly-at-fire-time",
        ),
        pytest.param("0 8 * * *", datetime(2026, 11, 25, 7, 59, tzinfo=UTC), None, id="not-yet"),
        pytest.param(
            "*/15 * * * *",
            datetime(2026, 11, 25, 10, 44, 59, tzinfo=UTC),
            datetime(2026, 11, 25, 10, 30, tzinfo=UTC),
            id="every-15-minutes",
        ),
    ],
)
def test_last_fire_time(cron: str, now: datetime, expected: datetime | None) -> None:
    assert last_fire_time(cron, now) == expected


def test_bad_cron_is_refused_before_touching_the_job_store(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        add_report_jobs(
            BackgroundScheduler(timezone=UTC),
            ScheduledReports(runner_on(tmp_path / "db.sqlite", tmp_path), [weekly("61 * * * *")]),
            make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"),
            datetime.now(UTC),
        )


def weekly(cron: str = "0 8 * * MON", name: str = "weekly") -> ScheduledReport:
    return ScheduledReport(name=name, cron=cron, period="7d", format="md", webhooks=["ops"])


def runner_on(db: Path, folder: Path, clock: object = None) -> ReportRunner:
    url = f"sqlite:///{db}"
    upgrade(url)
    store = Store(make_engine(url))
    runtime = Runtime(slos=h.SLOS)
    return ReportRunner(
        ReportBuilder(store, lambda: runtime.slos),
        store,
        folder,
        clock or (lambda: datetime.now(UTC)),  # type: ignore[arg-type]
        webhooks=[WebhookTarget(name="ops", url="http://127.0.0.1:9/hook")],
    )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "meshwatch.db"
    upgrade(f"sqlite:///{path}")
    store = Store(make_engine(f"sqlite:///{path}"))
    h.seed(store)
    store.close()
    yield path


def start(
    runner: ReportRunner, reports: list[ScheduledReport], context: str
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    add_report_jobs(
        scheduler, ScheduledReports(runner, reports, context), runner.store.engine, runner.clock()
    )
    scheduler.start()
    return scheduler


def test_jobs_survive_a_restart_and_follow_config_changes(db: Path, tmp_path: Path) -> None:
    first = runner_on(db, tmp_path / "out")
    scheduler = start(first, [weekly(), weekly("0 9 1 * *", "monthly")], "restart-1")
    persisted = {j.id: j.next_run_time for j in scheduler.get_jobs(JOBSTORE)}
    scheduler.shutdown()
    assert set(persisted) == {"report:weekly", "report:monthly"}

    # same config: the stored jobs are kept as they were, next run time included
    second = runner_on(db, tmp_path / "out")
    scheduler = start(second, [weekly(), weekly("0 9 1 * *", "monthly")], "restart-2")
    assert {j.id: j.next_run_time for j in scheduler.get_jobs(JOBSTORE)} == persisted
    scheduler.shutdown()

    # cron changed: replaced; report removed from the config: its job is deleted
    third = runner_on(db, tmp_path / "out")
    scheduler = start(third, [weekly("30 7 * * *")], "restart-3")
    jobs = scheduler.get_jobs(JOBSTORE)
    scheduler.shutdown()
    assert [j.id for j in jobs] == ["report:weekly"]
    assert (jobs[0].next_run_time.hour, jobs[0].next_run_time.minute) == (7, 30)


def wait_for_runs(runner: ReportRunner, count: int, timeout: float = 20.0) -> list[ReportRun]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in runner.store.reports.list_report_runs() if r.finished_at is not None]
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"no {count} finished report runs within {timeout}s")


def test_a_run_missed_while_down_runs_on_restart(db: Path, tmp_path: Path) -> None:
    every_minute = weekly("* * * * *")
    first = runner_on(db, tmp_path / "out")
    start(first, [every_minute], "missed-1").shutdown()
    # while meshwatch is down, the persisted next run time passes
    missed = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    jobstore = SQLAlchemyJobStore(engine=first.store.engine)
    jobstore.start(BackgroundScheduler(timezone=UTC), JOBSTORE)
    job = jobstore.lookup_job("report:weekly")
    assert job is not None
    job._modify(next_run_time=missed)
    jobstore.update_job(job)

    second = runner_on(db, tmp_path / "out")
    scheduler = start(second, [every_minute], "missed-2")
    try:
        [run] = wait_for_runs(second, 1)
    finally:
        scheduler.shutdown()
    assert run.name == "weekly" and run.status is ReportStatus.OK
    assert run.scheduled_at is not None and run.scheduled_at >= missed
    assert Path(run.uri).read_text().startswith("# SLO report 7d")
    # queued for the webhook target through the notification outbox
    due = second.store.outbox.due(datetime.now(UTC) + timedelta(seconds=1))
    assert [item.target for item in due] == ["ops"]
    assert due[0].payload["kind"] == "report" and due[0].payload["name"] == "weekly"


def test_two_replicas_firing_the_same_schedule_run_it_once(db: Path, tmp_path: Path) -> None:
    fired = datetime(2026, 11, 23, 8, 0, 5, tzinfo=UTC)  # 5 s after the Monday 08:00 cron
    replicas = [
        ScheduledReports(runner_on(db, tmp_path / "out", lambda: fired), [weekly()], f"r{i}")
        for i in range(2)
    ]
    barrier = threading.Barrier(2)
    results: list[ReportRun | None] = [None, None]

    def fire(i: int) -> None:
        barrier.wait()
        results[i] = replicas[i].run("weekly", fired)

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ran = [r for r in results if r is not None]
    assert len(ran) == 1
    assert ran[0].scheduled_at == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    runs = replicas[0].runner.store.reports.list_report_runs()
    assert [(r.name, r.status) for r in runs] == [("weekly", ReportStatus.OK)]
    assert len(list((tmp_path / "out").iterdir())) == 1
    # the same cron time again (a late retry): still claimed, not run again
    assert replicas[1].run("weekly", fired + timedelta(minutes=1)) is None
    # the next week's run is a new claim
    assert replicas[1].run("weekly", fired + timedelta(days=7)) is not None


@pytest.mark.parametrize(
    "period", ["1h", "36h", "90d", "calendar-week", "calendar-month", "calendar-quarter"]
)
def test_schedules_take_any_period(period: str) -> None:
    assert ScheduledReport(name="r", cron="0 8 * * MON", period=period).period == period


@pytest.mark.parametrize(
    ("period", "message"),
    [
        pytest.param("1y", "invalid report period '1y'", id="bad"),
        pytest.param("2026-11-01/2026-11-08", "a scheduled report needs a duration", id="range"),
    ],
)
def test_schedules_refuse_bad_periods(period: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ScheduledReport(name="r", cron="0 8 * * MON", period=period)


def test_scheduled_calendar_report_in_its_time_zone(db: Path, tmp_path: Path) -> None:
    fired = datetime(2026, 12, 1, 8, 0, 5, tzinfo=UTC)
    monthly = ScheduledReport(
        name="monthly",
        cron="0 8 1 * *",
        period="calendar-month",
        format="json",
        time_zone="Europe/Berlin",
    )
    reports = ScheduledReports(runner_on(db, tmp_path / "out", lambda: fired), [monthly], "tz")
    run = reports.run("monthly", fired)
    assert run is not None and run.status is ReportStatus.OK, run
    body = json.loads(Path(run.uri).read_text(encoding="utf-8"))
    # November in Berlin: from 00:00 CET on the 1st to 00:00 CET on 1 December
    assert (body["start"], body["end"]) == ("2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z")


def test_schedules_and_settings_refuse_unknown_time_zones() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Europe/Berln'"):
        ScheduledReport(
            name="r", cron="0 8 1 * *", period="calendar-month", time_zone="Europe/Berln"
        )
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        Settings(report_time_zone="Mars/Olympus")
    assert Settings(report_time_zone="America/New_York").report_time_zone == "America/New_York"
