"""Rule files of each golden spec, byte for byte: `tests/golden/rules/<case>/in.yaml` renders
to `out.yaml` (and `out.prometheus-operator.yaml`); `pytest --update-golden` rewrites them.

A case is a feature's spec (any dialect meshwatch reads) holding one service: adding a folder
with an `in.yaml` adds a case, and its outputs are written on the next update run.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.render.rules import FORMATS, RuleFormat, rule_files
from meshwatch.spec import load_paths
from tests.support.golden import RULE_CASES, assert_golden, rule_cases

OUT: dict[RuleFormat, str] = {
    "prometheus": "out.yaml",
    "prometheus-operator": "out.prometheus-operator.yaml",
}


def golden_text(case: Path, fmt: RuleFormat) -> str:
    """The one rule file the case's spec renders to."""
    files = rule_files(load_paths([case / "in.yaml"]).slos, fmt)
    assert len(files) == 1, f"{case.name}: a case holds one service, got {sorted(files)}"
    return next(iter(files.values()))


@pytest.mark.parametrize("fmt", [pytest.param(f, id=f) for f in FORMATS])
@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in rule_cases()])
def test_rules_of_each_spec_match_its_golden(case: Path, fmt: RuleFormat) -> None:
    assert_golden(case / OUT[fmt], golden_text(case, fmt))


def test_every_golden_folder_is_a_case_with_only_known_files() -> None:
    folders = sorted(p for p in RULE_CASES.iterdir() if p.is_dir())
    assert folders == rule_cases() and len(folders) >= 4, "a golden folder without in.yaml"
    known = {"in.yaml", *OUT.values()}
    for folder in folders:
        extra = {p.name for p in folder.iterdir()} - known
        assert not extra, f"{folder.name}: unknown files {sorted(extra)}"
