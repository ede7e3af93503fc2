"""Event-count PromQL for one SLI over one window, built from the model.

Used by the ad-hoc path only (windows without recording rules, past `at` times, backend
SLIs); the recorded path reads series that `meshwatch.render.rules` generates.

`QuerySLI` templates follow Sloth's convention: they yield events per second over
`{{.window}}` (`sum(rate(...[{{.window}}]))`), so they are multiplied by the window's length
in seconds to become counts.
"""

from __future__ import annotations

import re

from meshwatch.model import SLI, LatencySLI, Matcher, QuerySLI, RatioSLI, Selector, parse_duration

WINDOW_PLACEHOLDER = "{{.window}}"


def _increase(selector: Selector, window: str) -> str:
    return f"sum(increase({selector.promql()}[{window}]))"


def _template(template: str, window: str, seconds: float) -> str:
    return f"(({template.replace(WINDOW_PLACEHOLDER, window)}) * {seconds:g})"


def _seconds(window: str) -> float:
    return parse_duration(window).total_seconds()


def le_matcher(threshold: float) -> Matcher:
    """`le` of the bucket at `threshold`, whether the exporter writes `250`, `250.0` or `0.25`.

    Prometheus before 3.0 compares `le` as text, and exporters differ in how they print it.
    """
    text = repr(float(threshold)).removesuffix(".0")
    escaped = re.escape(text)
    return Matcher("le", "=~", escaped if "." in text or "e" in text else f"{escaped}(\\.0+)?")


def total_increase(sli: SLI, window: str) -> str:
    if isinstance(sli, RatioSLI):
        return _increase(sli.total, window)
    if isinstance(sli, LatencySLI):
        return _increase(sli.count, window)
    if isinstance(sli, QuerySLI):
        return _template(sli.total, window, _seconds(window))
    raise TypeError(f"{type(sli).__name__} has no event counts")


def bad_increase(sli: SLI, window: str) -> str | None:
    if isinstance(sli, RatioSLI) and sli.bad is not None:
        return _increase(sli.bad, window)
    if isinstance(sli, QuerySLI) and sli.bad is not None:
        return _template(sli.bad, window, _seconds(window))
    return None


def good_increase(sli: SLI, window: str) -> str | None:
    if isinstance(sli, RatioSLI) and sli.good is not None:
        return _increase(sli.good, window)
    if isinstance(sli, LatencySLI):
        return _increase(sli.bucket.with_matchers(le_matcher(sli.threshold)), window)
    if isinstance(sli, QuerySLI) and sli.good is not None:
        return _template(sli.good, window, _seconds(window))
    return None


def buckets_increase(sli: LatencySLI, window: str) -> str:
    return f"sum by (le) (increase({sli.bucket.promql()}[{window}]))"
