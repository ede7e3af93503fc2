"""History reports count each request once (issue 12 item 4), on SQLite and PostgreSQL.

The history is what the evaluation job stores for a source that sees every request (as
Prometheus does): each status carries, per window, the exact requests and errors of a known
traffic stream in (at - window, at]. The report from history must give the stream's own
totals whatever the evaluation interval, restart gaps or retention tier, and must report
the time no status covers instead of filling it in.

The old store summed the `1h` window of the last status of each clock hour: 32 minutes of
traffic across a clock hour were counted 1.5 times, a restart that left one status in an
hour counted its hour twice.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.jobs.reports import ReportBuilder, tile_windows
from meshwatch.model import SLO, RatioSLI, Selector, SLOStatus, State, Window
from meshwatch.store import RetentionPolicy, Store
from meshwatch.store.retention import Tier

END = datetime(2026, 11, 23, 12, 20, tzinfo=UTC)  # report end; the period is the 7 d before
BLOCK = timedelta(minutes=10)  # traffic changes rate every block

SLO_ = SLO(
    service="shop",
    name="availability",
    objective=99.0,
    window=Window.rolling(timedelta(days=30)),
    sli=RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total")),
)


class Stream:
    """Requests at a piecewise-constant rate from `begin` to `stop` (requests/s per block)."""

    def __init__(self, begin: datetime, stop: datetime, seed: int = 7) -> None:
        self.begin, self.stop = begin, stop
        rng = random.Random(seed)
        blocks = math.ceil((stop - begin) / BLOCK)
        self.rates = [rng.uniform(5.0, 25.0) for _ in range(blocks)]
        self.error_shares = [0.2 if i % 9 == 4 else 0.01 for i in range(blocks)]

    def counts(self, lo: datetime, hi: datetime) -> tuple[float, float]:
        """(requests, errors) in (lo, hi]."""
        lo, hi = max(lo, self.begin), min(hi, self.stop)
        requests = errors = 0.0
        for i, rate in enumerate(self.rates):
            a = max(lo, self.begin + BLOCK * i)
            b = min(hi, self.begin + BLOCK * (i + 1))
            if b > a:
                n = rate * (b - a).total_seconds()
                requests += n
                errors += n * self.error_shares[i]
        return requests, errors

    def status(self, at: datetime) -> SLOStatus:
        """What a source that sees every request reports at `at`."""
        sli: dict[str, float | None] = {}
        requests: dict[str, float | None] = {}
        for name, length in tile_windows(SLO_):
            total, bad = self.counts(at - length, at)
            requests[name] = total
            sli[name] = 1.0 - bad / total if total > 0 else None
        period = SLO_.window.length
        seen = min(at, self.stop) - max(at - period, self.begin)
        return SLOStatus(
            slo_id=SLO_.id,
            service=SLO_.service,
            slo=SLO_.name,
            at=at,
            state=State.OK,
            reason="",
            objective=SLO_.target,
            sli=sli,
            requests=requests,
            coverage=max(seen, timedelta(0)) / period,
        )


def evaluations(
    begin: datetime, stop: datetime, every: timedelta, jitter_s: float = 0.0, seed: int = 3
) -> Iterator[datetime]:
    rng = random.Random(seed)
    at = begin + every
    while at <= stop:
        yield at + timedelta(seconds=rng.uniform(-jitter_s, jitter_s))
        at += every


def report_totals(store: Store) -> tuple[float, float, float]:
    report = ReportBuilder(store, lambda: [SLO_]).build("7d", END)
    (item,) = report.slos
    assert item.requests is not None and item.errors is not None
    return item.requests, item.errors, item.coverage


def save(store: Store, stream: Stream, times: Sequence[datetime]) -> None:
    for chunk in range(0, len(times), 500):
        store.history.save_statuses([stream.status(at) for at in times[chunk : chunk + 500]])


def test_32_minutes_across_a_clock_hour_count_once_and_cover_32_minutes(store: Store) -> None:
    begin, stop = (
        datetime(2026, 11, 23, 10, 45, tzinfo=UTC),
        datetime(2026, 11, 23, 11, 17, tzinfo=UTC),
    )
    stream = Stream(begin, stop)
    save(store, stream, list(evaluations(begin, stop, timedelta(seconds=2))))
    requests, errors, coverage = report_totals(store)
    truth = stream.counts(begin, stop)
    assert requests == pytest.approx(truth[0], rel=1e-6)  # the old store: 1.5x
    assert errors == pytest.approx(truth[1], rel=1e-6)
    # the 3d window of the last status counts the traffic; its samples span 32 minutes
    assert coverage == pytest.approx(timedelta(minutes=32) / timedelta(days=7), rel=0.01)


@pytest.mark.parametrize(
    "every, jitter_s",
    [
        pytest.param(timedelta(seconds=30), 3.0, id="30s-evaluation"),
        pytest.param(timedelta(minutes=2), 20.0, id="2m-evaluation"),
        pytest.param(timedelta(minutes=7), 30.0, id="7m-evaluation"),
    ],
)
def test_any_evaluation_interval_counts_each_request_once(
    store: Store, every: timedelta, jitter_s: float
) -> None:
    begin = END - timedelta(hours=30, minutes=13)
    stop = END - timedelta(minutes=4)
    stream = Stream(begin, stop)
    save(store, stream, list(evaluations(begin, stop, every, jitter_s)))
    requests, errors, coverage = report_totals(store)
    truth = stream.counts(begin, stop)
    # jitter slivers (at most 10 % of a window) are scaled at the window's average rate
    assert requests == pytest.approx(truth[0], rel=0.01)
    assert errors == pytest.approx(truth[1], rel=0.03)
    # never more than the time with traffic; jitter beyond 10 % leaves slivers uncovered
    share = (stop - begin) / timedelta(days=7)
    assert share * 0.95 <= coverage <= share * 1.001


def test_restart_gaps_are_counted_once_by_the_source_windows(store: Store) -> None:
    """serve down 25 min twice (Prometheus kept scraping): the next status's window counts
    the gap's traffic once, and no hour is counted twice."""
    begin = END - timedelta(hours=5, minutes=3)
    stop = END - timedelta(minutes=1)
    stream = Stream(begin, stop)
    down = [
        (END - timedelta(hours=3, minutes=40), END - timedelta(hours=3, minutes=15)),
        (END - timedelta(hours=1, minutes=5), END - timedelta(minutes=40)),
    ]
    times = [
        at
        for at in evaluations(begin, stop, timedelta(seconds=30), 2.0)
        if not any(lo <= at < hi for lo, hi in down)
    ]
    save(store, stream, times)
    requests, errors, _ = report_totals(store)
    truth = stream.counts(begin, stop)
    assert requests == pytest.approx(truth[0], rel=0.01)
    assert errors == pytest.approx(truth[1], rel=0.03)


def test_gaps_without_any_status_are_reported_not_invented(store: Store) -> None:
    """Two days of history with a 20-hour hole no window reaches across: the report counts
    only what the statuses measured and says how much of the period it covers."""
    first = (END - timedelta(days=3), END - timedelta(days=2))
    second = (END - timedelta(days=1, hours=4), END - timedelta(minutes=2))
    streams = [Stream(*first, seed=1), Stream(*second, seed=2)]
    for stream in streams:
        save(store, stream, list(evaluations(*stream_bounds(stream), timedelta(minutes=1), 5.0)))
    requests, _, coverage = report_totals(store)
    measured = sum(s.counts(s.begin, s.stop)[0] for s in streams)
    assert requests <= measured * 1.01  # never more than the traffic there was
    assert requests == pytest.approx(measured, rel=0.02)
    covered = (first[1] - first[0]) + (second[1] - second[0])
    assert coverage == pytest.approx(covered / timedelta(days=7), rel=0.03)


def stream_bounds(stream: Stream) -> tuple[datetime, datetime]:
    return stream.begin, stream.stop


def test_retention_tiers_keep_the_counts(store: Store) -> None:
    """Raw 30 s points compacted to 5 min and 1 h rows still give the stream's totals."""
    begin = END - timedelta(days=2, hours=7)
    stop = END - timedelta(minutes=3)
    stream = Stream(begin, stop)
    save(store, stream, list(evaluations(begin, stop, timedelta(seconds=30), 2.0)))
    before = report_totals(store)
    policy = RetentionPolicy(
        raw_for=timedelta(hours=6),
        tiers=(
            Tier(timedelta(minutes=5), timedelta(days=1)),
            Tier(timedelta(hours=1), timedelta(days=35)),
        ),
    )
    result = store.history.prune(END, policy)
    assert result.compacted > 0
    after = report_totals(store)
    truth = stream.counts(begin, stop)
    assert before[0] == pytest.approx(truth[0], rel=0.01)
    assert after[0] == pytest.approx(truth[0], rel=0.01)
    assert after[1] == pytest.approx(truth[1], rel=0.03)
