"""Calendar windows in a time zone, from the native spec and from OpenSLO."""

from __future__ import annotations

import pytest

from meshwatch.errors import SpecError
from meshwatch.model import CalendarUnit, Window
from meshwatch.spec import load_text

NATIVE = """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: {window}
    time_zone: {zone}
    sli: {{mesh: {{kind: istio, service: checkout}}}}
"""

OPENSLO = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: availability}
spec:
  service: checkout
  indicator:
    metadata: {name: checkout-errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec: {query: 'http_requests_total{code=~"5.."}'}
        total: {metricSource: {type: Prometheus, spec: {query: 'http_requests_total'}}}
  timeWindow:
    - duration: DURATION
      isRolling: false
      calendar: {startTime: "START", timeZone: ZONE}
  budgetingMethod: Occurrences
  objectives: [{target: 0.999}]
"""


@pytest.mark.parametrize(
    ("window", "zone", "expected"),
    [
        pytest.param(
            "calendar-month",
            "Europe/Berlin",
            Window.calendar(CalendarUnit.MONTH, "Europe/Berlin"),
            id="month-berlin",
        ),
        pytest.param(
            "calendar-week",
            "America/New_York",
            Window.calendar(CalendarUnit.WEEK, "America/New_York"),
            id="week-new-york",
        ),
    ],
)
def test_native_time_zone(window: str, zone: str, expected: Window) -> None:
    slo = load_text(NATIVE.format(window=window, zone=zone), "spec.yaml").slos[0]
    assert slo.window == expected
    assert slo.window.name == window  # the window's name (series, API) does not change


def test_native_problems_are_reported_together() -> None:
    text = NATIVE.format(window="30d", zone="Mars/Olympus") + NATIVE.split("slos:\n")[1].format(
        window="calendar-month", zone="Europe/Berln"
    ).replace("availability", "latency")
    with pytest.raises(SpecError) as caught:
        load_text(text, "spec.yaml")
    message = str(caught.value)
    assert "spec.yaml:9: slos[0].time_zone: unknown time zone 'Mars/Olympus'" in message
    assert "spec.yaml:14: slos[1].time_zone: unknown time zone 'Europe/Berln'" in message


@pytest.mark.parametrize(
    ("duration", "start", "zone", "expected", "warns"),
    [
        pytest.param(
            "1M",
            "2024-01-01 00:00:00",
            "Europe/Berlin",
            Window.calendar(CalendarUnit.MONTH, "Europe/Berlin"),
            False,
            id="month-berlin",
        ),
        pytest.param(
            "1w",
            "2024-01-07 00:00:00",
            "America/New_York",
            Window.calendar(CalendarUnit.WEEK, "America/New_York", week_start=6),
            False,
            id="week-from-sunday",
        ),
        pytest.param(
            "1w",
            "2024-01-01 00:00:00",
            "UTC",
            Window.calendar(CalendarUnit.WEEK),
            False,
            id="utc-monday-unchanged",
        ),
        pytest.param(
            "1M",
            "2024-01-15 08:00:00",
            "Etc/UTC",
            Window.calendar(CalendarUnit.MONTH),
            True,
            id="month-mid-month-warns",
        ),
    ],
)
def test_openslo_calendar(
    duration: str, start: str, zone: str, expected: Window, warns: bool
) -> None:
    text = OPENSLO.replace("DURATION", duration).replace("START", start).replace("ZONE", zone)
    result = load_text(text, "slo.yaml")
    assert result.slos[0].window == expected
    assert bool(result.warnings) is warns
