"""GET /api/v1/targets answers while the loop waits for a real Envoy to confirm a change.

The Envoy actuator writes a copy of the RDS file that Envoy does not watch, so the change it
waits for never goes live: `apply` polls Envoy's admin API (`/config_dump`, `/stats`) until
its confirm timeout, as it does when Envoy is slow to take a change. The API must answer
meanwhile; before the loop had its own layer, one lock was held across `apply`.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from meshwatch.api.app import create_app
from meshwatch.engine.evaluate import BackendMeasurement, Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.loop.remediation import RemediationLoop
from meshwatch.model import SLO, Backend, Counts, RatioSLI, RemediationPolicy, Selector, Window
from meshwatch.remediate.envoy import EnvoyActuator
from meshwatch.settings import Settings
from meshwatch.store import ActionState, Store
from tests.support.envoy import TARGET, EnvoyHarness, run_envoy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIRM_TIMEOUT = 20.0
"""Seconds the actuator waits for a version that never comes: the apply in flight. A GET
that waited for the apply would take at least this long."""

SLI = RatioSLI(total=Selector("envoy_cluster_upstream_rq_completed"))
WINDOWS = (timedelta(minutes=1), timedelta(minutes=5))
POLICY = RemediationPolicy(
    actuator="envoy",
    target=TARGET,
    backends=(Backend("v1", SLI, 50), Backend("v2", SLI, 50)),
    short_windows=WINDOWS,
    step=50,
    min_healthy_weight=10,
    min_requests=10,
    dry_run=False,
)
SLO_ = SLO(
    service="shop",
    name="availability",
    objective=99.9,
    window=Window.rolling(timedelta(days=30)),
    sli=SLI,
    remediation=POLICY,
)
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def envoy(tmp_path: Path) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path / "envoy") as running:
        yield running


def v2_failing() -> Evaluation:
    backends = tuple(
        BackendMeasurement(SLO_.id, name, {w: Counts(errors, 1000.0) for w in WINDOWS})
        for name, errors in (("v1", 0.0), ("v2", 1000.0))
    )
    return Evaluation(at=NOW, statuses=(), backends=backends)


def test_targets_answer_while_envoy_has_not_confirmed(
    envoy: EnvoyHarness, store: Store, tmp_path: Path
) -> None:
    unwatched = tmp_path / "unwatched" / envoy.rds_path.name
    unwatched.parent.mkdir()
    shutil.copy(envoy.rds_path, unwatched)
    runtime = Runtime(slos=(SLO_,))
    with envoy.admin() as admin:
        actuator = EnvoyActuator(unwatched, admin, confirm_timeout=CONFIRM_TIMEOUT)
        loop = RemediationLoop(
            [SLO_], store=store, runtime=runtime, actuators={"envoy": actuator}, enabled=True
        )
        app = create_app(Settings(), store=store, runtime=runtime, remediation=loop)
        with TestClient(app) as api:
            worker = threading.Thread(target=loop, args=(v2_failing(), NOW))
            worker.start()
            deadline = time.monotonic() + CONFIRM_TIMEOUT
            while not store.actions.list_actions() and time.monotonic() < deadline:
                time.sleep(0.05)  # the action is written `planned` before `apply` starts
            asked = time.monotonic()
            answer = api.get("/api/v1/targets")
            answered = time.monotonic()
            in_flight = worker.is_alive()
            worker.join(timeout=CONFIRM_TIMEOUT * 3)
        live = dict(actuator.current(TARGET).weights)
    assert not worker.is_alive()
    assert in_flight, "the apply ended before GET /targets answered: nothing was shown"
    print(f"GET /targets answered in {answered - asked:.3f} s while Envoy had not confirmed")
    (target,) = answer.json()
    assert (target["decision"], target["weights"]) == ("shift", {"v1": 50, "v2": 50})
    (action,) = store.actions.list_actions()
    assert action.state is ActionState.FAILED, action
    assert f"not live after {CONFIRM_TIMEOUT:g} s" in action.detail
    assert live == {"v1": 50, "v2": 50}, "Envoy took a change it never saw"
