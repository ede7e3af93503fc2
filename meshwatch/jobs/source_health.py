"""Why a collector could not read its source, in one short line a human can act on.

A failing source makes every SLO `unknown`; that reason is shown on the status page, in the
API, in the evaluation log line and in `/readyz`. The exception that arrives here carries
the whole HTTP stack's text (urllib3 pools, URL-encoded queries, hundreds of characters),
so the reason is rebuilt from what matters: the kind of failure, found in the exception
chain as a standard-library `OSError` (connection refused, reset, timed out, name not
resolved) or an HTTP status, and the source's address without credentials:
`prometheus unreachable: connection refused (http://127.0.0.1:1)`.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator, Sequence
from urllib.parse import urlsplit, urlunsplit

MAX_DETAIL = 120
"""Characters kept of a failure that has no known kind (the rest is noise in a reason)."""

_NETWORK: tuple[tuple[type[BaseException], str], ...] = (
    (ConnectionRefusedError, "connection refused"),
    (ConnectionResetError, "connection reset"),
    (socket.gaierror, "name not resolved"),
    (TimeoutError, "timed out"),
)
_NETWORK_TEXT: tuple[tuple[str, str], ...] = (
    ("connection refused", "connection refused"),
    ("connection reset", "connection reset"),
    ("name or service not known", "name not resolved"),
    ("temporary failure in name resolution", "name not resolved"),
    ("timed out", "timed out"),
    ("timeout", "timed out"),
)
_HTTP_STATUS = re.compile(r"\b(?:HTTP Status Code|HTTP) (\d{3})\b")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and everything it was raised from or wraps (causes, contexts, `reason`, args)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(current.args)
        stack.extend(item for item in reversed(linked) if isinstance(item, BaseException))


def failure_kind(exc: BaseException) -> tuple[str, bool]:
    """(short description, whether the source was unreachable) of a collector failure."""
    chain = list(_chain(exc))
    for error in chain:
        for kind, text in _NETWORK:
            if isinstance(error, kind):
                return text, True
    for error in chain:
        match = _HTTP_STATUS.search(str(error))
        if match:
            return f"HTTP {match.group(1)}", False
    lowered = str(exc).lower()
    for needle, text in _NETWORK_TEXT:
        if needle in lowered:
            return text, True
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return (first if len(first) <= MAX_DETAIL else first[: MAX_DETAIL - 1] + "…"), False


def public_url(url: str) -> str:
    """`url` without user, password, query or fragment (never show credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def describe_failure(source: str, url: str, exc: BaseException) -> str:
    """`<source> unreachable: connection refused (<url>)`, or `<source> failed: ...`."""
    kind, unreachable = failure_kind(exc)
    verb = "unreachable" if unreachable else "failed"
    return f"{source} {verb}: {kind} ({public_url(url)})"


def describe_scrape_failures(failures: Sequence[tuple[str, str, str]]) -> str:
    """One line for scrape targets that all fail, from (name, url, last error) of each."""
    parts = []
    for name, url, error in sorted(failures):
        kind, _ = failure_kind(Exception(error))
        parts.append(f"{name}: {kind} ({public_url(url)})")
    return "scrape targets unreachable: " + "; ".join(parts)
