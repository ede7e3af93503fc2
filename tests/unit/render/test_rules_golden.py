"""Generated rule files compared byte for byte with tests/golden/rules (`--update-golden`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.render.rules import FORMATS, RuleFormat, rule_files
from tests.unit.render.rule_fixtures import all_slos

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "rules"


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
def test_rules_match_golden_files(fmt: RuleFormat, request: pytest.FixtureRequest) -> None:
    files = rule_files(all_slos(), fmt)
    folder = GOLDEN / fmt
    if request.config.getoption("--update-golden"):
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.yaml"):
            old.unlink()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    expected = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    assert sorted(files) == sorted(expected), "run pytest --update-golden after a deliberate change"
    for name, text in files.items():
        assert text == expected[name], f"{fmt}/{name} differs; run pytest --update-golden"
