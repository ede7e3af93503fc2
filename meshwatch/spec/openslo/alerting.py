"""OpenSLO AlertPolicy / AlertCondition (burn rate) -> burn-rate windows.

A condition `{kind: burnrate, op, threshold, lookbackWindow, alertAfter}` becomes one
multiwindow condition: long = lookbackWindow, short = lookbackWindow / 12, factor = threshold,
held for alertAfter (the alert's `for:`). `op` reads both ways OpenSLO documents use it:
`gt`/`gte` say when to alert (burn rate above the threshold), `lt`/`lte` say what must hold
(the burn rate stays at or below it; OpenSLO's README writes `op: lte`), so all four alert
when the burn rate exceeds the threshold (`>=` and `>` are the same test on a measured rate).
"""

from __future__ import annotations

from datetime import timedelta

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


def check_policy_refs(registry: Registry, problems: Problems) -> None:
    """Every conditionRef and targetRef of every AlertPolicy document resolves, used or not."""
    for entry in registry.kinds.get("AlertPolicy", {}).values():
        assert isinstance(entry.model, m.AlertPolicyDocument)
        _check_refs(entry.model.spec, entry.doc, ("spec",), registry, problems)


def _check_refs(
    policy: m.AlertPolicySpec,
    doc: Document,
    path: FieldPath,
    registry: Registry,
    problems: Problems,
) -> None:
    for index, item in enumerate(policy.conditions):
        ref = item.condition_ref
        if ref is not None and registry.missing("AlertCondition", ref):
            problems.error(
                doc,
                (*path, "conditions", index, "conditionRef"),
                f"conditionRef {ref!r} names no AlertCondition document in the loaded files",
            )
    for index, target in enumerate(policy.notification_targets):
        ref = target.get("targetRef")
        if isinstance(ref, str) and registry.missing("AlertNotificationTarget", ref):
            problems.error(
                doc,
                (*path, "notificationTargets", index, "targetRef"),
                f"targetRef {ref!r} names no AlertNotificationTarget document in the loaded files",
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
        if registry.missing(kind, ref):
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
    _check_refs(policy, doc, path, registry, problems)
    if not policy.alert_when_breaching:
        problems.warning(
            doc, (*path, "alertWhenBreaching"), "ignored: meshwatch always alerts on breach"
        )
    if len(policy.conditions) != 1:
        return None  # reported by the OpenSLO rules (exactly one condition)
    resolved = _resolve(
        policy.conditions[0].condition_ref, policy.conditions[0].spec, "AlertCondition", doc,
        (*path, "conditions", 0), "conditionRef", registry, problems,
    )  # fmt: skip
    if resolved is None:
        return None
    spec, cond_doc, cond_path = resolved
    assert isinstance(spec, m.AlertConditionSpec)
    burn = _condition(spec, window, cond_doc, cond_path, problems)
    return None if burn is None else [burn]


def _severity(
    spec: m.AlertConditionSpec, doc: Document, path: FieldPath, problems: Problems
) -> Severity | None:
    name = spec.severity.lower()
    if name in PAGE_SEVERITIES:
        return Severity.PAGE
    if name in TICKET_SEVERITIES:
        return Severity.TICKET
    problems.error(
        doc,
        (*path, "severity"),
        f"unknown severity {spec.severity!r}; use page, critical or high (page) or "
        "ticket, warning, low or info (ticket)",
    )
    return None


def _condition(
    spec: m.AlertConditionSpec, window: Window, doc: Document, path: FieldPath, problems: Problems
) -> BurnRateWindow | None:
    severity = _severity(spec, doc, path, problems)
    at: FieldPath = (*path, "condition")
    condition = spec.condition
    long = _duration(condition.lookback_window, doc, (*at, "lookbackWindow"), problems)
    alert_after = timedelta(0)
    if condition.alert_after is not None:
        after = _duration(condition.alert_after, doc, (*at, "alertAfter"), problems)
        alert_after = after if after is not None else timedelta(-1)
    if severity is None or long is None or alert_after < timedelta(0):
        return None
    result = burn_rate_window(severity, long, long / 12, condition.threshold, None, window)
    if isinstance(result, str):
        problems.error(doc, at, result)
        return None
    if alert_after >= long:
        problems.error(
            doc,
            (*at, "alertAfter"),
            f"alertAfter {condition.alert_after} must be shorter than lookbackWindow "
            f"{condition.lookback_window}",
        )
        return None
    return BurnRateWindow(
        result.severity, result.long, result.short, result.budget_share, result.factor,
        alert_after,
    )  # fmt: skip


def _duration(text: str, doc: Document, path: FieldPath, problems: Problems) -> timedelta | None:
    try:
        return parse_duration(text)
    except ValueError as exc:
        problems.error(doc, path, str(exc))
        return None
