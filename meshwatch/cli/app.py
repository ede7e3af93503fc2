"""The Typer application and the mapping from meshwatch errors to exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from meshwatch.errors import MeshwatchError, SpecError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

app = typer.Typer(
    name="meshwatch",
    help="SLOs for a service mesh: rules, dashboards, budgets, alerts, reports, remediation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
generate_app = typer.Typer(
    help="Generate Prometheus rules or Grafana dashboards.", no_args_is_help=True
)
app.add_typer(generate_app, name="generate")

P = ParamSpec("P")
R = TypeVar("R")


def exits_on_error(func: Callable[P, R]) -> Callable[P, R]:
    """Print a MeshwatchError (every problem of a SpecError) to stderr and exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SpecError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from exc
        except MeshwatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from exc

    return wrapper


def main() -> None:
    """Console-script entry point."""
    app()
