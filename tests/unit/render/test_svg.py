from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.render.svg import Point, budget_chart, sli_chart

START = datetime(2026, 11, 1, tzinfo=UTC)
END = START + timedelta(hours=10)


def points(values: list[float | None]) -> list[Point]:
    return [Point(START + timedelta(hours=i + 1), v) for i, v in enumerate(values)]


def circles(svg: str) -> list[str]:
    return re.findall(r"<circle [^>]*>", svg)


def test_every_value_is_a_data_point_and_gaps_break_the_line() -> None:
    svg = sli_chart(points([0.9995, 0.999, None, 0.98, 0.9999]), START, END, 0.999, "t")
    assert 'data-points="4"' in svg
    assert len(circles(svg)) == 4
    assert svg.count("<polyline") == 2  # the None splits the line in two
    values = re.findall(r'data-value="([^"]+)"', svg)
    assert [float(v) for v in values] == [0.9995, 0.999, 0.98, 0.9999]


@pytest.mark.parametrize(
    ("value", "bad"),
    [
        pytest.param(0.9985, True, id="below-objective-is-bad"),
        pytest.param(0.999, False, id="at-objective-is-fine"),
        pytest.param(0.9999, False, id="above-objective-is-fine"),
    ],
)
def test_points_below_the_objective_are_marked(value: float, bad: bool) -> None:
    svg = sli_chart(points([value]), START, END, 0.999, "t")
    assert ('class="pt bad"' in svg) is bad


def test_overspent_budget_is_marked_and_drawn_below_zero() -> None:
    svg = budget_chart(points([1.0, 0.5, -0.25]), START, END, "t")
    marks = circles(svg)
    assert ["bad" in m for m in marks] == [False, False, True]
    ys = [float(re.search(r'cy="([^"]+)"', m).group(1)) for m in marks]  # type: ignore[union-attr]
    zero = float(re.search(r'class="reference"[^>]*y1="([^"]+)"', svg).group(1))  # type: ignore[union-attr]
    assert ys[0] < ys[1] < zero < ys[2]  # SVG y grows downwards


def test_no_data_draws_an_empty_chart() -> None:
    svg = budget_chart([], START, END, "t")
    assert 'data-points="0"' in svg and "<circle" not in svg and "<polyline" not in svg


def test_titles_are_escaped() -> None:
    svg = budget_chart(points([0.5]), START, END, '<script>"x"</script>')
    assert "<script>" not in svg
