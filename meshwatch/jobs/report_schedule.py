"""Scheduled reports: cron jobs in APScheduler's SQLAlchemy job store, claimed in the store.

Each configured report is one job with a stable id (`report:<name>`) in a job store on
meshwatch's own database, so a restart finds it with its persisted next run time: a run
missed while meshwatch was down fires on start (within `CATCH_UP`, coalesced to one). A
job whose cron, period or format changed is replaced; jobs of reports no longer configured
are removed.

A persistent job must name its function by import path and carry picklable arguments, so the
job calls `run_scheduled(context, name)`, which finds the live `ScheduledReports` in a
process-local registry. Two replicas on one database both fire every job; each first claims
(report name, cron time) in the store and only the first claim runs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from meshwatch.jobs.reports import ReportRunner
from meshwatch.settings import ScheduledReport
from meshwatch.slo.periods import utc
from meshwatch.store import ReportRun

log = logging.getLogger(__name__)

JOBSTORE = "reports"
JOB_PREFIX = "report:"
CATCH_UP = timedelta(hours=6)  # a run missed by up to this much still runs (misfire grace)
_REGISTRY: dict[str, ScheduledReports] = {}


def trigger(cron: str) -> CronTrigger:
    """A UTC trigger for a five-field cron expression; ValueError names what is wrong."""
    return CronTrigger.from_crontab(cron, timezone="UTC")


def last_fire_time(cron: str, now: datetime, within: timedelta = CATCH_UP) -> datetime | None:
    """The latest time `cron` fired at or before `now` (looking back `within`), else None."""
    cron_trigger = trigger(cron)
    now = utc(now)
    moment: datetime | None = cron_trigger.get_next_fire_time(None, now - within)
    last = None
    while moment is not None and moment <= now:
        last = moment
        moment = cron_trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return None if last is None else utc(last)


@dataclass
class ScheduledReports:
    """The configured reports of one process and the runner that writes them."""

    runner: ReportRunner
    reports: Sequence[ScheduledReport]
    context: str = "default"

    def by_name(self, name: str) -> ScheduledReport | None:
        return next((r for r in self.reports if r.name == name), None)

    def run(self, name: str, now: datetime) -> ReportRun | None:
        """Claim the cron time `name` last fired at and write it; None when not ours to run."""
        report = self.by_name(name)
        if report is None:
            log.warning("scheduled report %s is no longer configured", name)
            return None
        scheduled = last_fire_time(report.cron, now)
        if scheduled is None:
            log.warning("scheduled report %s fired outside its schedule at %s", name, now)
            return None
        store = self.runner.store
        run_id = store.reports.claim_report_run(
            name=name,
            scheduled_at=scheduled,
            period=report.period,
            format=report.format,
            started=now,
        )
        if run_id is None:
            log.info("report %s for %s already claimed by another replica", name, scheduled)
            return None
        return self.runner.run(
            report.period,
            report.format,
            scheduled,
            directory=report.directory,
            webhooks=report.webhooks,
            name=name,
            run_id=run_id,
            time_zone=report.time_zone,
        )


def run_scheduled(context: str, name: str) -> None:
    """The job function stored in the job store (referenced by import path)."""
    reports = _REGISTRY.get(context)
    if reports is None:
        log.error("report job %s fired but no reports are registered for %s", name, context)
        return
    try:
        reports.run(name, reports.runner.clock())
    except Exception:  # a failing report is recorded and retried next time, never crashes
        log.exception("scheduled report %s failed", name)


def _signature(report: ScheduledReport) -> str:
    zone = f"|{report.time_zone}" if report.time_zone else ""
    return f"{report.cron}|{report.period}|{report.format}{zone}"


def add_report_jobs(
    scheduler: BaseScheduler,
    reports: ScheduledReports,
    engine: Engine,
    now: datetime,
    *,
    tablename: str = "apscheduler_jobs",
) -> SQLAlchemyJobStore:
    """Register `reports` and their cron jobs in a persistent job store on `engine`."""
    for report in reports.reports:
        trigger(report.cron)  # fail fast on a bad expression, before touching the job store
    _REGISTRY[reports.context] = reports
    jobstore = SQLAlchemyJobStore(engine=engine, tablename=tablename)
    jobstore.start(scheduler, JOBSTORE)  # creates its table; lets us read persisted jobs
    wanted = {JOB_PREFIX + r.name: r for r in reports.reports}
    for job in jobstore.get_all_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            log.info("removing scheduled report job %s (no longer configured)", job.id)
            jobstore.remove_job(job.id)
    kept = {
        job.id
        for job in jobstore.get_all_jobs()
        if job.id in wanted and job.name == _signature(wanted[job.id])
    }
    scheduler.add_jobstore(jobstore, JOBSTORE)
    for job_id, report in sorted(wanted.items()):
        if job_id in kept:
            log.info("scheduled report %s kept from the job store", report.name)
            continue
        scheduler.add_job(
            "meshwatch.jobs.report_schedule:run_scheduled",
            trigger(report.cron),
            args=(reports.context, report.name),
            id=job_id,
            name=_signature(report),
            jobstore=JOBSTORE,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(CATCH_UP.total_seconds()),
        )
        log.info("scheduled report %s: %s", report.name, report.cron)
    return jobstore
