"""Roll-ups add distinct request streams, never SLOs (issue 12 item 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.model import SLO, LatencySLI, Matcher, MeshSource, RatioSLI, Selector, Window
from meshwatch.slo.streams import distinct_total, stream_key


def ratio(service: str, name: str, *matchers: Matcher, metric: str = "http_requests_total") -> SLO:
    return SLO(
        service=service,
        name=name,
        objective=99.9,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(total=Selector(metric, matchers), bad=Selector("errors_total", matchers)),
    )


def mesh(service: str, name: str, target: str, kind: str = "istio") -> SLO:
    sli = LatencySLI("istio_request_duration_milliseconds", 100.0)
    return SLO(
        service=service,
        name=name,
        objective=99.0,
        window=Window.rolling(timedelta(days=30)),
        sli=sli if name == "latency" else RatioSLI(total=Selector("istio_requests_total")),
        mesh=MeshSource(kind, target, "version"),  # type: ignore[arg-type]
    )


def total(*pairs: tuple[SLO, float]) -> tuple[float | None, bool]:
    result = distinct_total((stream_key(s), v) for s, v in pairs)
    return result.value, result.exact


A = Matcher("service", "=", "a")
B = Matcher("service", "=", "b")


@pytest.mark.parametrize(
    "pairs, expected",
    [
        pytest.param(
            [(mesh("a", "availability", "a"), 20.0), (mesh("a", "latency", "a"), 20.0)],
            (20.0, True),
            id="availability-and-latency-of-one-mesh-target-count-once",
        ),
        pytest.param(
            [(mesh("a", "availability", "a"), 20.0), (mesh("b", "availability", "b"), 5.0)],
            (25.0, True),
            id="two-mesh-targets-add",
        ),
        pytest.param(
            [(ratio("a", "x", A), 20.0), (ratio("a", "y", A), 19.5)],
            (20.0, True),
            id="same-selector-counts-once",
        ),
        pytest.param(
            [(ratio("a", "x", A), 20.0), (ratio("b", "x", B), 5.0)],
            (25.0, True),
            id="conflicting-equality-matchers-add",
        ),
        pytest.param(
            [(ratio("a", "x", A), 20.0), (ratio("a", "y", A, Matcher("route", "=", "/p")), 4.0)],
            (20.0, False),
            id="a-subset-is-not-added",
        ),
        pytest.param(
            [(ratio("a", "x", A), 20.0), (ratio("a", "y", A, metric="grpc_total"), 8.0)],
            (20.0, False),
            id="unrelated-metrics-are-not-added",
        ),
        pytest.param([], (None, True), id="nothing-is-unknown"),
    ],
)
def test_distinct_total(
    pairs: list[tuple[SLO, float]], expected: tuple[float | None, bool]
) -> None:
    assert total(*pairs) == expected
