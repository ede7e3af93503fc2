"""docs/spec-reference.md is generated from the spec models and must not drift.

Regenerate with: MESHWATCH_UPDATE_GOLDEN=1 python -m pytest tests/unit/spec/test_reference.py
"""

from __future__ import annotations

import os
from pathlib import Path

from meshwatch.spec.native import models as native
from meshwatch.spec.reference import render_reference

DOC = Path(__file__).resolve().parents[3] / "docs" / "spec-reference.md"


def test_committed_reference_matches_the_models() -> None:
    rendered = render_reference()
    if os.environ.get("MESHWATCH_UPDATE_GOLDEN") == "1":
        DOC.write_text(rendered, encoding="utf-8")
    assert DOC.read_text(encoding="utf-8") == rendered, (
        "docs/spec-reference.md is stale; regenerate: "
        "MESHWATCH_UPDATE_GOLDEN=1 python -m pytest tests/unit/spec/test_reference.py"
    )


def test_every_native_field_is_documented() -> None:
    rendered = render_reference()
    for model in (native.SLOSpec, native.MeshSpec, native.RemediationSpec, native.AlertingSpec):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert f"| `{info.alias or name}` |" in rendered
