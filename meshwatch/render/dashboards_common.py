"""What every meshwatch dashboard shares: the rendered result, variables, annotations,
links, the SLO table, and the conversion of grafanalib objects into Grafana's JSON model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from grafanalib import core as g

from meshwatch import conventions as c
from meshwatch.model import SLO, format_duration
from meshwatch.render import dashboards_promql as q
from meshwatch.render.dashboards_panels import (
    DATASOURCE,
    GREEN,
    ORANGE,
    RED,
    by_name,
    table,
    target,
)
from meshwatch.slo.policy import alert_windows

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


burn_windows = alert_windows  # the enabled conditions; defined once, in slo.policy


def datasource_variable() -> g.Template:
    return g.Template(name="datasource", label="Data source", query="prometheus", type="datasource")


def query_variable(name: str, label: str, query: str, *, multi: bool = True) -> g.Template:
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


def slo_variable(service_matcher: str) -> g.Template:
    return query_variable(
        "slo", "SLO", f"label_values({c.RULE_OBJECTIVE}{{{service_matcher}}}, {c.LABEL_SLO})"
    )


def slo_annotations(matchers: str) -> g.Annotations:
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


def dashboard_links(*extra: g.DashboardLink) -> list[g.DashboardLink]:
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


def link_to(uid: str, title: str, variables: str = "") -> g.DashboardLink:
    url = f"/d/{uid}?var-datasource=${{datasource}}{variables}"
    return g.DashboardLink(title=title, type="link", uri=url, keepTime=True, icon="dashboard")


def dashboard(
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


def long_windows(slos: Sequence[SLO], limit: int = 4) -> list[str]:
    """Long burn windows the SLOs record, shortest first (columns of the SLO table).

    An SLO without one of them shows an empty cell, which reads as "not alerted on".
    """
    by_length = {format_duration(w.long): w.long for s in slos for w in burn_windows(s)}
    return sorted(by_length, key=lambda name: by_length[name])[:limit]


def slo_table(slos: Sequence[SLO], matchers: str) -> g.Table:
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
    for window in long_windows(slos):
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
