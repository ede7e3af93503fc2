"""OpenSLO AlertPolicy / AlertCondition (burn rate) -> burn-rate windows."""

from __future__ import annotations

from pydantic import BaseModel

from meshwatch.model import Alerting, BurnRateWindow, Severity, Window, parse_duration
from meshwatch.spec.checks import burn_rate_window, default_windows
from meshwatch.spec.openslo import models as m
from meshwatch.spec.openslo.registry import Registry
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath

PAGE_SEVERITIES = frozenset({"page", "critical", "high"})
TICKET_SEVERITIES = frozenset({"ticket", "warning", "low", "info"})


def alerting_from_policies(
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
