"""Grafana dashboards from SLOs: an overview, one dashboard per service, and the mesh.

    render_dashboards(slos) -> {"meshwatch-overview.json": "...", ...}

Each dashboard is a grafanalib object turned into JSON with sorted keys, so the files are
byte-stable and `generate dashboards --check` can report drift. Panels read the recorded
series of the rules (the public contract) and, for meshed services, the raw mesh series the
SLO is computed from; `dashboards_promql` holds every expression.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from grafanalib import core as g

from meshwatch import conventions as c
from meshwatch.model import (
    SLO,
    BurnRateWindow,
    Matcher,
    MeshKind,
    RawSLI,
    Selector,
    Severity,
    format_duration,
)
from meshwatch.render import dashboards_promql as q
from meshwatch.render.dashboards_panels import (
    DATASOURCE,
    GREEN,
    ORANGE,
    RED,
    Grid,
    by_name,
    stat,
    table,
    target,
    targets,
    timeseries,
)
from meshwatch.slo.windows import default_burn_windows

SCHEMA_VERSION = 39  # the JSON below is in the shape Grafana 10.4 / 11 writes
STATE_MAPPINGS: list[dict[str, Any]] = [
    {
        "type": "value",
        "options": {
            "0": {"text": "ok", "color": GREEN, "index": 0},
            "1": {"text": "warning", "color": ORANGE, "index": 1},
            "2": {"text": "breached", "color": RED, "index": 2},
        },
    },
    {"type": "special", "options": {"match": "null", "result": {"text": "unknown", "index": 3}}},
]
BUDGET_STEPS = ((RED, None), (ORANGE, 0.0), (GREEN, 0.25))
PERCENT = "percentunit"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One dashboard: its uid, title and the JSON model Grafana imports."""

    uid: str
    title: str
    model: dict[str, Any]

    @property
    def filename(self) -> str:
        return f"{self.uid}.json"

    def text(self) -> str:
        """Sorted keys, 2-space indent, UTF-8: byte-identical to `json.dumps(model,
        sort_keys=True, indent=2, ensure_ascii=False)`, but orjson is ~20x faster."""
        return (
            orjson.dumps(self.model, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
            + "\n"
        )


# --- shared pieces ------------------------------------------------------------------


def burn_windows(slo: SLO) -> tuple[BurnRateWindow, ...]:
    """The alert windows of `slo` (its own, or the Workbook defaults), enabled severities only."""
    windows = slo.alerting.windows or default_burn_windows(slo.window.length)
    enabled = {Severity.PAGE: slo.alerting.page, Severity.TICKET: slo.alerting.ticket}
    return tuple(w for w in windows if enabled[w.severity])


def _datasource_variable() -> g.Template:
    return g.Template(name="datasource", label="Data source", query="prometheus", type="datasource")


def _query_variable(name: str, label: str, query: str, *, multi: bool = True) -> g.Template:
    return g.Template(
        name=name,
        label=label,
        query=query,
        dataSource=DATASOURCE,
        multi=multi,
        includeAll=multi,
        allValue=".*" if multi else None,
        refresh=g.REFRESH_ON_TIME_RANGE_CHANGE,
        sort=g.SORT_ALPHA_ASC,
    )


def _slo_variable(service_matcher: str) -> g.Template:
    return _query_variable(
        "slo", "SLO", f"label_values({c.RULE_OBJECTIVE}{{{service_matcher}}}, {c.LABEL_SLO})"
    )


def _annotations(matchers: str) -> g.Annotations:
    """Grafana's own annotations, meshwatch's alerts and its remediation actions."""
    builtin = {
        "builtIn": 1,
        "datasource": {"type": "grafana", "uid": "-- Grafana --"},
        "enable": True,
        "hide": True,
        "iconColor": "rgba(0, 211, 255, 1)",
        "name": "Annotations & Alerts",
        "type": "dashboard",
    }
    keys = f"{c.LABEL_SERVICE},{c.LABEL_SLO}"
    return g.Annotations(
        list=[
            builtin,
            {
                "datasource": DATASOURCE,
                "enable": True,
                "expr": q.alerts(matchers),
                "iconColor": RED,
                "name": "meshwatch alerts",
                "step": "1m",
                "tagKeys": f"{keys},{c.LABEL_SEVERITY}",
                "titleFormat": "{{alertname}} ({{" + c.LABEL_SEVERITY + "}})",
                "textFormat": "{{" + c.LABEL_SERVICE + "}} / {{" + c.LABEL_SLO + "}}",
            },
            {
                "datasource": DATASOURCE,
                "enable": True,
                "expr": q.remediation_actions(),
                "iconColor": "purple",
                "name": "meshwatch remediation",
                "step": "1m",
                "tagKeys": f"{c.EXPORT_LABEL_ACTUATOR},{c.EXPORT_LABEL_OUTCOME}",
                "titleFormat": "meshwatch remediation ({{" + c.EXPORT_LABEL_OUTCOME + "}})",
                "textFormat": "actuator {{" + c.EXPORT_LABEL_ACTUATOR + "}}",
            },
        ]
    )


def _links(*extra: g.DashboardLink) -> list[g.DashboardLink]:
    return [
        *extra,
        g.DashboardLink(
            title="meshwatch",
            type="dashboards",
            tags=[c.DASHBOARD_TAG],
            asDropdown=True,
            includeVars=False,
            keepTime=True,
        ),
    ]


def _link_to(uid: str, title: str, variables: str = "") -> g.DashboardLink:
    url = f"/d/{uid}?var-datasource=${{datasource}}{variables}"
    return g.DashboardLink(title=title, type="link", uri=url, keepTime=True, icon="dashboard")


def _dashboard(
    uid: str,
    title: str,
    description: str,
    panels: list[g.Panel],
    variables: list[g.Template],
    *,
    annotations: g.Annotations | None = None,
    links: Sequence[g.DashboardLink] = (),
    tags: Sequence[str] = (),
    time_from: str = "now-6h",
) -> Rendered:
    board = g.Dashboard(
        title=title,
        uid=uid,
        description=f"{c.DASHBOARD_MARKER} {description}",
        tags=[c.DASHBOARD_TAG, *tags],
        panels=panels,
        templating=g.Templating(list=variables),
        annotations=annotations or g.Annotations(),
        links=list(links),
        editable=False,
        graphTooltip=g.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        refresh="1m",
        schemaVersion=SCHEMA_VERSION,
        time=g.Time(time_from, "now"),
        timezone="utc",
    )
    model = _plain(board)
    return Rendered(uid=uid, title=title, model=_modernise(model))


ROW_KEYS = frozenset(
    {"collapsed", "datasource", "gridPos", "id", "panels", "repeat", "title", "type"}
)


def _modernise(model: dict[str, Any]) -> dict[str, Any]:
    """Drop what grafanalib writes but Grafana 11's model no longer has.

    Rows keep only row settings, the time picker loses `time_options`, and variables'
    `current` loses `tags` (checked against grafana-foundation-sdk in the tests).
    """
    model["panels"] = [
        {k: v for k, v in panel.items() if k in ROW_KEYS} if panel["type"] == "row" else panel
        for panel in model["panels"]
    ]
    model["timepicker"].pop("time_options", None)
    for variable in model["templating"]["list"]:
        variable.get("current", {}).pop("tags", None)
    return model


_LEAVES = frozenset({str, int, float, bool})


def _plain(node: Any) -> Any:
    """grafanalib objects as plain JSON values (what its DashboardEncoder does, in one pass).

    Drops the `null` settings grafanalib writes for everything unset (Grafana's defaults
    apply); a threshold step's `value: null` (the base colour) is meaningful and stays.
    Leaves are tested by exact type before recursing: this walk is most of the build time.
    """
    kind = type(node)
    if kind is dict:
        return {
            k: v if type(v) in _LEAVES else _plain(v)
            for k, v in node.items()
            if v is not None or k == "value"
        }
    if kind is list or kind is tuple:
        return [v if type(v) in _LEAVES else _plain(v) for v in node]
    if kind in _LEAVES or node is None:
        return node
    return _plain(node.to_json_data())


# --- the SLO table (overview and service dashboards) ---------------------------------


def _long_windows(slos: Sequence[SLO], limit: int = 4) -> list[str]:
    """Long burn windows the SLOs record, shortest first (columns of the SLO table).

    An SLO without one of them shows an empty cell, which reads as "not alerted on".
    """
    by_length = {format_duration(w.long): w.long for s in slos for w in burn_windows(s)}
    return sorted(by_length, key=lambda name: by_length[name])[:limit]


def _slo_table(slos: Sequence[SLO], matchers: str) -> g.Table:
    keys = q.KEYS
    columns = [
        ("Objective", f"max by ({keys}) ({q.recorded(c.RULE_OBJECTIVE, matchers)})", PERCENT),
        ("SLI (period)", f"max by ({keys}) ({q.period_sli(matchers)})", PERCENT),
        (
            "Budget remaining",
            f"max by ({keys}) ({q.recorded(c.RULE_BUDGET_REMAINING, matchers)})",
            PERCENT,
        ),
    ]
    for window in _long_windows(slos):
        columns.append(
            (f"Burn rate {window}", f"max by ({keys}) ({q.burn_rate(window, matchers)})", "x")
        )
    columns.append(("State", q.slo_state(matchers), "none"))
    refs = [chr(ord("A") + i) for i in range(len(columns))]
    service_link = {
        "title": "Service dashboard",
        "url": (
            f"/d/{c.dashboard_uid_service('')}${{__data.fields.{c.LABEL_SERVICE}}}"
            "?${__url_time_range}&var-datasource=${datasource}"
        ),
    }
    overrides = [by_name(name, unit=unit) for name, _, unit in columns if unit != "none"]
    overrides += [
        by_name(
            "Budget remaining",
            **{"custom.cellOptions": {"type": "color-background"}},
            thresholds={"mode": "absolute", "steps": _steps(BUDGET_STEPS)},
        ),
        by_name("State", mappings=STATE_MAPPINGS, **{"custom.cellOptions": {"type": "color-text"}}),
        by_name(c.LABEL_SERVICE, links=[service_link], displayName="Service"),
        by_name(c.LABEL_SLO, displayName="SLO"),
    ]
    return table(
        "SLOs",
        [
            target(expr, ref, instant=True, table=True)
            for ref, (_, expr, _) in zip(refs, columns, strict=True)
        ],
        description="Every SLO, sorted by error budget remaining (least first). "
        "State: breached = budget spent, warning = a burn-rate alert fires, "
        "unknown = no traffic or no series.",
        renames={f"Value #{ref}": name for ref, (name, _, _) in zip(refs, columns, strict=True)},
        sort_by="Budget remaining",
        overrides=overrides,
    )


def _steps(steps: Sequence[tuple[str, float | None]]) -> list[dict[str, Any]]:
    return [{"color": color, "value": value} for color, value in steps]


# --- overview ------------------------------------------------------------------------


def overview(slos: Sequence[SLO]) -> Rendered:
    """Every SLO: state, budget, burn rates, period SLI vs objective; links to services."""
    matchers = q.slo_filter(regex=True)
    keys = q.KEYS
    grid = Grid()
    grid.add_row("Summary")
    count_steps = ((GREEN, None), (RED, 1.0))
    summary = [
        stat("SLOs measured", f"count({q.recorded(c.RULE_OBJECTIVE, matchers)})", unit="none",
             steps=((GREEN, None),), description="SLOs with recorded objectives."),
        stat("Budget exhausted",
             f"count({q.recorded(c.RULE_BUDGET_REMAINING, matchers)} <= 0) or vector(0)",
             unit="none", steps=count_steps, description="SLOs whose error budget is spent."),
        stat("Burn alerts firing",
             f"count(max by ({keys}) ({q.alerts(matchers, c.ALERT_BURN)})) or vector(0)",
             unit="none", steps=count_steps,
             description="SLOs with a firing multiwindow burn-rate alert."),
        stat("Lowest budget remaining",
             f"min({q.recorded(c.RULE_BUDGET_REMAINING, matchers)})",
             unit=PERCENT, steps=BUDGET_STEPS, decimals=1),
    ]  # fmt: skip
    for panel in summary:
        grid.add(panel, 6, 4)
    grid.add_row("All SLOs")
    grid.add(_slo_table(slos, matchers), 24, max(6, min(20, 3 + len(slos))))
    grid.add_row("Trends")
    legend = "{{" + c.LABEL_SERVICE + "}} / {{" + c.LABEL_SLO + "}}"
    grid.add(
        timeseries(
            "Error budget remaining",
            targets((f"max by ({keys}) ({q.recorded(c.RULE_BUDGET_REMAINING, matchers)})", legend)),
            unit=PERCENT,
            steps=((RED, None), (GREEN, 0.0)),
            soft_max=1,
        ),
        12,
        8,
    )
    windows = _long_windows(slos)
    if windows:
        grid.add(
            timeseries(
                f"Burn rate {windows[0]}",
                targets((f"max by ({keys}) ({q.burn_rate(windows[0], matchers)})", legend)),
                unit="x",
                description="1x spends the budget exactly over the SLO period.",
                steps=((GREEN, None), (RED, 1.0)),
            ),
            12,
            8,
        )
    grid.add(
        timeseries(
            "SLI over the period vs objective",
            targets(
                (f"max by ({keys}) ({q.period_sli(matchers)})", legend + " SLI"),
                (
                    f"max by ({keys}) ({q.recorded(c.RULE_OBJECTIVE, matchers)})",
                    legend + " objective",
                ),
            ),
            unit=PERCENT,
        ),
        24,
        8,
    )
    return _dashboard(
        c.DASHBOARD_UID_OVERVIEW,
        "meshwatch / SLO overview",
        "Every SLO meshwatch manages: state, error budget, burn rates, SLI vs objective.",
        grid.panels,
        [
            _datasource_variable(),
            _query_variable(
                "service", "Service", f"label_values({c.RULE_OBJECTIVE}, {c.LABEL_SERVICE})"
            ),
            _slo_variable(q.service_filter(regex=True)),
        ],
        annotations=_annotations(q.service_filter(regex=True)),
        links=_links(_link_to(c.DASHBOARD_UID_MESH, "Mesh")),
        tags=("slo",),
        time_from="now-24h",
    )


# --- service dashboards ----------------------------------------------------------------


def _slo_panels(grid: Grid, slo: SLO) -> None:
    """One row per SLO: SLI vs objective, burn-down, burn rates, traffic, errors, latency."""
    own = q.slo_filter("$service", slo.name)
    period = slo.window.name
    short = format_duration(c.BASE_INTERVAL)  # every SLO records its 5m ratio and counts
    grid.add_row(f"{slo.name}: {slo.objective:g}% over {period}")
    objective_steps = ((RED, None), (GREEN, slo.target))
    grid.add(stat("SLI over the period", q.period_sli(own), unit=PERCENT, decimals=3,
                  steps=objective_steps,
                  description=slo.description or f"Objective {slo.objective:g}% over {period}."),
             6, 4)  # fmt: skip
    grid.add(stat("Objective", q.recorded(c.RULE_OBJECTIVE, own), unit=PERCENT, decimals=3,
                  steps=((GREEN, None),)), 6, 4)  # fmt: skip
    grid.add(stat("Error budget remaining", q.recorded(c.RULE_BUDGET_REMAINING, own),
                  unit=PERCENT, decimals=1, steps=BUDGET_STEPS), 6, 4)  # fmt: skip
    if not isinstance(slo.sli, RawSLI):  # a raw error-ratio SLI has no request counts
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


def _traffic_panels(grid: Grid, raw: q.RawSeries, requests: Selector, title: str) -> None:
    """Request rate, response codes, latency and versions of one set of raw series."""
    grid.add_row(f"Traffic: {title}")
    grid.add(
        timeseries("Request rate", targets((q.rate_by(requests), "requests/s")),
                   unit="reqps"),
        8, 8,
    )  # fmt: skip
    if raw.code_label is not None:
        grid.add(
            timeseries(
                "Error ratio by response code",
                targets((q.code_share(requests, raw.code_label), "{{" + raw.code_label + "}}")),
                unit=PERCENT,
                description="Share of all requests answered with each non-2xx/3xx code.",
            ),
            8,
            8,
        )
    if raw.histogram is not None:
        quantiles = [
            (q.latency_quantile(p, raw.histogram, raw.histogram_matchers), f"p{p * 100:g}")
            for p in q.PERCENTILES
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
    """One service: its SLO table, then a row of panels per SLO."""
    grid = Grid()
    grid.add_row("SLOs")
    grid.add(_slo_table(slos, q.service_slos_filter()), 24, max(5, 3 + len(slos)))
    for slo in sorted(slos, key=lambda s: s.name):
        _slo_panels(grid, slo)
    for title, raw, requests in _traffic_sources(slos):
        _traffic_panels(grid, raw, requests, title)
    meshed = any(slo.mesh is not None for slo in slos)
    links = [_link_to(c.DASHBOARD_UID_OVERVIEW, "SLO overview", f"&var-service={name}")]
    if meshed:
        links.append(_link_to(c.DASHBOARD_UID_MESH, "Mesh"))
    service_variable = g.Template(
        name="service", label="Service", query=name, type="constant", hide=g.HIDE_VARIABLE
    )
    return _dashboard(
        c.dashboard_uid_service(name),
        f"meshwatch / {name}",
        f"SLOs of service {name}: SLI vs objective, budget burn-down, burn rates, traffic.",
        grid.panels,
        [_datasource_variable(), service_variable, _slo_variable(q.service_filter())],
        annotations=_annotations(q.service_filter()),
        links=_links(*links),
        tags=("service",),
    )


# --- mesh ----------------------------------------------------------------------------

_MESH_VARIABLE = {"istio": "service", "envoy": "cluster", "linkerd": "deployment"}
_MESH_TITLE = {"istio": "Istio", "envoy": "Envoy", "linkerd": "Linkerd"}


def _mesh_rows(grid: Grid, kind: MeshKind) -> g.Template:
    mesh = q.MESH_METRICS[kind]
    var = _MESH_VARIABLE[kind]
    selector = Selector(mesh.requests, (*mesh.edge, Matcher(mesh.peers[-1], "=~", f"${var}")))
    peers = mesh.peers
    legend = " → ".join("{{" + p + "}}" for p in peers)
    between = "between services" if len(peers) > 1 else "per upstream cluster"
    grid.add_row(f"{_MESH_TITLE[kind]}: traffic {between}")
    grid.add(timeseries(f"Requests/s {between}", targets((q.rate_by(selector, peers), legend)),
                        unit="reqps"), 8, 8)  # fmt: skip
    grid.add(
        timeseries(
            f"Success rate {between}",
            targets((f"1 - {q.failure_ratio(selector, mesh.bad, peers)}", legend)),
            unit=PERCENT,
            steps=((RED, None), (ORANGE, 0.99), (GREEN, 0.999)),
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            f"p99 latency {between}",
            targets((q.latency_quantile(0.99, mesh.duration_ms, selector.matchers, peers), legend)),
            unit="ms",
        ),
        8,
        8,
    )
    return _query_variable(var, var.capitalize(), f"label_values({mesh.requests}, {peers[-1]})")


def mesh(slos: Sequence[SLO]) -> Rendered:
    """Traffic, success rate and latency between services; the route weights meshwatch set."""
    kinds: list[MeshKind] = sorted({slo.mesh.kind for slo in slos if slo.mesh is not None})
    grid = Grid()
    variables = [_datasource_variable()]
    for kind in kinds:
        variables.append(_mesh_rows(grid, kind))
    route_var = "route"
    weights = f'{c.METRIC_ROUTE_WEIGHT}{{{c.LABEL_ROUTE}=~"${route_var}"}}'
    by_route = (c.LABEL_ROUTE, c.LABEL_ROUTE_BACKEND)
    legend = "{{" + c.LABEL_ROUTE + "}} → {{" + c.LABEL_ROUTE_BACKEND + "}}"
    grid.add_row("Routes meshwatch manages")
    grid.add(
        timeseries(
            "Route weights set by meshwatch",
            targets((f"max by ({', '.join(by_route)}) ({weights})", legend)),
            unit="percent",
            description="Weight (percent of the route's traffic) meshwatch last set per backend.",
            soft_max=100,
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Remediation actions",
            targets(
                (
                    f"sum by ({q.ACTION_KEYS}) (increase({c.METRIC_ACTIONS}[$__rate_interval]))",
                    "{{" + c.EXPORT_LABEL_ACTUATOR + "}} {{" + c.EXPORT_LABEL_OUTCOME + "}}",
                )
            ),
            unit="none",
            description="Remediation actions meshwatch recorded, by actuator and outcome.",
        ),
        12,
        8,
    )
    variables.append(
        _query_variable(
            route_var, "Route", f"label_values({c.METRIC_ROUTE_WEIGHT}, {c.LABEL_ROUTE})"
        )
    )
    return _dashboard(
        c.DASHBOARD_UID_MESH,
        "meshwatch / mesh",
        "Traffic, success rate and latency between services; route weights meshwatch set.",
        grid.panels,
        variables,
        annotations=_annotations(f'{c.LABEL_SERVICE}=~".+"'),
        links=_links(_link_to(c.DASHBOARD_UID_OVERVIEW, "SLO overview")),
        tags=("mesh",),
    )


# --- everything ------------------------------------------------------------------------


@contextlib.contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building.

    A build allocates millions of short-lived, acyclic dicts and lists; the collector would
    rescan them again and again (half the build time for 10,000 SLOs). Reference counting
    still frees everything; the previous state is restored.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build(slos: Sequence[SLO]) -> list[Rendered]:
    """The overview, one dashboard per service (sorted), and the mesh dashboard."""
    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    with _without_cyclic_gc():
        services = [service(name, by_service[name]) for name in sorted(by_service)]
        return [overview(slos), *services, mesh(slos)]


def render_dashboards(slos: Sequence[SLO]) -> dict[str, str]:
    """File name -> JSON text for every dashboard of `slos`."""
    return {board.filename: board.text() for board in build(slos)}


def iter_panels(model: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel of a dashboard model, rows' nested panels included."""
    for panel in model.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(model: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target, variable query and annotation of a dashboard."""
    found: list[tuple[str, str]] = []
    for panel in iter_panels(model):
        for tgt in panel.get("targets", []):
            found.append((f"panel {panel['title']!r} {tgt['refId']}", tgt["expr"]))
    for variable in model["templating"]["list"]:
        if variable["type"] == "query":
            found.append((f"variable {variable['name']}", variable["query"]))
    for annotation in model["annotations"]["list"]:
        if "expr" in annotation:
            found.append((f"annotation {annotation['name']!r}", annotation["expr"]))
    return found


def panel_list(boards: Sequence[Rendered]) -> str:
    """Markdown listing every dashboard's rows and their panels (the README's preview)."""
    lines: list[str] = []
    for board in boards:
        panels = [p for p in iter_panels(board.model) if p["type"] != "row"]
        lines.append(f"**{board.title}** (`{board.uid}`, {len(panels)} panels)")
        lines.append("")
        rows: list[tuple[str, list[str]]] = [("", [])]
        for panel in iter_panels(board.model):
            if panel["type"] == "row":
                rows.append((panel["title"], []))
            else:
                rows[-1][1].append(f"{panel['title']} _{panel['type']}_")
        for title, names in rows:
            if names:
                lines.append(f"- {title}: {'; '.join(names)}" if title else f"- {'; '.join(names)}")
        lines.append("")
    return "\n".join(lines)


README_BEGIN = "<!-- dashboards:begin (generated from rules/slos by meshwatch; do not edit) -->"
README_END = "<!-- dashboards:end -->"


def readme_section(boards: Sequence[Rendered]) -> str:
    """The README's dashboard preview between its markers (no Grafana here to take a PNG)."""
    return f"{README_BEGIN}\n{panel_list(boards)}{README_END}"


def replace_readme_section(readme: str, boards: Sequence[Rendered]) -> str:
    """`readme` with its dashboard section regenerated (appended when it has none)."""
    section = readme_section(boards)
    if README_BEGIN in readme and README_END in readme:
        head, rest = readme.split(README_BEGIN, 1)
        _, tail = rest.split(README_END, 1)
        return head + section + tail
    return readme.rstrip("\n") + "\n\n" + section + "\n"
