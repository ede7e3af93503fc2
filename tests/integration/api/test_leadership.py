"""Leadership in /readyz and /metrics: followers are ready without evaluating."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry, generate_latest

from meshwatch import conventions as c
from meshwatch.api.metrics import LeadershipCollector
from meshwatch.engine.runtime import Runtime


@pytest.mark.parametrize(
    ("leader", "status", "ready"),
    [
        pytest.param(None, 503, False, id="election-not-answered-needs-an-evaluation"),
        pytest.param(True, 503, False, id="leader-needs-an-evaluation"),
        pytest.param(False, 200, True, id="follower-ready-without-evaluating"),
    ],
)
def test_readyz_reports_leadership(
    client: TestClient, runtime: Runtime, leader: bool | None, status: int, ready: bool
) -> None:
    if leader is not None:
        runtime.set_leader(leader)
    answer = client.get("/readyz")
    assert answer.status_code == status
    assert answer.json()["leader"] is leader
    assert (answer.json()["status"] == "ready") is ready


@pytest.mark.parametrize(
    ("leader", "sample"),
    [
        pytest.param(None, None, id="unknown-no-sample"),
        pytest.param(True, "1.0", id="leader-1"),
        pytest.param(False, "0.0", id="follower-0"),
    ],
)
def test_leader_gauge(leader: bool | None, sample: str | None) -> None:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(LeadershipCollector(lambda: leader))
    lines = generate_latest(registry).decode().splitlines()
    values = [line.split()[1] for line in lines if line.startswith(f"{c.METRIC_LEADER} ")]
    assert values == ([] if sample is None else [sample])
