"""/api/v1/reports over a real SQLite store, with the real report runner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from meshwatch.api.app import create_app
from meshwatch.engine.runtime import Runtime
from meshwatch.jobs.reports import ReportBuilder, ReportRunner
from meshwatch.settings import Settings
from meshwatch.store import Store, make_engine, upgrade
from tests.support import report_history as h

TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    upgrade(url)
    store = Store(make_engine(url))
    h.seed(store)
    yield store
    store.close()


@pytest.fixture
def runner(store: Store, tmp_path: Path) -> ReportRunner:
    runtime = Runtime(slos=h.SLOS)
    return ReportRunner(
        ReportBuilder(store, lambda: runtime.slos), store, tmp_path / "reports", lambda: h.END
    )


@pytest.fixture
def client(store: Store, runner: ReportRunner) -> Iterator[TestClient]:
    app = create_app(
        Settings(api_token=SecretStr(TOKEN)),
        store=store,
        runtime=Runtime(slos=h.SLOS),
        clock=lambda: h.END,
        report_trigger=lambda period, fmt, at: runner.run(period, fmt, at),
    )
    with TestClient(app) as client:
        yield client


def test_trigger_writes_records_and_serves_the_report(client: TestClient) -> None:
    created = client.post("/api/v1/reports", json={"period": "7d", "format": "json"}, headers=AUTH)
    assert created.status_code == 201, created.text
    run = created.json()
    assert run["status"] == "ok" and run["period"] == "7d" and run["format"] == "json"
    assert Path(run["uri"]).name == "slo-report-7d-20261123T0000Z.json"

    listed = client.get("/api/v1/reports").json()
    assert [r["id"] for r in listed] == [run["id"]]

    fetched = client.get(f"/api/v1/reports/{run['id']}").json()
    report = json.loads(fetched["content"])
    assert report["schema_version"] == "meshwatch.report/v1"
    assert {s["slo_id"]: s["state"] for s in report["slos"]} == {
        "checkout-availability": "breached",
        "checkout-latency": "ok",
        "frontend-availability": "ok",
    }
    # read back from the store: the alert and the action of the fixed history
    slo = next(s for s in report["slos"] if s["slo_id"] == "checkout-availability")
    assert [a["name"] for a in slo["alerts"]] == ["MeshwatchErrorBudgetBurn"]
    assert [(a["kind"], a["state"]) for a in slo["actions"]] == [("shift", "applied")]


@pytest.mark.parametrize(
    ("period", "file_name", "start", "end"),
    [
        pytest.param(
            "36h",
            "slo-report-36h-20261123T0000Z.json",
            "2026-11-21T12:00:00Z",
            "2026-11-23T00:00:00Z",
            id="any-duration",
        ),
        pytest.param(
            "2026-11-16T00:00:00Z/2026-11-20T00:00:00Z",
            "slo-report-20261116T000000Z_20261120T000000Z-20261120T0000Z.json",
            "2026-11-16T00:00:00Z",
            "2026-11-20T00:00:00Z",
            id="explicit-interval",
        ),
    ],
)
def test_trigger_takes_any_period(
    client: TestClient, period: str, file_name: str, start: str, end: str
) -> None:
    created = client.post(
        "/api/v1/reports", json={"period": period, "format": "json"}, headers=AUTH
    )
    assert created.status_code == 201, created.text
    run = created.json()
    assert Path(run["uri"]).name == file_name
    report = json.loads(client.get(f"/api/v1/reports/{run['id']}").json()["content"])
    assert (report["period"], report["start"], report["end"]) == (period, start, end)


def test_report_from_the_store_equals_the_golden_report(client: TestClient) -> None:
    run = client.post("/api/v1/reports", json={"period": "7d", "format": "md"}, headers=AUTH).json()
    content = client.get(f"/api/v1/reports/{run['id']}").json()["content"]
    golden = (Path(__file__).resolve().parents[2] / "golden/reports/fixed-7d.md").read_text()
    assert content == golden


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        pytest.param({}, {"period": "7d"}, 401, id="no-token"),
        pytest.param({"Authorization": "Bearer wrong"}, {"period": "7d"}, 403, id="wrong-token"),
        pytest.param(AUTH, {"period": "1y"}, 422, id="bad-period"),
        pytest.param(AUTH, {"period": "2026-11-20/2026-11-16"}, 422, id="reversed-interval"),
        pytest.param(AUTH, {"format": "pdf"}, 422, id="bad-format"),
        pytest.param(AUTH, {"extra": 1}, 422, id="unknown-field"),
        pytest.param(AUTH, {"at": "2026-11-01T00:00:00"}, 422, id="naive-at"),
    ],
)
def test_trigger_rejects_with_reasons(
    client: TestClient, headers: dict[str, str], body: dict[str, object], status: int
) -> None:
    response = client.post("/api/v1/reports", json=body, headers=headers)
    assert response.status_code == status
    assert response.json()["detail"]


def test_unknown_run_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/reports/999")
    assert response.status_code == 404 and "999" in response.json()["detail"]


def test_deleted_report_file_is_410(client: TestClient) -> None:
    run = client.post("/api/v1/reports", json={"format": "csv"}, headers=AUTH).json()
    Path(run["uri"]).unlink()
    response = client.get(f"/api/v1/reports/{run['id']}")
    assert response.status_code == 410 and "cannot be read" in response.json()["detail"]


def test_failed_run_is_recorded_and_502(
    client: TestClient, runner: ReportRunner, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    runner.directory = blocker / "reports"
    response = client.post("/api/v1/reports", json={"format": "md"}, headers=AUTH)
    assert response.status_code == 502 and "failed" in response.json()["detail"]
    [run] = client.get("/api/v1/reports").json()
    assert run["status"] == "failed" and run["error"]
    assert client.get(f"/api/v1/reports/{run['id']}").json()["content"] is None


def test_trigger_without_a_runner_is_503(store: Store) -> None:
    app = create_app(Settings(api_token=SecretStr(TOKEN)), store=store, runtime=Runtime())
    with TestClient(app) as client:
        response = client.post("/api/v1/reports", json={}, headers=AUTH)
    assert response.status_code == 503


@pytest.mark.parametrize(
    "run_id",
    [pytest.param("0", id="zero"), pytest.param("9223372036854775808", id="past-64-bit")],
)
def test_out_of_range_ids_are_422(client: TestClient, run_id: str) -> None:
    assert client.get(f"/api/v1/reports/{run_id}").status_code == 422


def test_two_runs_in_the_same_minute_keep_their_own_files(client: TestClient) -> None:
    """Issue 17 item 8: file names had minute resolution, so run N served run N+1's file."""
    first = client.post("/api/v1/reports", json={"period": "7d", "format": "md"}, headers=AUTH)
    second = client.post("/api/v1/reports", json={"period": "7d", "format": "md"}, headers=AUTH)
    assert first.status_code == second.status_code == 201
    one, two = first.json(), second.json()
    assert one["uri"] != two["uri"]
    assert Path(one["uri"]).name == "slo-report-7d-20261123T0000Z.md"
    assert Path(two["uri"]).name == "slo-report-7d-20261123T0000Z-2.md"
    Path(two["uri"]).write_text("the second run's report\n", encoding="utf-8")
    served = client.get(f"/api/v1/reports/{one['id']}").json()["content"]
    assert served != "the second run's report\n"
    assert served.startswith("#")
