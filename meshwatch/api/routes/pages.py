"""The HTML status page: overview (`/`), one SLO (`/slos/{id}`), one service (`/services/{name}`).

Server-rendered with Jinja2, CSS inline, charts as inline SVG drawn from stored history: no
JavaScript at all. Filters are plain GET forms (`?service=&state=`). Breached SLOs carry the
class `state-breached` (red) everywhere they appear.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from meshwatch import conventions as c
from meshwatch.api.backend_series import chart_series, policy_windows
from meshwatch.api.deps import ServicesDep
from meshwatch.api.rollups import Rollup, rollup
from meshwatch.model import SLO, SLOStatus, State, format_duration, parse_duration
from meshwatch.render import reports_text as fmt
from meshwatch.render import units
from meshwatch.render.reports_build import slices_from_statuses
from meshwatch.render.svg import Point, budget_chart, sli_chart
from meshwatch.render.svg_backends import backend_burn_chart, backend_sli_chart
from meshwatch.render.svg_weights import Move, weights_chart
from meshwatch.slo.calendar import zone
from meshwatch.slo.periods import current_period
from meshwatch.store import ActionState, HistoryPoint

router = APIRouter(include_in_schema=False)

RANGES: dict[str, timedelta] = {"24h": timedelta(minutes=5), "7d": timedelta(hours=1)}
RANGES["30d"] = timedelta(hours=6)
DEFAULT_RANGE = "7d"
RECENT = 10  # alerts and actions shown
_INCLUSIVE = timedelta(microseconds=1)  # history ends are exclusive; include a status at now


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("meshwatch.api", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=fmt.pct, count=fmt.count, rate=fmt.rate, minutes=fmt.minutes)
    env.filters.update(latency=units.latency, throughput=units.throughput, span=units.span)
    env.filters.update(duration=format_duration)
    return env


def _page(template: str, **values: Any) -> HTMLResponse:
    return HTMLResponse(environment().get_template(template).render(**values))


@dataclass(frozen=True, slots=True)
class Row:
    """One SLO as the tables show it."""

    slo: SLO
    status: SLOStatus | None
    min_coverage: float = 0.1

    @property
    def unit(self) -> units.LatencyUnit | None:
        return units.latency_unit(self.slo)

    @property
    def low_coverage(self) -> bool:
        """The period figures rest on less than `min_coverage` of the period."""
        coverage = self.status.coverage if self.status else None
        return coverage is not None and coverage < self.min_coverage

    @property
    def coverage_note(self) -> str:
        """`25 min of 30d (0.06%)`, or `not measured`."""
        coverage = self.status.coverage if self.status else None
        if coverage is None:
            return "not measured"
        covered = units.span(self.slo.window.length * coverage)
        return f"{covered} of {self.slo.window.name} ({fmt.pct(coverage, 2)})"

    @property
    def period_note(self) -> str:
        """Where the period of the figures starts: `period since 2026-12-01 00:00
        Europe/Berlin (2026-11-30 23:00 UTC)`; empty without a status."""
        if self.status is None:
            return ""
        start = current_period(self.slo.window, self.status.at).start
        utc_text = f"{start:%Y-%m-%d %H:%M} UTC"
        if self.slo.window.unit is None or self.slo.window.time_zone == "UTC":
            return f"period since {utc_text}"
        local = start.astimezone(zone(self.slo.window.time_zone))
        return f"period since {local:%Y-%m-%d %H:%M} {self.slo.window.time_zone} ({utc_text})"

    @property
    def state(self) -> str:
        return self.status.state.value if self.status else State.UNKNOWN.value

    @property
    def burn_rates(self) -> list[tuple[str, float | None]]:
        """Burn rate per measured window, shortest first (the period itself left out)."""
        if self.status is None:
            return []
        period = self.slo.window.name
        named = [
            (name, value)
            for name, value in self.status.burn_rate.items()
            if name != period and _seconds(name) is not None
        ]
        return sorted(named, key=lambda item: _seconds(item[0]) or 0.0)


def _seconds(name: str) -> float | None:
    try:
        return parse_duration(name).total_seconds()
    except ValueError:
        return None


def _rows(services: ServicesDep) -> list[Row]:
    latest = {s.slo_id: s for s in services.store.history.latest()}
    least = services.settings.min_coverage
    return [Row(slo, latest.get(slo.id), least) for slo in services.runtime.slos]


def _grafana(services: ServicesDep, uid: str) -> str | None:
    base = services.settings.grafana_url
    return f"{base.rstrip('/')}/d/{uid}" if base else None


def _summary(name: str, rows: Sequence[Row]) -> Rollup:
    statuses = {r.slo.id: r.status for r in rows if r.status is not None}
    return rollup(name, [r.slo for r in rows], statuses)


def _alerts_actions(services: ServicesDep, slo_ids: set[str] | None) -> tuple[list[Any], list[Any]]:
    limit = RECENT if slo_ids is None else RECENT * 20
    alerts = services.store.alerts.list_alerts(limit=limit)
    actions = services.store.actions.list_actions(limit=limit)
    if slo_ids is not None:
        alerts = [a for a in alerts if a.event.slo_id in slo_ids]
        actions = [a for a in actions if a.plan.slo_id in slo_ids]
    return alerts[:RECENT], actions[:RECENT]


def data_start(points: Sequence[HistoryPoint], start: datetime, step: timedelta) -> datetime:
    """Where the charts begin: the range start, or the oldest point's step when history is
    shorter than the range (so a short history is not squeezed against the right edge)."""
    if not points:
        return start
    return max(start, points[0].status.at - step)


def charts(
    slo: SLO, points: Sequence[HistoryPoint], start: datetime, end: datetime
) -> tuple[Markup, Markup]:
    """Budget left (as stored each step) and the SLI of each step against the objective."""
    budget = [Point(p.status.at, p.status.budget_remaining) for p in points]
    slices = slices_from_statuses((p.status for p in points), start, end)
    sli = [
        Point(s.end, None if s.total <= 0 else 1.0 - min(s.errors / s.total, 1.0)) for s in slices
    ]
    return (
        Markup(budget_chart(budget, start, end, f"{slo.id}: error budget left")),
        Markup(sli_chart(sli, start, end, slo.target, f"{slo.id}: SLI vs objective")),
    )


def _range(value: str) -> tuple[str, timedelta, timedelta]:
    if value not in RANGES:
        raise HTTPException(422, detail=f"range must be one of {', '.join(RANGES)}")
    return value, parse_duration(value), RANGES[value]


@router.get("/", response_class=HTMLResponse)
def overview(
    services: ServicesDep,
    service: Annotated[str, Query(max_length=255)] = "",
    state: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    if state and state not in {s.value for s in State}:
        raise HTTPException(422, detail=f"state must be one of {', '.join(s.value for s in State)}")
    rows = _rows(services)
    names = sorted({r.slo.service for r in rows})
    shown = [
        r
        for r in rows
        if (not service or r.slo.service == service) and (not state or r.state == state)
    ]
    alerts, actions = _alerts_actions(services, None)
    return _page(
        "overview.html.j2",
        title="meshwatch status",
        now=services.clock(),
        mesh=_summary("mesh", rows),
        services=[_summary(name, [r for r in rows if r.slo.service == name]) for name in names],
        rows=shown,
        total=len(rows),
        service_names=names,
        states=[s.value for s in State],
        selected_service=service,
        selected_state=state,
        alerts=alerts,
        actions=actions,
        grafana=_grafana(services, c.DASHBOARD_UID_OVERVIEW),
    )


@router.get("/slos/{slo_id}", response_class=HTMLResponse)
def slo_page(
    slo_id: str, services: ServicesDep, range: Annotated[str, Query()] = DEFAULT_RANGE
) -> HTMLResponse:
    slo = services.runtime.slo_index.get(slo_id)
    if slo is None:
        raise HTTPException(404, detail=f"no SLO with id {slo_id!r}")
    name, length, step = _range(range)
    end = services.clock()
    points = services.store.history.history(slo_id, end - length, end + _INCLUSIVE, step)
    start = data_start(points, end - length, step)
    latest = services.store.history.latest(slo_id)
    alerts, actions = _alerts_actions(services, {slo_id})
    weights = None
    backends: tuple[Markup, Markup] | None = None
    if slo.remediation is not None:
        moves = _moves(services, slo_id, start)
        title = f"{slo.remediation.target}: route weights"
        weights = Markup(weights_chart(moves, start, end, title))
        backends = backend_charts(services, slo, start, end, step)
    return _page(
        "slo.html.j2",
        title=f"{slo.id} · meshwatch",
        now=end,
        row=Row(slo, latest[0] if latest else None, services.settings.min_coverage),
        charts=charts(slo, points, start, end),
        weights=weights,
        backends=backends,
        backend_windows=policy_windows(slo),
        shown=units.span(end - start),
        range=name,
        ranges=list(RANGES),
        alerts=alerts,
        actions=actions,
        grafana=_grafana(services, c.dashboard_uid_service(slo.service)),
    )


def backend_charts(
    services: ServicesDep, slo: SLO, start: datetime, end: datetime, step: timedelta
) -> tuple[Markup, Markup]:
    """Each backend's SLI (the loop's shortest window) and burn rate (both of its windows)."""
    assert slo.remediation is not None
    points = services.store.history.backends.history(slo.id, start, end + _INCLUSIVE, step)
    windows = policy_windows(slo)
    sli = chart_series(points, windows[:1], slo.target, "sli")
    burn = chart_series(points, windows, slo.target, "burn_rate")
    return (
        Markup(backend_sli_chart(sli, start, end, slo.target, f"{slo.id}: SLI per backend")),
        Markup(
            backend_burn_chart(
                burn, start, end, slo.remediation.factor, f"{slo.id}: burn rate per backend"
            )
        ),
    )


def _moves(services: ServicesDep, slo_id: str, start: datetime) -> list[Move]:
    """The SLO's remediation actions since `start`, as moves of the route weights."""
    actions = services.store.actions.list_actions(limit=RECENT * 50)
    return [
        Move(
            at=a.created_at,
            kind=a.plan.kind,
            applied=a.state is ActionState.APPLIED,
            before=a.plan.weights_before,
            after=a.plan.weights_after,
        )
        for a in actions
        if a.plan.slo_id == slo_id and a.created_at >= start
    ]


@router.get("/services/{name}", response_class=HTMLResponse)
def service_page(
    name: str, services: ServicesDep, range: Annotated[str, Query()] = DEFAULT_RANGE
) -> HTMLResponse:
    rows = [r for r in _rows(services) if r.slo.service == name]
    if not rows:
        raise HTTPException(404, detail=f"no SLOs for service {name!r}")
    label, length, step = _range(range)
    end = services.clock()
    start = end - length
    slo_charts = {
        r.slo.id: charts(
            r.slo,
            services.store.history.history(r.slo.id, start, end + _INCLUSIVE, step),
            start,
            end,
        )
        for r in rows
    }
    alerts, actions = _alerts_actions(services, {r.slo.id for r in rows})
    return _page(
        "service.html.j2",
        title=f"{name} · meshwatch",
        now=end,
        service=_summary(name, rows),
        rows=rows,
        charts=slo_charts,
        range=label,
        ranges=list(RANGES),
        alerts=alerts,
        actions=actions,
        grafana=_grafana(services, c.dashboard_uid_service(name)),
    )
