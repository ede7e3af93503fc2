"""The Typer app with every verb registered: each lives in its own module and registers itself
when imported."""

from __future__ import annotations

from meshwatch.cli import dashboards as _dashboards  # noqa: F401  (registers `dashboards push`)
from meshwatch.cli import demo as _demo  # noqa: F401  (registers `demo`)
from meshwatch.cli import generate_dashboards as _gen_dash  # noqa: F401  (`generate dashboards`)
from meshwatch.cli import generate_rules as _generate_rules  # noqa: F401  (`generate rules`)
from meshwatch.cli import report as _report  # noqa: F401  (registers `report`)
from meshwatch.cli import serve as _serve  # noqa: F401  (registers `serve`)
from meshwatch.cli import validate as _validate  # noqa: F401  (registers `validate`)
from meshwatch.cli.root import app

__all__ = ["app"]
