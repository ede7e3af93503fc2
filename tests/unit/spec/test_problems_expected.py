"""Every bad spec under tests/testdata/specs/bad fails with exactly the messages beside it;
every spec under warn/ loads, with exactly the warnings beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from meshwatch.errors import SpecError
from meshwatch.spec import load_paths

SPECS = Path(__file__).resolve().parents[2] / "testdata" / "specs"
BAD = SPECS / "bad"
WARN = SPECS / "warn"


def _cases(folder: Path, suffix: str) -> list[object]:
    return [
        pytest.param(expected.name.removesuffix(suffix), id=expected.name.removesuffix(suffix))
        for expected in sorted(folder.glob(f"*{suffix}"))
    ]


def _spec_path(folder: Path, case: str) -> str:
    return case if (folder / case).is_dir() else f"{case}.yaml"


@pytest.mark.parametrize("case", _cases(BAD, ".error.txt"))
def test_bad_spec_reports_expected_problems(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    expected = (BAD / f"{case}.error.txt").read_text().splitlines()
    with pytest.raises(SpecError) as caught:
        load_paths([_spec_path(BAD, case)])
    assert [str(p) for p in caught.value.problems] == expected


@pytest.mark.parametrize("case", _cases(WARN, ".warning.txt"))
def test_questionable_spec_loads_with_expected_warnings(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(WARN)
    expected = (WARN / f"{case}.warning.txt").read_text().splitlines()
    result = load_paths([_spec_path(WARN, case)])
    assert [str(p) for p in result.warnings] == expected
    assert all(p.severity == "warning" for p in result.warnings)
    assert len(result.slos) == 1


def test_every_bad_case_has_its_expected_messages() -> None:
    specs = {p.name.removesuffix(".yaml") for p in BAD.iterdir() if p.suffix == ".yaml"}
    specs |= {p.name for p in BAD.iterdir() if p.is_dir()}
    expected = {p.name.removesuffix(".error.txt") for p in BAD.glob("*.error.txt")}
    assert specs == expected


def test_required_error_kinds_are_covered() -> None:
    """The error kinds the issue names each have a case (and so an exact message)."""
    cases = {p.name.removesuffix(".error.txt") for p in BAD.glob("*.error.txt")}
    assert {
        "duplicate-slo-id",
        "unknown-field",
        "sloth-query-without-window",
        "objective-100",
        "objective-negative",
        "unknown-window",
        "openslo-dangling-indicator-ref",
        "invalid-selector",
        "unbalanced-template",
        "openslo-timeslices",
        # issue 14: OpenSLO rules, Sloth as written, unmappable Pyrra / slo-generator fields
        "openslo-rules-all-at-once",
        "openslo-description-too-long",
        "openslo-dangling-target-ref",
        "sloth-nested-and-top-level",
        "pyrra-unmappable",
        "slo-generator-unmappable",
        # inputs that could hurt
        "yaml-recursive-alias",
        "yaml-alias-fan-out",
        "name-too-long",
        "not-utf8",
        "utf16-without-bom",
        "nul-byte",
        "empty-file",
        "comments-only",
    } <= cases
