"""Response models of the HTTP API (separate from the domain objects they are built from)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, assert_never

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.model import (
    SLO,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    SLOStatus,
    format_duration,
)
from meshwatch.render import units
from meshwatch.slo.periods import current_period
from meshwatch.store import Action, AlertRecord, HistoryPoint


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
    period_sli: float | None = Field(description="Ratio (0..1) over the SLO period so far.")
    budget_remaining: float | None = Field(
        description="Ratio: 1 = untouched, 0 = spent, < 0 overspent."
    )
    budget_remaining_seconds: float | None = Field(
        description="Seconds of full outage the budget still allows."
    )
    budget_remaining_requests: float | None = Field(
        description="Failed requests (count) the budget still allows."
    )
    throughput: float | None = Field(description="Requests per second over the last 5 minutes.")
    sli: dict[str, float | None] = Field(description="Ratio (0..1) per window name.")
    burn_rate: dict[str, float | None] = Field(
        description="Error ratio / allowed error ratio (times, x) per window name."
    )
    latency: dict[str, float | None] = Field(
        description="Percentiles (p50, p90, p99) in the histogram's own unit: see "
        "`latency_unit`, or `latency_seconds` for the same values in seconds."
    )
    requests: dict[str, float | None] = Field(description="Requests (count) per window name.")
    latency_unit: Literal["ms", "s"] | None = Field(
        default=None, description="Unit of `latency`; null when the histogram tells none."
    )
    latency_seconds: dict[str, float | None] = Field(
        default_factory=dict,
        description="`latency` in seconds (empty when its unit is unknown).",
    )
    coverage: float | None = Field(
        default=None,
        description="Share (ratio, 0..1) of the SLO period that has samples; null when the "
        "source could not measure it.",
    )
    low_coverage: bool | None = Field(
        default=None,
        description="True when the period figures (SLI, budget) rest on less than the "
        "settings' `min_coverage` of the period; null when coverage is unknown.",
    )
    budget_unit: Literal["requests", "slices"] = Field(
        default="requests",
        description="What `sli`, `burn_rate`, `requests` and `budget_remaining_requests` "
        "count: requests, or slices for Timeslices budgeting (`sli` is then the share of good "
        "slices, `requests` the slices counted, `budget_remaining_requests` the bad slices the "
        "budget still allows).",
    )
    slice: str | None = Field(
        default=None, description="Slice length (Timeslices budgeting), e.g. `1m`."
    )
    period_start: datetime | None = Field(
        default=None,
        description="Start (UTC) of the SLO period the period figures cover: `at` minus the "
        "rolling length, or local midnight of the calendar period in its time zone.",
    )
    period_end: datetime | None = Field(
        default=None,
        description="End (UTC) of that period: `at` for rolling windows, the next local "
        "midnight period start for calendar ones.",
    )

    @classmethod
    def of(cls, status: SLOStatus, slo: SLO | None = None, min_coverage: float = 0.1) -> StatusOut:
        unit = units.latency_unit(slo) if slo is not None else None
        seconds = {k: units.to_seconds(v, unit) for k, v in status.latency.items()} if unit else {}
        coverage = status.coverage
        sliced = slo.timeslices if slo is not None else None
        period = current_period(slo.window, status.at) if slo is not None else None
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
            latency_unit=unit,
            latency_seconds=seconds,
            coverage=coverage,
            low_coverage=None if coverage is None else coverage < min_coverage,
            budget_unit="slices" if sliced is not None else "requests",
            slice=None if sliced is None else format_duration(sliced.slice),
            period_start=period.start if period is not None else None,
            period_end=period.end if period is not None else None,
        )


def sli_kind(slo: SLO) -> str:
    if slo.mesh is not None:
        return f"mesh:{slo.mesh.kind}"
    sli = slo.sli
    match sli:
        case RatioSLI():
            return "ratio"
        case LatencySLI():
            return "latency"
        case NativeLatencySLI():
            return "latency-native"
        case QuerySLI():
            return "query"
        case RawSLI():
            return "raw"
        case _:
            assert_never(sli)


class SLOOut(Out):
    id: str = Field(examples=["checkout-availability"])
    service: str
    name: str
    objective: float = Field(description="Percent, e.g. 99.9.", examples=[99.9])
    window: str = Field(examples=["30d", "calendar-month"])
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone of a calendar window (its periods start at local "
        "midnight there); null for rolling windows.",
        examples=["Europe/Berlin"],
    )
    sli: str = Field(examples=["ratio", "latency", "mesh:istio"])
    description: str
    labels: dict[str, str]
    source: str | None = Field(description="FILE:LINE the SLO was written at.")
    remediation: str | None = Field(description="Actuator and target, when a policy is set.")
    status: StatusOut | None = None
    budgeting: Literal["occurrences", "timeslices", "ratio_timeslices"] = Field(
        default="occurrences",
        description="What the objective counts: requests, or slices (`slice` long; a "
        "Timeslices slice is good at `slice_target` percent).",
    )
    slice: str | None = Field(default=None, examples=["1m"])
    slice_target: float | None = Field(default=None, description="Percent, e.g. 95.")

    @classmethod
    def of(cls, slo: SLO, status: SLOStatus | None, min_coverage: float = 0.1) -> SLOOut:
        policy = slo.remediation
        sliced = slo.timeslices
        return cls(
            id=slo.id,
            service=slo.service,
            name=slo.name,
            objective=slo.objective,
            window=slo.window.name,
            time_zone=slo.window.time_zone if slo.window.unit is not None else None,
            sli=sli_kind(slo),
            description=slo.description,
            labels=dict(slo.labels),
            source=f"{slo.source.file}:{slo.source.line}" if slo.source else None,
            remediation=f"{policy.actuator}:{policy.target}" if policy else None,
            status=StatusOut.of(status, slo, min_coverage) if status else None,
            budgeting="occurrences" if sliced is None else sliced.method,
            slice=None if sliced is None else format_duration(sliced.slice),
            slice_target=None if sliced is None or sliced.ratio else sliced.target,
        )


class HistoryPointOut(Out):
    at: datetime
    state: str
    worst_state: str
    samples: int
    sli: float | None = Field(description="The period SLI at that point.")
    budget_remaining: float | None
    burn_rate: dict[str, float | None]
    throughput: float | None = Field(description="Requests per second.")
    coverage: float | None = Field(
        default=None, description="Share (ratio) of the SLO period with samples at that point."
    )

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
            coverage=status.coverage,
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
    budget_remaining_min: float | None = Field(description="Lowest budget left (ratio).")
    throughput: float | None = Field(
        description="Requests per second of the distinct request streams the SLOs measure: "
        "two SLOs on the same requests count them once; see `throughput_exact`."
    )
    throughput_exact: bool = Field(
        default=True,
        description="False when some SLOs' traffic could not be told apart (different "
        "metrics): `throughput` is then a lower bound (their largest), never their sum.",
    )
    streams: int = Field(default=0, description="Distinct request streams measured.")
    error_ratio: float | None = Field(
        description="Ratio (0..1) of failed SLO events over 5 minutes, weighted across SLOs."
    )
