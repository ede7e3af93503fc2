"""APScheduler wiring only: which job runs how often. The jobs themselves are in `tasks`.

Interval jobs run in a thread pool (their I/O is blocking: httpx, SQLAlchemy), one instance
at a time (`max_instances=1`), and a late run is coalesced instead of queued. Shutdown waits
for running jobs so an evaluation in flight is stored, not cut in half.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IntervalJob:
    name: str
    run: Callable[[datetime], object]
    every: timedelta
    first_delay: timedelta = timedelta(0)


def build_scheduler(
    jobs: Sequence[IntervalJob], clock: Callable[[], datetime], **options: Any
) -> BackgroundScheduler:
    """A scheduler with `jobs` registered (not started)."""
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
        **options,
    )
    start = clock()
    for job in jobs:
        scheduler.add_job(
            _call_with_now,
            "interval",
            args=(job.run, clock, job.name),
            seconds=job.every.total_seconds(),
            id=job.name,
            name=job.name,
            next_run_time=start + job.first_delay,
            replace_existing=True,
        )
    return scheduler


def _call_with_now(
    run: Callable[[datetime], object], clock: Callable[[], datetime], name: str
) -> None:
    try:
        run(clock())
    except Exception:  # a failing job is logged and runs again next interval
        log.exception("job %s failed", name)


def lifespan_for(
    scheduler: BackgroundScheduler, on_stop: Sequence[Callable[[], None]] = ()
) -> Callable[[Any], Any]:
    """A FastAPI lifespan that starts the scheduler and stops it gracefully.

    `on_stop` runs after the last job has finished (e.g. the final scrape snapshot): inside
    the lifespan, because uvicorn re-raises SIGTERM once the server has shut down, so code
    after `uvicorn.Server.run` never runs on a signal.
    """

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        scheduler.start()
        log.info("scheduler started: %s", ", ".join(j.id for j in scheduler.get_jobs()))
        try:
            yield
        finally:
            scheduler.shutdown(wait=True)
            log.info("scheduler stopped")
            for stop in on_stop:
                try:
                    stop()
                except Exception:  # one failing hook must not skip the others
                    log.exception("shutdown hook failed")

    return lifespan
