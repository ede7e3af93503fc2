"""The native spec format, `apiVersion: meshwatch/v1`, as pydantic models.

These models only describe the shape of the YAML (types, required and unknown fields); what
the values mean and whether they fit together is checked while mapping them into the domain
model (`meshwatch.spec.native.slo`, `.sli`, `.policy`). Every field's description is the
user documentation: docs/spec-reference.md is rendered from it (`meshwatch.spec.reference`).
"""

from functools import cache, partial
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.model import ActuatorName, MeshKind, MeshProtocol

API_VERSION = "meshwatch/v1"
KIND = "ServiceLevels"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


S = TypeVar("S", bound=_Spec)


@cache
def _left_out(model: type[S]) -> S:
    """The value of a section the spec leaves out, built on first use and shared (the models
    are frozen): a new one per SLO was half the time of validating one."""
    return model()


class RatioSpec(_Spec):
    """Errors counted by counters; errors = `bad`, or errors = `total` - `good`."""

    total: str = Field(
        description='Counter selector of all requests, e.g. `http_requests_total{job="api"}`.'
    )
    good: str | None = Field(
        default=None, description="Counter selector of good requests (set `good` or `bad`)."
    )
    bad: str | None = Field(
        default=None,
        description='Counter selector of bad requests, e.g. `http_requests_total{code=~"5.."}`.',
    )


class LatencySpec(_Spec):
    """Share of requests served within `threshold`, from a classic (bucketed) histogram, or
    from a native histogram with `native: true`.

    Native: good = `histogram_fraction(0, threshold)` x `histogram_count`. On a bucket boundary
    of the histogram's schema (0.25, 0.5, 1, 2, ...) this is exact; inside a bucket `(l, u]`
    Prometheus 2.42 interpolates linearly in that one bucket, so the error ratio is off by at
    most the share of requests in it, and every misclassified request took between `l` and
    `u` (`u / l` = 1.09 at schema 3, client_golang's default). docs/rules.md has the details.
    """

    histogram: str = Field(
        description="Histogram metric name without `_bucket`/`_count`, "
        "e.g. `http_request_duration_seconds`."
    )
    threshold: float = Field(
        description="Latency bound in the histogram's own unit; must be one of its bucket "
        "bounds (`le` values) unless `native` is true."
    )
    selector: str = Field(
        default="", description='Label matchers for both series, e.g. `{job="checkout"}`.'
    )
    native: bool = Field(
        default=False,
        description="`true`: `histogram` is a native histogram (Prometheus "
        "`--enable-feature=native-histograms`); good = `histogram_fraction(0, threshold)` x "
        "`histogram_count`, so `threshold` may be any positive value: inside a bucket it is "
        "interpolated linearly (see docs/rules.md for the bound).",
    )


class RawSpec(_Spec):
    """An error ratio (0..1) computed by your own PromQL."""

    error_ratio_query: str = Field(
        description="PromQL template of the error ratio, with `{{.window}}` where the rule "
        "window goes. Only the Prometheus engine evaluates it."
    )


class EventsSpec(_Spec):
    """Error and total events as arbitrary PromQL templates (as in Sloth)."""

    total_query: str = Field(
        description="PromQL template of all events, with `{{.window}}`, "
        "e.g. `sum(rate(http_requests_total[{{.window}}]))`."
    )
    bad_query: str | None = Field(
        default=None, description="PromQL template of bad events (set `bad_query` or `good_query`)."
    )
    good_query: str | None = Field(default=None, description="PromQL template of good events.")


class MeshSpec(_Spec):
    """A mesh preset: meshwatch writes the PromQL from the mesh's standard metrics.

    Availability counts 5xx (Istio, Envoy) or `classification="failure"` (Linkerd) as bad;
    with `latency_threshold` the SLI is latency instead.
    """

    kind: MeshKind = Field(description="Which mesh's metrics.")
    service: str | None = Field(
        default=None,
        description="Istio: `destination_service_name` of the service (required for istio).",
    )
    version: str | None = Field(default=None, description="Istio: only this `destination_version`.")
    cluster: str | None = Field(
        default=None, description="Envoy: the upstream cluster (`envoy_cluster_name`)."
    )
    clusters: list[str] | None = Field(
        default=None,
        description="Envoy: several upstream clusters measured together "
        "(e.g. every version behind one route). Set `cluster` or `clusters`.",
    )
    deployment: str | None = Field(
        default=None,
        description="Linkerd: the deployment's inbound traffic (required for linkerd).",
    )
    namespace: str | None = Field(
        default=None,
        description="Istio: `destination_service_namespace`; Linkerd: `namespace`. Optional.",
    )
    latency_threshold: str | None = Field(
        default=None,
        description="Makes this a latency SLI: requests at or under this duration are good, "
        "e.g. `250ms`, `1s`. Must be a bucket bound of the mesh's histogram.",
    )
    protocol: MeshProtocol = Field(
        default="http",
        description="What fails a request: `http` (5xx; Linkerd's `classification`), `grpc` "
        "(gRPC calls only, failed when their status is in `grpc_server_errors`, also when "
        "answered with HTTP 200) or `auto` (both, each by its own rule; Istio and Linkerd). "
        "Envoy's gRPC counters come from its grpc_stats HTTP filter.",
    )
    grpc_server_errors: list[str] | None = Field(
        default=None,
        description="gRPC statuses counted as failures with `protocol: grpc` or `auto`; "
        "default `UNKNOWN`, `DEADLINE_EXCEEDED`, `INTERNAL`, `UNAVAILABLE`, `DATA_LOSS`, "
        "`UNIMPLEMENTED` (the caller's own errors, e.g. `NOT_FOUND`, are good events).",
    )


class SLISpec(_Spec):
    """How the SLI is measured: set exactly one of the fields."""

    ratio: RatioSpec | None = Field(default=None, description="Counter selectors.")
    latency: LatencySpec | None = Field(default=None, description="A latency histogram.")
    events: EventsSpec | None = Field(default=None, description="PromQL templates of events.")
    raw: RawSpec | None = Field(default=None, description="A PromQL template of the error ratio.")
    mesh: MeshSpec | None = Field(
        default=None, description="A mesh preset (Istio, Envoy, Linkerd)."
    )


class AlertSpec(_Spec):
    """One alert severity."""

    enabled: bool = Field(default=True, description="Generate this alert.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Extra labels on this severity's alert only."
    )
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Extra annotations on this severity's alert only."
    )


class BurnWindowSpec(_Spec):
    """One multiwindow burn-rate condition (SRE Workbook ch. 5)."""

    severity: Literal["page", "ticket"] = Field(description="Which alert this condition feeds.")
    long: str = Field(description="Long window, e.g. `1h`.")
    short: str | None = Field(
        default=None, description="Short window; default 1/12 of `long` (e.g. `5m` for `1h`)."
    )
    factor: float | None = Field(
        default=None,
        description="Burn-rate threshold (14.4 = budget spent 14.4x faster than sustainable). "
        "Set `factor` or `budget_percent`.",
    )
    budget_percent: float | None = Field(
        default=None,
        description="Share of the period's budget spent within `long` when it fires, in percent; "
        "the factor is derived from it and the SLO window.",
    )


class AlertingSpec(_Spec):
    """Multiwindow multi-burn-rate alerts for the SLO."""

    name: str = Field(default="", description="Alert name; default `MeshwatchErrorBudgetBurn`.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels on every alert.")
    annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations on every alert."
    )
    page: AlertSpec = Field(
        default_factory=partial(_left_out, AlertSpec), description="The fast-burn (page) alert."
    )
    ticket: AlertSpec = Field(
        default_factory=partial(_left_out, AlertSpec), description="The slow-burn (ticket) alert."
    )
    runbook_url: str = Field(default="", description="Link put in the alerts' annotations.")
    dashboard_url: str = Field(default="", description="Link put in the alerts' annotations.")
    min_requests: float = Field(
        default=0.0,
        ge=0,
        description="Requests in the long window below which a burn cannot alert (quiet services).",
    )
    absent_for: str = Field(
        default="10m", description="How long the SLI may have no data before the absent alert."
    )
    windows: list[BurnWindowSpec] | None = Field(
        default=None,
        min_length=1,
        description="Burn-rate conditions; default the Workbook's four (1h/6h page, 1d/3d "
        "ticket) scaled to the SLO window. To turn alerts off, disable `page` and `ticket`.",
    )


class BackendSpec(_Spec):
    """One version/subset behind the remediated route."""

    name: str = Field(
        description="Version/subset/cluster name as the route and the metrics spell it "
        "(Istio `destination_version`, Envoy cluster, Linkerd deployment)."
    )
    weight: int | None = Field(
        default=None, ge=0, description="Weight the route starts from, if known."
    )
    sli: SLISpec | None = Field(
        default=None,
        description="How to measure this backend alone; default the SLO's mesh SLI restricted "
        "to this backend.",
    )


class RemediationSpec(_Spec):
    """Move traffic away from a backend that burns the budget while its siblings do not."""

    actuator: ActuatorName = Field(description="Data plane to change.")
    target: str = Field(
        description="Route to change: Envoy route name, VirtualService / HTTPRoute "
        "`namespace/name[#rule]`, Linkerd route."
    )
    backends: list[BackendSpec] = Field(description="At least two backends of the route.")
    action: Literal["shift", "retries", "shift+retries"] = Field(
        default="shift", description="Shift weight, tighten retries, or both."
    )
    short_windows: list[str] = Field(
        default_factory=lambda: ["1m", "5m"],
        description="The two windows both burning above `factor` before acting.",
    )
    factor: float = Field(default=14.4, gt=0, description="Burn-rate threshold for acting.")
    step: int = Field(
        default=50, ge=1, le=100, description="Weight moved per evaluation, percent of the total."
    )
    max_shift: int = Field(
        default=100, ge=0, le=100, description="Most weight moved away from one backend, percent."
    )
    min_healthy_weight: int = Field(
        default=0, ge=0, le=100, description="Weight floor left on a breaching backend, percent."
    )
    min_requests: float = Field(
        default=20.0,
        ge=0,
        description="Requests in the short window below which data is unknown (no action).",
    )
    cooldown: str = Field(default="30s", description="Hold after an action.")
    recovery_window: str = Field(
        default="2m", description="Healthy time before weight is given back."
    )
    dry_run: bool = Field(default=True, description="Plan and record, but do not apply.")


class SLOSpec(_Spec):
    """One objective of the service."""

    name: str = Field(description="SLO name, unique within the service (`availability`).")
    objective: float = Field(description="Target in percent, 0 < objective < 100 (99.9).")
    window: str = Field(
        default="30d",
        description="SLO period: a rolling duration (`30d`, `28d`, `4w`, `7d`) or "
        "`calendar-week` / `calendar-month` (weeks start Monday, at local midnight in "
        "`time_zone`).",
    )
    time_zone: str | None = Field(
        default=None,
        description="IANA time zone of a calendar window (`Europe/Berlin`, "
        "`America/New_York`); its periods start at local midnight there, DST included. "
        "Default UTC; calendar windows only.",
    )
    description: str = Field(default="", description="Free text shown in dashboards and reports.")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels on this SLO's series and alerts."
    )
    sli: SLISpec = Field(description="How the SLI is measured.")
    alerting: AlertingSpec = Field(
        default_factory=partial(_left_out, AlertingSpec), description="Burn-rate alerts."
    )
    remediation: RemediationSpec | None = Field(
        default=None, description="Traffic remediation when one backend breaches."
    )
    budgeting: Literal["occurrences", "timeslices", "ratio_timeslices"] = Field(
        default="occurrences",
        description="What the objective counts: `occurrences` (good requests / requests), "
        "`timeslices` (good slices / slices: a slice is good when its SLI is at least "
        "`slice_target`; a slice without requests is not bad) or `ratio_timeslices` (the "
        "average of the slices' SLIs; slices without requests are left out). OpenSLO "
        "`budgetingMethod`.",
    )
    slice: str | None = Field(
        default=None,
        description="Slice length for timeslices budgeting, e.g. `1m`; must divide the window "
        "(a day for calendar windows) and every alerting window. OpenSLO `timeSliceWindow`.",
    )
    slice_target: float | None = Field(
        default=None,
        description="Timeslices: the SLI in percent a slice needs to be good, 0 < x <= 100 "
        "(95). OpenSLO `timeSliceTarget` (a ratio there).",
    )


class ServiceLevels(_Spec):
    """A `meshwatch/v1` document: one service and its SLOs."""

    api_version: Literal["meshwatch/v1"] = Field(
        alias="apiVersion", description="Always `meshwatch/v1`."
    )
    kind: Literal["ServiceLevels"] = Field(description="Always `ServiceLevels`.")
    service: str = Field(description="Service name, used in SLO ids (`<service>-<slo>`).")
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels on every SLO of the service."
    )
    slos: list[SLOSpec] = Field(min_length=1, description="The service's objectives.")


class ServiceLevelsHeader(ServiceLevels):
    """ServiceLevels with its SLOs left unchecked, so each SLO is validated (and reported) alone."""

    slos: list[dict[str, Any]] = Field(min_length=1)  # type: ignore[assignment]
