"""One dashboard per service: a row of panels per SLO, then the traffic behind them."""

from __future__ import annotations

from collections.abc import Sequence

from grafanalib import core as g

from meshwatch import conventions as c
from meshwatch.model import (
    SLO,
    Selector,
    format_duration,
)
from meshwatch.render import dashboards_promql as q
from meshwatch.render.dashboards_common import (
    BUDGET_STEPS,
    PERCENT,
    Rendered,
    burn_windows,
    dashboard,
    dashboard_links,
    datasource_variable,
    link_to,
    slo_annotations,
    slo_table,
    slo_variable,
)
from meshwatch.render.dashboards_panels import (
    GREEN,
    RED,
    Grid,
    stat,
    targets,
    timeseries,
)
from meshwatch.sli import has_counts

# --- service dashboards ----------------------------------------------------------------


EXPANDED_SLOS = 3


def _slo_panels(grid: Grid, slo: SLO, *, collapsed: bool) -> None:
    """One row per SLO: SLI vs objective, burn-down, burn rates, traffic, errors, latency."""
    own = q.slo_filter("$service", slo.name)
    period = slo.window.name
    short = format_duration(c.BASE_INTERVAL)  # every SLO records its 5m ratio and counts
    grid.add_row(f"{slo.name}: {slo.objective:g}% over {period}", collapsed=collapsed)
    objective_steps = ((RED, None), (GREEN, slo.target))
    grid.add(stat("SLI over the period", q.period_sli(own), unit=PERCENT, decimals=3,
                  steps=objective_steps,
                  description=slo.description or f"Objective {slo.objective:g}% over {period}."),
             6, 4)  # fmt: skip
    grid.add(stat("Objective", q.recorded(c.RULE_OBJECTIVE, own), unit=PERCENT, decimals=3,
                  steps=((GREEN, None),)), 6, 4)  # fmt: skip
    grid.add(stat("Error budget remaining", q.recorded(c.RULE_BUDGET_REMAINING, own),
                  unit=PERCENT, decimals=1, steps=BUDGET_STEPS), 6, 4)  # fmt: skip
    if has_counts(slo.sli):  # a raw error-ratio SLI has no request counts
        grid.add(stat(f"Requests/s ({short})", q.request_rate(own), unit="reqps",
                      steps=((GREEN, None),)), 6, 4)  # fmt: skip
    grid.add(
        timeseries(
            "SLI vs objective",
            targets(
                (q.period_sli(own), f"SLI over {period}"),
                (q.window_sli(short, own), f"SLI over {short}"),
                (q.recorded(c.RULE_OBJECTIVE, own), "objective"),
            ),
            unit=PERCENT,
            steps=((RED, None), (GREEN, slo.target)),
            time_from=period if slo.window.unit is None else None,
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Error budget burn-down",
            targets((q.recorded(c.RULE_BUDGET_REMAINING, own), "budget remaining")),
            unit=PERCENT,
            description=f"1 at the start of the {period} period, 0 when spent.",
            steps=((RED, None), (GREEN, 0.0)),
            soft_max=1,
            time_from=format_duration(slo.window.length),
        ),
        12,
        8,
    )
    for window in burn_windows(slo):
        long, short_w = format_duration(window.long), format_duration(window.short)
        grid.add(
            timeseries(
                f"Burn rate {long} / {short_w} ({window.severity.value}, {window.factor:g}x)",
                targets(
                    (q.burn_rate(long, own), long),
                    (q.burn_rate(short_w, own), short_w),
                ),
                unit="x",
                description=(
                    f"Alerts ({window.severity.value}) when both windows burn faster than "
                    f"{window.factor:g}x: {window.budget_share:.0%} of the budget in {long}."
                ),
                steps=((GREEN, None), (RED, window.factor)),
            ),
            6,
            7,
        )
    _version_panel(grid, slo)
    _backend_panel(grid, slo)


def _version_panel(grid: Grid, slo: SLO) -> None:
    """This SLO's own error ratio per version/subset, for meshed services."""
    raw = q.raw_series(slo)
    if raw.version_label is None:
        return
    ratio = q.sli_error_ratio_by(slo, (raw.version_label,))
    if ratio is None:
        return
    grid.add(
        timeseries(
            "Error ratio by version",
            targets((ratio, "{{" + raw.version_label + "}}")),
            unit=PERCENT,
            description="This SLO's own error ratio per version/subset; the line is the budget.",
            steps=((GREEN, None), (RED, slo.error_budget)),
        ),
        12,
        8,
    )


def _backend_panel(grid: Grid, slo: SLO) -> None:
    """Per-backend error ratios the remediation loop acts on, with its trigger drawn."""
    policy = slo.remediation
    if policy is None:
        return
    own = q.slo_filter("$service", slo.name)
    windows = [format_duration(w) for w in sorted(set(policy.short_windows))]
    legend = "{{" + c.LABEL_BACKEND + "}} "
    trigger = policy.factor * slo.error_budget
    grid.add(
        timeseries(
            f"Backends of {policy.target} ({' / '.join(windows)})",
            targets(
                *((q.recorded(c.rule_backend_error_ratio(w), own), legend + w) for w in windows)
            ),
            unit=PERCENT,
            description=(
                f"Error ratio per backend over the remediation windows; above {trigger:.4g} "
                f"({policy.factor:g}x the budget) on both, meshwatch shifts weight away "
                f"({policy.actuator}, {'dry run' if policy.dry_run else 'enabled'})."
            ),
            steps=((GREEN, None), (RED, trigger)),
        ),
        12,
        8,
    )


def _traffic_panels(
    grid: Grid, raw: q.RawSeries, requests: Selector, title: str, *, collapsed: bool
) -> None:
    """Request rate, response codes, latency and versions of one set of raw series."""
    grid.add_row(f"Traffic: {title}", collapsed=collapsed)
    grid.add(
        timeseries("Request rate", targets((q.requests_rate(raw, requests), "requests/s")),
                   unit="reqps"),
        8, 8,
    )  # fmt: skip
    if raw.code_label is not None:
        grid.add(
            timeseries(
                "Error ratio by response code",
                targets(
                    (
                        q.code_share(requests, raw.code_label, raw.code_ok),
                        "{{" + raw.code_label + "}}",
                    )
                ),
                unit=PERCENT,
                description="Share of all requests answered with each non-2xx/3xx code."
                if raw.code_ok == q.HTTP_OK
                else "Share of all calls answered with each non-OK gRPC status.",
            ),
            8,
            8,
        )
    if raw.histogram is not None:
        quantiles = [
            (expr, f"p{p * 100:g}")
            for p in q.PERCENTILES
            if (expr := q.raw_latency_quantile(p, raw)) is not None
        ]
        grid.add(timeseries("Latency percentiles", targets(*quantiles), unit=raw.latency_unit),
                 8, 8)  # fmt: skip
    if raw.version_label is not None:
        by = (raw.version_label,)
        grid.add(
            timeseries(
                "Requests by version",
                targets((q.rate_by(requests, by), "{{" + raw.version_label + "}}")),
                unit="reqps",
            ),
            24,
            8,
        )


def _traffic_sources(slos: Sequence[SLO]) -> list[tuple[str, q.RawSeries, Selector]]:
    """Distinct raw series behind a service's SLOs, with the SLO names using them."""
    seen: dict[str, tuple[list[str], q.RawSeries, Selector]] = {}
    for slo in sorted(slos, key=lambda s: s.name):
        raw = q.raw_series(slo)
        if raw.requests is None:
            continue
        names, _, _ = seen.setdefault(raw.requests.promql(), ([], raw, raw.requests))
        names.append(slo.name)
    return [(", ".join(names), raw, requests) for names, raw, requests in seen.values()]


def service(name: str, slos: Sequence[SLO]) -> Rendered:
    """One service: its SLO table, then a row of panels per SLO and the traffic behind them.

    With more than EXPANDED_SLOS SLOs the rows start collapsed: Grafana then runs only the
    table's queries until a row is opened, instead of hundreds of panels at once.
    """
    collapsed = len(slos) > EXPANDED_SLOS
    grid = Grid()
    grid.add_row("SLOs")
    grid.add(slo_table(slos, q.service_slos_filter()), 24, max(5, 3 + len(slos)))
    for slo in sorted(slos, key=lambda s: s.name):
        _slo_panels(grid, slo, collapsed=collapsed)
    for title, raw, requests in _traffic_sources(slos):
        _traffic_panels(grid, raw, requests, title, collapsed=collapsed)
    meshed = any(slo.mesh is not None for slo in slos)
    links = [link_to(c.DASHBOARD_UID_OVERVIEW, "SLO overview", f"&var-service={name}")]
    if meshed:
        links.append(link_to(c.DASHBOARD_UID_MESH, "Mesh"))
    service_variable = g.Template(
        name="service", label="Service", query=name, type="constant", hide=g.HIDE_VARIABLE
    )
    return dashboard(
        c.dashboard_uid_service(name),
        f"meshwatch / {name}",
        f"SLOs of service {name}: SLI vs objective, budget burn-down, burn rates, traffic.",
        grid.panels,
        [datasource_variable(), service_variable, slo_variable(q.service_filter())],
        annotations=slo_annotations(q.service_filter()),
        links=dashboard_links(*links),
        tags=("service",),
    )
