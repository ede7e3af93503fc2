"""Response models of the HTTP API (separate from the domain objects they are built from)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meshwatch.model import SLO, LatencySLI, QuerySLI, RatioSLI, RawSLI, SLOStatus
from meshwatch.slo.report_periods import check_report_period
from meshwatch.store import Action, AlertRecord, HistoryPoint, ReportRun


class Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class StatusOut(Out):
    slo_id: str
    service: str
    slo: str
    at: datetime
    state: str = Field(examples=["ok", "warning", "breached", "unknown"])
    reason: str
    objective: float = Field(description="Objective as a ratio, e.g. 0.999.")
    period_sli: float | None
    budget_remaining: float | None = Field(description="1 = untouched, 0 = spent, < 0 overspent.")
    budget_remaining_seconds: float | None
    budget_remaining_requests: float | None
    throughput: float | None = Field(description="Requests per second over the last 5 minutes.")
    sli: dict[str, float | None]
    burn_rate: dict[str, float | None]
    latency: dict[str, float | None]
    requests: dict[str, float | None]

    @classmethod
    def of(cls, status: SLOStatus) -> StatusOut:
        return cls(
            slo_id=status.slo_id,
            service=status.service,
            slo=status.slo,
            at=status.at,
            state=status.state.value,
            reason=status.reason,
            objective=status.objective,
            period_sli=status.period_sli,
            budget_remaining=status.budget_remaining,
            budget_remaining_seconds=status.budget_remaining_seconds,
            budget_remaining_requests=status.budget_remaining_requests,
            throughput=status.throughput,
            sli=dict(status.sli),
            burn_rate=dict(status.burn_rate),
            latency=dict(status.latency),
            requests=dict(status.requests),
        )


def sli_kind(slo: SLO) -> str:
    if slo.mesh is not None:
        return f"mesh:{slo.mesh.kind}"
    kinds = {RatioSLI: "ratio", LatencySLI: "latency", QuerySLI: "query", RawSLI: "raw"}
    return kinds[type(slo.sli)]


class SLOOut(Out):
    id: str = Field(examples=["checkout-availability"])
    service: str
    name: str
    objective: float = Field(description="Percent, e.g. 99.9.", examples=[99.9])
    window: str = Field(examples=["30d", "calendar-month"])
    sli: str = Field(examples=["ratio", "latency", "mesh:istio"])
    description: str
    labels: dict[str, str]
    source: str | None = Field(description="FILE:LINE the SLO was written at.")
    remediation: str | None = Field(description="Actuator and target, when a policy is set.")
    status: StatusOut | None = None

    @classmethod
    def of(cls, slo: SLO, status: SLOStatus | None) -> SLOOut:
        policy = slo.remediation
        return cls(
            id=slo.id,
            service=slo.service,
            name=slo.name,
            objective=slo.objective,
            window=slo.window.name,
            sli=sli_kind(slo),
            description=slo.description,
            labels=dict(slo.labels),
            source=f"{slo.source.file}:{slo.source.line}" if slo.source else None,
            remediation=f"{policy.actuator}:{policy.target}" if policy else None,
            status=StatusOut.of(status) if status else None,
        )


class HistoryPointOut(Out):
    at: datetime
    state: str
    worst_state: str
    samples: int
    sli: float | None = Field(description="The period SLI at that point.")
    budget_remaining: float | None
    burn_rate: dict[str, float | None]
    throughput: float | None

    @classmethod
    def of(cls, point: HistoryPoint) -> HistoryPointOut:
        status = point.status
        return cls(
            at=point.at,
            state=status.state.value,
            worst_state=point.worst_state.value,
            samples=point.samples,
            sli=status.period_sli,
            budget_remaining=status.budget_remaining,
            burn_rate=dict(status.burn_rate),
            throughput=status.throughput,
        )


class AlertOut(Out):
    id: int
    fingerprint: str
    alertname: str
    status: str
    slo_id: str | None
    starts_at: datetime
    ends_at: datetime | None
    labels: dict[str, str]
    annotations: dict[str, str]
    deliveries: int
    last_received_at: datetime

    @classmethod
    def of(cls, record: AlertRecord) -> AlertOut:
        event = record.event
        return cls(
            id=record.id,
            fingerprint=event.fingerprint,
            alertname=event.alertname,
            status=event.status.value,
            slo_id=event.slo_id,
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            labels=dict(event.labels),
            annotations=dict(event.annotations),
            deliveries=record.deliveries,
            last_received_at=record.last_received_at,
        )


class WebhookResult(Out):
    received: int = Field(description="Alerts in the delivery.")
    new: int = Field(description="Alerts not seen before (fingerprint + startsAt).")


class ActionOut(Out):
    id: int
    slo_id: str
    target: str
    actuator: str
    kind: str
    reason: str
    dry_run: bool
    state: str
    detail: str
    weights_before: dict[str, int]
    weights_after: dict[str, int]
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="What else the action changes (retries) and why (per-backend assessments).",
    )
    created_at: datetime
    completed_at: datetime | None

    @classmethod
    def of(cls, action: Action) -> ActionOut:
        plan = action.plan
        return cls(
            id=action.id,
            slo_id=plan.slo_id,
            target=plan.target,
            actuator=plan.actuator,
            kind=plan.kind,
            reason=plan.reason,
            dry_run=plan.dry_run,
            state=action.state.value,
            detail=action.detail,
            weights_before=dict(plan.weights_before),
            weights_after=dict(plan.weights_after),
            params=dict(plan.params),
            created_at=action.created_at,
            completed_at=action.completed_at,
        )


class AggregateOut(Out):
    name: str
    state: str
    slos: int
    by_state: dict[str, int]
    budget_remaining_min: float | None
    throughput: float | None
    error_ratio: float | None


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
