"""Alert rules of one SLO: one multiwindow multi-burn-rate alert per severity, and absent data.

A burn alert ORs its conditions; each condition needs the long AND the short window above the
factor, and enough requests in the long window (the minimum-traffic guard, see
`rules_common.min_requests`):

    (meshwatch:sli_error:ratio_rate1h{S} / 0.001 > 14.4
       and meshwatch:sli_error:ratio_rate5m{S} / 0.001 > 14.4
       and meshwatch:sli_requests:increase1h{S} >= 70)
    or (... 6h / 30m > 6 ...)

All operands carry the same labels, so `and`/`or` match one to one and two conditions firing
together still give one series per SLO and severity. The value is the burn rate over the long
window of the first firing condition, shown in the `burn_rate` annotation. No `for:` - the
short window is what makes the alert stop soon after the errors stop (SRE Workbook ch. 5).
A ratio is NaN without traffic, so an idle service never burns.
"""

from __future__ import annotations

from datetime import timedelta
from typing import assert_never

from meshwatch import conventions as c
from meshwatch.model import (
    SLO,
    BurnRateWindow,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Severity,
)
from meshwatch.render.rule_types import AlertingRule
from meshwatch.render.rules_common import (
    BASE,
    burn_windows,
    dur,
    min_failures_expr,
    min_requests,
    num,
    ref,
)
from meshwatch.sli import counts_are_events, has_counts


def _guard(slo: SLO, window: BurnRateWindow) -> str:
    """The long window's traffic (explicit `min_requests`) or failed requests (default)."""
    long = dur(window.long)
    explicit = min_requests(slo)
    if explicit is not None:
        return f"{ref(c.rule_requests_increase(long), slo)} >= {explicit}"
    # the period's requests so far, as `policy.min_failures` reads them: the calendar
    # period's own accumulation, or the whole rolling window
    so_far = c.PERIOD_SUFFIX if slo.window.unit is not None else dur(slo.window.length)
    period = ref(c.rule_requests_increase(so_far), slo)
    errors = ref(c.rule_errors_increase(long), slo)
    return f"{errors} >= {min_failures_expr(slo, window, period)}"


def _condition(slo: SLO, window: BurnRateWindow) -> str:
    budget, factor = num(slo.error_budget), num(window.factor)
    # Timeslices: the burn rate in slices (bad-slice share / budget); a bad slice had traffic,
    # so no traffic guard
    name = c.rule_error_ratio if slo.timeslices is None else c.rule_slice_bad_share
    parts = [f"{ref(name(dur(w)), slo)} / {budget} > {factor}" for w in (window.long, window.short)]
    if counts_are_events(slo.sli) and slo.timeslices is None:
        parts.append(_guard(slo, window))
    return "(\n  " + "\n  and\n  ".join(parts) + "\n)"


def _describe(windows: tuple[BurnRateWindow, ...]) -> str:
    return " ".join(f"{dur(w.long)}/{dur(w.short)}>{num(w.factor)}x" for w in windows)


def alert_labels(
    slo: SLO, severity: str, extra: tuple[tuple[str, str], ...] = ()
) -> dict[str, str]:
    """The spec's labels, the alerting and severity labels, then meshwatch's (which win).

    `severity` is `page`/`ticket` unless the spec sets its own - users route on it.
    """
    labels = {**dict(slo.labels), **dict(slo.alerting.labels), **dict(extra)}
    labels.setdefault(c.USER_SEVERITY, severity)
    labels[c.LABEL_SEVERITY] = severity
    labels[c.LABEL_SERVICE] = slo.service
    labels[c.LABEL_SLO] = slo.name
    return dict(sorted(labels.items()))


def _links(slo: SLO) -> dict[str, str]:
    links = {}
    if slo.alerting.runbook_url:
        links[c.ANNOTATION_RUNBOOK] = slo.alerting.runbook_url
    if slo.alerting.dashboard_url:
        links[c.ANNOTATION_DASHBOARD] = slo.alerting.dashboard_url
    return links


def _burn_alert(slo: SLO, severity: Severity, windows: tuple[BurnRateWindow, ...]) -> AlertingRule:
    period = slo.window.name
    guard = ""
    if slo.timeslices is not None:
        guard = f"; counted in {dur(slo.timeslices.slice)} slices"
    elif counts_are_events(slo.sli):
        explicit = min_requests(slo)
        guard = (
            f"; each long window needs {explicit} requests"
            if explicit is not None
            else "; each long window needs 2 failed requests, or fewer when they spend the"
            " condition's share of the budget"
        )
    annotations = {
        c.ANNOTATION_SUMMARY: (
            f"{slo.service} {slo.name}: error budget burning too fast "
            f"({num(slo.objective)}% over {period})"
        ),
        c.ANNOTATION_DESCRIPTION: (
            f"{slo.service} {slo.name} is spending its {period} error budget "
            '{{ printf "%.1f" $value }}x as fast as sustainable over the long window '
            f"(fires when long and short windows are above: {_describe(windows)}{guard})."
        ),
        c.ANNOTATION_BURN_RATE: '{{ printf "%.2f" $value }}',
        c.ANNOTATION_BURN_WINDOWS: _describe(windows),
        **_links(slo),
        **dict(slo.alerting.annotations),
    }
    page = severity is Severity.PAGE
    annotations.update(slo.alerting.page_annotations if page else slo.alerting.ticket_annotations)
    extra = slo.alerting.page_labels if page else slo.alerting.ticket_labels
    hold = max(w.alert_after for w in windows)  # OpenSLO alertAfter: the condition must hold
    return AlertingRule(
        alert=slo.alerting.name or c.ALERT_BURN,
        expr="\nor\n".join(_condition(slo, w) for w in windows),
        labels=alert_labels(slo, severity.value, extra),
        annotations=dict(sorted(annotations.items())),
        for_=dur(hold) if hold > timedelta(0) else None,
    )


def _bucket_hint(slo: SLO) -> str:
    sli = slo.sli
    match sli:
        case LatencySLI():
            return f", or {num(sli.threshold)} is not a bucket bound (le) of {sli.histogram}"
        case NativeLatencySLI():
            return (
                f", or {sli.histogram} is not a native histogram (Prometheus keeps none without "
                "--enable-feature=native-histograms)"
            )
        case RatioSLI() | QuerySLI() | RawSLI():
            return ""
        case _:
            assert_never(sli)


def _absent_alert(slo: SLO) -> AlertingRule:
    base = dur(BASE)
    if has_counts(slo.sli):
        watched = [c.rule_requests_increase(base), c.rule_errors_increase(base)]
    else:
        watched = [c.rule_error_ratio(base)]
    expr = " or ".join(f"absent({ref(name, slo)})" for name in watched)
    annotations = {
        c.ANNOTATION_SUMMARY: f"{slo.service} {slo.name}: no SLI data",
        c.ANNOTATION_DESCRIPTION: (
            f"The SLI series of {slo.service} {slo.name} have been missing for "
            f"{dur(slo.alerting.absent_for)}: the service, its metrics or the selector is "
            f"gone{_bucket_hint(slo)}, and burn-rate alerts cannot fire without data."
        ),
        **_links(slo),
    }
    return AlertingRule(
        alert=c.ALERT_ABSENT,
        expr=expr,
        labels=alert_labels(slo, c.SEVERITY_TICKET, slo.alerting.ticket_labels),
        annotations=dict(sorted(annotations.items())),
        for_=dur(slo.alerting.absent_for),
    )


def alert_rules(slo: SLO) -> list[AlertingRule]:
    """Page and ticket burn alerts (when enabled and any condition applies), then absent data
    (unless the spec turned every alert off)."""
    windows = burn_windows(slo)
    rules = []
    for severity in (Severity.PAGE, Severity.TICKET):
        chosen = tuple(w for w in windows if w.severity is severity)
        if chosen:
            rules.append(_burn_alert(slo, severity, chosen))
    if slo.alerting.absent:
        rules.append(_absent_alert(slo))
    return rules
