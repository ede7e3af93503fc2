"""The `meshwatch` command line. Each verb lives in its own module under `meshwatch.cli`.

This package is the only place that turns errors into exit codes:
0 ok, 1 invalid input or drift, 2 usage error. `main` (the console script) imports no
framework until it knows it needs one (`meshwatch.cli.entry`); `app`, the Typer app with
every verb, is built when first asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from meshwatch.cli.entry import main

if TYPE_CHECKING:
    from typer import Typer

__all__ = ["app", "main"]


def __getattr__(name: str) -> Typer:
    if name == "app":
        from meshwatch.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
