"""Bearer-token check for every write (`Authorization: Bearer <MESHWATCH_API_TOKEN>`).

401 when the header is missing or not a bearer token, 403 when the token is wrong or when
no token is configured (writes are disabled until one is set). The comparison is
constant-time so the token cannot be guessed byte by byte from response times.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, status

BEARER = "bearer "


def check_bearer(request: Request, expected: str | None) -> None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing bearer token: send Authorization: Bearer <MESHWATCH_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if expected is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail="writes are disabled: set MESHWATCH_API_TOKEN on the server",
        )
    given = header[len(BEARER) :].strip().encode()
    if not hmac.compare_digest(given, expected.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="invalid bearer token")
