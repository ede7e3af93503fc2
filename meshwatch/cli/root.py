"""The Typer application and the mapping from meshwatch errors to exit codes.

Start-up cost matters here: `--help`, `--version`, `validate` and `generate rules` run in
editors, pre-commit hooks and CI on every push. Command modules therefore import only Typer
at module level; what a command needs (the spec loader, the renderers, FastAPI, SQLAlchemy,
the demo) is imported inside the command's body, when that command runs. A plain `validate`
does not come here at all (`meshwatch.cli.plain`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from meshwatch import __version__
from meshwatch.cli.entry import EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_error
from meshwatch.errors import MeshwatchError

__all__ = ["EXIT_INVALID", "EXIT_OK", "EXIT_USAGE", "app", "exits_on_error", "generate_app"]

app = typer.Typer(
    name="meshwatch",
    help="SLOs for a service mesh: rules, dashboards, budgets, alerts, reports, remediation.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help and usage errors: importing rich would double start-up
)
generate_app = typer.Typer(
    help="Generate Prometheus rules or Grafana dashboards.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(generate_app, name="generate")

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def _print_version(value: bool) -> None:
    if value:
        print(f"meshwatch {__version__}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """SLOs for a service mesh: rules, dashboards, budgets, alerts, reports, remediation."""


def deprecated_option(value: T | None, old_value: T | None, *, new: str, old: str) -> T:
    """The value of option `new`, accepting its former spelling `old` with a note on stderr.

    Exactly one of the two must be given; both, or neither, is a usage error (exit 2).
    """
    if old_value is not None:
        if value is not None:
            raise typer.BadParameter(f"give {new} only ({old} is its old spelling)", param_hint=old)
        print(f"note: {old} is deprecated; use {new}", file=sys.stderr)
        return old_value
    if value is None:
        raise typer.BadParameter("missing option", param_hint=new)
    return value


def exits_on_error(func: Callable[P, R]) -> Callable[P, R]:
    """Print a MeshwatchError (every problem of a SpecError) to stderr and exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except MeshwatchError as exc:
            print_error(exc)
            raise typer.Exit(EXIT_INVALID) from exc

    return wrapper
