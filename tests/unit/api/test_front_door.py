"""The server's front door: which requests it answers itself (pure decisions, no I/O)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from meshwatch.api.admission import AdmissionState
from meshwatch.api.front_door import HEALTHY, SHED, FrontDoor

HOOK = "/api/v1/alerts/alertmanager"


def scope(method: str, path: str, length: int | None = None) -> dict[str, Any]:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return {"type": "http", "method": method, "path": path, "headers": headers}


def door(*, in_flight: int = 0, in_flight_bytes: int = 0, queue_full: bool = False) -> FrontDoor:
    state = AdmissionState(max_concurrent=2, max_bytes=1000, queue_full=lambda: queue_full)
    state.in_flight, state.in_flight_bytes = in_flight, in_flight_bytes
    return FrontDoor(state, HOOK)


@pytest.mark.parametrize(
    ("request_scope", "expected"),
    [
        pytest.param(scope("GET", "/healthz"), HEALTHY, id="health-answered"),
        pytest.param(scope("HEAD", "/healthz"), None, id="health-head-goes-to-the-app"),
        pytest.param(scope("POST", "/healthz"), None, id="health-post-goes-to-the-app"),
        pytest.param(scope("GET", "/readyz"), None, id="readyz-goes-to-the-app"),
        pytest.param(scope("POST", HOOK, 100), None, id="idle-webhook-admitted"),
        pytest.param(scope("GET", HOOK), None, id="webhook-get-goes-to-the-app"),
    ],
)
def test_idle_server(request_scope: dict[str, Any], expected: object) -> None:
    assert door().answer(request_scope) is expected


@pytest.mark.parametrize(
    ("front", "length", "shed"),
    [
        pytest.param(door(in_flight=1, in_flight_bytes=100), 100, False, id="under-both-limits"),
        pytest.param(door(in_flight=2, in_flight_bytes=100), 100, True, id="at-max-concurrent"),
        pytest.param(door(in_flight=1, in_flight_bytes=900), 200, True, id="over-max-bytes"),
        pytest.param(door(queue_full=True), 100, True, id="store-queue-full"),
        pytest.param(door(in_flight=0), 5000, False, id="one-large-body-alone-is-admitted"),
    ],
)
def test_webhook_shedding(front: FrontDoor, length: int, shed: bool) -> None:
    answer = front.answer(scope("POST", HOOK, length))
    assert (answer is SHED) is shed
    assert front.admission.shed == int(shed)
    assert front.answer(scope("GET", "/healthz")) is HEALTHY  # health is never shed


def test_answers_are_complete_responses() -> None:
    assert json.loads(HEALTHY.body) == {"status": "ok"}
    assert (b"content-length", str(len(HEALTHY.body)).encode()) in HEALTHY.headers
    assert SHED.status == 503
    assert (b"retry-after", b"1") in SHED.headers
    assert json.loads(SHED.body)["detail"].endswith("retry later")
