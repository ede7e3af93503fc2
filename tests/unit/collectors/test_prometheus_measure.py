"""`PrometheusCollector.measure`: a whole cycle's plan in O(1) queries, against a fake client.

The fake is not a PromQL engine. It answers the recorded-series query from a fixed vector
and each tagged probe of a batch through `answer(expr)`; for the grouped increases it reads
the pivot label's values out of the expression and answers one sample per value from a
table, which is how Prometheus shapes `sum by (pivot) (...)`. What is checked is what
meshwatch sends (how many queries, which expressions) and how it reads the answers back;
the numbers Prometheus computes are checked against a real one in tests/integration.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from meshwatch import conventions as c
from meshwatch.collectors import prometheus
from meshwatch.collectors.base import NO_SERIES, NO_TRAFFIC, SLOPlan
from meshwatch.collectors.prometheus import PrometheusCollector, recorded_query
from meshwatch.collectors.prometheus_batch import PROBE_LABEL
from meshwatch.collectors.prometheus_coverage import coverage_of
from meshwatch.collectors.prometheus_grouped import GroupedIncreases, Increase
from meshwatch.collectors.prometheus_http import PrometheusQuerier, Sample
from meshwatch.engine.plan import plan_for
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import (
    SLO,
    Backend,
    CalendarUnit,
    Counts,
    LatencySLI,
    Matcher,
    RatioSLI,
    RawSLI,
    RemediationPolicy,
    Selector,
    Window,
    format_duration,
)

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
D30 = timedelta(days=30)
_TAG = re.compile(rf'label_replace\((.*?), "{PROBE_LABEL}", "(\w+)", "", ""\)(?: or |$)')
_PIVOT = re.compile(r'sum by \((\w+)(, le)?\) \(increase\((\w+)\{.*?\1(=~?)"((?:[^"\\]|\\.)*)"')

Answer = Callable[[str], list[dict[str, Any]]]


def _vec(value: float, **labels: str) -> dict[str, Any]:
    return {"metric": labels, "value": [NOW.timestamp(), repr(value)]}


class FakeClient:
    def __init__(self, recorded: list[dict[str, Any]], answer: Answer | None = None) -> None:
        self.recorded = recorded
        self.answer = answer or (lambda expr: [])
        self.queries: list[str] = []

    def custom_query(
        self, query: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        self.queries.append(query)
        if query.startswith(recorded_query()[:40]):
            return self.recorded
        out = []
        for expr, key in _TAG.findall(query):
            for item in self.answer(expr):
                out.append({**item, "metric": {**item["metric"], PROBE_LABEL: key}})
        return out


def _collector(client: FakeClient) -> PrometheusCollector:
    return PrometheusCollector(PrometheusQuerier(client, sleep=lambda _: None))


def _availability(i: int, window: Window | None = None) -> SLO:
    total = Selector("istio_requests_total", (Matcher("destination_service_name", "=", f"s{i}"),))
    sli = RatioSLI(total=total, bad=total.with_matchers(Matcher("response_code", "=~", "5..")))
    return SLO(f"s{i}", "availability", 99.9, window or Window.rolling(D30), sli)


def _latency(i: int) -> SLO:
    sli = LatencySLI(
        "istio_request_duration_milliseconds",
        250.0,
        (Matcher("destination_service_name", "=", f"s{i}"), Matcher("reporter", "=", "dst")),
    )
    return SLO(f"s{i}", "latency", 99.0, Window.rolling(D30), sli)


def _recorded(
    plan: SLOPlan, errors: float = 1.0, total: float = 100.0, age: float = 5.0
) -> list[Any]:
    ids = {c.LABEL_SERVICE: plan.slo.service, c.LABEL_SLO: plan.slo.name}
    out = [
        {"metric": {**ids, c.LABEL_WINDOW: "freshness"}, "value": [0, str(NOW.timestamp() - age)]}
    ]
    for window in plan.count_windows:
        w = format_duration(window)
        out.append(_vec(errors, __name__=c.rule_errors_increase(w), **ids))
        out.append(_vec(total, __name__=c.rule_requests_increase(w), **ids))
    return out


def _grouped(table: dict[tuple[str, str], list[tuple[str | None, float]]]) -> Answer:
    """Answer `sum by (pivot[, le]) (increase(metric{..pivot=~"a|b"}[w]))` from a table of
    (metric, pivot value) -> [(le or None, value)]; the bad-events selector of the ratio
    SLOs (`response_code=~"5.."`) is the metric name + `:bad`."""

    def answer(expr: str) -> list[dict[str, Any]]:
        match = _PIVOT.search(expr)
        if match is None:
            return []
        label, _, metric, op, pattern = match.groups()
        if 'response_code=~"5.."' in expr:
            metric += ":bad"
        values = pattern.split("|") if op == "=~" else [pattern]
        out = []
        for value in values:
            for le, number in table.get((metric, value.replace("\\\\", "")), []):
                labels = {label: value.replace("\\\\", "")}
                if le is not None:
                    labels["le"] = le
                out.append(_vec(number, **labels))
        return out

    return answer


def _plans(slos: Sequence[SLO]) -> list[SLOPlan]:
    return [plan_for(slo, NOW) for slo in slos]


def test_a_thousand_recorded_slos_cost_one_query_per_cycle() -> None:
    plans = _plans([_availability(i) for i in range(1000)])
    client = FakeClient([s for plan in plans for s in _recorded(plan, 2.0, 400.0)])
    collector = _collector(client)

    first = collector.measure(plans, NOW)
    first_cycle = len(client.queries)
    second = collector.measure(plans, NOW)

    assert first_cycle <= 4  # the recorded query + finding where recorded data begins, once
    assert len(client.queries) - first_cycle == 1
    assert second["s999-availability"].counts[timedelta(hours=1)] == Counts(2.0, 400.0)
    assert first["s0-availability"].counts[D30] == Counts(2.0, 400.0)


def test_raw_slis_recorded_as_ratios_cost_no_probes() -> None:
    """A raw SLI (an error-ratio template) has recorded ratios, no counts: its windows come
    from them, and nothing is fetched ad hoc for windows the ratios answer."""
    slos = [
        SLO(
            f"r{i}",
            "probe",
            99.0,
            Window.rolling(D30),
            RawSLI("1 - avg_over_time(up[{{.window}}])"),
        )
        for i in range(50)
    ]
    plans = _plans(slos)
    recorded = []
    for plan in plans:
        ids = {c.LABEL_SERVICE: plan.slo.service, c.LABEL_SLO: plan.slo.name}
        fresh = str(NOW.timestamp() - 5)
        recorded.append({"metric": {**ids, c.LABEL_WINDOW: "freshness"}, "value": [0, fresh]})
        recorded.append(_vec(0.002, __name__=c.RULE_PERIOD_ERROR, **ids))
        for window in plan.count_windows:
            if window != D30:
                recorded.append(
                    _vec(0.01, __name__=c.rule_error_ratio(format_duration(window)), **ids)
                )
    client = FakeClient(recorded)
    collector = _collector(client)
    collector.measure(plans, NOW)
    before = len(client.queries)

    found = collector.measure(plans, NOW)

    assert len(client.queries) - before == 1  # the recorded query, no probes
    counts = found["r49-probe"].counts
    assert counts[timedelta(hours=1)] == Counts(0.01, 1.0)
    assert counts[D30] == Counts(0.002, 1.0)  # the period's own ratio


@pytest.mark.parametrize("count", [pytest.param(n, id=f"{n}-slos") for n in (10, 100, 1000)])
def test_latency_buckets_of_any_number_of_slos_are_one_grouped_batch(count: int) -> None:
    plans = _plans([_latency(i) for i in range(count)])
    buckets = {
        ("istio_request_duration_milliseconds_bucket", f"s{i}"): [
            ("250", 90.0 + i % 10),
            ("+Inf", 100.0),
        ]
        for i in range(count)
    }
    client = FakeClient([s for plan in plans for s in _recorded(plan)], _grouped(buckets))
    collector = _collector(client)
    collector.measure(plans, NOW)  # first cycle: finds where the data begins

    before = len(client.queries)
    found = collector.measure(plans, NOW)

    assert len(client.queries) - before == 2  # recorded + one batch of grouped buckets
    last = found[f"s{count - 1}-latency"].buckets[timedelta(minutes=5)]
    assert last == {250.0: 90.0 + (count - 1) % 10, float("inf"): 100.0}
    assert client.queries[-1].count("label_replace(") == -(-count // 500)


def test_the_grouped_expressions_are_found_once_for_the_same_slos(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every cycle of the same SLOs asks the same latency buckets: the families are found
    once and reused, and a cycle that wants other buckets gets its own."""
    built: list[GroupedIncreases] = []

    def counted(wanted: Sequence[Increase]) -> GroupedIncreases:
        built.append(GroupedIncreases(wanted))
        return built[-1]

    monkeypatch.setattr(prometheus, "GroupedIncreases", counted)
    buckets = {
        ("istio_request_duration_milliseconds_bucket", f"s{i}"): [("250", 9.0 * i), ("+Inf", 90.0)]
        for i in range(1, 21)
    }
    collector = _collector(FakeClient([], _grouped(buckets)))
    some = _plans([_latency(i) for i in range(1, 11)])
    more = _plans([_latency(i) for i in range(1, 21)])

    first = collector.measure(some, NOW)
    second = collector.measure(some, NOW)
    assert len(built) == 1
    third = collector.measure(more, NOW)
    assert len(built) == 2

    five = timedelta(minutes=5)
    assert first["s3-latency"].buckets == second["s3-latency"].buckets
    assert second["s3-latency"].buckets[five] == {250.0: 27.0, math.inf: 90.0}
    assert third["s20-latency"].buckets[five] == {250.0: 180.0, math.inf: 90.0}


def test_backends_come_from_their_recorded_series() -> None:
    backend_sli = _availability(7).sli
    policy = RemediationPolicy(
        actuator="noop", target="web", backends=(Backend("v2", backend_sli),)
    )
    plan = plan_for(replace(_availability(8), remediation=policy), NOW)
    ids = {c.LABEL_SERVICE: "s8", c.LABEL_SLO: "availability", c.LABEL_BACKEND: "v2"}
    recorded = [
        *_recorded(plan),
        {"metric": {**ids, c.LABEL_WINDOW: "freshness"}, "value": [0, str(NOW.timestamp() - 1)]},
    ]
    for window in policy.short_windows:
        w = format_duration(window)
        recorded.append(_vec(6.0, __name__=c.rule_backend_errors_increase(w), **ids))
        recorded.append(_vec(60.0, __name__=c.rule_backend_requests_increase(w), **ids))
    client = FakeClient(recorded)
    collector = _collector(client)
    collector.measure([plan], NOW)

    before = len(client.queries)
    found = collector.measure([plan], NOW)["s8-availability"]

    assert len(client.queries) - before == 1
    assert found.backends["v2"] == dict.fromkeys(policy.short_windows, Counts(6.0, 60.0))


def test_no_traffic_stale_and_no_series() -> None:
    idle, stale, ghost = _plans([_availability(1), _availability(2), _availability(3)])
    client = FakeClient([*_recorded(idle, 0.0, 0.0), *_recorded(stale, age=600.0)])

    found = _collector(client).measure([idle, stale, ghost], NOW)

    hour = timedelta(hours=1)
    quiet = found["s1-availability"].counts[hour]
    assert isinstance(quiet, NoDataError) and quiet.reason == NO_TRAFFIC
    old = found["s2-availability"].counts[hour]
    assert isinstance(old, CollectorError) and "stale" in str(old)
    missing = found["s3-availability"].counts[hour]  # no rules, no raw series either
    assert isinstance(missing, NoDataError) and missing.reason == NO_SERIES
    assert found["s3-availability"].coverage is None


def test_calendar_period_so_far_is_fetched_grouped() -> None:
    slos = [_availability(i, Window.calendar(CalendarUnit.MONTH)) for i in range(50)]
    plans = _plans(slos)
    table = {}
    for i in range(50):
        table[("istio_requests_total", f"s{i}")] = [(None, 1000.0)]
    client = FakeClient(
        [s for plan in plans for s in _recorded(plan) if "24d" not in str(s)], _grouped(table)
    )

    found = _collector(client).measure(plans, NOW)

    month = plans[0].period
    assert month == timedelta(days=24, hours=10)  # 2026-11-01 to 11-25 10:00
    assert found["s49-availability"].counts[month] == Counts(0.0, 1000.0)


def test_grouped_increases_split_answers_by_pivot_and_escape_values() -> None:
    odd = Selector(
        "http_requests_total", (Matcher("job", "=", "a.b|c"), Matcher("env", "=", "prod"))
    )
    plain = Selector("http_requests_total", (Matcher("job", "=", "x"), Matcher("env", "=", "prod")))
    alone = Selector("http_requests_total", (Matcher("job", "=~", "y.*"),))
    hour = timedelta(hours=1)
    grouped = GroupedIncreases([Increase(odd, hour), Increase(plain, hour), Increase(alone, hour)])

    assert [p.expr for p in grouped.probes] == [
        'sum (increase(http_requests_total{job=~"y.*"}[1h]))',
        'sum by (job) (increase(http_requests_total{env="prod",job=~"a\\\\.b\\\\|c|x"}[1h]))',
    ]
    found = {
        "g0": [Sample({}, 3.0)],
        "g1": [Sample({"job": "a.b|c"}, 5.0), Sample({"job": "x"}, 7.0)],
    }
    assert grouped.answers(found) == {
        Increase(odd, hour): 5.0,
        Increase(plain, hour): 7.0,
        Increase(alone, hour): 3.0,
    }


def test_grouped_buckets_by_pivot_in_any_order() -> None:
    """Bucket answers are read per pivot value and bound, whether one SLI's buckets come in a
    row (as Prometheus sorts them) or not; a NaN count is 0, a series without a numeric `le`
    is no bucket, and a pivot with no bucket at all has no answer."""
    bucket = "latency_seconds_bucket"
    a, b, c = (Selector(bucket, (Matcher("job", "=", job),)) for job in ("a", "b", "c"))
    five = timedelta(minutes=5)
    grouped = GroupedIncreases([Increase(s, five, by_le=True) for s in (a, b, c)])
    assert [p.expr for p in grouped.probes] == [
        f'sum by (job, le) (increase({bucket}{{job=~"a|b|c"}}[5m]))'
    ]
    samples = [
        Sample({"job": "a", "le": "0.1"}, 1.0),
        Sample({"job": "b", "le": "+Inf"}, 9.0),
        Sample({"job": "a", "le": "+Inf"}, 4.0),
        Sample({"job": "b", "le": "0.1"}, math.nan),
        Sample({"job": "a", "le": "1"}, 3.0),
        Sample({"job": "b", "le": "soon"}, 2.0),
        Sample({"job": "c", "le": "soon"}, 2.0),
        Sample({"job": "c"}, 2.0),
    ]
    expected = {
        Increase(a, five, by_le=True): {0.1: 1.0, 1.0: 3.0, math.inf: 4.0},
        Increase(b, five, by_le=True): {math.inf: 9.0, 0.1: 0.0},
        Increase(c, five, by_le=True): None,
    }
    assert grouped.answers({"g0": samples}) == expected
    in_a_row = sorted(samples, key=lambda s: s.labels["job"])
    assert grouped.answers({"g0": in_a_row}) == expected


@pytest.mark.parametrize(
    ("first", "period", "expected"),
    [
        pytest.param(NOW.timestamp() - 1800, timedelta(days=7), 1800 / 604800, id="30min-of-7d"),
        pytest.param(NOW.timestamp() - 40 * 86400, D30, 1.0, id="older-than-the-period"),
        pytest.param(None, D30, None, id="unknown"),
    ],
)
def test_coverage_of(first: float | None, period: timedelta, expected: float | None) -> None:
    assert coverage_of(first, period, NOW) == (
        expected if expected is None else pytest.approx(expected)
    )


def test_a_backend_recording_older_than_its_shortest_window_is_read_from_the_counters() -> None:
    backend_sli = _availability(7).sli
    policy = RemediationPolicy(
        actuator="noop", target="web", backends=(Backend("v2", backend_sli),)
    )
    plan = plan_for(replace(_availability(8), remediation=policy), NOW)
    ids = {c.LABEL_SERVICE: "s8", c.LABEL_SLO: "availability", c.LABEL_BACKEND: "v2"}
    late = {"metric": {**ids, c.LABEL_WINDOW: "freshness"}, "value": [0, str(NOW.timestamp() - 90)]}
    recorded = [*_recorded(plan), late]
    for window in policy.short_windows:
        w = format_duration(window)
        recorded.append(_vec(6.0, __name__=c.rule_backend_errors_increase(w), **ids))
        recorded.append(_vec(60.0, __name__=c.rule_backend_requests_increase(w), **ids))
    table = {("istio_requests_total", "s7"): [(None, 80.0)]}
    client = FakeClient(recorded, _grouped(table))
    collector = _collector(client)
    collector.measure([plan], NOW)

    before = len(client.queries)
    found = collector.measure([plan], NOW)["s8-availability"]

    assert len(client.queries) - before == 2  # recorded + one grouped batch for the backend
    assert found.backends["v2"] == dict.fromkeys(policy.short_windows, Counts(0.0, 80.0))
