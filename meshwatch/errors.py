"""The one exception tree of meshwatch.

    MeshwatchError
    ├── SpecError            invalid SLO specs; carries every problem found, with locations
    ├── CollectorError       a metrics source failed
    │   └── NoDataError      the source answered but had no series / no traffic
    ├── StoreError           the history store failed
    ├── ActuatorError        a data plane rejected or did not take a change (retryable or not)
    └── ProvisionError       dashboards could not be provisioned (Grafana refused, too large)

Only the CLI turns these into exit codes; the job loop records a failing SLO as
`unknown` with the error's message and carries on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem in a spec file: where it is, which field, and what is wrong."""

    file: str
    line: int
    field: str
    message: str
    severity: str = "error"  # "error" fails validation, "warning" is only printed

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        field = f" {self.field}:" if self.field else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}:{field} {prefix}{self.message}"


class MeshwatchError(Exception):
    """Base class of every error meshwatch raises on purpose."""


class SpecError(MeshwatchError):
    """One or more SLO spec files are invalid; `problems` lists all of them."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class CollectorError(MeshwatchError):
    """A metrics source (Prometheus, a scrape target) failed or answered garbage."""


class NoDataError(CollectorError):
    """The source answered, but there is nothing to measure.

    `reason` tells "no series" (the selector matches nothing) from "no traffic"
    (series exist, but no request happened in the window): both mean `unknown`.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class StoreError(MeshwatchError):
    """The history store is unreachable or refused a write."""


class StoreDataError(StoreError):
    """The database refused the data itself (not an outage): the caller's 4xx, never a retry."""


class ActuatorError(MeshwatchError):
    """A data plane rejected a change or did not confirm it in time."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        self.retryable = retryable
        super().__init__(message)


class ProvisionError(MeshwatchError):
    """Dashboards could not be provisioned: Grafana refused them, or a file is too large."""
