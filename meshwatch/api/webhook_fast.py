"""The webhook's common case without the framework: valid token, valid JSON, one commit.

Profiling a single-alert delivery (16 clients, the `webhook` benchmark) showed most of the
event loop's time in the generic request machinery, not in meshwatch: about twenty
middleware and routing frames, dependency solving, `json.loads` and then validation of the
resulting dicts, response-model serialization. A delivery that Alertmanager sends as it
should (JSON body, the right bearer token, a payload the model accepts) needs none of it.
`FastWebhook` holds what that case needs: the header check (`plain`), validation in one
pass from bytes (`events`), the queue of the group commit (`submit`) and the answer the
route gives once the commit holds the delivery (`acknowledge`: `200 {"received": n,
"new": m}`). `serve` runs it inside the server's HTTP protocol (`api.front_door`: no task,
no ASGI); `WebhookFastPath` is the same as ASGI middleware, for every other server.

Everything else goes to the application unchanged, with the body replayed: a missing or
wrong token (401/403), a body that is not JSON or not a valid payload (the route's 422 with
its locations), a full queue (503), a store that refused or failed the commit (the app's
handlers answer after its own attempt; deliveries are idempotent). So the contract stays
the route's; this only removes cost from the path that succeeds.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshwatch.api.admission import REGATE
from meshwatch.api.alertmanager import AlertmanagerWebhook
from meshwatch.api.auth import bearer_token
from meshwatch.api.deps import Services
from meshwatch.api.routes.alerts import to_event
from meshwatch.store.alert_ingest import CallbackLoop, Delivery, IngestClosed, IngestFull
from meshwatch.store.records import AlertEvent


def answer_headers(body: bytes) -> tuple[tuple[bytes, bytes], ...]:
    """The headers of the route's 200 for `body`, in the route's order."""
    return ((b"content-length", str(len(body)).encode()), (b"content-type", b"application/json"))


class FastWebhook:
    """The checks and the answer of a delivery that needs no framework (module docstring)."""

    def __init__(self, services: Services, *, max_bytes: int) -> None:
        self.services = services
        self.max_bytes = max_bytes

    def plain(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        """A JSON body of a declared size within the limit, and the configured bearer token."""
        first: dict[bytes, bytes] = {}  # the first of repeated headers, as Starlette reads
        for name, value in headers:
            first.setdefault(name, value)
        length = first.get(b"content-length")
        content_type = first.get(b"content-type")
        authorization = first.get(b"authorization")
        if length is None or not length.isdigit() or int(length) > self.max_bytes:
            return False
        if content_type is None or content_type.split(b";")[0].strip().lower() != (
            b"application/json"
        ):
            return False
        token = self.services.settings.api_token
        if authorization is None or token is None:
            return False
        given = bearer_token(authorization.decode("latin-1"))
        expected = token.get_secret_value().encode("utf-8")
        return given is not None and hmac.compare_digest(given.encode("ascii"), expected)

    @staticmethod
    def events(body: bytes) -> list[AlertEvent] | None:
        """The delivery's alerts, or None when the route must answer (with its 422)."""
        try:
            payload = AlertmanagerWebhook.model_validate_json(body)
        except ValidationError:
            return None
        return [to_event(alert) for alert in payload.alerts]

    def submit(
        self,
        events: Sequence[AlertEvent],
        loop: CallbackLoop | None = None,
        callback: Callable[[], None] | None = None,
    ) -> Delivery | None:
        """Queue `events` for the group commit (`callback` on `loop` after it); None when
        the route must answer (503)."""
        try:
            return self.services.ingest.submit(events, loop=loop, callback=callback)
        except (IngestFull, IngestClosed):
            return None

    def abandon(self, delivery: Delivery) -> bool:
        return self.services.ingest.abandon(delivery)

    def acknowledge(self, events: Sequence[AlertEvent], new: int) -> bytes:
        """Tell the listeners; the route's 200 body for a delivery the commit holds."""
        for listener in self.services.alert_listeners:
            listener(events)
        return json.dumps({"received": len(events), "new": new}, separators=(",", ":")).encode()


class WebhookFastPath:
    """`FastWebhook` as ASGI middleware for POSTs to `path` (servers other than `serve`)."""

    def __init__(self, app: ASGIApp, *, path: str, webhook: FastWebhook) -> None:
        self.app = app
        self.path = path
        self.webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = self.webhook
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not webhook.plain(scope["headers"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending it all
            return
        delegate = _replaying(self.app, scope, body, receive, send)
        events = webhook.events(body)
        delivery = None if events is None else webhook.submit(events)
        if events is None or delivery is None:
            await delegate()
            return
        committed = asyncio.wrap_future(delivery.future)
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            await asyncio.wait((committed, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not committed.done() and webhook.abandon(delivery):
            return  # nobody is waiting for an answer; nothing was written
        try:
            new = await committed
        except Exception:  # refused or failed: the application answers it as it always has
            await delegate()
            return
        regate = scope.get(REGATE)
        if regate is not None:
            await regate()
        body = webhook.acknowledge(events, new)
        headers = list(answer_headers(body))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _replaying(
    app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send
) -> Callable[[], Awaitable[None]]:
    """Run `app` on this request as if its body had not been read yet."""
    replayed = False

    async def replay_receive() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    async def run() -> None:
        await app(scope, replay_receive, send)

    return run
