"""Durations in the settings: the specs' syntax (`30s`, `5m`, `1h30m`, `1d`), plain seconds
or ISO 8601, always positive; errors worded for the settings' `FILE:LINE: field:` report."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

from meshwatch.model import parse_duration

_ISO_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)
_SPEC_SHAPE = re.compile(r"^(?:\d+[wdhms])+$")


def _duration(value: object) -> timedelta:
    """A positive duration from `30s`/`5m`/`1h`/`1d`/`1h30m`, plain seconds or ISO 8601."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str):
        delta = _duration_text(value.strip())
    else:
        raise PydanticCustomError(
            "duration",
            "expected a duration like 30s, 5m or 1h, got {kind}",
            {"kind": type(value).__name__},
        )
    if delta <= timedelta(0):
        raise PydanticCustomError(
            "duration", "duration {value} must be positive", {"value": repr(value)}
        )
    return delta


def _duration_text(text: str) -> timedelta:
    if _SPEC_SHAPE.match(text):
        try:
            return parse_duration(text)
        except ValueError:
            if not any(ch in "123456789" for ch in text):
                return timedelta(0)  # `0s`: reported as not positive
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    if text[:1].upper() == "P":
        try:
            return _ISO_DURATION.validate_python(text)
        except ValidationError:
            pass
    raise PydanticCustomError(
        "duration",
        "invalid duration {value}; use e.g. 30s, 5m, 1h30m, 1d, plain seconds or ISO 8601",
        {"value": repr(text)},
    )


Duration = Annotated[timedelta, BeforeValidator(_duration)]
"""Every duration in the settings: the spec syntax (`30s`, `1h30m`), seconds or ISO 8601."""


def _seconds(value: object) -> float:
    return _duration(value).total_seconds()


Seconds = Annotated[float, BeforeValidator(_seconds)]
"""A duration kept as float seconds (fields named `*_seconds`); same syntax as `Duration`."""
