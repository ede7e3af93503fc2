"""The Typer application and the mapping from meshwatch errors to exit codes.

Start-up cost matters here: `--help`, `--version`, `validate` and `generate rules` run in
editors, pre-commit hooks and CI on every push. Command modules therefore import only Typer
at module level; what a command needs (the spec loader, the renderers, FastAPI, SQLAlchemy,
the demo) is imported inside the command's body, when that command runs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

import typer

from meshwatch import __version__
from meshwatch.errors import MeshwatchError, SpecError

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2

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
        except SpecError as exc:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from exc
        except MeshwatchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_INVALID) from exc

    return wrapper


QUICK_EXIT_COMMANDS = frozenset({"validate", "generate", "--help", "--version"})
"""Commands that start no thread, keep no temporary file and register no `atexit` handler:
once they have answered, the process ends without the interpreter's teardown (freeing every
module and object, about a fifth of `validate`'s CPU time), which nobody waits for."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = sys.argv[1:] if argv is None else argv
    try:
        app(args)
    except SystemExit as exc:
        if args[:1] and args[0] in QUICK_EXIT_COMMANDS:
            quick_exit(exc.code)
        raise


def quick_exit(code: object) -> None:
    """`os._exit(code)` once stdout and stderr are flushed; returns (for a normal exit)
    when the code is not an exit status or the output cannot be flushed."""
    import os

    if code is None:
        code = EXIT_OK
    if not isinstance(code, int) or isinstance(code, bool):
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: let the normal exit report it
        return
    os._exit(code)
