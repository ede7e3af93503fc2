"""`meshwatch validate PATH...`: check SLO specs, print warnings, exit 1 listing every error."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from meshwatch.cli.app import app, exits_on_error


@app.command()
@exits_on_error
def validate(
    paths: list[Path] = typer.Argument(
        ..., exists=True, help="Spec files or folders (*.yaml, *.yml, searched recursively)."
    ),
) -> None:
    """Validate SLO specs (meshwatch/v1, Sloth, OpenSLO v1); errors as FILE:LINE: field: message."""
    from meshwatch.spec import load_paths

    result = load_paths(paths)
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    files = len({slo.source.file for slo in result.slos if slo.source is not None})
    noun = "SLO" if len(result.slos) == 1 else "SLOs"
    warned = f", {len(result.warnings)} warning(s)" if result.warnings else ""
    print(f"{len(result.slos)} {noun} in {files} file{'' if files == 1 else 's'}: ok{warned}")
