"""Dashboards generated from SLO objects: shape, determinism, names, units, thresholds, links."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from meshwatch import conventions as c
from meshwatch.model import SLO, Alerting, Window
from meshwatch.render import dashboards
from meshwatch.render.dashboards import Rendered, build, iter_panels, render_dashboards
from tests.support.example_slos import example_slos
from tests.support.grafana_model import check_dashboard

SLOS = example_slos()
BOARDS = {board.uid: board for board in build(SLOS)}
MANY = dashboards.service(
    "many", [dataclasses.replace(SLOS[0], service="many", name=f"slo{i}") for i in range(5)]
)


def _panels(board: Rendered, kind: str | None = None) -> list[dict[str, Any]]:
    return [p for p in iter_panels(board.model) if p["type"] != "row" and kind in (None, p["type"])]


def _panel(board: Rendered, title: str) -> dict[str, Any]:
    found = [p for p in iter_panels(board.model) if p["title"] == title]
    assert found, f"{board.uid} has no panel {title!r}"
    return found[0]


def _defaults(panel: dict[str, Any]) -> dict[str, Any]:
    return dict(panel["fieldConfig"]["defaults"])


def test_one_overview_one_mesh_and_one_dashboard_per_service() -> None:
    services = sorted({slo.service for slo in SLOS})
    assert list(BOARDS) == [
        c.DASHBOARD_UID_OVERVIEW,
        *(c.dashboard_uid_service(s) for s in services),
        c.DASHBOARD_UID_MESH,
    ]


def test_output_is_byte_stable_sorted_and_marked_generated() -> None:
    first, second = render_dashboards(SLOS), render_dashboards(list(reversed(SLOS)))
    assert first == second
    for name, text in first.items():
        model = json.loads(text)
        assert text == json.dumps(model, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert model["description"].startswith(c.DASHBOARD_MARKER)
        assert name == f"{model['uid']}.json"
        assert len(model["uid"]) <= 40


@pytest.mark.parametrize("uid", list(BOARDS))
def test_every_dashboard_fits_grafanas_dashboard_model(uid: str) -> None:
    assert check_dashboard(BOARDS[uid].model) == []


def _assert_tiled(panels: list[dict[str, Any]]) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
        xs, ys = range(pos["x"], pos["x"] + pos["w"]), range(pos["y"], pos["y"] + pos["h"])
        mine = {(x, y) for x in xs for y in ys}
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine


@pytest.mark.parametrize("uid", [*BOARDS, "many-slos"])
def test_panels_tile_the_grid_without_overlap_and_have_unique_ids(uid: str) -> None:
    board = BOARDS.get(uid, MANY)
    ids = [p["id"] for p in iter_panels(board.model)]
    assert len(ids) == len(set(ids))
    top = board.model["panels"]
    _assert_tiled(top)
    for row in (p for p in top if p.get("collapsed")):  # laid out as when expanded
        _assert_tiled(row["panels"])
        assert all(child["gridPos"]["y"] > row["gridPos"]["y"] for child in row["panels"])


def test_a_service_with_many_slos_starts_with_its_rows_collapsed() -> None:
    rows = [p for p in MANY.model["panels"] if p["type"] == "row"]
    assert rows[0] == dict(rows[0], title="SLOs", panels=[])
    assert not rows[0].get("collapsed")
    assert all(r["collapsed"] and r["panels"] for r in rows[1:])
    assert [r["gridPos"]["y"] for r in rows[1:]] == list(
        range(rows[1]["gridPos"]["y"], rows[1]["gridPos"]["y"] + len(rows) - 1)
    )
    assert check_dashboard(MANY.model) == []
    nested = [p["title"] for r in rows[1:] for p in r["panels"]]
    assert nested.count("SLI vs objective") == 5
    assert len(dashboards.queries(MANY.model)) > 5 * 10


@pytest.mark.parametrize("uid", list(BOARDS))
def test_every_query_reads_the_datasource_variable(uid: str) -> None:
    board = BOARDS[uid].model
    names = [v["name"] for v in board["templating"]["list"]]
    assert names[0] == "datasource"
    assert board["templating"]["list"][0]["type"] == "datasource"
    for panel in _panels(BOARDS[uid]):
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"]
            assert target["expr"].strip()


def test_template_variables_of_overview_and_service_dashboards() -> None:
    overview = {v["name"]: v for v in BOARDS[c.DASHBOARD_UID_OVERVIEW].model["templating"]["list"]}
    assert overview["service"]["query"] == f"label_values({c.RULE_OBJECTIVE}, {c.LABEL_SERVICE})"
    assert overview["slo"]["multi"] and overview["slo"]["includeAll"]
    service = {v["name"]: v for v in BOARDS["meshwatch-svc-checkout"].model["templating"]["list"]}
    assert service["service"]["type"] == "constant" and service["service"]["query"] == "checkout"
    assert '{meshwatch_service="$service"}' in service["slo"]["query"]


def test_overview_table_sorts_by_budget_and_links_to_service_dashboards() -> None:
    table = _panel(BOARDS[c.DASHBOARD_UID_OVERVIEW], "SLOs")
    assert table["type"] == "table"
    assert table["options"]["sortBy"] == [{"displayName": "Budget remaining", "desc": False}]
    renames = table["transformations"][1]["options"]["renameByName"]
    assert {"Objective", "SLI (period)", "Budget remaining", "Burn rate 1h", "State"} <= set(
        renames.values()
    )
    overrides = {
        o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]
    }
    link = next(p for p in overrides[c.LABEL_SERVICE] if p["id"] == "links")["value"][0]
    assert link["url"].startswith(
        f"/d/{c.dashboard_uid_service('')}${{__data.fields.meshwatch_service}}"
    )
    assert all(t["instant"] and t["format"] == "table" for t in table["targets"])


def test_service_dashboard_has_a_row_per_slo_with_burn_rates_and_thresholds() -> None:
    board = BOARDS["meshwatch-svc-checkout"]
    rows = [p["title"] for p in board.model["panels"] if p["type"] == "row"]
    assert rows == [
        "SLOs",
        "availability: 99.9% over 30d",
        "latency: 99% over 30d",
        "Traffic: availability, latency",
    ]
    burn = _panel(board, "Burn rate 1h / 5m (page, 14.4x)")
    assert _defaults(burn)["unit"] == "x"
    assert _defaults(burn)["thresholds"]["steps"][-1] == {"color": "red", "value": 14.4}
    assert burn["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "dashed"
    assert "meshwatch:sli_error:ratio_rate1h" in burn["targets"][0]["expr"]
    assert "meshwatch:sli_error:ratio_rate5m" in burn["targets"][1]["expr"]
    sli = _panel(board, "SLI over the period")
    assert _defaults(sli)["unit"] == "percentunit"
    assert _defaults(sli)["thresholds"]["steps"] == [
        {"color": "red", "value": None},
        {"color": "green", "value": pytest.approx(0.999)},
    ]
    burndown = _panel(board, "Error budget burn-down")
    assert burndown["timeFrom"] == "30d"


def test_28_day_slos_draw_the_scaled_burn_factors() -> None:
    titles = [p["title"] for p in _panels(BOARDS["meshwatch-svc-payments"]) if "Burn" in p["title"]]
    assert titles == [
        "Burn rate 1h / 5m (page, 13.44x)",
        "Burn rate 6h / 30m (page, 5.6x)",
        "Burn rate 1d / 2h (ticket, 2.8x)",
        "Burn rate 3d / 6h (ticket, 0.9333x)",
    ]


def test_disabled_ticket_alerts_draw_no_ticket_burn_panels() -> None:
    slo = SLO(
        "solo",
        "availability",
        99.0,
        Window.rolling(timedelta(days=30)),
        SLOS[0].sli,
        alerting=Alerting(ticket=False),
    )
    titles = [p["title"] for p in _panels(build([slo])[1]) if p["title"].startswith("Burn")]
    assert titles == ["Burn rate 1h / 5m (page, 14.4x)", "Burn rate 6h / 30m (page, 6x)"]


def test_meshed_services_get_code_latency_and_version_breakdowns() -> None:
    board = BOARDS["meshwatch-svc-checkout"]
    codes = _panel(board, "Error ratio by response code")
    assert 'response_code!~"[23].."' in codes["targets"][0]["expr"]
    latency = _panel(board, "Latency percentiles")
    assert _defaults(latency)["unit"] == "ms"
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p90", "p99"]
    versions = _panel(board, "Requests by version")
    assert "sum by (destination_version)" in versions["targets"][0]["expr"]
    errors = [p for p in _panels(board) if p["title"] == "Error ratio by version"]
    assert len(errors) == 2  # one per SLO: availability (5xx) and latency (slow)
    assert 'le=~"250|250' in errors[1]["targets"][0]["expr"]


def test_plain_app_histograms_get_their_own_unit_and_free_promql_gets_recorded_panels_only() -> (
    None
):
    api = BOARDS["meshwatch-svc-api"]
    assert _defaults(_panel(api, "Latency percentiles"))["unit"] == "s"
    search = BOARDS["meshwatch-svc-search"]
    exprs = [t["expr"] for p in _panels(search) for t in p["targets"]]
    assert exprs and all("meshwatch:" in e for e in exprs)


def test_annotations_show_meshwatch_alerts_and_remediation_actions() -> None:
    names = {a["name"]: a for a in BOARDS["meshwatch-svc-checkout"].model["annotations"]["list"]}
    assert set(names) == {"Annotations & Alerts", "meshwatch alerts", "meshwatch remediation"}
    assert f'alertname=~"{c.ALERT_BURN}|{c.ALERT_ABSENT}"' in names["meshwatch alerts"]["expr"]
    assert c.METRIC_ACTIONS in names["meshwatch remediation"]["expr"]


def test_dashboards_link_to_each_other() -> None:
    svc_links = [
        link["url"]
        for link in BOARDS["meshwatch-svc-checkout"].model["links"]
        if link["type"] == "link"
    ]
    assert svc_links == [
        f"/d/{c.DASHBOARD_UID_OVERVIEW}?var-datasource=${{datasource}}&var-service=checkout",
        f"/d/{c.DASHBOARD_UID_MESH}?var-datasource=${{datasource}}",
    ]
    for board in BOARDS.values():
        dropdown = [link for link in board.model["links"] if link["type"] == "dashboards"]
        assert dropdown == [dict(dropdown[0], tags=[c.DASHBOARD_TAG], asDropdown=True)]


def test_mesh_dashboard_has_a_row_per_mesh_and_the_route_weights() -> None:
    board = BOARDS[c.DASHBOARD_UID_MESH]
    rows = [p["title"] for p in board.model["panels"] if p["type"] == "row"]
    assert rows == [
        "Envoy: traffic per upstream cluster",
        "Istio: traffic between services",
        "Linkerd: traffic between services",
        "Routes meshwatch manages",
    ]
    weights = _panel(board, "Route weights set by meshwatch")
    assert weights["targets"][0]["expr"] == (
        f'max by (route, backend) ({c.METRIC_ROUTE_WEIGHT}{{route=~"$route"}})'
    )
    assert _defaults(weights)["unit"] == "percent"
    istio = _panel(board, "Requests/s between services")
    assert "sum by (source_workload, destination_service_name)" in istio["targets"][0]["expr"]


def test_queries_lists_panels_variables_and_annotations() -> None:
    wheres = [where for where, _ in dashboards.queries(BOARDS[c.DASHBOARD_UID_OVERVIEW].model)]
    assert "variable service" in wheres and "variable slo" in wheres
    assert "annotation 'meshwatch alerts'" in wheres
    assert any(w.startswith("panel 'SLOs' ") for w in wheres)


def test_panel_list_names_every_dashboard_and_counts_its_panels() -> None:
    text = dashboards.panel_list(list(BOARDS.values()))
    for board in BOARDS.values():
        assert f"**{board.title}** (`{board.uid}`, {len(_panels(board))} panels)" in text
    assert "Burn rate 1h / 5m (page, 14.4x) _timeseries_;" in text
