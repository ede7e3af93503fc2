"""dashboards/ and the README's panel list are generated from rules/slos and must not drift.

Regenerate with: python -m pytest tests/test_dashboards_committed.py --update-golden
(or MESHWATCH_UPDATE_GOLDEN=1)
(or `meshwatch generate dashboards rules/slos -o dashboards` for the JSON alone).
"""

from __future__ import annotations

import json
from pathlib import Path

from meshwatch.render import dashboards, files
from meshwatch.spec import load_paths
from tests.support.golden import updating
from tests.support.grafana_model import check_dashboard

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "dashboards"
README = ROOT / "README.md"


def _boards() -> list[dashboards.Rendered]:
    return dashboards.build(load_paths([ROOT / "rules" / "slos"]).slos)


def test_committed_dashboards_match_the_example_specs() -> None:
    rendered = {board.filename: board.text() for board in _boards()}
    if updating():
        files.write(FOLDER, rendered, ".json")
    diffs = files.drift(FOLDER, rendered, ".json")
    assert not diffs, (
        "dashboards/ is stale; run `meshwatch generate dashboards rules/slos -o dashboards`:\n"
        + "".join(diffs)[:4000]
    )


def test_committed_dashboards_fit_grafanas_model() -> None:
    for path in sorted(FOLDER.glob("*.json")):
        assert check_dashboard(json.loads(path.read_text(encoding="utf-8"))) == [], path.name


def test_readme_lists_the_panels_of_every_dashboard() -> None:
    text = README.read_text(encoding="utf-8")
    expected = dashboards.replace_readme_section(text, _boards())
    if updating() and expected != text:
        README.write_text(expected, encoding="utf-8")
        text = expected
    assert text == expected, (
        "README's dashboard list is stale; regenerate: "
        "python -m pytest tests/test_dashboards_committed.py --update-golden"
    )
