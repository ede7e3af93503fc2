"""`meshwatch dashboards push` against a recording fake of Grafana's HTTP API.

No Grafana server can run on this machine, so these tests use `tests/support/fake_grafana.py`:
a local HTTP server that implements the documented folder and dashboard endpoints, refuses
what Grafana refuses (no token, bad body, existing uid without overwrite) and records every
request so the tests can check them against Grafana's API reference.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from meshwatch import conventions as c
from meshwatch.cli import app
from tests.support.fake_grafana import FakeGrafana, serving_fake_grafana

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
TOKEN = "glsa_test-token-0123456789"


@pytest.fixture
def grafana() -> Iterator[tuple[str, FakeGrafana]]:
    with serving_fake_grafana(TOKEN) as served:
        yield served


def _push(url: str, *extra: str, token: str | None = TOKEN) -> tuple[int, str, str]:
    env = {"MESHWATCH_GRAFANA_TOKEN": token} if token is not None else {}
    result = CliRunner().invoke(
        app,
        ["dashboards", "push", "--grafana-url", url, "--from", str(DASHBOARDS), *extra],
        env=env,
    )
    return result.exit_code, result.stdout, result.stderr


def _committed() -> dict[str, dict[str, object]]:
    models = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(DASHBOARDS.glob("*.json"))]
    return {str(m["uid"]): m for m in models}


def test_push_creates_the_folder_and_posts_every_dashboard(
    grafana: tuple[str, FakeGrafana],
) -> None:
    url, fake = grafana
    code, out, err = _push(url)
    assert (code, err) == (0, "")
    committed = _committed()
    calls = [(r.method, r.path) for r in fake.requests]
    assert calls == [
        ("GET", f"/api/folders/{c.DASHBOARD_FOLDER}"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * len(committed),
    ]
    assert fake.requests[1].body == {"uid": c.DASHBOARD_FOLDER, "title": c.DASHBOARD_FOLDER}
    for request in fake.requests:
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["accept"] == "application/json"
    for request in fake.requests[2:]:
        body = request.body
        assert set(body) == {"dashboard", "folderUid", "overwrite", "message"}
        assert body["folderUid"] == c.DASHBOARD_FOLDER and body["overwrite"] is True
        assert body["dashboard"]["id"] is None  # Grafana matches on uid
        assert body["dashboard"] == {**committed[body["dashboard"]["uid"]], "id": None}
    assert set(fake.dashboards) == set(committed)
    assert fake.structural_problems == []
    assert f"{len(committed)} dashboards pushed" in out
    assert "meshwatch-overview: version 1 /d/meshwatch-overview/meshwatch-slo-overview" in out


def test_a_second_push_reuses_the_folder_and_overwrites(grafana: tuple[str, FakeGrafana]) -> None:
    url, fake = grafana
    assert _push(url)[0] == 0
    fake.requests.clear()
    code, out, _ = _push(url)
    assert code == 0
    assert [(r.method, r.path) for r in fake.requests][:2] == [
        ("GET", f"/api/folders/{c.DASHBOARD_FOLDER}"),
        ("POST", "/api/dashboards/db"),
    ]
    assert set(fake.versions.values()) == {2}
    assert "meshwatch-mesh: version 2" in out


def test_no_overwrite_stops_at_an_existing_dashboard(grafana: tuple[str, FakeGrafana]) -> None:
    url, _ = grafana
    assert _push(url)[0] == 0
    code, _, err = _push(url, "--no-overwrite")
    assert code == 1
    assert "412 [name-exists]: A dashboard with the same uid already exists" in err


@pytest.mark.parametrize(
    "token", [pytest.param("wrong-token", id="wrong-token"), pytest.param(None, id="no-token")]
)
def test_a_refused_token_exits_1_and_says_where_the_token_comes_from(
    grafana: tuple[str, FakeGrafana], token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    url, fake = grafana
    caplog.set_level(logging.DEBUG)
    code, out, err = _push(url, token=token)
    assert code == 1
    assert "401" in err and "MESHWATCH_GRAFANA_TOKEN" in err
    assert fake.dashboards == {}
    if token:
        assert token not in out + err + caplog.text


def test_a_custom_folder_is_created_and_used(grafana: tuple[str, FakeGrafana]) -> None:
    url, fake = grafana
    assert _push(url, "--folder", "slo-team")[0] == 0
    assert set(fake.folders) == {"slo-team"}
    assert {d["folderUid"] for d in fake.dashboards.values()} == {"slo-team"}


def test_an_unreachable_grafana_exits_1(tmp_path: Path) -> None:
    with serving_fake_grafana(TOKEN) as (url, _):
        pass  # stopped: nothing listens there any more
    code, _, err = _push(url)
    assert code == 1 and "folder 'meshwatch'" in err


def test_an_empty_folder_of_dashboards_exits_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["dashboards", "push", "--grafana-url", "http://127.0.0.1:9", "--from", str(tmp_path)],
        env={"MESHWATCH_GRAFANA_TOKEN": TOKEN},
    )
    assert result.exit_code == 1
    assert "no *.json dashboards" in result.stderr
