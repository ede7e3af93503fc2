"""OpenSLO `openslo/v1alpha` SLO documents, read the way Sloth reads them.

Sloth's only OpenSLO version: every objective becomes one SLO named `<metadata.name>-<index>`
(as Sloth names them), with `ratioMetrics` of a `good` and a `total` PromQL template (with
`{{.window}}`; source prometheus, queryType promql), `target` as a ratio, and one rolling
`timeWindows` entry (`count` + `unit`). `budgetingMethod` must be Occurrences; alerts are the
Workbook's for the period. Service documents are accepted and carry nothing meshwatch needs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.model import SLO, Alerting, SourceRef, Window
from meshwatch.spec.checks import (
    Found,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    slo_warnings,
)
from meshwatch.spec.fields import OptionalList, OptionalMap
from meshwatch.spec.openslo.rules import NOT_YET
from meshwatch.spec.openslo.rules import check_name as check_dns_name
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import events_sli

API_VERSION: Final = "openslo/v1alpha"
FORMAT: Final = "openslo/v1alpha"
_UNITS = {
    "Second": timedelta(seconds=1),
    "Minute": timedelta(minutes=1),
    "Hour": timedelta(hours=1),
    "Day": timedelta(days=1),
    "Week": timedelta(weeks=1),
}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Metadata(_Spec):
    name: str
    display_name: str = Field(default="", alias="displayName")
    labels: OptionalMap[str] = Field(default_factory=dict)


class Query(_Spec):
    source: str
    query_type: str = Field(alias="queryType")
    query: str
    metadata: Any = None


class RatioMetrics(_Spec):
    good: Query
    total: Query
    incremental: bool = True


class Objective(_Spec):
    display_name: str = Field(default="", alias="displayName")
    target: float
    value: float | None = None
    ratio_metrics: RatioMetrics | None = Field(default=None, alias="ratioMetrics")
    op: str | None = None


class TimeWindow(_Spec):
    count: int
    unit: str
    is_rolling: bool = Field(default=True, alias="isRolling")
    calendar: Any = None


class SLOSpec(_Spec):
    description: str = ""
    service: str
    budgeting_method: str = Field(alias="budgetingMethod")
    objectives: list[Objective] = Field(min_length=1)
    time_windows: OptionalList[TimeWindow] = Field(alias="timeWindows")
    indicator: Any = None
    threshold_metric: Any = Field(default=None, alias="thresholdMetric")


class SLODocument(_Spec):
    api_version: Literal["openslo/v1alpha"] = Field(alias="apiVersion")
    kind: Literal["SLO"]
    metadata: Metadata
    spec: SLOSpec


class ServiceDocument(_Spec):
    api_version: Literal["openslo/v1alpha"] = Field(alias="apiVersion")
    kind: Literal["Service"]
    metadata: Metadata
    spec: dict[str, Any] = Field(default_factory=dict)


def load_v1alpha(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    kind = doc.data.get("kind")
    if kind == "Service":
        validate(ServiceDocument, doc, problems)
        return []
    if kind != "SLO":
        problems.error(doc, ("kind",), f"unknown {API_VERSION} kind {kind!r}; use SLO or Service")
        return []
    obj = validate(SLODocument, doc, problems)
    if obj is None:
        return []
    spec = obj.spec
    before = problems.error_count
    check_dns_name(obj.metadata.name, doc, ("metadata", "name"), problems)
    check_dns_name(spec.service, doc, ("spec", "service"), problems)
    labels = check_labels(dict(obj.metadata.labels), doc, ("metadata", "labels"), problems)
    if spec.budgeting_method != "Occurrences":
        problems.error(
            doc,
            ("spec", "budgetingMethod"),
            f"budgetingMethod {spec.budgeting_method!r} {NOT_YET}; use Occurrences",
        )
    for name in ("indicator", "threshold_metric"):
        if getattr(spec, name) is not None:
            field = SLOSpec.model_fields[name].alias or name
            problems.error(doc, ("spec", field), f"{field} is not read in {API_VERSION} (Sloth "
                           "reads ratioMetrics only)")  # fmt: skip
    window = _window(spec.time_windows, doc, problems)
    found = []
    for index, objective in enumerate(spec.objectives):
        path: FieldPath = ("spec", "objectives", index)
        slo = _slo(obj, objective, index, window, labels, doc, path, problems)
        if slo is not None:
            found.append(Found.at(slo, doc, ("metadata",)))
    return found if problems.error_count == before else []


def _window(windows: list[TimeWindow], doc: Document, problems: Problems) -> Window | None:
    path: FieldPath = ("spec", "timeWindows")
    if len(windows) != 1:
        problems.error(doc, path, f"give exactly one time window (found {len(windows)})")
        return None
    window, at = windows[0], (*path, 0)
    unit = _UNITS.get(window.unit)
    if not window.is_rolling or window.calendar is not None:
        problems.error(doc, at, f"calendar windows are not read in {API_VERSION}; use isRolling")
        return None
    if unit is None or window.count <= 0:
        problems.error(
            doc,
            (*at, "unit"),
            f"unknown window {window.count} {window.unit}; use a positive count of "
            f"{', '.join(_UNITS)}",
        )
        return None
    length = unit * window.count
    if length < timedelta(hours=1):
        problems.error(doc, at, "the window is shorter than 1h; SLO periods are hours to weeks")
        return None
    return Window.rolling(length)


def _slo(
    obj: SLODocument,
    objective: Objective,
    index: int,
    window: Window | None,
    labels: tuple[tuple[str, str], ...],
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> SLO | None:
    name = f"{obj.metadata.name}-{index}"
    check_name(name, doc, ("metadata", "name"), problems)
    ok = 0 < objective.target < 1
    if not ok:
        problems.error(
            doc, (*path, "target"), f"target {objective.target:g} is outside (0, 1); it is a ratio"
        )
    percent = round(objective.target * 100, 10)
    ok = ok and check_objective(percent, doc, (*path, "target"), problems)
    ratio = objective.ratio_metrics
    if ratio is None:
        problems.error(doc, path, "set ratioMetrics (the only SLI Sloth reads in v1alpha)")
        return None
    at: FieldPath = (*path, "ratioMetrics")
    for part in ("good", "total"):
        query: Query = getattr(ratio, part)
        if query.source.lower() != "prometheus" or query.query_type.lower() != "promql":
            problems.error(
                doc,
                (*at, part),
                f"source {query.source!r} / queryType {query.query_type!r} is not supported; "
                "use source: prometheus, queryType: promql",
            )
            ok = False
    sli = events_sli(
        doc,
        problems,
        total=(ratio.total.query, (*at, "total", "query")),
        bad=None,
        good=(ratio.good.query, (*at, "good", "query")),
        at=at,
        names="good",
    )
    if not ok or sli is None or window is None:
        return None
    slo = SLO(
        service=obj.spec.service,
        name=name,
        objective=percent,
        window=window,
        sli=sli,
        description=obj.spec.description,
        labels=labels,
        alerting=Alerting(windows=default_windows(window)),
        source=SourceRef(doc.file, doc.line_of(path), FORMAT),
    )
    slo_warnings(slo, doc, path, problems)
    return slo
