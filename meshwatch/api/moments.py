"""Timestamps from query strings and request bodies, checked before any arithmetic.

`datetime` holds years 1..9999 only, so `0001-01-01T00:00:00+14:00` cannot even be
converted to UTC, and a report period ending on 9999-12-31 cannot be computed: both raised
an unhandled OverflowError (500). Reads and reports take moments in a range where every
period meshwatch computes stays representable; anything else is a 422 naming the field.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import HTTPException

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def api_moment(moment: datetime, name: str) -> datetime:
    """`moment` in UTC, or HTTPException 422 when it is naive or outside EARLIEST..LATEST."""
    if moment.tzinfo is None:
        raise HTTPException(422, detail=f"{name} needs a time zone, e.g. 2026-11-25T10:00:00Z")
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc <= LATEST:
        raise HTTPException(
            422,
            detail=f"{name} must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)",
        )
    return utc
