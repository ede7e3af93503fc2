"""Answers `serve` gives before a request becomes a task: `/healthz`, and 503 when saturated.

Under a retry storm thousands of requests arrive together. Each one uvicorn turns into an
asyncio task that walks the whole ASGI stack (about twenty middleware and routing frames)
before the webhook's admission can shed it, and a `/healthz` probe is one more task at
the back of that ready queue: on a CPU-starved process (a restarted replica that every
Alertmanager retries at once) one pass over the queue took longer than a second, and the
probe with it. Here the server's HTTP protocol asks `FrontDoor` when a request's headers
are parsed, inside the socket's read callback:

- `GET /healthz` is answered there and then (the same body as the API's route);
- a webhook POST that the admission rule (`AdmissionState.busy`) would shed gets its
  503 + Retry-After there, before its body is read (uvicorn skips it);
- everything else goes on to the application as usual.

So a probe waits for at most the rest of the current loop pass, and a shed delivery costs
no task, no middleware and no body. The application keeps its own `/healthz` route and
admission middleware for every other server (tests, other ASGI servers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from meshwatch.api.admission import RETRY_AFTER_SECONDS, SHED_DETAIL, AdmissionState, content_length

HEALTH_PATH = "/healthz"
HEALTH_BODY = json.dumps({"status": "ok"}, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Answer:
    """A complete response (the connection stays open for the next request)."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes


def _json(status: int, body: bytes, *extra: tuple[bytes, bytes]) -> Answer:
    headers = (
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    )
    return Answer(status, headers, body)


HEALTHY = _json(200, HEALTH_BODY)
SHED = _json(
    503,
    json.dumps({"detail": SHED_DETAIL}).encode(),
    (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
)
"""Keeps the connection: uvicorn's parser skips the unread body as for any early answer, and
Alertmanager's retry reuses it (closing made every retry a new connection, and a restarted
replica's accept queue overflowed with them)."""


class FrontDoor:
    """Decides, from a request's scope alone, whether the server answers it itself."""

    def __init__(self, admission: AdmissionState, webhook_path: str) -> None:
        self.admission = admission
        self.webhook_path = webhook_path

    def answer(self, scope: Mapping[str, Any]) -> Answer | None:
        path, method = scope["path"], scope["method"]
        if path == HEALTH_PATH and method == "GET":  # the route is GET only (HEAD: 405)
            return HEALTHY
        webhook = path == self.webhook_path and method == "POST"
        if webhook and self.admission.busy(content_length(scope)):
            self.admission.count_shed()
            return SHED
        return None


class FrontDoorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, asking `front_door` before it starts the ASGI task."""

    front_door: FrontDoor

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        answer = self.front_door.answer(cycle.scope)
        if answer is None or self.flow.write_paused:  # a paused transport: let uvicorn wait
            super()._start_asgi_task(cycle, app)
            return
        respond = _respond(cycle, answer)
        try:
            respond.send(None)  # nothing in it waits while writing is not paused
        except StopIteration:
            return
        respond.close()
        raise RuntimeError("the front door's response did not complete at once")


async def _respond(cycle: RequestResponseCycle, answer: Answer) -> None:
    await cycle.send(
        {"type": "http.response.start", "status": answer.status, "headers": list(answer.headers)}
    )
    await cycle.send({"type": "http.response.body", "body": answer.body, "more_body": False})


def front_door_protocol(front_door: FrontDoor) -> type[FrontDoorProtocol]:
    """The protocol class to give `uvicorn.Config(http=...)` for this application."""
    return type("BoundFrontDoorProtocol", (FrontDoorProtocol,), {"front_door": front_door})
