"""Load shedding for the Alertmanager webhook: a fast 503 + Retry-After instead of a pile-up.

During an incident Alertmanager may retry thousands of groups at once. Without a bound,
every one of them holds a connection, a body in memory and a task until the store gets to
it, and the client has long given up by then. This ASGI middleware admits at most
`max_concurrent` webhook requests and `max_bytes` of declared bodies at a time, and none
while the store's delivery queue is full; the rest are answered 503 with `Retry-After`
before their body is read (microseconds, no thread, no store). Alertmanager retries a 503,
so nothing is lost.

The admitted ones are parsed and validated on the event loop, which also answers
`/healthz`. asyncio runs ready tasks in order, so a thousand deliveries arriving together
would all be validated before a health probe that came after them. A gate of
`parsing_slots` lets only a few deliveries at a time do that work (from the start of the
request until the route waits for its commit, i.e. asks `receive` again after the body);
the others wait on the gate at no cost, and a probe waits behind a few deliveries only.
A route takes the gate again (`scope[REGATE]`) when its commit is done, so that the many
deliveries one commit acknowledges also answer a few at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshwatch.api.limits import reject

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1
REGATE = "meshwatch.regate"
"""Scope key of an async callable: wait for the parsing gate again (released on response)."""


class AdmissionState:
    """The in-flight counters and the shedding rule, shared by the middleware and the
    server's front door (`meshwatch.api.front_door`), which applies the same rule before
    a request becomes a task."""

    def __init__(
        self, *, max_concurrent: int, max_bytes: int, queue_full: Callable[[], bool]
    ) -> None:
        self.max_concurrent = max_concurrent
        self.max_bytes = max_bytes
        self.queue_full = queue_full
        self.in_flight = 0
        self.in_flight_bytes = 0
        self.shed = 0

    def busy(self, declared: int) -> bool:
        """True when a delivery declaring `declared` body bytes must be answered 503 now."""
        over = self.in_flight > 0 and (
            self.in_flight >= self.max_concurrent
            or self.in_flight_bytes + declared > self.max_bytes
        )
        return over or self.queue_full()

    def count_shed(self) -> None:
        self.shed += 1
        if self.shed % 1000 == 1:
            log.warning(
                "webhook saturated (%s in flight, %s bytes): answering 503, %s so far",
                self.in_flight,
                self.in_flight_bytes,
                self.shed,
            )


SHED_DETAIL = "too many deliveries in progress; retry later"


class WebhookAdmission:
    """ASGI middleware guarding POSTs to `path` (see the module docstring)."""

    def __init__(
        self, app: ASGIApp, *, path: str, state: AdmissionState, parsing_slots: int = 4
    ) -> None:
        self.app = app
        self.parsing_slots = parsing_slots
        self._gate: asyncio.Semaphore | None = None
        self.path = path
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        state = self.state
        if state.busy(declared):
            state.count_shed()
            await reject(send, 503, SHED_DETAIL, {"Retry-After": str(RETRY_AFTER_SECONDS)})
            return
        state.in_flight += 1
        state.in_flight_bytes += declared
        try:
            await self._gated(scope, receive, send)
        finally:
            state.in_flight -= 1
            state.in_flight_bytes -= declared

    async def _gated(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._gate is None:  # created in the running loop, not at import or construction
            self._gate = asyncio.Semaphore(self.parsing_slots)
        gate = self._gate
        await gate.acquire()
        held = True
        body_done = False

        def release() -> None:
            nonlocal held
            if held:
                held = False
                gate.release()

        async def regate() -> None:
            nonlocal held
            if not held:
                await gate.acquire()
                held = True

        async def gated_receive() -> Message:
            nonlocal body_done
            if body_done:
                release()  # the route waits for its commit (or the disconnect) from here on
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def gated_send(message: Message) -> None:
            release()
            await send(message)

        try:
            await self.app({**scope, REGATE: regate}, gated_receive, gated_send)
        finally:
            release()


def content_length(scope: Mapping[str, Any]) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0
