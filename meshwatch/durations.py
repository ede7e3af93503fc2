"""Durations as the specs, rules and settings write them: `30d`, `1h30m`, `5m`."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration (`30d`, `1h30m`, `5m`); raise ValueError otherwise."""
    match = _DURATION_RE.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {text!r}; use e.g. 30d, 6h, 5m")
    seconds = sum(int(g) * size for g, (_, size) in zip(match.groups(), _UNITS, strict=True) if g)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Format as the shortest Prometheus duration: 30 d -> `30d`, 90 min -> `1h30m`."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        raise ValueError("duration must be positive")
    parts = []
    for unit, size in _UNITS[1:]:  # Prometheus accepts w, but d reads better for SLO periods
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
