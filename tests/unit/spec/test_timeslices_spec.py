"""Timeslices budgeting in the native spec and OpenSLO: what maps, and every problem at once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.errors import SpecError
from meshwatch.model import Timeslices
from meshwatch.render.rules import rule_files
from meshwatch.spec import load_text

SLI = """    sli:
      ratio:
        total: http_requests_total{job="checkout"}
        bad: http_requests_total{job="checkout",code=~"5.."}
"""


def native(extra: str, window: str = "30d") -> str:
    return (
        "apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: checkout\nslos:\n"
        f"  - name: minutes\n    objective: 99\n    window: {window}\n{extra}{SLI}"
    )


def openslo(method: str, objective: str) -> str:
    return f"""apiVersion: openslo/v1
kind: SLO
metadata: {{name: minutes}}
spec:
  service: checkout
  budgetingMethod: {method}
  timeWindow: [{{duration: 7d, isRolling: true}}]
  objectives: [{objective}]
  indicator:
    metadata: {{name: errors}}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {{query: 'http_requests_total{{code=~"5.."}}'}}
        total: {{metricSource: {{type: Prometheus, spec: {{query: 'http_requests_total'}}}}}}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_text(text, "s.yaml")
    return [str(p) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            "    budgeting: timeslices\n    slice: 1m\n    slice_target: 95\n",
            Timeslices(timedelta(minutes=1), 95.0),
            id="timeslices",
        ),
        pytest.param(
            "    budgeting: ratio_timeslices\n    slice: 30s\n",
            Timeslices(timedelta(seconds=30), 0.0, ratio=True),
            id="ratio-timeslices",
        ),
        pytest.param("", None, id="occurrences-by-default"),
    ],
)
def test_native_budgeting_maps(extra: str, expected: Timeslices | None) -> None:
    (slo,) = load_text(native(extra), "s.yaml").slos
    assert slo.timeslices == expected


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param(
            "    budgeting: timeslices\n",
            [
                "s.yaml:5: slos[0].slice: budgeting: timeslices needs a slice, e.g. 1m",
                "s.yaml:5: slos[0].slice_target: Timeslices budgeting needs a slice_target, "
                "e.g. 95 (percent)",
            ],
            id="slice-and-target-missing",
        ),
        pytest.param(
            "    budgeting: timeslices\n    slice: 7m\n    slice_target: 0\n",
            [
                "s.yaml:9: slos[0].slice: slice 7m does not divide the 30d window into whole "
                "slices",
                "s.yaml:9: slos[0].slice: burn-rate windows 5m, 30m, 1h, 2h, 6h, 1d, 3d are not "
                "a whole number of 7m slices; choose a slice that divides every alerting window "
                "(e.g. 1m)",
                "s.yaml:10: slos[0].slice_target: slice target 0 is outside (0, 100]; it is a "
                "percentage, e.g. 95",
            ],
            id="slice-does-not-tile-and-target-zero",
        ),
        pytest.param(
            "    slice: 1m\n    slice_target: 95\n",
            [
                "s.yaml:8: slos[0].slice: slice needs budgeting: timeslices (or ratio_timeslices)",
                "s.yaml:9: slos[0].slice_target: slice_target needs budgeting: timeslices (or "
                "ratio_timeslices)",
            ],
            id="slice-without-budgeting",
        ),
        pytest.param(
            "    budgeting: ratio_timeslices\n    slice: 1m\n    slice_target: 95\n",
            [
                "s.yaml:10: slos[0].slice_target: a slice target only applies to Timeslices "
                "budgeting; RatioTimeslices averages the slices' SLIs",
            ],
            id="target-with-ratio-timeslices",
        ),
        pytest.param(
            "    budgeting: timeslices\n    slice: 0s\n    slice_target: 95\n",
            ["s.yaml:9: slos[0].slice: slice: duration '0s' must be positive"],
            id="slice-zero",
        ),
    ],
)
def test_native_budgeting_problems(extra: str, expected: list[str]) -> None:
    assert problems(native(extra)) == expected


def test_calendar_windows_need_a_slice_that_divides_a_day() -> None:
    text = native(
        "    budgeting: timeslices\n    slice: 7m\n    slice_target: 95\n", "calendar-month"
    )
    assert problems(text)[0] == (
        "s.yaml:9: slos[0].slice: slice 7m does not divide a day into whole slices"
    )


@pytest.mark.parametrize(
    ("method", "objective", "expected"),
    [
        pytest.param(
            "Timeslices",
            "{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}",
            Timeslices(timedelta(minutes=1), 95.0),
            id="timeslices",
        ),
        pytest.param(
            "RatioTimeslices",
            "{target: 0.99, timeSliceWindow: 5m}",
            Timeslices(timedelta(minutes=5), 0.0, ratio=True),
            id="ratio-timeslices",
        ),
    ],
)
def test_openslo_timeslices_map(method: str, objective: str, expected: Timeslices) -> None:
    (slo,) = load_text(openslo(method, objective), "s.yaml").slos
    assert slo.timeslices == expected
    assert slo.objective == 99.0


def test_openslo_timeslices_problems_all_at_once() -> None:
    found = problems(
        openslo("Timeslices", "{target: 0.99, timeSliceTarget: 95, timeSliceWindow: 1x}")
    )
    assert found == [
        "s.yaml:8: spec.objectives[0].timeSliceWindow: slice: invalid duration '1x'; use e.g. "
        "30d, 6h, 5m",
        "s.yaml:8: spec.objectives[0].timeSliceTarget: timeSliceTarget 95 is outside (0, 1]; "
        "it is a ratio",
    ]


def test_openslo_slice_fields_with_occurrences_are_refused() -> None:
    found = problems(openslo("Occurrences", "{target: 0.99, timeSliceWindow: 1m}"))
    assert found == [
        "s.yaml:8: spec.objectives[0].timeSliceWindow: timeSliceWindow needs budgetingMethod "
        "Timeslices or RatioTimeslices"
    ]


def test_openslo_and_native_timeslices_generate_the_same_rules() -> None:
    written = native(
        "    budgeting: timeslices\n    slice: 1m\n    slice_target: 95\n", "7d"
    ).replace(
        'bad: http_requests_total{job="checkout",code=~"5.."}',
        'bad: http_requests_total{code=~"5.."}',
    )
    written = written.replace(
        'total: http_requests_total{job="checkout"}', "total: http_requests_total"
    )
    (mine,) = load_text(written, "n.yaml").slos
    objective = "{target: 0.99, timeSliceTarget: 0.95, timeSliceWindow: 1m}"
    (theirs,) = load_text(openslo("Timeslices", objective), "o.yaml").slos
    assert rule_files([mine]) == rule_files([theirs])
