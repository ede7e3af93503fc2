"""`build_service` wires reports: scheduled jobs in the persistent job store, the API trigger."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pydantic import SecretStr

from meshwatch.jobs.report_schedule import JOBSTORE
from meshwatch.service import build_service
from meshwatch.settings import ScheduledReport, Settings


def test_serve_schedules_reports_and_triggers_them(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'meshwatch.db'}",
        api_token=SecretStr("t"),
        report_directory=tmp_path / "reports",
        reports=[ScheduledReport(name="weekly", cron="0 8 * * MON", period="7d", format="md")],
    )
    service = build_service(settings)
    try:
        assert [job.id for job in service.scheduler.get_jobs(JOBSTORE)] == ["report:weekly"]
        client = TestClient(service.app)  # no lifespan: the scheduler is not started
        response = client.post(
            "/api/v1/reports",
            json={"period": "30d", "format": "csv"},
            headers={"Authorization": "Bearer t"},
        )
        assert response.status_code == 201, response.text
        assert Path(response.json()["uri"]).parent == tmp_path / "reports"
        assert client.get("/api/v1/reports").json()[0]["format"] == "csv"
    finally:
        service.close()
