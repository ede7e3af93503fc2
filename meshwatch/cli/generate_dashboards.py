"""`meshwatch generate dashboards PATH... -o DIR [--check]`: Grafana dashboards from SLO specs."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from meshwatch.cli.progress import progress_bar
from meshwatch.cli.root import EXIT_INVALID, exits_on_error, generate_app
from meshwatch.cli.spec_options import ALLOW_EMPTY, SLOTH_PERIOD, load_options


def _write_tree(root: Path, tree: dict[str, str]) -> None:
    for relative, text in sorted(tree.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


@generate_app.command("dashboards")
@exits_on_error
def generate_dashboards(
    paths: list[Path] = typer.Argument(..., exists=True, help="Spec files or folders."),
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the dashboard JSON."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 if DIR drifted."),
    provisioning: Path | None = typer.Option(
        None,
        "--provisioning",
        help="Also write Grafana's file-provisioning layout (provider YAML + JSON) here.",
    ),
    configmaps: Path | None = typer.Option(
        None,
        "--configmaps",
        help='Also write one ConfigMap per dashboard (label grafana_dashboard: "1") here.',
    ),
    namespace: str | None = typer.Option(None, help="Namespace of the ConfigMaps."),
    sloth_period: str = SLOTH_PERIOD,
    allow_empty: bool = ALLOW_EMPTY,
) -> None:
    """Generate the SLO overview, one dashboard per service and the mesh dashboard."""
    from meshwatch.render import files, provision
    from meshwatch.render.dashboards import render_dashboards
    from meshwatch.spec import load_paths

    result = load_paths(paths, load_options(sloth_period, allow_empty))
    for warning in result.warnings:
        print(warning, file=sys.stderr)
    services = len({slo.service for slo in result.slos})
    with progress_bar("dashboards", "services", services) as advance:
        dashboards = render_dashboards(result.slos, advance)
    if check:
        diffs = files.drift(output, dashboards, ".json")
        if diffs:
            sys.stderr.write("".join(diffs))
            print(f"{output}: {len(diffs)} dashboard(s) out of date; run without --check")
            raise typer.Exit(EXIT_INVALID)
        print(f"{output}: {len(dashboards)} dashboards up to date")
        return
    changed = files.write(output, dashboards, ".json")
    print(f"{output}: {len(dashboards)} dashboards, {len(changed)} changed")
    if provisioning is not None:
        _write_tree(provisioning, provision.provisioning_layout(dashboards))
        print(f"{provisioning}: provisioning layout written")
    if configmaps is not None:
        configmaps.parent.mkdir(parents=True, exist_ok=True)
        configmaps.write_text(provision.configmaps(dashboards, namespace=namespace), "utf-8")
        print(f"{configmaps}: {len(dashboards)} ConfigMaps written")
