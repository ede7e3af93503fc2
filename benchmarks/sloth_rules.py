"""Baseline for `rule_eval` and the promtool comparisons: rules of the shape Sloth v0.16 generates.

Written from the shapes documented in ../shared/research/slo-anchors.md section 2.4-2.5 (no Sloth
code): per SLO, one SLI recording per alert window and the period, 7 metadata recordings and a
page and a ticket alert, in three groups.

    slo:sli_error:ratio_rate<W> = (sum(rate(bad[W]))) / (sum(rate(total[W])))   W <= 3d
    slo:sli_error:ratio_rate30d = sum_over_time(ratio_rate5m[30d])
                                  / ignoring (sloth_window) count_over_time(ratio_rate5m[30d])
    page   = (max(ratio5m > 14.4 x b) without (sloth_window)
              and max(ratio1h > 14.4 x b) without (sloth_window)) or (30m/6h at 6x)
    ticket = (2h/1d at 3x) or (6h/3d at 1x)

Only ratio SLIs with a bad-events selector (Sloth's `events` form) are supported. The alerts
carry the one annotation Sloth writes without being asked, its `title` template (see
`examples/_gen/getting-started.yml` in Sloth's repository): Prometheus expands every
annotation of every active alert at each evaluation, so it is part of the cost. The budget is
Sloth's `(100 - objective) / 100`, float artifact included.
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch.model import SLO, RatioSLI, format_duration
from meshwatch.slo.windows import default_burn_windows

Rule = dict[str, object]
_TITLE = "({severity}) {service} {slo} SLO error budget burn rate is too fast."


def title(slo: SLO | None, severity: str) -> str:
    """Sloth's `title` annotation: the template (`slo` None), or its text as Prometheus
    expands it for a firing alert of `slo`."""
    if slo is None:
        return _TITLE.format(
            severity=severity, service="{{$labels.sloth_service}}", slo="{{$labels.sloth_slo}}"
        )
    return _TITLE.format(severity=severity, service=slo.service, slo=slo.name)


def _labels(slo: SLO, window: timedelta | None = None) -> dict[str, str]:
    labels = dict(slo.labels)
    labels.update(
        sloth_id=f"{slo.service}-{slo.name}", sloth_service=slo.service, sloth_slo=slo.name
    )
    if window is not None:
        labels["sloth_window"] = format_duration(window)
    return labels


def _sel(slo: SLO) -> str:
    sloth_id = f"{slo.service}-{slo.name}"
    return f'sloth_id="{sloth_id}", sloth_service="{slo.service}", sloth_slo="{slo.name}"'


def budget(slo: SLO) -> float:
    return (100 - slo.objective) / 100


def sli_rules(slo: SLO) -> list[Rule]:
    if not isinstance(slo.sli, RatioSLI) or slo.sli.bad is None:
        raise ValueError(f"{slo.id}: the Sloth baseline needs a ratio SLI with bad events")
    bad, total = slo.sli.bad.promql(), slo.sli.total.promql()
    conditions = default_burn_windows(slo.window.length)
    windows = sorted({w for c in conditions for w in (c.long, c.short)})
    rules: list[Rule] = []
    for window in windows:
        w = format_duration(window)
        rules.append(
            {
                "record": f"slo:sli_error:ratio_rate{w}",
                "expr": f"(sum(rate({bad}[{w}])))\n/\n(sum(rate({total}[{w}])))",
                "labels": _labels(slo, window),
            }
        )
    p = format_duration(slo.window.length)
    five = f"slo:sli_error:ratio_rate5m{{{_sel(slo)}}}"
    rules.append(
        {
            "record": f"slo:sli_error:ratio_rate{p}",
            "expr": f"sum_over_time({five}[{p}])\n/ ignoring (sloth_window)\n"
            f"count_over_time({five}[{p}])",
            "labels": _labels(slo, slo.window.length),
        }
    )
    return rules


def meta_rules(slo: SLO) -> list[Rule]:
    sel, p = _sel(slo), format_duration(slo.window.length)
    on = "on(sloth_id, sloth_slo, sloth_service) group_left"
    budget_rule = f"slo:error_budget:ratio{{{sel}}}"
    info = {"sloth_mode": "cli-gen-prom", "sloth_objective": f"{slo.objective:g}"}
    return [
        {"record": "slo:objective:ratio", "expr": f"vector({slo.target})", "labels": _labels(slo)},
        {
            "record": "slo:error_budget:ratio",
            "expr": f"vector(1-{slo.target})",
            "labels": _labels(slo),
        },
        {
            "record": "slo:time_period:days",
            "expr": f"vector({slo.window.length / timedelta(days=1):g})",
            "labels": _labels(slo),
        },
        {
            "record": "slo:current_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate5m{{{sel}}}\n/ {on}\n{budget_rule}",
            "labels": _labels(slo),
        },
        {
            "record": "slo:period_burn_rate:ratio",
            "expr": f"slo:sli_error:ratio_rate{p}{{{sel}}}\n/ {on}\n{budget_rule}",
            "labels": _labels(slo),
        },
        {
            "record": "slo:period_error_budget_remaining:ratio",
            "expr": f"1 - slo:period_burn_rate:ratio{{{sel}}}",
            "labels": _labels(slo),
        },
        {
            "record": "sloth_slo_info",
            "expr": "vector(1)",
            "labels": {**_labels(slo), **info},
        },
    ]


def _pair(slo: SLO, short: timedelta, long: timedelta, factor: float) -> str:
    sel, b = _sel(slo), budget(slo)
    parts = [
        f"max(slo:sli_error:ratio_rate{format_duration(w)}{{{sel}}} > ({factor:g} * {b!r}))"
        " without (sloth_window)"
        for w in (short, long)
    ]
    return f"(\n    {parts[0]}\n    and\n    {parts[1]}\n)"


def alert_rules(slo: SLO, name: str) -> list[Rule]:
    rules: list[Rule] = []
    conditions = default_burn_windows(slo.window.length)
    for severity in ("page", "ticket"):
        chosen = [c for c in conditions if c.severity.value == severity]
        expr = "\nor\n".join(_pair(slo, c.short, c.long, c.factor) for c in chosen)
        rules.append(
            {
                "alert": name,
                "expr": expr,
                "labels": {"sloth_severity": severity},
                "annotations": {"title": title(None, severity)},
            }
        )
    return rules


def groups(slo: SLO, alert_name: str = "SlothErrorBudgetBurn") -> list[dict[str, object]]:
    """The three groups Sloth writes for one SLO, in its order."""
    suffix = f"{slo.service}-{slo.name}"
    return [
        {"name": f"sloth-slo-sli-recordings-{suffix}", "rules": sli_rules(slo)},
        {"name": f"sloth-slo-meta-recordings-{suffix}", "rules": meta_rules(slo)},
        {"name": f"sloth-slo-alerts-{suffix}", "rules": alert_rules(slo, alert_name)},
    ]
