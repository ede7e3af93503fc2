"""Slices of a report period from stored statuses: each request counted once.

A `Slice` is what was measured in (start, end]. `slices_from_statuses` walks statuses in
time order and lets each contribute at most one of its windows, the one
`meshwatch.slo.tiling.pick` chooses for the time since the last contributing status.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from meshwatch.model import parse_duration
from meshwatch.slo import tiling


@dataclass(frozen=True, slots=True)
class Slice:
    """`errors` bad events out of `total` requests in (start, end]."""

    start: datetime
    end: datetime
    errors: float
    total: float
    covered: timedelta | None = None  # time data covers, when less than end - start


@functools.lru_cache(maxsize=256)
def _window(name: str) -> timedelta | None:
    try:
        return parse_duration(name)
    except ValueError:
        return None


class Measured(Protocol):
    """A point of history: per window name, requests and SLI (an `SLOStatus` is one)."""

    @property
    def at(self) -> datetime: ...
    @property
    def requests(self) -> Mapping[str, float | None]: ...
    @property
    def sli(self) -> Mapping[str, float | None]: ...
    @property
    def coverage(self) -> float | None: ...


def slices_from_statuses(
    statuses: Iterable[Measured],
    start: datetime,
    end: datetime,
    period: timedelta | None = None,
) -> list[Slice]:
    """Tile (start, end] with the points' measured windows, oldest point first.

    Each point contributes at most one window, the one `meshwatch.slo.tiling.pick` chooses
    for the time since the last point that contributed, so no request is counted twice;
    `period` (the SLO period its `coverage` is a share of) caps the time a window covers.
    """
    slices: list[Slice] = []
    covered = start
    for status in statuses:
        if status.at <= start or status.at > end:
            continue
        measured: dict[timedelta, tuple[float, float]] = {}
        for name, requests in status.requests.items():
            sli = status.sli.get(name)
            length = _window(name)
            if requests is None or sli is None or length is None or not math.isfinite(requests):
                continue
            measured[length] = (requests, sli)
        tile = tiling.pick(status.at - covered, measured)
        if tile is None:
            continue
        requests, sli = measured[tile.length]
        errors = min(max((1.0 - sli) * requests, 0.0), requests)
        seen = tiling.data_span(status.coverage, period)
        slices.append(
            Slice(
                status.at - tile.span,
                status.at,
                errors * tile.scale,
                requests * tile.scale,
                None if seen is None or seen >= tile.span else seen,
            )
        )
        covered = status.at
    return slices
