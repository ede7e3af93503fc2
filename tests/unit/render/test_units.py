"""Figures carry their unit as humans read them (issue 12 item 6)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from meshwatch.model import SLO, LatencySLI, MeshSource, RatioSLI, Selector, Window
from meshwatch.render import units


def latency_slo(histogram: str, mesh: bool = False) -> SLO:
    return SLO(
        service="s",
        name="latency",
        objective=99.0,
        window=Window.rolling(timedelta(days=30)),
        sli=LatencySLI(histogram, 0.25),
        mesh=MeshSource("envoy", "c", "envoy_cluster_name") if mesh else None,
    )


@pytest.mark.parametrize(
    "value, unit, text",
    [
        pytest.param(97.9279, "ms", "97.9 ms", id="istio-milliseconds"),
        pytest.param(1240.0, "ms", "1.24 s", id="slow-milliseconds-in-seconds"),
        pytest.param(0.0979279, "s", "97.9 ms", id="seconds-below-one-in-ms"),
        pytest.param(2.5, "s", "2.5 s", id="seconds"),
        pytest.param(0.4, "ms", "400 µs", id="sub-millisecond"),
        pytest.param(97.9279, None, "97.93 (histogram unit)", id="unknown-unit-says-so"),
        pytest.param(None, "ms", "—", id="unknown"),
        pytest.param(math.inf, "ms", "> largest bucket", id="beyond-the-buckets"),
    ],
)
def test_latency(value: float | None, unit: units.LatencyUnit | None, text: str) -> None:
    assert units.latency(value, unit) == text


def test_latency_unit_from_the_histogram() -> None:
    assert units.latency_unit(latency_slo("envoy_cluster_upstream_rq_time", mesh=True)) == "ms"
    assert units.latency_unit(latency_slo("http_request_duration_seconds")) == "s"
    assert units.latency_unit(latency_slo("rpc_latency_milliseconds")) == "ms"
    assert units.latency_unit(latency_slo("rpc_latency")) is None
    ratio = SLO("s", "a", 99.0, Window.rolling(timedelta(days=1)), RatioSLI(Selector("t")))
    assert units.latency_unit(ratio) is None


def test_throughput_and_spans() -> None:
    assert units.throughput(20.04) == "20.0 req/s"
    assert units.throughput(0.35) == "0.35 req/s"
    assert units.span(timedelta(minutes=32)) == "32 min"
    assert units.span(timedelta(hours=5, minutes=30)) == "5.5 h"
    assert units.span(timedelta(days=7)) == "7.0 d"
