"""slo-generator `sre.google.com/v2` ServiceLevelObjective (Prometheus backend) -> domain SLOs.

Mapped: `metadata.labels.service_name` -> service, `metadata.name` -> SLO name, `spec.goal`
(a ratio) -> objective, `spec.description`, and the SLI by `spec.method`:
- `good_bad_ratio`: `filter_good` / `filter_bad` / `filter_valid` selectors (with `[window]`)
  -> a counter ratio (good + bad without valid -> total = good + bad);
- `query_sli`: `expression`, a good ratio with `[window]` -> error ratio `1 - (expression)`;
- `distribution_cut`: `expression` `X_bucket{...}` and `threshold_bucket` -> latency.
slo-generator has no SLO period (it reports over each error-budget-policy step), so the
period is 28 d, the longest step of its default policy, with the Workbook's alerts for it.
Refused by name: backends other than prometheus, `good_below_threshold: false`.
`exporters`, `error_budget_policy` and `frequency` drive slo-generator's own runs: not read.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.errors import PromQLError
from meshwatch.model import (
    SLI,
    SLO,
    Alerting,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
    SourceRef,
    Window,
)
from meshwatch.promql.template import SLO_GENERATOR_WINDOW, split
from meshwatch.spec.checks import (
    Found,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    object_slo,
    parse_window,
)
from meshwatch.spec.fields import OptionalList, OptionalMap, Text
from meshwatch.spec.histograms import bucket_sli
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.promql import check_template, parse_selector
from meshwatch.spec.source import Document, FieldPath

API_VERSION: Final = "sre.google.com/v2"
FORMAT: Final = "slo-generator"
PERIOD = "28d"
_OWN_LABELS = ("service_name", "feature_name", "slo_name")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Indicator(_Spec):
    filter_good: str | None = None
    filter_bad: str | None = None
    filter_valid: str | None = None
    expression: str | None = None
    threshold_bucket: float | None = None
    good_below_threshold: bool = True


class Spec(_Spec):
    description: str = ""
    backend: str
    method: Literal["good_bad_ratio", "query_sli", "distribution_cut"]
    service_level_indicator: Indicator
    goal: float
    exporters: OptionalList[Any] = Field(default_factory=list)
    error_budget_policy: str = "default"
    frequency: Any = None


class Metadata(_Spec):
    name: str
    labels: OptionalMap[Text] = Field(default_factory=dict)
    annotations: OptionalMap[Text] = Field(default_factory=dict)


class ServiceLevelObjective(_Spec):
    api_version: Literal["sre.google.com/v2"] = Field(alias="apiVersion")
    kind: Literal["ServiceLevelObjective"]
    metadata: Metadata
    spec: Spec


def load_slo_generator(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    obj = validate(ServiceLevelObjective, doc, problems)
    if obj is None:
        return []
    before = problems.error_count
    spec, labels = obj.spec, dict(obj.metadata.labels)
    service = labels.get("service_name")
    if service is None:
        problems.error(doc, ("metadata", "labels"), "set labels.service_name (the SLO's service)")
    else:
        check_name(service, doc, ("metadata", "labels", "service_name"), problems)
    check_name(obj.metadata.name, doc, ("metadata", "name"), problems)
    if spec.backend.lower() != "prometheus":
        problems.error(
            doc,
            ("spec", "backend"),
            f"backend {spec.backend!r} is not supported; meshwatch reads Prometheus",
        )
    objective = None
    if not 0 < spec.goal < 1:
        problems.error(
            doc, ("spec", "goal"), f"goal {spec.goal:g} is outside (0, 1); it is a ratio"
        )
    else:
        objective = round(spec.goal * 100, 10)
        check_objective(objective, doc, ("spec", "goal"), problems)
    rest = {k: v for k, v in labels.items() if k not in _OWN_LABELS}
    slo_labels = check_labels(rest, doc, ("metadata", "labels"), problems)
    sli = None
    if spec.backend.lower() == "prometheus":  # other backends' filters are not PromQL
        sli = _sli(spec, doc, ("spec", "service_level_indicator"), problems)
    if problems.error_count > before or service is None or objective is None or sli is None:
        return []
    window: Window = parse_window(PERIOD)
    slo = SLO(
        service=service,
        name=obj.metadata.name,
        objective=objective,
        window=window,
        sli=sli,
        description=spec.description,
        labels=slo_labels,
        alerting=Alerting(windows=default_windows(window)),
        source=SourceRef(doc.file, doc.line, FORMAT),
    )
    return object_slo(slo, doc, problems)


def _sli(spec: Spec, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    sli = spec.service_level_indicator
    allowed = {
        "good_bad_ratio": {"filter_good", "filter_bad", "filter_valid"},
        "query_sli": {"expression"},
        "distribution_cut": {"expression", "threshold_bucket", "good_below_threshold"},
    }[spec.method]
    given = {k for k in sli.model_fields_set if getattr(sli, k) is not None}
    for name in sorted(given - allowed):
        problems.error(doc, (*path, name), f"{name} is not a field of method {spec.method}")
    if given - allowed:
        return None
    try:
        if spec.method == "good_bad_ratio":
            return _ratio(sli, doc, path, problems)
        if spec.method == "query_sli":
            return _query(sli, doc, path, problems)
        return _distribution(sli, doc, path, problems)
    except PromQLError as exc:
        problems.error(doc, path, str(exc))
        return None


def _without_window(text: str, window: str = "") -> str:
    """slo-generator's `[window]` placeholder replaced (by `window`)."""
    return split(text, SLO_GENERATOR_WINDOW).render(window).strip()


def _selector(text: str) -> Selector:
    """A filter as written (`metric{...}[window]`) -> the selector, checked."""
    return parse_selector(_without_window(text))


def _ratio(sli: Indicator, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    good, bad, valid = sli.filter_good, sli.filter_bad, sli.filter_valid
    if valid is not None and (good is None) != (bad is None):
        total = _selector(valid)
        if good is not None:
            return RatioSLI(total=total, good=_selector(good))
        assert bad is not None
        return RatioSLI(total=total, bad=_selector(bad))
    if valid is None and good is not None and bad is not None:
        rate = "sum(rate({}[{{{{.window}}}}]))"
        good_q, bad_q = rate.format(_selector(good).promql()), rate.format(_selector(bad).promql())
        return QuerySLI(total=f"{good_q} + {bad_q}", bad=bad_q)
    problems.error(
        doc, path, "set filter_valid with one of filter_good, filter_bad (or filter_good and "
        "filter_bad)"
    )  # fmt: skip
    return None


def _query(sli: Indicator, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    if sli.expression is None:
        problems.error(doc, (*path, "expression"), "required field is missing")
        return None
    template = _without_window(sli.expression, "[{{.window}}]")
    check_template(template)
    return RawSLI(error_ratio=f"1 - ({template})")


def _distribution(sli: Indicator, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    if sli.expression is None or sli.threshold_bucket is None:
        missing = "expression" if sli.expression is None else "threshold_bucket"
        problems.error(doc, (*path, missing), "required field is missing")
        return None
    if not sli.good_below_threshold:
        problems.error(
            doc,
            (*path, "good_below_threshold"),
            "good_below_threshold: false is not supported; meshwatch counts requests at or "
            "under the threshold as good",
        )
        return None
    return bucket_sli(_without_window(sli.expression), sli.threshold_bucket)
