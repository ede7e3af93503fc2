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


class Gap(_Model):
    """A run of steps of the period that no data covers (nothing is filled in for them)."""

    start: datetime
    end: datetime


class Bucket(_Model):
    """One step of the period (1 h for 7 d reports, 6 h for longer ones)."""

    start: datetime
    end: datetime
    requests: float | None = Field(
        description="Requests (count) in this step; null when no data covers it."
    )
    errors: float | None = Field(description="Failed requests (count) in this step.")
    sli: float | None = Field(description="Ratio of good requests, 0..1.")
    burn_rate: float | None = Field(description="Error ratio / allowed error ratio (times, x).")
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
    requests: float | None = Field(description="Requests (count) in the period.")
    errors: float | None = Field(description="Failed requests (count) in the period.")
    unit: Literal["requests", "slices"] = Field(
        default="requests",
        description="What `requests`, `errors`, the SLIs and the budget count: requests, or "
        "time slices for Timeslices budgeting (`requests` = slices counted, `errors` = bad "
        "slices, the budget's requests = slices).",
    )
    achieved_sli: float | None = Field(
        description="Ratio (0..1), request-weighted over the whole period."
    )
    budget: Budget | None
    coverage: float = Field(
        description="Share of the period (ratio, 0..1) the data covers: from history, the time "
        "the stored statuses' windows stand for (capped by their own measured coverage); "
        "from Prometheus, the steps that have samples."
    )
    covered_minutes: float = Field(description="Minutes of the period the data covers.")
    low_coverage: bool = Field(
        description="True when the figures rest on less than the report's `min_coverage` of "
        "the period: the budget is not representative of the period."
    )
    gaps: list[Gap] = Field(description="Runs of steps no data covers, oldest first.")
    worst_windows: list[Bucket] = Field(description="Steps with the highest burn rate.")
    alerts: list[AlertItem]
    actions: list[ActionItem]
    buckets: list[Bucket]


class Summary(_Model):
    """A roll-up of several SLOs (one service, or the whole mesh)."""

    name: str
    slos: int
    by_state: dict[str, int]
    requests: float | None = Field(
        description="Distinct requests (count): SLOs measuring the same traffic (e.g. the "
        "availability and latency SLOs of a service) count it once; see `requests_exact`."
    )
    requests_exact: bool = Field(
        description="False when some SLOs' traffic could not be told apart (different metrics): "
        "`requests` is then a lower bound (the largest of them), never their sum."
    )
    errors: float | None = Field(
        description="Failed events (count) summed over the SLOs: a request failing two SLOs "
        "counts twice."
    )
    achieved_sli: float | None = Field(
        description="Ratio (0..1) of good SLO events across the SLOs (each SLO's requests "
        "weighted by its own count)."
    )
    lowest_budget_remaining: float | None = Field(description="Ratio; negative when overspent.")
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
    step_minutes: int = Field(description="Length of each bucket, in minutes.")
    min_coverage: float = Field(
        description="Share of the period (ratio) below which an SLO's figures are flagged "
        "`low_coverage` (settings `min_coverage`)."
    )
    mesh: Summary
    services: list[Summary]
    slos: list[SLOReport]


def json_schema() -> dict[str, Any]:
    """The JSON Schema of `Report` (what docs/report.schema.json holds)."""
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://meshwatch.dev/schemas/report.schema.json"
    return schema
