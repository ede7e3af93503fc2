"""One webhook delivery handled by the server's HTTP protocol itself (see `api.front_door`).

`DoorWebhook` lives from the parsed headers of an admitted, plain delivery to its answer:
it counts in the admission's in-flight figures like a delivery the middleware admitted,
waits for the body (uvicorn's parser buffers it in the request cycle, as for the ASGI
`receive`), validates it from bytes, queues it for the group commit and, once the commit
that holds it is done, writes the route's 200. Each step that is not the plain case hands
the request to the application (`Door.start_application`) with the body still buffered,
so the application answers it exactly as it would have; if the client leaves first the
delivery is abandoned while still queued (nothing is written for a client that has gone).

The writer thread resolves a whole batch of deliveries at once and hands their callbacks
to the event loop in one call (one wake-up per commit instead of one per delivery).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from meshwatch.api.admission import AdmissionState, content_length
from meshwatch.api.webhook_fast import FastWebhook, answer_headers
from meshwatch.store.alert_ingest import Delivery
from meshwatch.store.records import AlertEvent


class Door(Protocol):
    """What a `DoorWebhook` needs from the protocol that holds the connection."""

    def start_application(self, cycle: RequestResponseCycle, app: Any) -> None: ...

    def finish(
        self,
        cycle: RequestResponseCycle,
        status: int,
        headers: tuple[tuple[bytes, bytes], ...],
        body: bytes,
    ) -> None: ...

    def release(self, cycle: RequestResponseCycle) -> None: ...


class Turns:
    """Runs queued steps on `loop` a few per loop pass (`per_pass`), in arrival order.

    A retry storm's flush brings a thousand deliveries in one pass of the event loop, and a
    commit answers hundreds at once; validating or answering them all in that pass kept a
    `/healthz` probe that arrived with them waiting for the whole lot (0.23 s of the loop's
    own CPU within one probe, measured during a 2,000-delivery flush). Queued here, they
    run `per_pass` at a time with the loop's I/O polled between turns, so a probe waits for
    one turn, not the flush.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, per_pass: int = 16) -> None:
        self.loop = loop
        self.per_pass = per_pass
        self._steps: deque[Callable[[], None]] = deque()
        self._scheduled = False

    def add(self, step: Callable[[], None]) -> None:
        self._steps.append(step)
        if not self._scheduled:
            self._scheduled = True
            self.loop.call_soon(self._turn)

    def _turn(self) -> None:
        steps = self._steps
        try:
            for _ in range(min(self.per_pass, len(steps))):
                steps.popleft()()
        finally:  # a step that raised (the loop logs it) must not stop the others
            if steps:
                self.loop.call_soon(self._turn)
            else:
                self._scheduled = False


class DoorWebhook:
    """One delivery from its headers to its answer (module docstring)."""

    def __init__(
        self,
        door: Door,
        cycle: RequestResponseCycle,
        app: Any,
        webhook: FastWebhook,
        admission: AdmissionState,
        turns: Turns,
    ) -> None:
        self.door = door
        self.cycle = cycle
        self.app = app
        self.webhook = webhook
        self.admission = admission
        self.turns = turns
        self.declared = content_length(cycle.scope)
        self.events: list[AlertEvent] = []
        self.delivery: Delivery | None = None
        self.counted = True
        admission.in_flight += 1
        admission.in_flight_bytes += self.declared

    def body_complete(self) -> None:
        self.turns.add(self._validate)

    def _validate(self) -> None:
        if self.cycle.disconnected:  # `gone` released it
            return
        events = self.webhook.events(bytes(self.cycle.body))
        turns = self.turns
        delivery = (
            None
            if events is None
            else self.webhook.submit(events, turns.loop, lambda: turns.add(self._committed))
        )
        if events is None or delivery is None:
            self._to_application()
            return
        self.events, self.delivery = events, delivery

    def _committed(self) -> None:
        """On the loop, once the writer resolved the delivery (never if abandoned)."""
        delivery = self.delivery
        assert delivery is not None
        if delivery.future.exception() is not None:
            if not self.cycle.disconnected:  # refused or failed: the application answers
                self._to_application()
                return
        else:
            body = self.webhook.acknowledge(self.events, delivery.future.result())
            if not self.cycle.disconnected:
                self._uncount()
                self.door.finish(self.cycle, 200, answer_headers(body), body)
                return
        self._uncount()
        self.door.release(self.cycle)

    def gone(self) -> None:
        """The client closed the connection before its answer."""
        delivery = self.delivery
        if delivery is None or self.webhook.abandon(delivery):
            self._uncount()  # nothing queued (still reading), or dropped from the queue
            self.door.release(self.cycle)
        # else: in a commit now; `_committed` releases it (and answers nobody)

    def _to_application(self) -> None:
        self._uncount()  # the application's admission counts it again
        self.door.release(self.cycle)
        self.door.start_application(self.cycle, self.app)

    def _uncount(self) -> None:
        if self.counted:
            self.counted = False
            self.admission.in_flight -= 1
            self.admission.in_flight_bytes -= self.declared
