"""The webhook's common case without the framework: valid token, valid JSON, one commit.

Profiling a single-alert delivery (16 clients, the `webhook` benchmark) showed most of the
event loop's time in the generic request machinery, not in meshwatch: about twenty
middleware and routing frames, dependency solving, `json.loads` and then validation of the
resulting dicts, response-model serialization. A delivery that Alertmanager sends as it
should (JSON body, the right bearer token, a payload the model accepts) needs none of it:
this ASGI layer checks the token, validates the body in one pass from bytes
(`model_validate_json`), queues it for the group commit and answers exactly what the route
would (`200 {"received": n, "new": m}`) once the commit holds it.

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
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from meshwatch.api.admission import REGATE
from meshwatch.api.alertmanager import AlertmanagerWebhook
from meshwatch.api.auth import bearer_token
from meshwatch.api.deps import Services
from meshwatch.api.routes.alerts import to_event
from meshwatch.store.alert_ingest import IngestClosed, IngestFull


class WebhookFastPath:
    """ASGI middleware for POSTs to `path`; see the module docstring."""

    def __init__(self, app: ASGIApp, *, path: str, services: Services, max_bytes: int) -> None:
        self.app = app
        self.path = path
        self.services = services
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if not self._plain(scope):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client left before sending it all
            return
        delegate = _replaying(self.app, scope, body, receive, send)
        try:
            payload = AlertmanagerWebhook.model_validate_json(body)
        except ValidationError:
            await delegate()
            return
        events = [to_event(alert) for alert in payload.alerts]
        ingest = self.services.ingest
        try:
            delivery = ingest.submit(events)
        except (IngestFull, IngestClosed):
            await delegate()
            return
        committed = asyncio.wrap_future(delivery.future)
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            await asyncio.wait((committed, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if not committed.done() and ingest.abandon(delivery):
            return  # nobody is waiting for an answer; nothing was written
        try:
            new = await committed
        except Exception:  # refused or failed: the application answers it as it always has
            await delegate()
            return
        regate = scope.get(REGATE)
        if regate is not None:
            await regate()
        for listener in self.services.alert_listeners:
            listener(events)
        await _json_200(send, {"received": len(events), "new": new})

    def _plain(self, scope: Scope) -> bool:
        """A JSON body of a declared size within the limit, and the configured bearer token."""
        first: dict[bytes, bytes] = {}  # the first of repeated headers, as Starlette reads
        for name, value in scope["headers"]:
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


async def _json_200(send: Send, content: dict[str, int]) -> None:
    body = json.dumps(content, separators=(",", ":")).encode()
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
