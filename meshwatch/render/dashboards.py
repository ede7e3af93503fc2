"""Grafana dashboards from SLOs: an overview, one dashboard per service, and the mesh.

    render_dashboards(slos) -> {"meshwatch-overview.json": "...", ...}

Each dashboard is a grafanalib object turned into JSON with sorted keys, so the files are
byte-stable and `generate dashboards --check` can report drift. Panels read the recorded
series of the rules (the public contract) and, for meshed services, the raw mesh series the
SLO is computed from. The pieces: `dashboards_promql` (every expression, no grafanalib),
`dashboards_panels` (panel builders), `dashboards_common` (variables, annotations, links,
the SLO table, JSON conversion), `dashboards_overview` (overview + mesh) and
`dashboards_service`. Only these modules import grafanalib.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from meshwatch.bulk import without_cyclic_gc
from meshwatch.model import SLO
from meshwatch.render.dashboards_common import Rendered, burn_windows
from meshwatch.render.dashboards_overview import mesh, overview
from meshwatch.render.dashboards_service import service

__all__ = [
    "Rendered",
    "build",
    "burn_windows",
    "iter_panels",
    "mesh",
    "overview",
    "panel_list",
    "queries",
    "render_dashboards",
    "service",
]


def build(
    slos: Sequence[SLO], progress: Callable[[int, int], None] | None = None
) -> list[Rendered]:
    """The overview, one dashboard per service (sorted), and the mesh dashboard.

    `progress(done, total)` is told after each service dashboard."""
    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    with without_cyclic_gc():
        services = []
        for name in sorted(by_service):
            services.append(service(name, by_service[name]))
            if progress is not None:
                progress(len(services), len(by_service))
        return [overview(slos), *services, mesh(slos)]


def render_dashboards(
    slos: Sequence[SLO], progress: Callable[[int, int], None] | None = None
) -> dict[str, str]:
    """File name -> JSON text for every dashboard of `slos`."""
    return {board.filename: board.text() for board in build(slos, progress)}


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
