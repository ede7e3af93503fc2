"""The options every command that reads specs shares: `--sloth-period` and `--allow-empty`."""

from __future__ import annotations

import typer

from meshwatch.spec import LoadOptions
from meshwatch.spec.checks import parse_window
from meshwatch.spec.options import DEFAULT_SLOTH_PERIOD

SLOTH_PERIOD = typer.Option(
    DEFAULT_SLOTH_PERIOD,
    "--sloth-period",
    metavar="PERIOD",
    help="SLO period of Sloth-format specs, which have none of their own "
    "(like Sloth's --default-slo-period): 30d, 28d, calendar-month...",
)
ALLOW_EMPTY = typer.Option(
    False, "--allow-empty", help="Accept spec files with no documents (empty or only comments)."
)


def load_options(sloth_period: str, allow_empty: bool) -> LoadOptions:
    """The options of a command line, the period checked before any file is read."""
    try:
        parse_window(sloth_period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sloth-period") from exc
    return LoadOptions(sloth_period=sloth_period, allow_empty=allow_empty)
