"""The Prometheus collector's query plans and answer handling, against a table-driven client.

The client below is not a PromQL engine: it answers each tagged expression of a batch from a
table keyed by the expression text, and the recorded-series query from a fixed vector. What
it checks is what meshwatch sends and how it reads the answers; the numbers Prometheus
computes are checked against a real Prometheus in tests/integration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshwatch import conventions as c
from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC
from meshwatch.collectors.prometheus import PrometheusCollector, recorded_query
from meshwatch.collectors.prometheus_batch import PROBE_LABEL
from meshwatch.collectors.prometheus_http import PrometheusQuerier
from meshwatch.collectors.prometheus_promql import (
    bad_increase,
    buckets_increase,
    good_increase,
    le_matcher,
    total_increase,
)
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import (
    SLO,
    Counts,
    LatencySLI,
    Matcher,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
    Window,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
H1, D30 = timedelta(hours=1), timedelta(days=30)
_TAG = re.compile(rf'label_replace\((.*?), "{PROBE_LABEL}", "(\w+)", "", ""\)')

TOTAL = Selector("http_requests_total", (Matcher("job", "=", "api"),))
BAD_SLI = RatioSLI(total=TOTAL, bad=TOTAL.with_matchers(Matcher("code", "=~", "5..")))
GOOD_SLI = RatioSLI(total=TOTAL, good=TOTAL.with_matchers(Matcher("code", "!~", "5..")))


def _vec(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [NOW.timestamp(), repr(value)]}


class TableClient:
    """Answers batches per tagged expression and the recorded query from `recorded`."""

    def __init__(
        self,
        table: Mapping[str, list[dict[str, Any]]] | None = None,
        recorded: list[dict[str, Any]] | None = None,
    ) -> None:
        self.table = dict(table or {})
        self.recorded = recorded or []
        self.queries: list[str] = []

    def custom_query(
        self, query: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        self.queries.append(query)
        if query == recorded_query():
            return self.recorded
        answer = []
        for expr, key in _TAG.findall(query):
            for item in self.table.get(expr, []):
                answer.append({**item, "metric": {**item["metric"], PROBE_LABEL: key}})
        return answer


def _collector(client: TableClient) -> PrometheusCollector:
    return PrometheusCollector(PrometheusQuerier(client, sleep=lambda _: None))


# --- PromQL built from the model ---------------------------------------------------------


def test_ratio_sli_promql() -> None:
    assert total_increase(BAD_SLI, "1h") == 'sum(increase(http_requests_total{job="api"}[1h]))'
    assert bad_increase(BAD_SLI, "1h") == (
        'sum(increase(http_requests_total{job="api",code=~"5.."}[1h]))'
    )
    assert good_increase(BAD_SLI, "1h") is None
    assert good_increase(GOOD_SLI, "30d") == (
        'sum(increase(http_requests_total{job="api",code!~"5.."}[30d]))'
    )


def test_latency_sli_promql() -> None:
    sli = LatencySLI("istio_request_duration_milliseconds", 250.0, (Matcher("app", "=", "web"),))

    assert total_increase(sli, "5m") == (
        'sum(increase(istio_request_duration_milliseconds_count{app="web"}[5m]))'
    )
    assert good_increase(sli, "5m") == (
        'sum(increase(istio_request_duration_milliseconds_bucket{app="web",le=~"250(\\\\.0+)?"}[5m]))'
    )
    assert buckets_increase(sli, "5m") == (
        'sum by (le) (increase(istio_request_duration_milliseconds_bucket{app="web"}[5m]))'
    )


@pytest.mark.parametrize(
    ("threshold", "matches", "misses"),
    [
        pytest.param(250.0, ["250", "250.0"], ["2500", "25"], id="integer-bound"),
        pytest.param(0.25, ["0.25"], ["0x25", "0.255"], id="fractional-bound"),
    ],
)
def test_le_matcher(threshold: float, matches: list[str], misses: list[str]) -> None:
    matcher = le_matcher(threshold)
    assert all(matcher.matches(v) for v in matches)
    assert not any(matcher.matches(v) for v in misses)


def test_query_sli_templates_are_rates_times_window() -> None:
    sli = QuerySLI(total="sum(rate(x[{{.window}}]))", bad='sum(rate(x{c="5"}[{{.window}}]))')

    assert total_increase(sli, "1h") == "((sum(rate(x[1h]))) * 3600)"
    assert bad_increase(sli, "1h") == '((sum(rate(x{c="5"}[1h]))) * 3600)'


# --- ad-hoc counts -----------------------------------------------------------------------


def test_all_windows_of_a_call_in_one_query() -> None:
    client = TableClient(
        {
            total_increase(BAD_SLI, "1h"): [_vec(1000.0)],
            bad_increase(BAD_SLI, "1h") or "": [_vec(10.0)],
            total_increase(BAD_SLI, "30d"): [_vec(720000.0)],
            bad_increase(BAD_SLI, "30d") or "": [_vec(360.0)],
        }
    )

    result = _collector(client).counts(BAD_SLI, [H1, D30], NOW)

    assert result == {H1: Counts(10.0, 1000.0), D30: Counts(360.0, 720000.0)}
    assert len(client.queries) == 1


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        pytest.param({}, NO_SERIES, id="no-series"),
        pytest.param({"t": [_vec(0.0)]}, NO_TRAFFIC, id="zero-requests"),
        pytest.param({"t": [_vec(math.nan)]}, NO_TRAFFIC, id="nan-requests"),
    ],
)
def test_no_data_shapes(table: dict[str, list[dict[str, Any]]], expected: str) -> None:
    client = TableClient({total_increase(BAD_SLI, "1h"): v for v in table.values()})

    value = _collector(client).counts(BAD_SLI, [H1], NOW)[H1]

    assert isinstance(value, NoDataError)
    assert value.reason == expected


def test_missing_error_series_means_no_errors() -> None:
    client = TableClient({total_increase(BAD_SLI, "1h"): [_vec(500.0)]})

    assert _collector(client).counts(BAD_SLI, [H1], NOW)[H1] == Counts(0.0, 500.0)


def test_good_above_total_is_clamped() -> None:
    client = TableClient(
        {
            total_increase(GOOD_SLI, "1h"): [_vec(1000.0)],
            good_increase(GOOD_SLI, "1h") or "": [_vec(1000.4)],
        }
    )

    assert _collector(client).counts(GOOD_SLI, [H1], NOW)[H1] == Counts(0.0, 1000.0)


def test_raw_ratio_sli_has_no_counts_without_rules() -> None:
    value = _collector(TableClient()).counts(RawSLI("x"), [H1], NOW)[H1]

    assert isinstance(value, CollectorError)
    assert not isinstance(value, NoDataError)


def test_buckets() -> None:
    sli = LatencySLI("h", 0.5)
    client = TableClient(
        {
            buckets_increase(sli, "1h"): [
                _vec(90.0, le="0.5"),
                _vec(99.0, le="1"),
                _vec(100.0, le="+Inf"),
            ]
        }
    )

    assert _collector(client).buckets(sli, [H1], NOW)[H1] == {0.5: 90.0, 1.0: 99.0, math.inf: 100.0}


# --- recorded snapshot ---------------------------------------------------------------------


def _slo(i: int, sli: RatioSLI = BAD_SLI) -> SLO:
    total = Selector("http_requests_total", (Matcher("job", "=", f"svc{i}"),))
    own = RatioSLI(total=total, bad=total.with_matchers(Matcher("code", "=~", "5..")))
    return SLO(f"svc{i}", "availability", 99.9, Window.rolling(D30), own if i else sli)


def _recorded(slo: SLO, window: str, ratio: float, rate: float, age: float = 10.0) -> list[Any]:
    ids = {c.LABEL_SERVICE: slo.service, c.LABEL_SLO: slo.name}
    return [
        _vec(ratio, __name__=c.rule_error_ratio(window), **ids),
        _vec(rate, __name__=c.rule_requests_rate(window), **ids),
        {"metric": {**ids, c.LABEL_WINDOW: "freshness"}, "value": [0, str(NOW.timestamp() - age)]},
    ]


def test_snapshot_of_a_thousand_slos_is_one_query() -> None:
    slos = [_slo(i) for i in range(1000)]
    recorded = [s for slo in slos for w in ("1h", "30d") for s in _recorded(slo, w, 0.01, 2.0)]
    client = TableClient(recorded=recorded)

    snapshot = _collector(client).snapshot(slos, NOW, windows=[H1, D30])
    results = [snapshot.counts(slo.sli, [H1, D30], NOW) for slo in slos]

    assert len(client.queries) == 1
    assert results[999][H1] == Counts(errors=pytest.approx(72.0), total=7200.0)  # type: ignore[arg-type]
    assert results[0][D30] == Counts(
        errors=pytest.approx(51840.0),  # type: ignore[arg-type]
        total=2.0 * D30.total_seconds(),
    )


def test_recorded_no_traffic_and_staleness() -> None:
    idle, stale = _slo(1), _slo(2)
    client = TableClient(
        recorded=[*_recorded(idle, "1h", math.nan, 0.0), *_recorded(stale, "1h", 0.0, 5.0, 600)]
    )

    snapshot = _collector(client).snapshot([idle, stale], NOW)

    no_traffic = snapshot.counts(idle.sli, [H1], NOW)[H1]
    assert isinstance(no_traffic, NoDataError) and no_traffic.reason == NO_TRAFFIC
    old = snapshot.counts(stale.sli, [H1], NOW)[H1]
    assert isinstance(old, CollectorError) and "stale" in str(old)


def test_unrecorded_windows_fall_back_to_batched_promql() -> None:
    slos = [_slo(i) for i in range(1, 4)]
    table = {}
    for slo in slos:
        table[total_increase(slo.sli, "2h")] = [_vec(100.0)]
        table[bad_increase(slo.sli, "2h") or ""] = [_vec(1.0)]
    recorded = [s for slo in slos for s in _recorded(slo, "1h", 0.5, 1.0)]
    client = TableClient(table, recorded)
    two_hours = timedelta(hours=2)

    snapshot = _collector(client).snapshot(slos, NOW, windows=[H1, two_hours])
    results = [snapshot.counts(slo.sli, [H1, two_hours], NOW) for slo in slos]

    assert len(client.queries) == 2  # the recorded query + one batch for every fallback
    assert all(r[two_hours] == Counts(1.0, 100.0) for r in results)
    assert all(r[H1] == Counts(1800.0, 3600.0) for r in results)


def test_snapshot_at_another_time_queries_ad_hoc() -> None:
    slo = _slo(1)
    client = TableClient(
        {total_increase(slo.sli, "1h"): [_vec(10.0)]}, _recorded(slo, "1h", 0.5, 1.0)
    )
    snapshot = _collector(client).snapshot([slo], NOW)

    earlier = NOW - timedelta(days=3)
    assert snapshot.counts(slo.sli, [H1], earlier)[H1] == Counts(0.0, 10.0)
    assert len(client.queries) == 2
