"""Load shedding for the Alertmanager webhook: a fast 503 + Retry-After instead of a pile-up.

During an incident Alertmanager may retry thousands of groups at once. Without a bound,
every one of them holds a connection, a body in memory and a task until the store gets to
it, and the client has long given up by then. This ASGI middleware admits at most
`max_concurrent` webhook requests and `max_bytes` of declared bodies at a time, and none
while the store's delivery queue is full; the rest are answered 503 with `Retry-After`
before their body is read (microseconds, no thread, no store). Alertmanager retries a 503,
so nothing is lost, and `/healthz`, `/readyz` and the other routes never wait behind it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from meshwatch.api.limits import reject

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 1


class WebhookAdmission:
    """ASGI middleware guarding POSTs to `path` (see the module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        max_concurrent: int,
        max_bytes: int,
        queue_full: Callable[[], bool],
    ) -> None:
        self.app = app
        self.path = path
        self.max_concurrent = max_concurrent
        self.max_bytes = max_bytes
        self.queue_full = queue_full
        self.in_flight = 0
        self.in_flight_bytes = 0
        self.shed = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        busy = self.in_flight > 0 and (
            self.in_flight >= self.max_concurrent
            or self.in_flight_bytes + declared > self.max_bytes
        )
        if busy or self.queue_full():
            self.shed += 1
            if self.shed % 1000 == 1:
                log.warning(
                    "webhook saturated (%s in flight, %s bytes): answering 503, %s so far",
                    self.in_flight,
                    self.in_flight_bytes,
                    self.shed,
                )
            await reject(
                send,
                503,
                "too many deliveries in progress; retry later",
                {"Retry-After": str(RETRY_AFTER_SECONDS), "Connection": "close"},
            )
            return
        self.in_flight += 1
        self.in_flight_bytes += declared
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.in_flight_bytes -= declared


def _content_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return max(0, int(value))
            except ValueError:
                return 0
    return 0
