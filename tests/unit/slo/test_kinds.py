"""Per-kind facts of the pure core: every member of the SLI union has an answer."""

from __future__ import annotations

from typing import get_args

import pytest

from meshwatch.model import (
    SLI,
    LatencySLI,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
)
from meshwatch.slo.kinds import has_counts

EXAMPLES: dict[type, tuple[SLI, bool]] = {
    RatioSLI: (RatioSLI(total=Selector("req_total"), bad=Selector("err_total")), True),
    LatencySLI: (LatencySLI("req_ms", 250.0), True),
    NativeLatencySLI: (NativeLatencySLI("req_seconds", 0.25), True),
    QuerySLI: (QuerySLI(total="sum(rate(x[{{.window}}]))", bad="sum(rate(y[{{.window}}]))"), True),
    RawSLI: (RawSLI(error_ratio="avg_over_time(r[{{.window}}])"), False),
}


def test_every_kind_of_the_union_has_an_example() -> None:
    assert set(EXAMPLES) == set(get_args(SLI))


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.__name__)
def test_only_a_raw_ratio_has_no_counts(kind: type) -> None:
    sli, expected = EXAMPLES[kind]

    assert has_counts(sli) is expected
