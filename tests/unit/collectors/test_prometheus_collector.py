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

from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC
from meshwatch.collectors.prometheus import PrometheusCollector, recorded_query
from meshwatch.collectors.prometheus_adhoc import buckets_increase
from meshwatch.collectors.prometheus_batch import PROBE_LABEL
from meshwatch.collectors.prometheus_http import PrometheusQuerier
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import (
    Counts,
    LatencySLI,
    Matcher,
    RatioSLI,
    RawSLI,
    Selector,
)
from meshwatch.sli import errors_increase, requests_increase

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


# --- PromQL -------------------------------------------------------------------------------


def test_buckets_promql() -> None:
    sli = LatencySLI("istio_request_duration_milliseconds", 250.0, (Matcher("app", "=", "web"),))

    assert buckets_increase(sli, timedelta(minutes=5)) == (
        'sum by (le) (increase(istio_request_duration_milliseconds_bucket{app="web"}[5m]))'
    )


def test_recorded_query_reads_counts_of_every_window_backends_and_freshness() -> None:
    query = recorded_query()

    assert (
        '{__name__=~"meshwatch:sli_errors:increase.+|meshwatch:sli_requests:increase.+'
        '|meshwatch:backend_errors:increase.+|meshwatch:backend_requests:increase.+"}'
    ) in query
    assert "ratio_rate.+" not in query  # error ratios only for raw SLIs, by name
    assert (
        '{__name__=~"meshwatch:sli_error:ratio_rate.+|meshwatch:slo_period_error:ratio",'
        'meshwatch_slo=~"a\\\\.b|raw"}'
    ) in recorded_query(raw_slos=["raw", "a.b"])
    assert (
        "max by (meshwatch_service, meshwatch_slo, meshwatch_backend) "
        "(timestamp(meshwatch:sli_requests:increase5m)"
        " or timestamp(meshwatch:sli_error:ratio_rate5m)"
        " or timestamp(meshwatch:backend_requests:increase1m))"
    ) in recorded_query([timedelta(minutes=1)])


# --- ad-hoc counts -----------------------------------------------------------------------


def test_all_windows_of_a_call_in_one_query() -> None:
    client = TableClient(
        {
            requests_increase(BAD_SLI, H1): [_vec(1000.0)],
            errors_increase(BAD_SLI, H1): [_vec(10.0)],
            requests_increase(BAD_SLI, D30): [_vec(720000.0)],
            errors_increase(BAD_SLI, D30): [_vec(360.0)],
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
    answers = {requests_increase(BAD_SLI, H1): v for v in table.values()}
    client = TableClient({**answers, errors_increase(BAD_SLI, H1): [_vec(0.0)]})

    value = _collector(client).counts(BAD_SLI, [H1], NOW)[H1]

    assert isinstance(value, NoDataError)
    assert value.reason == expected


def test_missing_errors_answer_is_an_error_not_zero() -> None:
    sli = LatencySLI("h", 0.3)  # 0.3 is not a bucket bound: the errors expression is empty
    client = TableClient({requests_increase(sli, H1): [_vec(500.0)]})

    value = _collector(client).counts(sli, [H1], NOW)[H1]

    assert isinstance(value, CollectorError) and not isinstance(value, NoDataError)


def test_errors_above_total_are_clamped() -> None:
    client = TableClient(
        {
            requests_increase(GOOD_SLI, H1): [_vec(1000.0)],
            errors_increase(GOOD_SLI, H1): [_vec(1000.4)],
        }
    )

    assert _collector(client).counts(GOOD_SLI, [H1], NOW)[H1] == Counts(1000.0, 1000.0)


def test_raw_ratio_sli_has_no_counts_without_rules() -> None:
    value = _collector(TableClient()).counts(RawSLI("x"), [H1], NOW)[H1]

    assert isinstance(value, CollectorError)
    assert not isinstance(value, NoDataError)


def test_buckets() -> None:
    sli = LatencySLI("h", 0.5)
    client = TableClient(
        {
            buckets_increase(sli, H1): [
                _vec(90.0, le="0.5"),
                _vec(99.0, le="1"),
                _vec(100.0, le="+Inf"),
            ]
        }
    )

    assert _collector(client).buckets(sli, [H1], NOW)[H1] == {0.5: 90.0, 1.0: 99.0, math.inf: 100.0}
