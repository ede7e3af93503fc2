"""API schemas of report runs: what `/api/v1/reports` answers and what it accepts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meshwatch.api.schemas import Out
from meshwatch.slo.report_periods import check_report_period
from meshwatch.store import ReportRun


class ReportRunOut(Out):
    id: int
    name: str | None = Field(description="Configured report name (scheduled runs only).")
    period: str = Field(examples=["7d", "30d", "calendar-month"])
    format: str = Field(examples=["html", "md", "json", "csv"])
    uri: str = Field(description="Where the report was written.")
    started_at: datetime
    finished_at: datetime | None
    scheduled_at: datetime | None
    status: str = Field(examples=["running", "ok", "failed"])
    error: str

    @classmethod
    def of(cls, run: ReportRun) -> ReportRunOut:
        return cls(
            id=run.id,
            name=run.name,
            period=run.period,
            format=run.format,
            uri=run.uri,
            started_at=run.started_at,
            finished_at=run.finished_at,
            scheduled_at=run.scheduled_at,
            status=run.status.value,
            error=run.error,
        )


class ReportRunDetailOut(ReportRunOut):
    content: str | None = Field(description="The report itself; null while running or failed.")


class ReportRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: str = Field(
        default="7d",
        description="A duration (`1h`, `7d`, `90d`), `calendar-week`, `calendar-month`, "
        "`calendar-quarter`, or an ISO 8601 interval `START/END`.",
        examples=["7d", "calendar-month", "2026-11-01T00:00:00Z/2026-11-08T00:00:00Z"],
    )
    format: Literal["html", "md", "json", "csv"] = "json"
    at: datetime | None = Field(
        default=None, description="End of the period (rolling) or a moment in the month after."
    )

    @field_validator("period")
    @classmethod
    def _valid_period(cls, value: str) -> str:
        return check_report_period(value)
