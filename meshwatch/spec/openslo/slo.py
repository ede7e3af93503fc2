"""OpenSLO SLO documents -> domain SLOs: service, name, window, objective."""

from __future__ import annotations

from datetime import datetime

from meshwatch.model import (
    SLO,
    Alerting,
    CalendarUnit,
    SourceRef,
    Timeslices,
    Window,
    parse_duration,
)
from meshwatch.slo.calendar import check_zone
from meshwatch.spec.budgeting import parse_slice, timeslices
from meshwatch.spec.checks import (
    Found,
    check_labels,
    check_objective,
    check_zone_rule,
    default_windows,
    slo_warnings,
)
from meshwatch.spec.openslo import models as m
from meshwatch.spec.openslo.alerting import alerting_from_policies, check_policy_refs
from meshwatch.spec.openslo.indicator import check_unused_sli, sli_from_indicator
from meshwatch.spec.openslo.registry import FORMAT, Registry
from meshwatch.spec.openslo.rules import UTC_ZONES
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath


def load_slos(registry: Registry, problems: Problems) -> list[Found]:
    found = []
    for entry in registry.kinds.get("SLO", {}).values():
        assert isinstance(entry.model, m.SLODocument)
        slo = _slo(entry.model, entry.doc, registry, problems)
        if slo is not None:
            found.append(Found.at(slo, entry.doc, ("metadata",)))
    used = {
        e.model.spec.indicator_ref
        for e in registry.kinds.get("SLO", {}).values()
        if isinstance(e.model, m.SLODocument)
    }
    for name, entry in registry.kinds.get("SLI", {}).items():
        if name not in used:
            check_unused_sli(entry, registry, problems)
    check_policy_refs(registry, problems)
    for doc in registry.invalid_slos:
        _check_raw_refs(doc, registry, problems)
    return found


def _slo(
    doc_model: m.SLODocument, doc: Document, registry: Registry, problems: Problems
) -> SLO | None:
    spec = doc_model.spec
    before = problems.error_count  # names and not-yet features: checked by the OpenSLO rules
    labels = _labels(doc_model.metadata, doc, problems)
    window = _window(spec.time_window, doc, ("spec", "timeWindow"), problems)
    budgeting = spec.budgeting_method
    if budgeting not in ("Occurrences", "Timeslices", "RatioTimeslices"):
        problems.error(
            doc,
            ("spec", "budgetingMethod"),
            f"unknown budgetingMethod {budgeting!r}; use Occurrences, Timeslices or "
            "RatioTimeslices",
        )
    objective = _objective(spec.objectives, doc, problems)
    sli = sli_from_indicator(spec, doc, registry, problems)
    alerting = None
    if window is not None:
        alerting = alerting_from_policies(spec.alert_policies, window, doc, registry, problems)
    sliced = _budgeting(spec, window, alerting, doc, problems)
    if problems.error_count > before:
        return None
    if None in (window, objective, sli, alerting):
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
        timeslices=sliced,
    )
    slo_warnings(slo, doc, ("spec",), problems)
    return slo


def _budgeting(
    spec: m.SLOSpec,
    window: Window | None,
    alerting: Alerting | None,
    doc: Document,
    problems: Problems,
) -> Timeslices | None:
    """`Timeslices` / `RatioTimeslices` with the objective's `timeSliceWindow` and
    `timeSliceTarget` (a ratio in (0, 1]); None for Occurrences."""
    if not spec.objectives:
        return None
    objective, at = spec.objectives[0], ("spec", "objectives", 0)
    method = spec.budgeting_method
    if method not in ("Timeslices", "RatioTimeslices"):
        for name, value in (
            ("timeSliceWindow", objective.time_slice_window),
            ("timeSliceTarget", objective.time_slice_target),
        ):
            if value is not None and method == "Occurrences":
                problems.error(
                    doc, (*at, name), f"{name} needs budgetingMethod Timeslices or RatioTimeslices"
                )
        return None
    slice_path: FieldPath = (*at, "timeSliceWindow")
    length = None
    if objective.time_slice_window is None:
        problems.error(doc, slice_path, f"budgetingMethod {method} needs a timeSliceWindow")
    else:
        length = parse_slice(objective.time_slice_window, doc, slice_path, problems)
    target = objective.time_slice_target
    target_path: FieldPath = (*at, "timeSliceTarget")
    if target is not None and not 0 < target <= 1:
        problems.error(
            doc, target_path, f"timeSliceTarget {target:g} is outside (0, 1]; it is a ratio"
        )
        return None
    burn = None
    if window is not None and alerting is not None:
        burn = alerting.windows or default_windows(window)
    return timeslices(
        ratio=method == "RatioTimeslices",
        slice_length=length,
        target=None if target is None else round(target * 100, 10),
        window=window,
        burn_windows=burn,
        doc=doc,
        slice_path=slice_path,
        target_path=target_path,
        problems=problems,
        missing_target="budgetingMethod Timeslices needs a timeSliceTarget, e.g. 0.95 (a ratio)",
    )


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
    zone = spec.calendar.time_zone.strip()
    zone = "UTC" if zone in UTC_ZONES else zone
    try:
        check_zone(zone)
    except ValueError as exc:
        problems.error(doc, (*at, "calendar", "timeZone"), str(exc))
        return None
    if not check_zone_rule(zone, doc, (*at, "calendar", "timeZone"), problems):
        return None
    start = _check_start(
        spec.calendar.start_time, unit, zone, doc, (*at, "calendar", "startTime"), problems
    )
    return Window.calendar(unit, zone, start.weekday() if start is not None else 0)


def _check_start(
    text: str, unit: CalendarUnit, zone: str, doc: Document, path: FieldPath, problems: Problems
) -> datetime | None:
    """The startTime as written (None when invalid). A week starts on its weekday; periods
    start at local midnight and months on the 1st: say so if the file differs."""
    try:
        start = datetime.fromisoformat(text.strip())
    except ValueError:
        problems.error(doc, path, f"invalid startTime {text!r}; use e.g. 2024-01-01 00:00:00")
        return None
    midnight = start.hour == start.minute == start.second == 0
    if not midnight or (unit is CalendarUnit.MONTH and start.day != 1):
        begin = (
            "on the 1st of each month" if unit is CalendarUnit.MONTH else "on startTime's weekday"
        )
        problems.warning(
            doc,
            path,
            f"startTime is used only for its date: calendar periods start at 00:00 {zone} {begin}",
        )
    return start


def _objective(objectives: list[m.Objective], doc: Document, problems: Problems) -> float | None:
    path: FieldPath = ("spec", "objectives")
    if len(objectives) != 1:
        problems.error(doc, path, "exactly one objective is supported (composite SLOs are not)")
        return None
    spec, at = objectives[0], (*path, 0)
    unsupported: dict[str, object] = {
        "compositeWeight": spec.composite_weight,
        "indicator": spec.indicator,
        "indicatorRef": spec.indicator_ref,
    }
    for name, value in unsupported.items():
        if value is not None:
            problems.error(doc, (*at, name), f"{name} is not supported (composite SLOs)")
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


def _check_raw_refs(doc: Document, registry: Registry, problems: Problems) -> None:
    """The references of an SLO document with shape errors, read from the raw data, so a
    dangling one is reported with the rest."""
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        return
    ref = spec.get("indicatorRef")
    if isinstance(ref, str) and registry.missing("SLI", ref):
        problems.error(
            doc,
            ("spec", "indicatorRef"),
            f"indicatorRef {ref!r} names no SLI document in the loaded files",
        )
    policies = spec.get("alertPolicies")
    for index, item in enumerate(policies if isinstance(policies, list) else []):
        ref = item.get("alertPolicyRef") if isinstance(item, dict) else None
        if isinstance(ref, str) and registry.missing("AlertPolicy", ref):
            problems.error(
                doc,
                ("spec", "alertPolicies", index, "alertPolicyRef"),
                f"alertPolicyRef {ref!r} names no AlertPolicy document in the loaded files",
            )
