"""Request bodies and signatures for notification webhooks (pure).

Generic JSON body (schema version 1)::

    {
      "version": "1",
      "key": "slo:shop-checkout-availability:breached:2026-11-25T10:00:00+00:00",
      "kind": "slo.state_changed" | "remediation.action",
      "at": "2026-11-25T10:00:00+00:00",
      "summary": "human readable one-liner",
      "slo": {"id": "...", "service": "..."},
      "state": "breached", "previous_state": "ok",
      "details": {...}
    }

Slack-compatible body: `{"text": summary, "blocks": [...]}` (incoming-webhook format).

Signature: `X-Meshwatch-Signature: sha256=<hex>` is HMAC-SHA256 over
`<X-Meshwatch-Timestamp>.<raw body>` with the target's secret, so a receiver can reject
replays by checking the timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from meshwatch.notify.events import Notification

SIGNATURE_HEADER = "X-Meshwatch-Signature"
TIMESTAMP_HEADER = "X-Meshwatch-Timestamp"
KEY_HEADER = "X-Meshwatch-Key"

_EMOJI = {
    "breached": ":red_circle:",
    "warning": ":large_orange_circle:",
    "ok": ":large_green_circle:",
}


def generic_body(event: Notification) -> dict[str, Any]:
    return {
        "version": "1",
        "key": event.key,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "summary": event.summary,
        "slo": {"id": event.slo_id, "service": event.service},
        "state": event.state,
        "previous_state": event.previous_state,
        "details": dict(event.details),
    }


def slack_text(text: str) -> str:
    """Slack's own escaping for message text: `&`, `<` and `>` as entities.

    Unescaped, `<...>` is a Slack link or mention (`<!channel>`), and summaries carry text
    from the API (rollback reasons) and from specs (descriptions).
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(event: Notification) -> dict[str, Any]:
    icon = _EMOJI.get(event.state, ":white_circle:")
    summary = slack_text(event.summary)
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n{slack_text(value)}"}
        for name, value in (("Service", event.service), ("State", event.state))
        if value
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} {summary}"}}
    ]
    if fields:
        blocks.append({"type": "section", "fields": fields})
    return {"text": summary, "blocks": blocks}


def encode(body: dict[str, Any]) -> bytes:
    """Canonical bytes of a body (sorted keys), the exact bytes that are signed and sent."""
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: bytes, timestamp: str, raw: bytes) -> str:
    digest = hmac.new(secret, timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: bytes, timestamp: str, raw: bytes, signature: str) -> bool:
    """What a receiver does; meshwatch's tests use it too."""
    return hmac.compare_digest(sign(secret, timestamp, raw), signature)
