"""Per-kind facts of the pure core: every member of the SLI union has an answer."""

from __future__ import annotations

from typing import get_args

import pytest

from meshwatch.model import (
    SLI,
    LatencySLI,
    Matcher,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
)
from meshwatch.slo.kinds import (
    classic_latency,
    errors_within_requests,
    has_counts,
    native_latency,
)

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


@pytest.mark.parametrize("kind", list(EXAMPLES), ids=lambda kind: kind.__name__)
def test_percentiles_come_from_classic_buckets_or_a_native_histogram_only(kind: type) -> None:
    sli, _ = EXAMPLES[kind]

    assert (classic_latency(sli) is sli) is (kind is LatencySLI)
    assert (native_latency(sli) is sli) is (kind is NativeLatencySLI)
    assert classic_latency(sli) in (sli, None) and native_latency(sli) in (sli, None)


_REQ = Selector("http_requests_total", (Matcher("job", "=", "api"),))
_FIVE = Matcher("code", "=~", "5..")


@pytest.mark.parametrize(
    ("sli", "within"),
    [
        (RatioSLI(total=_REQ, bad=_REQ.with_matchers(_FIVE)), True),  # narrowed: a subset
        (RatioSLI(total=_REQ, bad=_REQ), True),  # the same series (100 % errors)
        (RatioSLI(total=_REQ, good=_REQ.with_matchers(Matcher("code", "!~", "5.."))), True),
        (RatioSLI(total=_REQ, bad=Selector("http_requests_total", (_FIVE,))), False),  # wider
        (RatioSLI(total=_REQ, bad=Selector("http_errors_total", _REQ.matchers)), False),
        (
            RatioSLI(
                total=_REQ,
                bad=_REQ.with_matchers(_FIVE),
                more_bad=(_REQ.with_matchers(Matcher("code", "=", "429")),),
            ),
            False,  # several bad counters may overlap: their sum can exceed the total
        ),
        (LatencySLI("req_ms", 250.0), True),
        (NativeLatencySLI("req_seconds", 0.25), True),
        (QuerySLI(total="sum(rate(x[{{.window}}]))", bad="sum(rate(x[{{.window}}]))"), False),
        (RawSLI(error_ratio="avg_over_time(r[{{.window}}])"), False),
    ],
    ids=[
        "narrowed",
        "same",
        "good",
        "wider",
        "other-counter",
        "more-bad",
        "latency",
        "native",
        "query",
        "raw",
    ],
)
def test_errors_within_requests_only_when_bad_events_are_counted_among_the_requests(
    sli: SLI, within: bool
) -> None:
    assert errors_within_requests(sli) is within
