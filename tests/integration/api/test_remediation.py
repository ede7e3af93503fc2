"""The remediation loop in the service (noop actuator, SQLite store) and its API.

Evaluations are built by hand (per-backend counts on the policy's short windows), so every
step of an incident is exact: breach -> shift recorded planned then applied, hold, all
backends burning, a page alert from the webhook, dry-run by the master switch, rollback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from meshwatch.api.app import create_app
from meshwatch.engine.evaluate import BackendMeasurement, Evaluation
from meshwatch.engine.runtime import Runtime
from meshwatch.errors import NoSeriesError, NoTrafficError
from meshwatch.loop.alerts import ALERT_STALENESS
from meshwatch.loop.remediation import RemediationLoop
from meshwatch.loop.route import measurement
from meshwatch.model import (
    SLO,
    Backend,
    Counts,
    RatioSLI,
    RemediationPolicy,
    Selector,
    Window,
)
from meshwatch.remediate.base import ApplyResult, Retries, RouteState
from meshwatch.remediate.noop import NoopActuator
from meshwatch.settings import Settings, WebhookTarget
from meshwatch.store import ActionState, Store
from tests.integration.api.conftest import NOW, TOKEN

SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))
WINDOWS = (timedelta(minutes=1), timedelta(minutes=5))
TARGET = "local_route/svc/main"
POLICY = RemediationPolicy(
    actuator="noop",
    target=TARGET,
    backends=(Backend("v1", SLI, 50), Backend("v2", SLI, 50)),
    step=50,
    min_healthy_weight=10,
    min_requests=10,
    cooldown=timedelta(seconds=5),
    recovery_window=timedelta(seconds=20),
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
FLOOR_ = {"v1": 90, "v2": 10}
AUTH = {"authorization": f"Bearer {TOKEN}"}
TARGETS = "/api/v1/targets"


def evaluation(at_s: float, **error_ratio: float) -> Evaluation:
    """An evaluation `at_s` seconds after NOW where each backend has the given error ratio."""
    backends = tuple(
        BackendMeasurement(
            SLO_.id,
            name,
            {w: Counts(1000 * error_ratio.get(name, 0.0), 1000.0) for w in WINDOWS},
        )
        for name in ("v1", "v2")
    )
    return Evaluation(at=NOW + timedelta(seconds=at_s), statuses=(), backends=backends)


class Rig:
    def __init__(self, store: Store, enabled: bool = True) -> None:
        self.store = store
        self.runtime = Runtime(slos=(SLO_,))
        self.actuator = NoopActuator({TARGET: {"v1": 50, "v2": 50}})
        self.loop = RemediationLoop(
            [SLO_],
            store=store,
            runtime=self.runtime,
            actuators={"noop": self.actuator},
            enabled=enabled,
            clock=lambda: NOW,
        )

    def run(self, at_s: float, **error_ratio: float) -> None:
        e = evaluation(at_s, **error_ratio)
        self.loop(e, e.at)

    @property
    def weights(self) -> dict[str, int]:
        return dict(self.actuator.current(TARGET).weights)


@pytest.fixture
def rig(store: Store) -> Rig:
    return Rig(store)


@pytest.fixture
def api(store: Store, rig: Rig) -> Iterator[TestClient]:
    settings = Settings(api_token=SecretStr(TOKEN))
    app = create_app(
        settings,
        store=store,
        runtime=rig.runtime,
        clock=lambda: NOW,
        alert_listeners=[rig.loop.on_alerts],
        remediation=rig.loop,
    )
    with TestClient(app) as client:
        yield client


def test_breach_shifts_records_and_restores(rig: Rig, store: Store) -> None:
    for t in range(5):
        rig.run(t, v1=0.0, v2=0.0005)  # noise inside the objective
    assert store.actions.list_actions() == []
    rig.run(5, v2=1.0)
    assert rig.weights == {"v1": 90, "v2": 10}
    (action,) = store.actions.list_actions()
    assert (action.plan.kind, action.state, action.plan.dry_run) == ("shift", "applied", False)
    assert action.plan.weights_before == {"v1": 50, "v2": 50}
    assert action.plan.params["assessments"][1]["reading"] == "burning"
    assert rig.runtime.remediation_actions == {("noop", "applied"): 1.0}
    assert rig.runtime.route_weights == {(TARGET, "v1"): 90, (TARGET, "v2"): 10}
    # recovery: clear for the recovery window, then back to 50/50 in steps
    for t in range(6, 60):
        rig.run(t)
    assert rig.weights == {"v1": 50, "v2": 50}
    kinds = [a.plan.kind for a in reversed(store.actions.list_actions())]
    assert kinds == ["shift", "restore"]


def test_master_switch_off_records_dry_runs_only(store: Store) -> None:
    rig = Rig(store, enabled=False)
    rig.run(0, v2=1.0)
    assert rig.weights == {"v1": 50, "v2": 50}
    (action,) = store.actions.list_actions()
    assert (action.state, action.plan.dry_run) == (ActionState.DRY_RUN, True)


def test_every_backend_burning_is_recorded_once_and_shifts_nothing(rig: Rig, store: Store) -> None:
    for t in range(10):
        rig.run(t, v1=1.0, v2=1.0)
    assert rig.weights == {"v1": 50, "v2": 50}
    (action,) = store.actions.list_actions()
    assert (action.plan.kind, action.state) == ("all-burning", ActionState.REJECTED)


def test_unknown_data_freezes_the_route(rig: Rig, store: Store) -> None:
    down = {w: NoSeriesError() for w in WINDOWS}
    e = Evaluation(
        at=NOW,
        statuses=(),
        backends=(BackendMeasurement(SLO_.id, "v1", down), *evaluation(0, v2=1.0).backends[1:]),
    )
    rig.loop(e, NOW)
    assert rig.weights == {"v1": 50, "v2": 50}
    assert rig.loop.targets()[0].decision == "frozen"
    # a stale evaluation freezes too
    rig.loop(evaluation(0, v2=1.0), NOW + timedelta(minutes=5))
    assert rig.weights == {"v1": 50, "v2": 50}
    assert store.actions.list_actions() == []


def test_measurement_no_traffic_is_zero_requests() -> None:
    no_traffic = {w: NoTrafficError() for w in WINDOWS}
    assert measurement(no_traffic, WINDOWS).short == Counts(0.0, 0.0)
    assert measurement({}, WINDOWS).short is None


def page_alert(status: str, backend: str = "v2") -> dict[str, object]:
    return {
        "version": "4",
        "groupKey": "g",
        "status": status,
        "receiver": "meshwatch",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "MeshwatchBackendBurn",
                    "meshwatch_service": "shop",
                    "meshwatch_slo": "availability",
                    "meshwatch_backend": backend,
                    "meshwatch_severity": "page",
                },
                "annotations": {},
                "startsAt": "2026-11-25T11:59:00Z",
                "endsAt": "2026-11-25T12:00:30Z"
                if status == "resolved"
                else "0001-01-01T00:00:00Z",
                "fingerprint": "abc123",
            }
        ],
    }


def quiet(at_s: float) -> Evaluation:
    """v1 healthy, v2 with too little traffic to judge it (unknown)."""
    backends = tuple(
        BackendMeasurement(SLO_.id, name, {w: Counts(0.0, total) for w in WINDOWS})
        for name, total in (("v1", 1000.0), ("v2", 5.0))
    )
    return Evaluation(at=NOW + timedelta(seconds=at_s), statuses=(), backends=backends)


def test_page_alert_from_the_webhook_drives_the_loop(api: TestClient, rig: Rig) -> None:
    """Without measurements to contradict it, the alert acts, and its resolution restores."""
    assert api.post(
        "/api/v1/alerts/alertmanager", json=page_alert("firing"), headers=AUTH
    ).is_success
    rig.loop(quiet(0), quiet(0).at)  # no usable measurements: the alert marks v2 burning
    assert rig.weights == {"v1": 90, "v2": 10}
    assert api.post(
        "/api/v1/alerts/alertmanager", json=page_alert("resolved"), headers=AUTH
    ).is_success
    for t in range(1, 60):
        rig.run(t)
    assert rig.weights == {"v1": 50, "v2": 50}


def test_page_alert_contradicted_by_healthy_measurements_moves_nothing(
    api: TestClient, rig: Rig, store: Store
) -> None:
    """Issue 17 item 11: one alert moved 50/50 to 100/0 while v2 measured healthy."""
    assert api.post(
        "/api/v1/alerts/alertmanager", json=page_alert("firing"), headers=AUTH
    ).is_success
    for t in range(30):
        rig.run(t)  # 1,000 requests per window, no errors, on both backends
    assert rig.weights == {"v1": 50, "v2": 50}
    assert store.actions.list_actions() == []
    rig.run(30, v2=1.0)  # the measurements now agree with the alert
    assert rig.weights == {"v1": 90, "v2": 10}


def test_a_page_alert_never_repeated_expires(api: TestClient, rig: Rig) -> None:
    """No resolved delivery ever comes: the alert is forgotten after ALERT_STALENESS."""
    assert api.post(
        "/api/v1/alerts/alertmanager", json=page_alert("firing"), headers=AUTH
    ).is_success
    rig.loop(quiet(0), quiet(0).at)
    assert rig.weights == {"v1": 90, "v2": 10}
    stale = ALERT_STALENESS.total_seconds()
    rig.loop(quiet(stale - 1), quiet(stale - 1).at)
    assert rig.weights == {"v1": 90, "v2": 10}  # still firing as far as we know
    for t in range(int(stale) + 1, int(stale) + 60):
        rig.run(t)  # healthy now, and the alert has gone stale
    assert rig.weights == {"v1": 50, "v2": 50}


def test_hold_resume_rollback_and_targets(api: TestClient, rig: Rig, store: Store) -> None:
    path = f"/api/v1/targets/{TARGET}"
    assert api.post(f"{path}/hold").status_code == 401
    assert api.post("/api/v1/targets/nope/x/hold", headers=AUTH).status_code == 404
    held = api.post(f"{path}/hold", json={"by": "alice", "reason": "deploy"}, headers=AUTH)
    assert held.status_code == 200 and held.json()["held"] is True
    rig.run(0, v2=1.0)
    assert rig.weights == {"v1": 50, "v2": 50}
    (target,) = api.get("/api/v1/targets").json()
    assert (target["target"], target["decision"], target["held"]) == (TARGET, "hold", True)
    assert api.post(f"{path}/resume", headers=AUTH).json()["held"] is False
    rig.run(1, v2=1.0)
    assert rig.weights == {"v1": 90, "v2": 10}
    rolled = api.post(f"{path}/rollback", json={"by": "bob"}, headers=AUTH)
    assert rolled.status_code == 200, rolled.text
    body = rolled.json()
    assert (body["kind"], body["state"], body["weights_after"]) == (
        "rollback",
        "applied",
        {"v1": 50, "v2": 50},
    )
    assert rig.weights == {"v1": 50, "v2": 50}
    metrics = api.get("/metrics").text
    assert f'meshwatch_route_weight{{backend="v2",route="{TARGET}"}} 50.0' in metrics
    assert 'meshwatch_remediation_actions_total{actuator="noop",outcome="applied"} 2.0' in metrics


def test_a_restart_keeps_the_planners_memory(rig: Rig, store: Store) -> None:
    rig.run(0, v2=1.0)
    assert rig.weights == FLOOR_
    again = Rig(store)
    again.actuator = NoopActuator({TARGET: FLOOR_})
    again.loop.actuators = {"noop": again.actuator}
    for t in range(1, 15):  # clear, but not yet for the 20 s recovery window
        again.run(t)
    assert again.weights == FLOOR_, "restored before the recovery window: memory lost"
    for t in range(15, 60):
        again.run(t)
    assert again.weights == {"v1": 50, "v2": 50}
    (kept,) = store.actions.loop_states().values()
    assert kept[0] == SLO_.id and kept[1]["baseline"] == {"v1": 50, "v2": 50}


def test_shift_and_retries_tightens_retries_first_then_restores_them(store: Store) -> None:
    rig = Rig(store)
    policy = replace(POLICY, action="shift+retries")
    slo = replace(SLO_, remediation=policy)
    rig.loop = RemediationLoop(
        [slo], store=store, runtime=rig.runtime, actuators={"noop": rig.actuator}, enabled=True
    )
    rig.run(0, v2=1.0)
    assert rig.actuator.current(TARGET).retries is True
    assert rig.weights == {"v1": 50, "v2": 50}
    rig.run(6, v2=1.0)  # after the cooldown: shift
    assert rig.weights == FLOOR_
    for t in range(7, 80):
        rig.run(t)
    assert rig.weights == {"v1": 50, "v2": 50}
    assert rig.actuator.current(TARGET).retries is False
    log = [(a.plan.kind, a.plan.params["retries"]) for a in reversed(store.actions.list_actions())]
    assert log == [
        ("retries", "tighten"),
        ("shift", None),
        ("restore", None),
        ("restore", "restore"),
    ]


def test_actions_and_all_burning_are_notified_through_the_outbox(store: Store) -> None:
    rig = Rig(store)
    rig.loop.webhooks = [WebhookTarget(name="ops", url="http://127.0.0.1:9/hook")]
    rig.run(0, v2=1.0)
    for t in range(10, 15):
        rig.run(t, v1=1.0, v2=1.0)
    items = store.outbox.due(NOW + timedelta(minutes=1))
    summaries = [item.payload["summary"] for item in items]
    assert len(items) == 2, summaries
    assert items[0].payload["kind"] == "remediation.action"
    assert "shift on local_route/svc/main applied" in summaries[0]
    assert "all-burning" in summaries[1] and items[1].payload["state"] == "rejected"


class HeldApply:
    """The noop data plane, whose `apply` waits until released: an apply in flight, as
    Envoy's is while it waits for the new `version_info` (up to its confirm timeout)."""

    def __init__(self, inner: NoopActuator) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def current(self, target: str) -> RouteState:
        return self.inner.current(target)

    def apply(
        self,
        target: str,
        weights: Mapping[str, int] | None,
        *,
        retries: Retries | None = None,
        restore_retries: bool = False,
        dry_run: bool = True,
    ) -> ApplyResult:
        self.entered.set()
        if not self.release.wait(timeout=60):
            raise AssertionError("the test never released the apply")
        return self.inner.apply(
            target, weights, retries=retries, restore_retries=restore_retries, dry_run=dry_run
        )


def test_targets_answer_while_an_apply_is_in_flight(
    api: TestClient, rig: Rig, store: Store
) -> None:
    """GET /targets does not wait for the data plane: the loop holds no lock a reader needs
    across an apply. The waits below only guard against a hang; nothing is timed."""
    held = HeldApply(rig.actuator)
    rig.loop.actuators = {"noop": held}
    loop = threading.Thread(target=rig.run, args=(0,), kwargs={"v2": 1.0})
    loop.start()
    try:
        assert held.entered.wait(timeout=60), "the loop never reached the apply"
        answers: list[list[dict[str, object]]] = []
        reader = threading.Thread(target=lambda: answers.append(api.get(TARGETS).json()))
        reader.start()
        reader.join(timeout=60)
        assert not reader.is_alive(), "GET /targets waited for the apply in flight"
        ((target,),) = answers
        assert (target["decision"], target["weights"]) == ("shift", {"v1": 50, "v2": 50})
        (action,) = store.actions.list_actions()
        assert (action.plan.kind, action.state) == ("shift", ActionState.PLANNED)
    finally:
        held.release.set()
        loop.join(timeout=60)
    assert not loop.is_alive()
    assert rig.weights == FLOOR_
    (target,) = api.get(TARGETS).json()
    assert target["weights"] == FLOOR_
    assert store.actions.list_actions()[0].state == ActionState.APPLIED
