"""Answers `serve` gives without the framework: `/healthz`, 503 when saturated, the webhook.

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
- an admitted webhook POST that `FastWebhook.plain` accepts (JSON, declared size within
  the limit, the right token) is handled by the protocol itself (`door_webhook`): body,
  validation, the group commit's queue and, once the commit holds it, the route's 200;
- everything else goes on to the application as usual, and so does a fast delivery that
  turns out not to be plain after all (invalid payload, full queue, failed commit), with
  its body, so every error answer is the application's.

So a probe waits for at most the rest of the current loop pass, a shed delivery costs
no task, no middleware and no body, and an accepted one no task either. The application
keeps its own `/healthz` route, admission and fast-path middleware for every other server
(tests, other ASGI servers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from meshwatch.api.admission import RETRY_AFTER_SECONDS, SHED_DETAIL, AdmissionState, content_length
from meshwatch.api.door_webhook import DoorWebhook, Turns
from meshwatch.api.webhook_fast import FastWebhook

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

TAKE = object()
"""`FrontDoor.answer`'s word for "the protocol handles this delivery itself"."""


class FrontDoor:
    """Decides, from a request's scope alone, whether the server answers it itself."""

    def __init__(
        self, admission: AdmissionState, webhook_path: str, webhook: FastWebhook | None = None
    ) -> None:
        self.admission = admission
        self.webhook_path = webhook_path
        self.webhook = webhook
        self.turns: Turns | None = None  # made in the server's loop, on first use

    def answer(self, scope: Mapping[str, Any]) -> Answer | object | None:
        """An `Answer`, `TAKE` (an admitted plain delivery) or None (for the application)."""
        path, method = scope["path"], scope["method"]
        if path == HEALTH_PATH and method == "GET":  # the route is GET only (HEAD: 405)
            return HEALTHY
        if path != self.webhook_path or method != "POST":
            return None
        if self.admission.busy(content_length(scope)):
            self.admission.count_shed()
            return SHED
        if self.webhook is not None and self.webhook.plain(scope["headers"]):
            return TAKE
        return None


class FrontDoorProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, asking `front_door` before it starts the ASGI task."""

    front_door: FrontDoor
    exchange: DoorWebhook | None = None

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        answer = self.front_door.answer(cycle.scope)
        if answer is TAKE and self._can_take(cycle, app):
            self._take(cycle, app)
            return
        if not isinstance(answer, Answer) or self.flow.write_paused:  # paused: uvicorn waits
            super()._start_asgi_task(cycle, app)
            return
        self.finish(cycle, answer.status, answer.headers, answer.body)

    def _can_take(self, cycle: RequestResponseCycle, app: Any) -> bool:
        """Not pipelined behind another request, not waiting for an interim 100."""
        return cycle is self.cycle and app is self.app and not cycle.waiting_for_100_continue

    def _take(self, cycle: RequestResponseCycle, app: Any) -> None:
        door = self.front_door
        assert door.webhook is not None
        if door.turns is None:
            door.turns = Turns(self.loop)
        self.exchange = DoorWebhook(self, cycle, app, door.webhook, door.admission, door.turns)
        if not cycle.more_body:  # the whole body came before its turn (pipelining)
            self.exchange.body_complete()

    def start_application(self, cycle: RequestResponseCycle, app: Any) -> None:
        """The application answers `cycle` after all (with the body the protocol holds)."""
        super()._start_asgi_task(cycle, app)

    def finish(
        self,
        cycle: RequestResponseCycle,
        status: int,
        headers: tuple[tuple[bytes, bytes], ...],
        body: bytes,
    ) -> None:
        """Write a complete response for `cycle`, as uvicorn's `send` would, and go on."""
        if self.exchange is not None and self.exchange.cycle is cycle:
            self.exchange = None
        if cycle.access_log:
            scope = cycle.scope
            cycle.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                scope["method"],
                get_path_with_query_string(scope),
                scope["http_version"],
                status,
            )
        content = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            content += (name, b": ", value, b"\r\n")
        if not cycle.keep_alive:
            content.append(b"connection: close\r\n")
        content += (b"\r\n", body)
        cycle.response_started = cycle.response_complete = True
        cycle.waiting_for_100_continue = False
        self.transport.write(b"".join(content))
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()

    def release(self, cycle: RequestResponseCycle) -> None:
        """`cycle` needs nothing more from the protocol (handed on, or the client left)."""
        if self.exchange is not None and self.exchange.cycle is cycle:
            self.exchange = None

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self.exchange is not None and self.exchange.cycle is self.cycle:
            self.flow.resume_reading()  # nobody calls `receive`; the size is bounded (plain)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if self.exchange is not None and self.exchange.cycle is self.cycle:
            self.exchange.body_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.exchange is not None:
            self.exchange.gone()


def front_door_protocol(front_door: FrontDoor) -> type[FrontDoorProtocol]:
    """The protocol class to give `uvicorn.Config(http=...)` for this application."""
    return type("BoundFrontDoorProtocol", (FrontDoorProtocol,), {"front_door": front_door})
