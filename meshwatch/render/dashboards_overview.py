"""The SLO overview and the mesh dashboard (one each, for all SLOs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import assert_never

from grafanalib import core as g

from meshwatch import conventions as c
from meshwatch import meshes
from meshwatch.model import (
    SLI,
    SLO,
    LatencySLI,
    Matcher,
    MeshKind,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
)
from meshwatch.render import dashboards_promql as q
from meshwatch.render.dashboards_common import (
    BUDGET_STEPS,
    PERCENT,
    Rendered,
    dashboard,
    dashboard_links,
    datasource_variable,
    link_to,
    long_windows,
    query_variable,
    slo_annotations,
    slo_table,
    slo_variable,
)
from meshwatch.render.dashboards_panels import (
    GREEN,
    ORANGE,
    RED,
    Grid,
    stat,
    targets,
    timeseries,
)

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
    grid.add(slo_table(slos, matchers), 24, max(6, min(20, 3 + len(slos))))
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
    windows = long_windows(slos)
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
    return dashboard(
        c.DASHBOARD_UID_OVERVIEW,
        "meshwatch / SLO overview",
        "Every SLO meshwatch manages: state, error budget, burn rates, SLI vs objective.",
        grid.panels,
        [
            datasource_variable(),
            query_variable(
                "service", "Service", f"label_values({c.RULE_OBJECTIVE}, {c.LABEL_SERVICE})"
            ),
            slo_variable(q.service_filter(regex=True)),
        ],
        annotations=slo_annotations(q.service_filter(regex=True)),
        links=dashboard_links(link_to(c.DASHBOARD_UID_MESH, "Mesh")),
        tags=("slo",),
        time_from="now-24h",
    )


# --- mesh ----------------------------------------------------------------------------


def _mesh_rows(grid: Grid, kind: MeshKind, slos: Sequence[SLO] = ()) -> g.Template:
    """One mesh's edges: requests, success rate and p99 latency per pair of peers.

    With gRPC SLOs (`protocol: grpc` or `auto`) on this mesh, a gRPC call answered with HTTP
    200 and a failing `grpc-status` is not a success: a panel shows each such SLO's own
    success rate (its server-error statuses) per edge, and the HTTP panel leaves gRPC calls
    out where the mesh labels them (Istio, Linkerd: an empty gRPC status on HTTP requests).
    """
    mesh = meshes.mesh(kind)
    var = mesh.dashboard_variable
    selector = Selector(mesh.requests, (*mesh.edge, Matcher(mesh.peers[-1], "=~", f"${var}")))
    peers = mesh.peers
    legend = " → ".join("{{" + p + "}}" for p in peers)
    between = "between services" if len(peers) > 1 else "per upstream cluster"
    grpc = _grpc_slos(slos, kind)
    width, http = (6, "HTTP success rate") if grpc else (8, "Success rate")
    http_selector = selector
    if grpc and mesh.grpc_code_label is not None:  # HTTP requests have no gRPC status
        http_selector = selector.with_matchers(Matcher(mesh.grpc_code_label, "=", ""))
    grid.add_row(f"{mesh.title}: traffic {between}")
    grid.add(timeseries(f"Requests/s {between}", targets((q.rate_by(selector, peers), legend)),
                        unit="reqps"), width, 8)  # fmt: skip
    grid.add(
        timeseries(
            f"{http} {between}",
            targets((f"1 - {q.failure_ratio(http_selector, mesh.bad, peers)}", legend)),
            unit=PERCENT,
            steps=((RED, None), (ORANGE, 0.99), (GREEN, 0.999)),
        ),
        width,
        8,
    )
    if grpc:
        grid.add(
            timeseries(
                f"gRPC success rate {between}",
                targets(*grpc_success_targets(grpc, peers, legend)),
                unit=PERCENT,
                description=(
                    "Per gRPC SLO, the share of its calls (on this mesh's series, per edge) "
                    "answered with no server-error gRPC status; HTTP 200 is not enough."
                ),
                steps=((RED, None), (ORANGE, 0.99), (GREEN, 0.999)),
            ),
            width,
            8,
        )
    grid.add(
        timeseries(
            f"p99 latency {between}",
            targets((q.latency_quantile(0.99, mesh.duration_ms, selector.matchers, peers), legend)),
            unit="ms",
        ),
        width,
        8,
    )
    return query_variable(var, var.capitalize(), f"label_values({mesh.requests}, {peers[-1]})")


def _grpc_slos(slos: Sequence[SLO], kind: MeshKind) -> list[SLO]:
    """The availability SLOs of mesh `kind` that count gRPC statuses."""
    return [
        slo
        for slo in sorted(slos, key=lambda s: (s.service, s.name))
        if slo.mesh is not None
        and slo.mesh.kind == kind
        and slo.mesh.protocol in ("grpc", "auto")
        and _counts_statuses(slo.sli)
    ]


def _counts_statuses(sli: SLI) -> bool:
    """Whether a mesh SLI is an availability ratio of requests (not a latency objective)."""
    match sli:
        case RatioSLI():
            return True
        case LatencySLI() | NativeLatencySLI() | QuerySLI() | RawSLI():
            return False
        case _:
            assert_never(sli)


def grpc_success_targets(
    slos: Sequence[SLO], peers: tuple[str, ...], legend: str
) -> list[tuple[str, str]]:
    """`1 - error ratio` of each gRPC SLO's own SLI per edge, legend `service/slo: edge`."""
    out = []
    for slo in slos:
        ratio = q.sli_error_ratio_by(slo, peers)
        if ratio is not None:
            out.append((f"1 - ({ratio})", f"{slo.service}/{slo.name}: {legend}"))
    return out


def mesh(slos: Sequence[SLO]) -> Rendered:
    """Traffic, success rate and latency between services; the route weights meshwatch set."""
    kinds: list[MeshKind] = sorted({slo.mesh.kind for slo in slos if slo.mesh is not None})
    grid = Grid()
    variables = [datasource_variable()]
    for kind in kinds:
        variables.append(_mesh_rows(grid, kind, slos))
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
        query_variable(
            route_var, "Route", f"label_values({c.METRIC_ROUTE_WEIGHT}, {c.LABEL_ROUTE})"
        )
    )
    return dashboard(
        c.DASHBOARD_UID_MESH,
        "meshwatch / mesh",
        "Traffic, success rate and latency between services; route weights meshwatch set.",
        grid.panels,
        variables,
        annotations=slo_annotations(f'{c.LABEL_SERVICE}=~".+"'),
        links=dashboard_links(link_to(c.DASHBOARD_UID_OVERVIEW, "SLO overview")),
        tags=("mesh",),
    )
