"""OpenSLO `openslo/v1`: SLO, SLI, AlertPolicy, AlertCondition, Service, DataSource documents.

References (`indicatorRef`, `alertPolicyRef`, `conditionRef`, `metricSourceRef`) resolve
across every loaded file, so documents are first registered, then SLOs are mapped.
What maps, and how (anything else is an error, never dropped):

- `spec.service` -> service, `metadata.name` -> SLO name, `metadata.labels` -> labels
  (a list value is joined with ","), `spec.description`.
- One objective with `target` (0..1) or `targetPercent` (0..100) -> objective percent.
  Timeslices (`timeSliceTarget`/`timeSliceWindow`), composite objectives and several
  objectives are not supported; `budgetingMethod` must be `Occurrences`.
- `timeWindow`: `{duration: 28d, isRolling: true}` -> rolling; `{duration: 1M|1w,
  calendar: {timeZone: UTC}}` -> calendar-month / calendar-week (UTC only).
- `ratioMetric` with `good` or `bad` and `total`, each a Prometheus `metricSource.spec.query`:
  plain counter selectors (with `counter: true`) -> a ratio of counters; PromQL templates
  with `{{.window}}` -> query SLI (a ratio of counters when both are
  `sum(rate(COUNTER[{{.window}}]))`). `raw` + `rawType: failure|success` -> error ratio
  (`1 - (query)` for success). `thresholdMetric` is not supported.
- AlertPolicy conditions `{kind: burnrate, op: gt|gte, threshold, lookbackWindow}` -> one
  burn-rate window each: long = lookbackWindow, short = lookbackWindow / 12, factor =
  threshold; severity page|critical|high -> page, ticket|warning|low|info -> ticket.
  No alertPolicies -> the default Workbook windows. meshwatch always alerts on breach and
  on missing data; notification targets are ignored with a warning (route in Alertmanager).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, TypeVar

from pydantic import BaseModel

from meshwatch.model import (
    SLI,
    SLO,
    Alerting,
    BurnRateWindow,
    CalendarUnit,
    RatioSLI,
    RawSLI,
    Selector,
    Severity,
    SourceRef,
    Window,
    parse_duration,
)
from meshwatch.spec import openslo_models as m
from meshwatch.spec.checks import (
    Found,
    burn_rate_window,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    slo_warnings,
)
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.promql import WINDOW_RE, PromQLError, parse_selector
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import checked_query, events_sli, raw_sli

FORMAT: Final = "openslo/v1"
PAGE_SEVERITIES = frozenset({"page", "critical", "high"})
TICKET_SEVERITIES = frozenset({"ticket", "warning", "low", "info"})
D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Entry:
    doc: Document
    model: BaseModel


@dataclass
class Registry:
    """Every valid OpenSLO document of a load, by kind and `metadata.name`."""

    kinds: dict[str, dict[str, Entry]] = field(default_factory=dict)

    def add(self, doc: Document, problems: Problems) -> None:
        kind = doc.data.get("kind")
        model = m.DOCUMENTS.get(kind) if isinstance(kind, str) else None
        if model is None:
            problems.error(
                doc,
                ("kind",),
                f"unknown OpenSLO kind {kind!r}; use one of {', '.join(m.DOCUMENTS)}",
            )
            return
        parsed = validate(model, doc, problems)
        if parsed is None:
            return
        assert isinstance(kind, str)
        by_name = self.kinds.setdefault(kind, {})
        earlier = by_name.get(parsed.metadata.name)
        if earlier is not None:
            problems.error(
                doc,
                ("metadata", "name"),
                f"duplicate {kind} {parsed.metadata.name!r}, first defined at "
                f"{earlier.doc.file}:{earlier.doc.line_of(('metadata', 'name'))}",
            )
            return
        by_name[parsed.metadata.name] = Entry(doc, parsed)

    def get(self, kind: str, name: str) -> Entry | None:
        return self.kinds.get(kind, {}).get(name)


def load_slos(registry: Registry, problems: Problems) -> list[Found]:
    found = []
    for entry in registry.kinds.get("SLO", {}).values():
        assert isinstance(entry.model, m.SLODocument)
        slo = _slo(entry.model, entry.doc, registry, problems)
        if slo is not None:
            found.append(Found(slo, entry.doc, ("metadata",)))
    for entry in registry.kinds.get("AlertNotificationTarget", {}).values():
        problems.warning(
            entry.doc,
            ("kind",),
            "AlertNotificationTarget is not used: meshwatch alerts go through Alertmanager routes",
        )
    return found


def _slo(
    doc_model: m.SLODocument, doc: Document, registry: Registry, problems: Problems
) -> SLO | None:
    spec = doc_model.spec
    before = len(problems.errors)
    check_name(spec.service, doc, ("spec", "service"), problems)
    check_name(doc_model.metadata.name, doc, ("metadata", "name"), problems)
    labels = _labels(doc_model.metadata, doc, problems)
    window = _window(spec.time_window, doc, ("spec", "timeWindow"), problems)
    if spec.budgeting_method != "Occurrences":
        problems.error(
            doc,
            ("spec", "budgetingMethod"),
            f"budgetingMethod {spec.budgeting_method!r} is not supported; meshwatch budgets "
            "by Occurrences (good events / total events, request-weighted)",
        )
    objective = _objective(spec.objectives, doc, problems)
    sli = _indicator(spec, doc, registry, problems)
    alerting = None
    if window is not None:
        alerting = _alerting(spec.alert_policies, window, doc, registry, problems)
    if len(problems.errors) > before or None in (window, objective, sli, alerting):
        return None
    assert window is not None and objective is not None and sli is not None
    assert alerting is not None
    slo = SLO(
        service=spec.service,
        name=doc_model.metadata.name,
        objective=objective,
        window=window,
        sli=sli,
        description=spec.description,
        labels=labels,
        alerting=alerting,
        source=SourceRef(doc.file, doc.line, FORMAT),
    )
    slo_warnings(slo, doc, ("spec",), problems)
    return slo


def _labels(metadata: m.Metadata, doc: Document, problems: Problems) -> tuple[tuple[str, str], ...]:
    flat = {k: v if isinstance(v, str) else ",".join(v) for k, v in metadata.labels.items()}
    return check_labels(flat, doc, ("metadata", "labels"), problems)


# --- window and objective ----------------------------------------------------------------


def _window(
    windows: list[m.TimeWindow], doc: Document, path: FieldPath, problems: Problems
) -> Window | None:
    if len(windows) != 1:
        problems.error(doc, path, f"give exactly one time window (found {len(windows)})")
        return None
    spec, at = windows[0], (*path, 0)
    if spec.is_rolling is True and spec.calendar is None:
        try:
            return Window.rolling(parse_duration(spec.duration))
        except ValueError:
            problems.error(
                doc,
                (*at, "duration"),
                f"unknown window {spec.duration!r}; rolling windows are in m, h, d or w, e.g. 28d",
            )
            return None
    if spec.is_rolling is True or spec.calendar is None:
        problems.error(doc, at, "set isRolling: true (rolling) or a calendar with isRolling: false")
        return None
    units = {"1M": CalendarUnit.MONTH, "1w": CalendarUnit.WEEK}
    unit = units.get(spec.duration.strip())
    if unit is None:
        problems.error(
            doc,
            (*at, "duration"),
            f"unknown window {spec.duration!r}; calendar windows are 1M (month) or 1w (week)",
        )
        return None
    if spec.calendar.time_zone not in ("UTC", "Etc/UTC"):
        problems.error(
            doc,
            (*at, "calendar", "timeZone"),
            f"time zone {spec.calendar.time_zone!r} is not supported; calendar windows are UTC",
        )
        return None
    _check_start(spec.calendar.start_time, unit, doc, (*at, "calendar", "startTime"), problems)
    return Window.calendar(unit)


def _check_start(
    text: str, unit: CalendarUnit, doc: Document, path: FieldPath, problems: Problems
) -> None:
    """Calendar windows start at 00:00 UTC on the 1st / on Mondays; say so if the file differs."""
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        problems.error(doc, path, f"invalid startTime {text!r}; use e.g. 2024-01-01 00:00:00")
        return
    aligned = start.hour == start.minute == start.second == 0 and (
        start.day == 1 if unit is CalendarUnit.MONTH else start.weekday() == 0
    )
    if not aligned:
        begin = "on the 1st of each month" if unit is CalendarUnit.MONTH else "on Mondays"
        problems.warning(
            doc, path, f"startTime is not used: calendar windows start at 00:00 UTC {begin}"
        )


def _objective(objectives: list[m.Objective], doc: Document, problems: Problems) -> float | None:
    path: FieldPath = ("spec", "objectives")
    if len(objectives) != 1:
        problems.error(doc, path, "exactly one objective is supported (composite SLOs are not)")
        return None
    spec, at = objectives[0], (*path, 0)
    unsupported = {
        "timeSliceTarget": spec.time_slice_target,
        "timeSliceWindow": spec.time_slice_window,
        "compositeWeight": spec.composite_weight,
        "indicator": spec.indicator,
        "indicatorRef": spec.indicator_ref,
    }
    for name, value in unsupported.items():
        if value is not None:
            problems.error(
                doc, (*at, name), f"{name} is not supported (timeslice or composite SLOs)"
            )
    for name, value in {"op": spec.op, "value": spec.value}.items():
        if value is not None:
            problems.warning(doc, (*at, name), f"{name} is ignored: it is for thresholdMetric SLIs")
    if (spec.target is None) == (spec.target_percent is None):
        problems.error(doc, at, "set exactly one of target, targetPercent")
        return None
    if spec.target is not None:
        if not 0 < spec.target < 1:
            problems.error(
                doc,
                (*at, "target"),
                f"target {spec.target:g} is outside (0, 1); target is a ratio "
                "(use targetPercent for percentages)",
            )
            return None
        objective = round(spec.target * 100, 10)
        return objective if check_objective(objective, doc, (*at, "target"), problems) else None
    assert spec.target_percent is not None
    ok = check_objective(spec.target_percent, doc, (*at, "targetPercent"), problems)
    return spec.target_percent if ok else None


# --- indicator ----------------------------------------------------------------------------


def _indicator(
    spec: m.SLOSpec, doc: Document, registry: Registry, problems: Problems
) -> SLI | None:
    if (spec.indicator is None) == (spec.indicator_ref is None):
        problems.error(doc, ("spec",), "set exactly one of indicator, indicatorRef")
        return None
    if spec.indicator is not None:
        return _sli(spec.indicator.spec, doc, ("spec", "indicator", "spec"), registry, problems)
    assert spec.indicator_ref is not None
    entry = registry.get("SLI", spec.indicator_ref)
    if entry is None:
        problems.error(
            doc,
            ("spec", "indicatorRef"),
            f"indicatorRef {spec.indicator_ref!r} names no SLI document in the loaded files",
        )
        return None
    assert isinstance(entry.model, m.SLIDocument)
    return _sli(entry.model.spec, entry.doc, ("spec",), registry, problems)


def _sli(
    spec: m.SLISpec, doc: Document, path: FieldPath, registry: Registry, problems: Problems
) -> SLI | None:
    if spec.threshold_metric is not None:
        problems.error(
            doc,
            (*path, "thresholdMetric"),
            "thresholdMetric SLIs are not supported; use ratioMetric",
        )
        return None
    ratio = spec.ratio_metric
    if ratio is None:
        problems.error(doc, path, "set ratioMetric")
        return None
    at: FieldPath = (*path, "ratioMetric")
    if ratio.raw is not None:
        return _raw(ratio, doc, at, registry, problems)
    if (ratio.good is None) == (ratio.bad is None) or ratio.total is None:
        problems.error(doc, at, "set total and exactly one of good, bad (or raw with rawType)")
        return None
    if ratio.raw_type is not None:
        problems.error(doc, (*at, "rawType"), "rawType is only for raw")
        return None
    part_name = "good" if ratio.good is not None else "bad"
    part = ratio.good or ratio.bad
    assert part is not None
    total_query = _query(ratio.total, doc, (*at, "total"), registry, problems)
    part_query = _query(part, doc, (*at, part_name), registry, problems)
    if total_query is None or part_query is None:
        return None
    total_at: FieldPath = (*at, "total", "metricSource", "spec", "query")
    part_at: FieldPath = (*at, part_name, "metricSource", "spec", "query")
    templated = [WINDOW_RE.search(q) is not None for q in (total_query, part_query)]
    if all(templated):
        return events_sli(
            doc,
            problems,
            total=(total_query, total_at),
            bad=(part_query, part_at) if part_name == "bad" else None,
            good=(part_query, part_at) if part_name == "good" else None,
            at=at,
            names="good, bad",
        )
    if any(templated):
        problems.error(
            doc, at, "mix of a {{.window}} template and a plain selector; write both the same way"
        )
        return None
    return _counters(
        ratio.counter, (total_query, total_at), (part_name, part_query, part_at), doc, at, problems
    )


def _counters(
    counter: bool,
    total: tuple[str, FieldPath],
    part: tuple[str, str, FieldPath],
    doc: Document,
    at: FieldPath,
    problems: Problems,
) -> RatioSLI | None:
    selectors: list[Selector] = []
    for query, path in (total, part[1:]):
        try:
            selectors.append(parse_selector(query))
        except PromQLError as exc:
            problems.error(
                doc,
                path,
                "query is neither a counter selector nor a PromQL template with {{.window}}: "
                f"{exc}",
            )
    if len(selectors) != 2:
        return None
    if not counter:
        problems.error(
            doc, (*at, "counter"), "plain selectors need counter: true (meshwatch takes increases)"
        )
        return None
    total_selector, part_selector = selectors
    if part[0] == "bad":
        return RatioSLI(total=total_selector, bad=part_selector)
    return RatioSLI(total=total_selector, good=part_selector)


def _raw(
    ratio: m.RatioMetric, doc: Document, at: FieldPath, registry: Registry, problems: Problems
) -> RawSLI | None:
    if any(x is not None for x in (ratio.good, ratio.bad, ratio.total)):
        problems.error(doc, at, "raw cannot be combined with good, bad or total")
        return None
    if ratio.raw_type is None:
        problems.error(doc, (*at, "rawType"), "raw needs rawType: failure or success")
        return None
    assert ratio.raw is not None
    query = _query(ratio.raw, doc, (*at, "raw"), registry, problems)
    if query is None:
        return None
    query_at: FieldPath = (*at, "raw", "metricSource", "spec", "query")
    if ratio.raw_type == "success":
        if not checked_query(query, doc, query_at, problems):
            return None
        return RawSLI(error_ratio=f"1 - ({query})")
    return raw_sli(query, doc, query_at, problems)


def _query(
    metric: m.Metric, doc: Document, path: FieldPath, registry: Registry, problems: Problems
) -> str | None:
    """The PromQL of a Prometheus metric source."""
    source, at = metric.metric_source, (*path, "metricSource")
    kind = source.type
    if source.metric_source_ref is not None:
        entry = registry.get("DataSource", source.metric_source_ref)
        if entry is None:
            problems.error(
                doc,
                (*at, "metricSourceRef"),
                f"metricSourceRef {source.metric_source_ref!r} names no DataSource document "
                "in the loaded files",
            )
            return None
        assert isinstance(entry.model, m.DataSourceDocument)
        kind = kind or entry.model.spec.type
    if kind is None or kind.lower() != "prometheus":
        problems.error(
            doc, (*at, "type"), f"metric source type {kind!r} is not supported; use Prometheus"
        )
        return None
    for key in source.spec:
        if key != "query":
            problems.error(doc, (*at, "spec", key), f"unknown field {key!r}; use query")
    query = source.spec.get("query")
    if not isinstance(query, str) or not query.strip():
        problems.error(doc, (*at, "spec", "query"), "a PromQL query (string) is required")
        return None
    return query if not set(source.spec) - {"query"} else None


# --- alerting -----------------------------------------------------------------------------


def _alerting(
    policies: list[m.AlertPolicyItem],
    window: Window,
    doc: Document,
    registry: Registry,
    problems: Problems,
) -> Alerting | None:
    if not policies:
        return Alerting(windows=default_windows(window))
    windows: list[BurnRateWindow] = []
    ok = True
    for index, item in enumerate(policies):
        resolved = _resolve(
            item.alert_policy_ref, item.spec, "AlertPolicy", doc,
            ("spec", "alertPolicies", index), "alertPolicyRef", registry, problems,
        )  # fmt: skip
        if resolved is None:
            ok = False
            continue
        policy, policy_doc, policy_path = resolved
        assert isinstance(policy, m.AlertPolicySpec)
        found = _policy(policy, window, policy_doc, policy_path, registry, problems)
        ok = ok and found is not None
        windows.extend(found or ())
    if not ok:
        return None
    return Alerting(
        page=any(w.severity is Severity.PAGE for w in windows),
        ticket=any(w.severity is Severity.TICKET for w in windows),
        windows=tuple(windows),
    )


def _resolve(
    ref: str | None,
    inline: BaseModel | None,
    kind: str,
    doc: Document,
    path: FieldPath,
    ref_field: str,
    registry: Registry,
    problems: Problems,
) -> tuple[BaseModel, Document, FieldPath] | None:
    """An inline spec or the spec of the `kind` document `ref` names, with where it is."""
    if (ref is None) == (inline is None):
        problems.error(doc, path, f"set exactly one of an inline {kind} or {ref_field}")
        return None
    if inline is not None:
        return inline, doc, (*path, "spec")
    assert ref is not None
    entry = registry.get(kind, ref)
    if entry is None:
        problems.error(
            doc,
            (*path, ref_field),
            f"{ref_field} {ref!r} names no {kind} document in the loaded files",
        )
        return None
    assert isinstance(entry.model, m.AlertPolicyDocument | m.AlertConditionDocument)
    return entry.model.spec, entry.doc, ("spec",)


def _policy(
    policy: m.AlertPolicySpec,
    window: Window,
    doc: Document,
    path: FieldPath,
    registry: Registry,
    problems: Problems,
) -> list[BurnRateWindow] | None:
    if policy.notification_targets:
        problems.warning(
            doc,
            (*path, "notificationTargets"),
            "notification targets are not used: meshwatch alerts go through Alertmanager routes",
        )
    if not policy.alert_when_breaching:
        problems.warning(
            doc, (*path, "alertWhenBreaching"), "ignored: meshwatch always alerts on breach"
        )
    windows: list[BurnRateWindow] = []
    ok = True
    for index, item in enumerate(policy.conditions):
        resolved = _resolve(
            item.condition_ref, item.spec, "AlertCondition", doc,
            (*path, "conditions", index), "conditionRef", registry, problems,
        )  # fmt: skip
        if resolved is None:
            ok = False
            continue
        spec, cond_doc, cond_path = resolved
        assert isinstance(spec, m.AlertConditionSpec)
        burn = _condition(spec, window, cond_doc, cond_path, problems)
        if burn is None:
            ok = False
        else:
            windows.append(burn)
    return windows if ok else None


def _condition(
    spec: m.AlertConditionSpec, window: Window, doc: Document, path: FieldPath, problems: Problems
) -> BurnRateWindow | None:
    severity_name = spec.severity.lower()
    severity = (
        Severity.PAGE
        if severity_name in PAGE_SEVERITIES
        else Severity.TICKET
        if severity_name in TICKET_SEVERITIES
        else None
    )
    if severity is None:
        problems.error(
            doc,
            (*path, "severity"),
            f"unknown severity {spec.severity!r}; use page, critical or high (page) or "
            "ticket, warning, low or info (ticket)",
        )
    at: FieldPath = (*path, "condition")
    condition = spec.condition
    if condition.op in ("lt", "lte"):
        problems.error(
            doc,
            (*at, "op"),
            f"op {condition.op} would alert while the budget is safe; burn-rate conditions "
            "fire above the threshold (use gt or gte)",
        )
        return None
    if condition.alert_after is not None:
        problems.warning(
            doc,
            (*at, "alertAfter"),
            "alertAfter is not used: the short window (lookbackWindow / 12) confirms the burn",
        )
    try:
        long = parse_duration(condition.lookback_window)
    except ValueError as exc:
        problems.error(doc, (*at, "lookbackWindow"), str(exc))
        return None
    if severity is None:
        return None
    result = burn_rate_window(severity, long, long / 12, condition.threshold, None, window)
    if isinstance(result, str):
        problems.error(doc, at, result)
        return None
    return result
