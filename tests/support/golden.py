"""Golden files, one update mechanism for all of them.

Every golden is compared exactly; a run with `pytest --update-golden` (conftest turns it into
the variable) or `MESHWATCH_UPDATE_GOLDEN=1` rewrites them from the current output instead.
The rule goldens are one folder per feature, `tests/golden/rules/<case>/`: `in.yaml` (a spec,
any dialect meshwatch reads), `out.yaml` (its rule file) and `out.prometheus-operator.yaml`.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
RULE_CASES = GOLDEN / "rules"
UPDATE_VARIABLE = "MESHWATCH_UPDATE_GOLDEN"
HINT = f"review the change and regenerate with `pytest --update-golden` ({UPDATE_VARIABLE}=1)"


def updating() -> bool:
    """Whether this run rewrites goldens instead of comparing with them."""
    return os.environ.get(UPDATE_VARIABLE) == "1"


def assert_golden(path: Path, text: str) -> None:
    """`text` equals the file at `path` (written first when updating)."""
    if updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing; {HINT}"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path.relative_to(ROOT)} differs from the output; {HINT}"


def rule_cases() -> list[Path]:
    """The rule golden folders: every `tests/golden/rules/<case>/in.yaml`, by name."""
    return sorted(path.parent for path in RULE_CASES.glob("*/in.yaml"))
