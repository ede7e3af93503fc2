"""gRPC status codes, and the server-error set a gRPC availability SLI counts as bad.

A gRPC call that fails is usually answered with HTTP 200 and a `grpc-status` trailer, so the
HTTP presets count it good. Meshes label the status by its number (Istio
`grpc_response_status`, Linkerd `grpc_status`, Envoy's grpc_stats filter in the stat name).
"""

from __future__ import annotations

from collections.abc import Iterable

# https://grpc.github.io/grpc/core/md_doc_statuscodes.html: name -> code.
CODES: dict[str, int] = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}

DEFAULT_SERVER_ERRORS = (
    "UNKNOWN",
    "DEADLINE_EXCEEDED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNIMPLEMENTED",
)
"""The statuses that mean the server failed (the caller's own mistakes are good events)."""


def unknown_names(names: Iterable[str]) -> list[str]:
    """The names in `names` that are not gRPC status names."""
    return [name for name in names if name not in CODES]


def codes_of(names: Iterable[str]) -> tuple[int, ...]:
    """The statuses' numbers, in code order."""
    return tuple(sorted({CODES[name] for name in names}))


def codes_regex(codes: Iterable[int]) -> str:
    """An RE2 alternation of status numbers: `2|4|12|13|14|15`."""
    return "|".join(str(code) for code in codes)
