"""docs/spec-reference.md is generated from the spec models and must not drift.

Regenerate with: python -m pytest tests/unit/spec/test_reference.py --update-golden
(or MESHWATCH_UPDATE_GOLDEN=1)
"""

from __future__ import annotations

from pathlib import Path

from meshwatch.spec.native import models as native
from meshwatch.spec.reference import render_reference
from tests.support.golden import assert_golden

DOC = Path(__file__).resolve().parents[3] / "docs" / "spec-reference.md"


def test_committed_reference_matches_the_models() -> None:
    rendered = render_reference()
    assert_golden(DOC, rendered)


def test_every_native_field_is_documented() -> None:
    rendered = render_reference()
    for model in (native.SLOSpec, native.MeshSpec, native.RemediationSpec, native.AlertingSpec):
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert f"| `{info.alias or name}` |" in rendered
