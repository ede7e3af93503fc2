"""Slices on Prometheus (the query and its answer) and the scraper's ledger, without I/O."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.collectors.base import WindowCounts
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.collectors.prometheus_slices import parse_slices
from meshwatch.collectors.slices import SliceLedger
from meshwatch.errors import CollectorError, NoDataError
from meshwatch.model import SLI, Counts, RatioSLI, Selector, Timeslices
from meshwatch.sli.slices import slices_query, subquery_range

M = timedelta(minutes=1)
TS = Timeslices(M, 95.0)
SLI_ = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        pytest.param(1, "1ms:1m", id="one-slice"),
        pytest.param(60, "59m1ms:1m", id="an-hour"),
        pytest.param(43200, "29d23h59m1ms:1m", id="thirty-days"),
    ],
)
def test_subquery_range_holds_exactly_n_aligned_points(count: int, expected: str) -> None:
    assert subquery_range(count, M) == expected


def test_query_has_three_parts_per_window_and_skips_windows_under_a_slice() -> None:
    query = slices_query(SLI_, TS, [timedelta(seconds=30), M, timedelta(hours=1)])
    assert query.count("label_replace(label_replace(") == 6
    assert 'meshwatch_window", "3600"' in query and 'meshwatch_window", "30"' not in query
    assert "> bool 0.05)[59m1ms:1m]" in query
    ratio = slices_query(SLI_, Timeslices(M, 0.0, ratio=True), [M])
    assert ">= 0)[1ms:1m])" in ratio and "> bool" not in ratio


def sample(window: int, part: str, value: float) -> Sample:
    return Sample({"meshwatch_window": str(window), "meshwatch_part": part}, value)


def test_answer_becomes_counts_in_slices() -> None:
    hour, five = timedelta(hours=1), timedelta(minutes=5)
    samples = [
        sample(3600, "bad", 3),
        sample(3600, "counted", 60),
        sample(3600, "traffic", 40),
        sample(300, "bad", 0),
        sample(300, "counted", 5),
    ]  # no traffic part: every slice of the 5m window was idle
    found = parse_slices(samples, [hour, five, timedelta(days=1)])
    assert found[hour] == Counts(3, 60)
    assert isinstance(found[five], NoDataError) and found[five].reason == "no traffic"
    assert isinstance(found[timedelta(days=1)], NoDataError)
    assert found[timedelta(days=1)].reason == "no series"


class CountingSource:
    """An in-process source that answers each slice from a table and counts the calls."""

    def __init__(self, table: dict[datetime, Counts | CollectorError]) -> None:
        self.table = table
        self.calls = 0

    def counts(self, sli: SLI, windows: Sequence[timedelta], now: datetime) -> WindowCounts:
        self.calls += 1
        return {w: self.table.get(now, NoDataError("no series")) for w in windows}

    def buckets(self, *args: object) -> dict[timedelta, object]:
        raise NotImplementedError

    def measure(self, *args: object) -> dict[str, object]:
        raise NotImplementedError


def test_ledger_measures_each_closed_slice_once() -> None:
    now = datetime(2026, 11, 16, 12, 0, 30, tzinfo=UTC)
    ends = [datetime(2026, 11, 16, 11, 55, tzinfo=UTC) + k * M for k in range(6)]
    table: dict[datetime, Counts | CollectorError] = {e: Counts(0, 10) for e in ends}
    table[ends[-1]] = Counts(5, 10)  # the latest slice: bad
    source = CountingSource(table)
    ledger = SliceLedger()
    windows = (timedelta(minutes=5),)
    assert ledger.measure(source, SLI_, TS, windows, now)[windows[0]] == Counts(1, 5)  # type: ignore[arg-type]
    assert source.calls == 5
    # a minute later: one new slice, and the latest of last time measured again
    table[ends[-1] + M] = Counts(0, 0)
    later = ledger.measure(source, SLI_, TS, windows, now + M)  # type: ignore[arg-type]
    assert later[windows[0]] == Counts(1, 5)  # the idle slice is good
    assert source.calls == 5 + 2


def test_ledger_reports_a_failing_source_for_every_window() -> None:
    source = CountingSource({})
    source.table = {}
    failing = CollectorError("needs Prometheus")
    now = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    source.table[now] = failing
    found = SliceLedger().measure(source, SLI_, TS, (M, timedelta(minutes=5)), now)  # type: ignore[arg-type]
    assert found == {M: failing, timedelta(minutes=5): failing}
