"""The options every command that reads specs shares: `--sloth-period` and `--allow-empty`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from meshwatch.cli.plain import ALLOW_EMPTY_FLAG, SLOTH_PERIOD_FLAG

if TYPE_CHECKING:
    from meshwatch.spec import LoadOptions

# meshwatch.spec.options.DEFAULT_SLOTH_PERIOD, spelt here so that `--help` need not import the
# spec loader (a test holds the two equal).
DEFAULT_SLOTH_PERIOD = "30d"
SLOTH_PERIOD = typer.Option(
    DEFAULT_SLOTH_PERIOD,
    SLOTH_PERIOD_FLAG,
    metavar="PERIOD",
    help="SLO period of Sloth-format specs, which have none of their own "
    "(like Sloth's --default-slo-period): 30d, 28d, calendar-month...",
)
ALLOW_EMPTY = typer.Option(
    False, ALLOW_EMPTY_FLAG, help="Accept spec files with no documents (empty or only comments)."
)


def load_options(sloth_period: str, allow_empty: bool) -> LoadOptions:
    """The options of a command line, the period checked before any file is read."""
    from meshwatch.spec import LoadOptions
    from meshwatch.spec.checks import parse_window

    try:
        parse_window(sloth_period)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--sloth-period") from exc
    return LoadOptions(sloth_period=sloth_period, allow_empty=allow_empty)
