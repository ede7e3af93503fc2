"""Bearer-token check for every write (`Authorization: Bearer <MESHWATCH_API_TOKEN>`).

The header is parsed as RFC 6750 section 2.1 spells it, and nothing looser:
`credentials = "Bearer" 1*SP b64token` with the scheme case-insensitive (RFC 7235) and the
token made of ASCII letters, digits and `-._~+/` with trailing `=`. No other whitespace is
trimmed: the server decodes headers as latin-1, where `str.strip()` would also remove
U+00A0 and U+0085 and turn `Bearer \\xa0` into an empty token.

401 when the header is missing or malformed, 403 when the token is wrong or when no token is
configured (writes are disabled until one is set; settings refuse an empty one). The
comparison is constant-time so the token cannot be guessed byte by byte from response times.
"""

from __future__ import annotations

import hmac
import re

from fastapi import HTTPException, Request, status

CREDENTIALS = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*)")
"""RFC 6750 `credentials` for the Authorization header (HTTP already drops outer OWS)."""


def bearer_token(header: str) -> str | None:
    """The b64token of an `Authorization` value, or None unless it is exactly a bearer one."""
    match = CREDENTIALS.fullmatch(header)
    return match.group(1) if match else None


def check_bearer(request: Request, expected: str | None) -> None:
    given = bearer_token(request.headers.get("authorization", ""))
    if given is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token: send Authorization: Bearer <MESHWATCH_API_TOKEN>",
            headers={"WWW-Authenticate": 'Bearer realm="meshwatch"'},
        )
    if not expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="writes are disabled: set MESHWATCH_API_TOKEN on the server",
        )
    if not hmac.compare_digest(given.encode("ascii"), expected.encode("utf-8")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid bearer token")
