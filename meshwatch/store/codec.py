"""SLOStatus <-> status_history row values, exactly, on SQLite and PostgreSQL.

The four per-window maps go into one JSON column `windows`. Strict JSON (what PostgreSQL
accepts) has no infinities, so +/-inf are stored as the strings "Infinity"/"-Infinity" and
read back as floats; every number is read back with `float()` (an integral float may come
back as a JSON integer), and Python's shortest repr round-trips exactly.
NaN is not a value: the store keeps it as None (unknown) everywhere, because SQLite turns
NaN in a REAL column into NULL anyway and both engines must answer the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from meshwatch.model import SLOStatus, State
from meshwatch.store.types import from_micros, to_micros

MAPS = ("sli", "burn_rate", "latency", "requests")
_INF = {"Infinity": math.inf, "-Infinity": -math.inf}


STATUS_COLUMNS = (
    "slo_id",
    "at_us",
    "step_s",
    "samples",
    "state",
    "worst_state",
    "service",
    "slo",
    "reason",
    "objective",
    "period_sli",
    "budget_remaining",
    "budget_remaining_seconds",
    "budget_remaining_requests",
    "throughput",
    "coverage",
    "windows",
)
"""The columns of `status_row`, in its order (`id` is the database's)."""


def status_row(
    status: SLOStatus, windows: Callable[[dict[str, Any]], Any] = lambda maps: maps
) -> tuple[Any, ...]:
    """Column values of a raw (just evaluated) status_history row, in `STATUS_COLUMNS`
    order; `windows` encodes the per-window maps (the JSON text, for a driver)."""
    state = status.state.value
    return (
        status.slo_id,
        to_micros(status.at),
        0,
        1,
        state,
        state,
        status.service,
        status.slo,
        status.reason,
        status.objective,
        _scalar(status.period_sli),
        _scalar(status.budget_remaining),
        _scalar(status.budget_remaining_seconds),
        _scalar(status.budget_remaining_requests),
        _scalar(status.throughput),
        _scalar(status.coverage),
        windows({name: _encode_map(getattr(status, name)) for name in MAPS}),
    )


def status_values(status: SLOStatus) -> dict[str, Any]:
    """`status_row` by column name."""
    return dict(zip(STATUS_COLUMNS, status_row(status), strict=True))


def status_from_values(values: Mapping[Any, Any]) -> SLOStatus:
    """The SLOStatus a status_history row (a mapping of its columns) stands for."""
    windows = values["windows"] or {}
    return SLOStatus(
        slo_id=values["slo_id"],
        service=values["service"],
        slo=values["slo"],
        at=from_micros(values["at_us"]),
        state=State(values["state"]),
        reason=values["reason"],
        objective=float(values["objective"]),
        period_sli=_read_scalar(values["period_sli"]),
        budget_remaining=_read_scalar(values["budget_remaining"]),
        budget_remaining_seconds=_read_scalar(values["budget_remaining_seconds"]),
        budget_remaining_requests=_read_scalar(values["budget_remaining_requests"]),
        throughput=_read_scalar(values["throughput"]),
        coverage=_read_scalar(values.get("coverage")),
        sli=_decode_map(windows.get("sli")),
        burn_rate=_decode_map(windows.get("burn_rate")),
        latency=_decode_map(windows.get("latency")),
        requests=_decode_map(windows.get("requests")),
    )


def _scalar(value: float | None) -> float | None:
    if value is None or value != value:  # NaN is the one value unequal to itself
        return None
    return float(value)


def _read_scalar(value: float | None) -> float | None:
    return None if value is None else float(value)


def _encode_map(values: Mapping[str, float | None]) -> Mapping[str, float | str | None]:
    if type(values) is dict:
        # hot path (four maps per SLO and cycle): a sum that is a finite float means every
        # value is a finite number, stored as it is (ints are read back with `float()`)
        try:
            total = sum(values.values())
        except TypeError:  # a None (unknown) among them: value by value below
            pass
        else:
            if total - total == 0:
                return values
    encoded: dict[str, float | str | None] = {}
    for key, value in values.items():
        # `value - value` is 0 only for finite numbers
        if value is not None and value - value == 0:
            encoded[key] = float(value)
        elif value is None or math.isnan(value):
            encoded[key] = None
        else:
            encoded[key] = "Infinity" if value > 0 else "-Infinity"
    return encoded


def _decode_map(values: Mapping[str, Any] | None) -> dict[str, float | None]:
    decoded: dict[str, float | None] = {}
    for key, value in (values or {}).items():
        if value is None:
            decoded[key] = None
        elif isinstance(value, str):
            decoded[key] = _INF[value]
        else:
            decoded[key] = float(value)
    return decoded
