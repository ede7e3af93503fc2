"""`meshwatch generate rules PATH... -o DIR [--check] [--format ...]`: Prometheus rule files."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from meshwatch.cli.progress import progress_bar
from meshwatch.cli.root import EXIT_INVALID, deprecated_option, exits_on_error, generate_app
from meshwatch.cli.spec_options import ALLOW_EMPTY, SLOTH_PERIOD, load_options


@generate_app.command("rules")
@exits_on_error
def generate_rules(
    paths: list[Path] = typer.Argument(
        ..., exists=True, help="Spec files or folders (*.yaml, *.yml, searched recursively)."
    ),
    output: Path | None = typer.Option(None, "-o", "--output", help="Folder for the rule files."),
    out: Path | None = typer.Option(
        None, "--out", hidden=True, help="Deprecated spelling of --output."
    ),
    check: bool = typer.Option(
        False, "--check", help="Write nothing; exit 1 and print the diff when DIR is out of date."
    ),
    fmt: str = typer.Option(
        "prometheus",
        "--format",
        help="prometheus (rule files) or prometheus-operator (PrometheusRule objects).",
    ),
    sloth_period: str = SLOTH_PERIOD,
    allow_empty: bool = ALLOW_EMPTY,
) -> None:
    """Generate one Prometheus rule file per service: recording rules, burn and absent alerts."""
    from meshwatch.render import files as written
    from meshwatch.render.rules import FORMATS, SUFFIX, RuleFormat, rule_files
    from meshwatch.spec import load_paths

    folder = deprecated_option(output, out, new="--output", old="--out")
    if fmt not in FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(FORMATS)}", param_hint="--format")
    rule_format: RuleFormat = "prometheus" if fmt == "prometheus" else "prometheus-operator"
    result = load_paths(paths, load_options(sloth_period, allow_empty))
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    try:
        with progress_bar("rules", "SLOs", len(result.slos)) as advance:
            files = rule_files(result.slos, rule_format, advance)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_INVALID) from exc
    if check:
        diffs = written.drift(folder, files, SUFFIX)
        if diffs:
            sys.stdout.write("".join(diffs))
            print(f"{folder}: {len(diffs)} rule file(s) out of date", file=sys.stderr)
            raise typer.Exit(EXIT_INVALID)
        print(f"{folder}: {len(files)} rule file(s) up to date")
        return
    changed = written.write(folder, files, SUFFIX)
    print(f"{folder}: {len(files)} rule file(s), {len(changed)} changed")
