"""Golden files: compare exactly; `--update-golden` or `MESHWATCH_UPDATE_GOLDEN=1` rewrites."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def assert_golden(path: Path, text: str, update: bool = False) -> None:
    if update or os.environ.get("MESHWATCH_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} missing; run with MESHWATCH_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{path.relative_to(GOLDEN.parent.parent)} differs from the output; review the change "
        "and regenerate with --update-golden"
    )
