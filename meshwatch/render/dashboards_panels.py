"""Panel building blocks on top of grafanalib, with meshwatch's defaults.

grafanalib (with `dashboards.py`) is the only place that imports grafanalib, so it can be
swapped for plain dicts if it stops being maintained. Every panel reads the dashboard's
`$datasource` variable through a `{type, uid}` reference, not grafanalib's bare name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from grafanalib import core as g

DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": "${datasource}"}

GREEN = "green"
ORANGE = "orange"
RED = "red"
GREY = "text"

Steps = Sequence[tuple[str, float | None]]


def thresholds(steps: Steps) -> list[dict[str, Any]]:
    """Absolute threshold steps; the first is the base colour (value `None`)."""
    return [{"color": color, "value": value} for color, value in steps]


def target(
    expr: str, ref: str, legend: str = "", *, instant: bool = False, table: bool = False
) -> g.Target:
    return g.Target(
        expr=expr,
        refId=ref,
        legendFormat=legend,
        instant=instant,
        format=g.TABLE_TARGET_FORMAT if table else g.TIME_SERIES_TARGET_FORMAT,
        datasource=DATASOURCE,
    )


def targets(*queries: tuple[str, str]) -> list[g.Target]:
    """Time-series targets from (expr, legend) pairs, refIds A, B, C..."""
    return [target(expr, chr(ord("A") + i), legend) for i, (expr, legend) in enumerate(queries)]


def by_name(name: str, **properties: Any) -> dict[str, Any]:
    """A field override for the column/series called `name`."""
    return {
        "matcher": {"id": "byName", "options": name},
        "properties": [{"id": key, "value": value} for key, value in sorted(properties.items())],
    }


def timeseries(
    title: str,
    queries: list[g.Target],
    *,
    unit: str,
    description: str = "",
    steps: Steps = (),
    soft_max: int | None = None,
    time_from: str | None = None,
    overrides: Sequence[dict[str, Any]] = (),
) -> g.TimeSeries:
    """A line chart; `steps` are drawn as dashed threshold lines."""
    return g.TimeSeries(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=queries,
        unit=unit,
        thresholds=thresholds(steps or ((GREEN, None),)),
        thresholdsStyleMode="dashed" if steps else "off",
        axisSoftMin=0,
        axisSoftMax=soft_max,
        legendDisplayMode="list",
        legendCalcs=["lastNotNull"],
        tooltipMode="multi",
        timeFrom=time_from,
        overrides=list(overrides),
    )


def stat(
    title: str,
    expr: str,
    *,
    unit: str,
    steps: Steps,
    description: str = "",
    decimals: int | None = None,
    mappings: Sequence[dict[str, Any]] = (),
    legend: str = "",
) -> g.Stat:
    """One number, coloured by `steps`; no data reads `unknown`, never a reassuring value."""
    return g.Stat(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=[target(expr, "A", legend, instant=True)],
        format=unit,
        decimals=decimals,
        reduceCalc="lastNotNull",
        colorMode="background",
        graphMode="none",
        noValue="unknown",
        color={"mode": "thresholds"},
        thresholds=thresholds(steps),
        mappings=list(mappings),
    )


def table(
    title: str,
    queries: list[g.Target],
    *,
    description: str,
    renames: dict[str, str],
    sort_by: str,
    overrides: Sequence[dict[str, Any]],
) -> g.Table:
    """Instant queries merged into one row per label set, columns renamed, sorted."""
    return g.Table(
        title=title,
        description=description,
        dataSource=DATASOURCE,
        targets=queries,
        transformations=[
            {"id": "merge", "options": {}},
            {
                "id": "organize",
                "options": {
                    "excludeByName": {"Time": True},
                    "indexByName": {},
                    "renameByName": renames,
                },
            },
        ],
        sortBy=[g.TableSortByField(displayName=sort_by, desc=False)],
        filterable=True,
        overrides=list(overrides),
    )


@dataclass
class Grid:
    """Places panels left to right on Grafana's 24-column grid, wrapping to new lines, and
    numbers them in that order (cheaper than grafanalib's `auto_panel_ids`, which copies
    every panel).

    A collapsed row holds its panels inside itself, laid out as they will be when the row is
    expanded; the next row then starts right below the collapsed one, as Grafana expects.
    """

    panels: list[g.Panel] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0
    count: int = 0
    open_row: g.RowPanel | None = None  # the collapsed row receiving panels
    resume_y: int = 0  # where the layout continues after that row

    def add(self, panel: g.Panel, width: int, height: int) -> None:
        if self.x + width > 24:
            self.newline()
        panel.gridPos = g.GridPos(h=height, w=width, x=self.x, y=self.y)
        self.count += 1
        panel.id = self.count  # stable ids in layout order
        (self.open_row.panels if self.open_row is not None else self.panels).append(panel)
        self.x += width
        self.line_height = max(self.line_height, height)

    def add_row(self, title: str, *, collapsed: bool = False) -> None:
        self.newline()
        if self.open_row is not None:
            self.open_row, self.y = None, self.resume_y
        self.add(g.RowPanel(title=title, collapsed=collapsed), 24, 1)
        self.newline()
        if collapsed:
            self.open_row = self.panels[-1]
            self.resume_y = self.y

    def newline(self) -> None:
        if self.x:
            self.y += self.line_height
        self.x, self.line_height = 0, 0
