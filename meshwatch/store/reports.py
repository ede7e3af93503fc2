"""Report runs: which report was written when, where, and whether it worked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from meshwatch.store.completion import complete_once
from meshwatch.store.engine import writer
from meshwatch.store.errors import store_errors
from meshwatch.store.records import ReportRun, ReportStatus
from meshwatch.store.tables import ReportRunRow


class ReportRuns:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = writer(engine)

    @store_errors
    def record_report_run(
        self,
        *,
        period: str,
        format: str,
        uri: str,
        started: datetime,
        finished: datetime | None,
        status: ReportStatus,
        error: str = "",
    ) -> int:
        """Record one run (usually once it finished); return its id."""
        return self._insert(
            period=period,
            format=format,
            uri=uri,
            started_at=started,
            finished_at=finished,
            status=ReportStatus(status).value,
            error=error,
        )

    def _insert(self, **values: Any) -> int:
        """Insert one run row in its own transaction; its id. IntegrityError passes through."""
        with self._writer.begin() as conn:
            run_id = conn.execute(
                insert(ReportRunRow).values(**values).returning(ReportRunRow.id)
            ).scalar_one()
        return int(run_id)

    @store_errors
    def start_report_run(self, *, period: str, format: str, uri: str, started: datetime) -> int:
        """Record a run as `running` before it writes anything; `finish_report_run` ends it."""
        return self.record_report_run(
            period=period,
            format=format,
            uri=uri,
            started=started,
            finished=None,
            status=ReportStatus.RUNNING,
        )

    @store_errors
    def finish_report_run(
        self,
        run_id: int,
        *,
        status: ReportStatus,
        finished: datetime,
        error: str = "",
        uri: str | None = None,
    ) -> ReportRun:
        """Mark a running run ok/failed (and where it wrote, if `uri` is given);
        StoreError if it is unknown or already finished."""
        status = ReportStatus(status)
        if status is ReportStatus.RUNNING:
            raise ValueError("a report run finishes as ok or failed")
        values = {"status": status.value, "finished_at": finished, "error": error}
        if uri is not None:
            values["uri"] = uri
        with self._writer.begin() as conn:
            row = complete_once(
                conn,
                ReportRunRow,
                run_id,
                ReportRunRow.status,
                ReportStatus.RUNNING.value,
                values,
                "report run",
            )
        return _run(row)

    @store_errors
    def claim_report_run(
        self, *, name: str, scheduled_at: datetime, period: str, format: str, started: datetime
    ) -> int | None:
        """Insert a `running` run for (name, scheduled_at); None when another process has it.

        The unique (name, scheduled_at) constraint makes this the one place where two
        replicas firing the same schedule decide who runs it: the first insert wins.
        """
        try:
            return self._insert(
                period=period,
                format=format,
                uri="",
                started_at=started,
                finished_at=None,
                status=ReportStatus.RUNNING.value,
                error="",
                name=name,
                scheduled_at=scheduled_at,
            )
        except IntegrityError:
            return None

    @store_errors
    def get_report_run(self, run_id: int) -> ReportRun | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ReportRunRow).where(ReportRunRow.id == run_id)).first()
        return None if row is None else _run(row._mapping)

    @store_errors
    def list_report_runs(self, limit: int = 100) -> list[ReportRun]:
        """Newest first (by start time)."""
        query = (
            select(ReportRunRow)
            .order_by(ReportRunRow.started_at.desc(), ReportRunRow.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [_run(row._mapping) for row in conn.execute(query)]


def _run(values: Mapping[Any, Any]) -> ReportRun:
    return ReportRun(
        id=int(values["id"]),
        period=values["period"],
        format=values["format"],
        uri=values["uri"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
        status=ReportStatus(values["status"]),
        error=values["error"],
        name=values["name"],
        scheduled_at=values["scheduled_at"],
    )
