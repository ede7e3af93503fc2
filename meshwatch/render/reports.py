"""The SLO report as data: the documented JSON schema of `meshwatch report --format json`.

These pydantic models are the report's public shape; `docs/report.schema.json` is generated
from `Report` (a test fails when the two drift). HTML, Markdown and CSV are renderings of the
same object. Ratios are fractions (0.999), objectives are percentages (99.9), durations are
minutes, requests are event counts (floats: they come from counter increases), times are UTC.
A value is null when it cannot be known (no traffic in the period is unknown, never 100 %).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Final = "meshwatch.report/v1"
ReportPeriod = str
"""A duration (`1h`, `7d`, `90d`), `calendar-week|month|quarter` or `START/END`; see
`meshwatch.slo.report_periods`."""
ReportFormat = Literal["html", "md", "json", "csv"]
FORMATS: tuple[ReportFormat, ...] = ("html", "md", "json", "csv")
StateName = Literal["ok", "warning", "breached", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Budget(_Model):
    """The error budget of the report period, from its request-weighted counts."""

    consumed_ratio: float = Field(description="Share of the budget spent; > 1 when overspent.")
    remaining_ratio: float = Field(description="1 - consumed_ratio; negative when overspent.")
    total_minutes: float = Field(description="Minutes of full outage the period allows.")
    consumed_minutes: float
    remaining_minutes: float
    total_requests: float = Field(description="Failed requests the objective allows.")
    consumed_requests: float = Field(description="Failed requests counted.")
    remaining_requests: float


class Bucket(_Model):
    """One step of the period (1 h for 7 d reports, 6 h for longer ones)."""

    start: datetime
    end: datetime
    requests: float | None = Field(description="Null when no data covers this step.")
    errors: float | None
    sli: float | None
    burn_rate: float | None = Field(description="Error ratio / allowed error ratio.")
    budget_remaining: float | None = Field(
        description="Budget left at the end of this step, as a share of the whole period's."
    )


class AlertItem(_Model):
    name: str
    severity: str
    status: str
    starts_at: datetime
    ends_at: datetime | None


class ActionItem(_Model):
    kind: str
    target: str
    state: str
    created_at: datetime
    reason: str
    dry_run: bool


class SLOReport(_Model):
    slo_id: str
    service: str
    name: str
    description: str
    objective: float = Field(description="Percentage, e.g. 99.9.")
    state: StateName = Field(
        description="breached: budget spent; warning: under 25 % left; unknown: no traffic."
    )
    requests: float | None
    errors: float | None
    achieved_sli: float | None = Field(description="Request-weighted over the whole period.")
    budget: Budget | None
    coverage: float = Field(description="Share of the period covered by data, 0..1.")
    worst_windows: list[Bucket] = Field(description="Steps with the highest burn rate.")
    alerts: list[AlertItem]
    actions: list[ActionItem]
    buckets: list[Bucket]


class Summary(_Model):
    """A roll-up of several SLOs (one service, or the whole mesh)."""

    name: str
    slos: int
    by_state: dict[str, int]
    requests: float | None
    errors: float | None
    achieved_sli: float | None = Field(description="Request-weighted across the SLOs.")
    lowest_budget_remaining: float | None
    alerts: int
    actions: int


class Report(_Model):
    schema_version: Literal["meshwatch.report/v1"] = SCHEMA_VERSION
    title: str
    period: ReportPeriod = Field(
        description="As asked: a duration (`7d`), `calendar-week`, `calendar-month`, "
        "`calendar-quarter`, or an ISO 8601 interval `START/END`.",
        examples=["7d", "30d", "calendar-month", "2026-11-01T00:00:00Z/2026-11-08T00:00:00Z"],
    )
    start: datetime
    end: datetime
    source: Literal["history", "prometheus"] = Field(
        description="Stored status history, or counts queried from Prometheus for the period."
    )
    step_minutes: int = Field(description="Length of each bucket.")
    mesh: Summary
    services: list[Summary]
    slos: list[SLOReport]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `Report` (what docs/report.schema.json holds)."""
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://meshwatch.dev/schemas/report.schema.json"
    return schema
