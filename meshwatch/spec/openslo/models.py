"""OpenSLO `openslo/v1` documents as pydantic models (only the shape; meaning in `openslo`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.spec.fields import OptionalList, OptionalMap

API_VERSION = "openslo/v1"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metadata(_Spec):
    name: str
    display_name: str = Field(default="", alias="displayName")
    labels: OptionalMap[str | list[str]] = Field(default_factory=dict)
    annotations: OptionalMap[str] = Field(default_factory=dict)


class _Document(_Spec):
    api_version: Literal["openslo/v1"] = Field(alias="apiVersion")
    metadata: Metadata


# --- SLI -----------------------------------------------------------------------------


class MetricSource(_Spec):
    metric_source_ref: str | None = Field(default=None, alias="metricSourceRef")
    type: str | None = None
    spec: OptionalMap[Any] = Field(default_factory=dict)


class Metric(_Spec):
    metric_source: MetricSource = Field(alias="metricSource")


class RatioMetric(_Spec):
    counter: bool = False
    good: Metric | None = None
    bad: Metric | None = None
    total: Metric | None = None
    raw: Metric | None = None
    raw_type: Literal["success", "failure"] | None = Field(default=None, alias="rawType")


class SLISpec(_Spec):
    description: str = ""
    ratio_metric: RatioMetric | None = Field(default=None, alias="ratioMetric")
    threshold_metric: Any = Field(default=None, alias="thresholdMetric")


class SLIDocument(_Document):
    kind: Literal["SLI"]
    spec: SLISpec


class InlineIndicator(_Spec):
    metadata: Metadata
    spec: SLISpec


# --- alerting --------------------------------------------------------------------------


class BurnRateCondition(_Spec):
    kind: Literal["burnrate"]
    op: Literal["lt", "lte", "gt", "gte"]
    threshold: float
    lookback_window: str = Field(alias="lookbackWindow")
    alert_after: str | None = Field(default=None, alias="alertAfter")


class AlertConditionSpec(_Spec):
    description: str = ""
    severity: str
    condition: BurnRateCondition


class AlertConditionDocument(_Document):
    kind: Literal["AlertCondition"]
    spec: AlertConditionSpec


class ConditionItem(_Spec):
    """An inline AlertCondition, or `conditionRef` naming one."""

    kind: Literal["AlertCondition"] | None = None
    metadata: Metadata | None = None
    spec: AlertConditionSpec | None = None
    condition_ref: str | None = Field(default=None, alias="conditionRef")


class AlertPolicySpec(_Spec):
    description: str = ""
    alert_when_no_data: bool = Field(default=False, alias="alertWhenNoData")
    alert_when_resolved: bool = Field(default=False, alias="alertWhenResolved")
    alert_when_breaching: bool = Field(default=True, alias="alertWhenBreaching")
    conditions: OptionalList[ConditionItem] = Field(default_factory=list)
    notification_targets: OptionalList[dict[str, Any]] = Field(
        default_factory=list, alias="notificationTargets"
    )


class AlertPolicyDocument(_Document):
    kind: Literal["AlertPolicy"]
    spec: AlertPolicySpec


class AlertPolicyItem(_Spec):
    """An inline AlertPolicy, or `alertPolicyRef` naming one."""

    kind: Literal["AlertPolicy"] | None = None
    metadata: Metadata | None = None
    spec: AlertPolicySpec | None = None
    alert_policy_ref: str | None = Field(default=None, alias="alertPolicyRef")


# --- SLO -------------------------------------------------------------------------------


class Calendar(_Spec):
    start_time: str = Field(alias="startTime")
    time_zone: str = Field(alias="timeZone")


class TimeWindow(_Spec):
    duration: str
    is_rolling: bool | None = Field(default=None, alias="isRolling")
    calendar: Calendar | None = None


class Objective(_Spec):
    display_name: str = Field(default="", alias="displayName")
    op: str | None = None
    value: float | None = None
    target: float | None = None
    target_percent: float | None = Field(default=None, alias="targetPercent")
    time_slice_target: float | None = Field(default=None, alias="timeSliceTarget")
    time_slice_window: str | None = Field(default=None, alias="timeSliceWindow")
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = Field(default=None, alias="indicatorRef")
    composite_weight: float | None = Field(default=None, alias="compositeWeight")


class SLOSpec(_Spec):
    description: str = ""
    service: str
    indicator: InlineIndicator | None = None
    indicator_ref: str | None = Field(default=None, alias="indicatorRef")
    time_window: OptionalList[TimeWindow] = Field(alias="timeWindow")
    budgeting_method: str = Field(alias="budgetingMethod")
    objectives: list[Objective] = Field(min_length=1)
    alert_policies: OptionalList[AlertPolicyItem] = Field(
        default_factory=list, alias="alertPolicies"
    )


class SLODocument(_Document):
    kind: Literal["SLO"]
    spec: SLOSpec


# --- documents meshwatch reads but takes little from -----------------------------------


class ServiceSpec(_Spec):
    description: str = ""


class ServiceDocument(_Document):
    kind: Literal["Service"]
    spec: ServiceSpec = Field(default_factory=ServiceSpec)


class DataSourceSpec(_Spec):
    description: str = ""
    type: str
    # a mapping in the spec's README, a list of one-key mappings in the Go SDK's examples
    connection_details: dict[str, Any] | OptionalList[Any] = Field(
        default_factory=dict, alias="connectionDetails"
    )


class DataSourceDocument(_Document):
    kind: Literal["DataSource"]
    spec: DataSourceSpec


class NotificationTargetSpec(_Spec):
    description: str = ""
    target: str


class AlertNotificationTargetDocument(_Document):
    kind: Literal["AlertNotificationTarget"]
    spec: NotificationTargetSpec


DOCUMENTS: dict[str, type[_Document]] = {
    "SLO": SLODocument,
    "SLI": SLIDocument,
    "AlertPolicy": AlertPolicyDocument,
    "AlertCondition": AlertConditionDocument,
    "Service": ServiceDocument,
    "DataSource": DataSourceDocument,
    "AlertNotificationTarget": AlertNotificationTargetDocument,
}
