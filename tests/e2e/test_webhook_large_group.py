"""The largest group the schema allows, sent by a real Alertmanager, is stored whole (item 3).

The webhook schema takes 10,000 alerts per delivery, but the 1 MiB body limit stopped
realistic groups at ~1,500-2,000 alerts: a 3,000-alert group got 413, which Alertmanager
treats as unrecoverable, and the group was never stored. Here one Alertmanager group of
`ALERTS` alerts with meshwatch's own labels and annotations goes to two webhook receivers:
a recording one on 127.0.0.1 (to measure the body Alertmanager really sends) and
meshwatch, which must store every alert. The measured size is printed and checked against
the default `webhook_max_body_bytes`, with the headroom left.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from meshwatch.settings import WEBHOOK_MAX_BODY_BYTES
from meshwatch.store import make_engine
from meshwatch.store.tables import AlertRow
from tests.support.alertmanager import AlertmanagerProcess
from tests.support.binaries import require_binary
from tests.support.receiver import Receiver
from tests.support.serve import TOKEN, WEBHOOK_PATH, ServeProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ALERTS = 10_000  # AlertmanagerWebhook.alerts max_length
GROUP_WAIT_S = 15.0  # every alert is in Alertmanager before the first flush


def am_config(meshwatch: str, recorder: str) -> str:
    import json

    auth = {"authorization": {"type": "Bearer", "credentials": TOKEN}}
    return json.dumps(
        {
            "route": {
                "receiver": "both",
                "group_by": ["alertname"],
                "group_wait": f"{GROUP_WAIT_S:g}s",
                "group_interval": "1m",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "both",
                    "webhook_configs": [
                        {"url": recorder, "send_resolved": True},
                        {"url": meshwatch, "send_resolved": True, "http_config": auth},
                    ],
                }
            ],
        }
    )


def realistic(n: int) -> dict[str, object]:
    """An alert shaped like meshwatch's generated page alerts (labels and annotations)."""
    return {
        "labels": {
            "alertname": "MeshwatchErrorBudgetBurn",
            "meshwatch_service": f"service-{n % 500:03d}",
            "meshwatch_slo": f"availability-{n:05d}",
            "meshwatch_severity": "page",
            "severity": "page",
            "meshwatch_window": "1h/5m",
            "namespace": "production",
        },
        "annotations": {
            "summary": f"service-{n % 500:03d} availability-{n:05d} is burning its budget",
            "description": "Error budget burn rate above 14.4x over 1h and 5m (SRE Workbook).",
            "meshwatch_long_window": "1h",
            "meshwatch_short_window": "5m",
            "meshwatch_factor": "14.4",
            "runbook_url": "https://runbooks.example.com/meshwatch/error-budget-burn",
        },
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=meshwatch%3Aslo"
        "_burn_rate%3Aratio_rate1h+%3E+14.4&g0.tab=1",
    }


def test_a_whole_alertmanager_group_is_stored(tmp_path: Path) -> None:
    binary = require_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    url = f"sqlite:///{tmp_path / 'meshwatch.db'}"
    recorder = Receiver({}).start()
    try:
        with ServeProcess(tmp_path / "serve", config={"database_url": url}) as serve:
            config = am_config(f"{serve.url}{WEBHOOK_PATH}", f"{recorder.url}/record")
            with AlertmanagerProcess(binary, tmp_path / "am", config) as alertmanager:
                with httpx.Client(timeout=60) as client:
                    for start in range(0, ALERTS, 2_000):
                        client.post(
                            f"{alertmanager.url}/api/v2/alerts",
                            json=[realistic(n) for n in range(start, start + 2_000)],
                        ).raise_for_status()
                recorder.wait_for(
                    lambda: bool(recorder.received("/record")), 60, "the recorded delivery"
                )
                deadline = time.monotonic() + 60
                while stored(url) < ALERTS and time.monotonic() < deadline:
                    time.sleep(0.5)
                failed = [
                    line
                    for line in alertmanager.log(200_000).splitlines()
                    if "Notify for alerts failed" in line or "unrecoverable" in line
                ]
        body = max(len(r.body) for r in recorder.received("/record"))
        print(
            f"{ALERTS} alerts in one group: Alertmanager body {body} bytes "
            f"({body / ALERTS:.0f} per alert); default limit {WEBHOOK_MAX_BODY_BYTES} "
            f"({WEBHOOK_MAX_BODY_BYTES / body:.1f}x headroom)"
        )
        assert stored(url) == ALERTS
        assert not failed, failed[:3]
        assert body < WEBHOOK_MAX_BODY_BYTES / 2, "the default leaves 2x headroom"
    finally:
        recorder.stop()


def stored(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(AlertRow)).scalar_one())
    finally:
        engine.dispose()
