"""How a native document is validated: whole when it can be, SLO by SLO when it cannot."""

from __future__ import annotations

import pytest

from meshwatch.errors import SpecError
from meshwatch.spec import load_text
from meshwatch.spec.native.models import SLOSpec
from tests.unit.spec.test_formats import NATIVE_RATIO

MORE_SLOS = """\
  - name: latency
    objectiv: 99
    sli: {ratio: {total: 'a_total', bad: 'b_total'}}
  - name: third
    objective: 120
    sli: {ratio: {total: 'a_total', bad: 'b_total'}}
"""


def test_an_invalid_slo_leaves_the_others_checked_and_each_problem_at_its_slo() -> None:
    with pytest.raises(SpecError) as caught:
        load_text(NATIVE_RATIO + MORE_SLOS, "three.yaml")
    assert [(p.line, p.field, p.message) for p in caught.value.problems] == [
        (13, "slos[1].objective", "required field is missing"),
        (14, "slos[1].objectiv", "unknown field 'objectiv'; did you mean 'objective'?"),
        (
            17,
            "slos[2].objective",
            "objective 120 is outside (0, 100); it is a percentage, e.g. 99.9",
        ),
    ]


def test_a_valid_document_maps_as_its_slos_would_one_by_one() -> None:
    fixed = MORE_SLOS.replace("objectiv:", "objective:").replace("120", "99.5")
    whole = load_text(NATIVE_RATIO + fixed, "three.yaml").slos
    alone = [
        load_text(NATIVE_RATIO.split("  - name")[0] + "  - name" + part, "three.yaml").slos[0]
        for part in (NATIVE_RATIO + fixed).split("  - name")[1:]
    ]
    assert [s.id for s in whole] == ["checkout-availability", "checkout-latency", "checkout-third"]
    assert [(s.objective, s.sli, s.alerting) for s in whole] == [
        (s.objective, s.sli, s.alerting) for s in alone
    ]


def test_sections_left_out_are_one_shared_frozen_value() -> None:
    first, second = (
        SLOSpec.model_validate({"name": name, "objective": 99.9, "sli": {}}) for name in "ab"
    )
    assert first.alerting is second.alerting
    assert first.alerting.page is first.alerting.ticket
    assert not first.alerting.model_fields_set  # read as "no alerting: in the spec"
