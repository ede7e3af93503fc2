"""The front door in a real uvicorn: answers without ever calling the application.

A raw ASGI app counts its calls; uvicorn serves it with `front_door_protocol` on 127.0.0.1.
`/healthz` and a webhook POST that admission sheds are answered by the protocol itself
(the app sees neither); everything else reaches the app unchanged, on the same connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from meshwatch.api.admission import AdmissionState
from meshwatch.api.front_door import FrontDoor, front_door_protocol
from tests.support.uvicorn_thread import serving

pytestmark = pytest.mark.integration

HOOK = "/api/v1/alerts/alertmanager"


class CountingApp:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.paths.append(scope["path"])
        more = True
        while more:
            more = (await receive()).get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"app"})


@contextmanager
def served(app: CountingApp, door: FrontDoor) -> Iterator[str]:
    with serving(app, front_door_protocol(door)) as port:
        yield f"http://127.0.0.1:{port}"


def test_health_and_shedding_never_reach_the_app() -> None:
    app = CountingApp()
    state = AdmissionState(max_concurrent=1, max_bytes=1 << 20, queue_full=lambda: False)
    with served(app, FrontDoor(state, HOOK)) as url, httpx.Client(timeout=10) as client:
        health = client.get(f"{url}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert health.headers["content-type"] == "application/json"
        assert client.post(f"{url}{HOOK}", json={"alerts": []}).text == "app"  # admitted
        assert app.paths == [HOOK]

        state.in_flight = 1  # as while one delivery waits for its commit
        shed = client.post(f"{url}{HOOK}", json={"alerts": []})
        assert shed.status_code == 503
        assert shed.headers["retry-after"] == "1"
        assert "connection" not in shed.headers  # kept alive: the next request reuses it
        assert "retry later" in shed.json()["detail"]
        assert client.get(f"{url}/healthz").status_code == 200  # still answered
        assert state.shed == 1

        state.in_flight = 0
        big = client.post(f"{url}{HOOK}", content=b"x" * 300_000)  # body after the headers
        assert big.text == "app"
        state.in_flight = 1
        assert client.post(f"{url}{HOOK}", content=b"x" * 300_000).status_code == 503
        state.in_flight = 0
        assert client.get(f"{url}/elsewhere").text == "app"  # the skipped body left no trace
        assert app.paths == [HOOK, HOOK, "/elsewhere"]
