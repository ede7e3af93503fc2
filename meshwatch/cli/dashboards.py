"""`meshwatch dashboards push --grafana-url URL`: upload the generated dashboards to Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from meshwatch import conventions as c
from meshwatch.cli.root import app, exits_on_error
from meshwatch.errors import ProvisionError

dashboards_app = typer.Typer(
    help="Work with the generated Grafana dashboards.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(dashboards_app, name="dashboards")


def _read(folder: Path) -> list[dict[str, Any]]:
    import json  # here, not at import: `--help` and `validate` do not need it

    models = []
    for path in sorted(folder.glob("*.json")):
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProvisionError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from exc
        if not isinstance(model, dict) or "uid" not in model:
            raise ProvisionError(f"{path}: not a Grafana dashboard (no uid)")
        models.append(model)
    if not models:
        raise ProvisionError(f"{folder}: no *.json dashboards; run `meshwatch generate dashboards`")
    return models


@dashboards_app.command("push")
@exits_on_error
def push(
    grafana_url: str = typer.Option(..., "--grafana-url", help="e.g. https://grafana.example"),
    source: Path = typer.Option(
        Path("dashboards"), "--from", help="Folder of generated dashboard JSON."
    ),
    folder: str = typer.Option(c.DASHBOARD_FOLDER, help="Grafana folder uid (and title)."),
    overwrite: bool = typer.Option(True, "--overwrite/--no-overwrite"),
    token: str | None = typer.Option(
        None,
        envvar="MESHWATCH_GRAFANA_TOKEN",
        show_default=False,
        help="Service-account token; read from MESHWATCH_GRAFANA_TOKEN.",
    ),
) -> None:
    """Create the folder if needed and POST every dashboard to /api/dashboards/db."""
    from pydantic import SecretStr

    from meshwatch.grafana.push import GrafanaClient, push_all

    models = _read(source)
    secret = SecretStr(token) if token else None
    with GrafanaClient(grafana_url, secret) as client:
        pushed = push_all(
            client, models, folder_uid=folder, folder_title=folder, overwrite=overwrite
        )
    for item in pushed:
        print(f"{item.uid}: version {item.version} {item.url}")
    print(f"{len(pushed)} dashboards pushed to {grafana_url} folder {folder}")
