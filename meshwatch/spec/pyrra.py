"""Pyrra `pyrra.dev/v1alpha1` ServiceLevelObjective -> domain SLOs.

Mapped: `metadata.name` -> SLO name, `metadata.namespace` -> service (Pyrra has no service;
`default` when unset), labels with the `pyrra.dev/` prefix -> SLO labels (Pyrra copies them
onto its rules; the others select the PrometheusRule object), `spec.target` (percent, a
string) -> objective, `spec.window` -> rolling window, `indicator.ratio` (errors/total
selectors) -> counter ratio, `indicator.latency` (`X_bucket{le=...}` / `X_count`) -> latency,
`indicator.latencyNative` (`total.metric` a native histogram selector, `latency` a duration
such as `200ms` or `1s`) -> native-histogram latency with the threshold in seconds (Pyrra's
`histogram_fraction(0, <seconds>, ...)`), `indicator.bool_gauge` (a 0/1 gauge) -> share of
samples at 1, `alerting.name` -> burn alert name, `alerting.disabled` / `burnrates: false` /
`absent: false` -> those alerts off.
Refused by name: `grouping` (one SLO per label value is not a meshwatch SLO),
`alerting.absentName` (the absent alert's name is fixed).
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.errors import PromQLError
from meshwatch.model import SLI, SLO, Alerting, NativeLatencySLI, QuerySLI, RatioSLI, SourceRef
from meshwatch.spec.checks import (
    Found,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    object_slo,
    parse_latency_ms,
    parse_window,
)
from meshwatch.spec.fields import OptionalList, OptionalMap, Text
from meshwatch.spec.histograms import bucket_sli, same_series
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.promql import parse_selector
from meshwatch.spec.source import Document, FieldPath

API_VERSION: Final = "pyrra.dev/v1alpha1"
FORMAT: Final = "pyrra"
LABEL_PREFIX = "pyrra.dev/"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Query(_Spec):
    metric: str


class Ratio(_Spec):
    errors: Query
    total: Query
    grouping: OptionalList[str] = Field(default_factory=list)


class Latency(_Spec):
    success: Query
    total: Query
    grouping: OptionalList[str] = Field(default_factory=list)


class LatencyNative(_Spec):
    latency: Text
    total: Query
    grouping: OptionalList[str] = Field(default_factory=list)


class BoolGauge(_Spec):
    metric: str
    grouping: OptionalList[str] = Field(default_factory=list)


class Indicator(_Spec):
    ratio: Ratio | None = None
    latency: Latency | None = None
    latency_native: LatencyNative | None = Field(default=None, alias="latencyNative")
    bool_gauge: BoolGauge | None = None


class PyrraAlerting(_Spec):
    disabled: bool | None = None
    burnrates: bool | None = None
    absent: bool | None = None
    name: str = ""
    absent_name: str = Field(default="", alias="absentName")


class Spec(_Spec):
    description: str = ""
    target: Text
    window: str
    indicator: Indicator
    alerting: PyrraAlerting = Field(default_factory=PyrraAlerting)
    partial_response_strategy: str = ""


class Metadata(BaseModel):
    """Object metadata; what the API server adds (uid, managedFields...) is accepted."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    namespace: str = ""
    labels: OptionalMap[Text] = Field(default_factory=dict)


class ServiceLevelObjective(_Spec):
    api_version: Literal["pyrra.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["ServiceLevelObjective"]
    metadata: Metadata
    spec: Spec
    status: Any = None


def load_pyrra(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    obj = validate(ServiceLevelObjective, doc, problems)
    if obj is None:
        return []
    before = problems.error_count
    spec, service = obj.spec, obj.metadata.namespace or "default"
    check_name(obj.metadata.name, doc, ("metadata", "name"), problems)
    check_name(service, doc, ("metadata", "namespace"), problems)
    objective = _target(spec.target, doc, problems)
    window = None
    try:
        window = parse_window(spec.window)
    except ValueError as exc:
        problems.error(doc, ("spec", "window"), str(exc))
    labels = {
        k.removeprefix(LABEL_PREFIX): v
        for k, v in obj.metadata.labels.items()
        if k.startswith(LABEL_PREFIX)
    }
    slo_labels = check_labels(labels, doc, ("metadata", "labels"), problems)
    sli = _sli(spec.indicator, doc, ("spec", "indicator"), problems)
    alerting = spec.alerting
    if alerting.absent_name:
        problems.error(
            doc,
            ("spec", "alerting", "absentName"),
            "absentName is not supported: meshwatch's absent-data alert is MeshwatchSLIAbsent",
        )
    if spec.partial_response_strategy:
        problems.warning(
            doc, ("spec", "partial_response_strategy"), "ignored: it is for Thanos Ruler only"
        )
    if problems.error_count > before or None in (objective, window, sli):
        return []
    assert objective is not None and window is not None and sli is not None
    burns = not alerting.disabled and alerting.burnrates is not False
    slo = SLO(
        service=service,
        name=obj.metadata.name,
        objective=objective,
        window=window,
        sli=sli,
        description=spec.description,
        labels=slo_labels,
        alerting=Alerting(
            name=alerting.name,
            page=burns,
            ticket=burns,
            absent=not alerting.disabled and alerting.absent is not False,
            windows=default_windows(window),
        ),
        source=SourceRef(doc.file, doc.line, FORMAT),
    )
    return object_slo(slo, doc, problems)


def _target(text: str, doc: Document, problems: Problems) -> float | None:
    try:
        target = float(text)
    except ValueError:
        problems.error(doc, ("spec", "target"), f"target {text!r} is not a number (percent)")
        return None
    return target if check_objective(target, doc, ("spec", "target"), problems) else None


def _sli(spec: Indicator, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    kinds = ("ratio", "latency", "latency_native", "bool_gauge")
    chosen = [n for n in kinds if getattr(spec, n) is not None]
    if len(chosen) != 1:
        problems.error(
            doc,
            path,
            f"set exactly one of ratio, latency, latencyNative, bool_gauge (found {len(chosen)})",
        )
        return None
    kind = "latencyNative" if chosen[0] == "latency_native" else chosen[0]
    part = getattr(spec, chosen[0])
    if part.grouping:
        problems.error(
            doc,
            (*path, kind, "grouping"),
            "grouping is not supported: a meshwatch SLO is one objective, not one per "
            f"{', '.join(part.grouping)}; write one SLO per value (or leave grouping out)",
        )
        return None
    at: FieldPath = (*path, kind)
    try:
        if isinstance(part, Ratio):
            total = parse_selector(part.total.metric)
            return RatioSLI(total=total, bad=parse_selector(part.errors.metric))
        if isinstance(part, Latency):
            return _latency(part, doc, at, problems)
        if isinstance(part, LatencyNative):
            return _latency_native(part, doc, at, problems)
        assert isinstance(part, BoolGauge)
        gauge = parse_selector(part.metric).promql()
    except PromQLError as exc:
        problems.error(doc, at, str(exc))
        return None
    # Pyrra: good = samples at 1, total = samples; as increases of sample counts.
    return QuerySLI(
        total=f"sum(count_over_time({gauge}[{{{{.window}}}}]))",
        good=f"sum(sum_over_time({gauge}[{{{{.window}}}}]))",
    )


def _latency(part: Latency, doc: Document, at: FieldPath, problems: Problems) -> SLI | None:
    sli = bucket_sli(part.success.metric)
    total = parse_selector(part.total.metric)
    if not same_series(total, sli):
        problems.error(
            doc,
            (*at, "total", "metric"),
            f"total must be {sli.histogram}_count with the success selector's matchers "
            f"(without le); found {part.total.metric!r}",
        )
        return None
    return sli


def _latency_native(
    part: LatencyNative, doc: Document, at: FieldPath, problems: Problems
) -> SLI | None:
    """Pyrra's native histograms are in seconds: `latency: 200ms` -> threshold 0.2."""
    selector = parse_selector(part.total.metric)
    if selector.metric.endswith(("_bucket", "_count", "_sum")):
        problems.error(
            doc,
            (*at, "total", "metric"),
            f"{selector.metric!r} is a classic histogram series; name the native histogram",
        )
        return None
    try:
        threshold = parse_latency_ms(part.latency) / 1000.0
    except ValueError as exc:
        problems.error(doc, (*at, "latency"), str(exc))
        return None
    return NativeLatencySLI(selector.metric, threshold, selector.matchers)
