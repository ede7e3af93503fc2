"""`meshwatch validate PATH...`: check SLO specs, print warnings, exit 1 listing every error.

A plain call (`meshwatch.cli.plain`) runs the same body without this Typer command.
"""

from __future__ import annotations

from pathlib import Path

import typer

from meshwatch.cli.plain import validate_specs
from meshwatch.cli.root import app, exits_on_error
from meshwatch.cli.spec_options import ALLOW_EMPTY, SLOTH_PERIOD, load_options


@app.command()
@exits_on_error
def validate(
    paths: list[Path] = typer.Argument(
        ..., exists=True, help="Spec files or folders (*.yaml, *.yml, searched recursively)."
    ),
    sloth_period: str = SLOTH_PERIOD,
    allow_empty: bool = ALLOW_EMPTY,
) -> None:
    """Validate SLO specs (meshwatch/v1, Sloth, OpenSLO, Pyrra, slo-generator); errors as
    FILE:LINE: field: message."""
    validate_specs(paths, load_options(sloth_period, allow_empty))
