"""How far back a rule set reads (benchmarks.history_backfill), and the history it writes.

The steady-state benchmark backfills exactly what the rules read in the past; a reach that is
too short would measure a Prometheus still missing data, one too long wastes the machine."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from benchmarks import history_backfill as hb
from tests.support.backfill import REQUESTS, Traffic

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        pytest.param("up", {"up": 5 * MIN}, id="instant-reads-the-lookback"),
        pytest.param("rate(x[3d])", {"x": 3 * DAY}, id="range"),
        pytest.param("x offset 27d", {"x": 27 * DAY + 5 * MIN}, id="offset-plus-lookback"),
        pytest.param(
            "sum_over_time(r[30d] offset 1h)", {"r": 30 * DAY + HOUR}, id="range-with-offset"
        ),
        pytest.param(
            "max_over_time(rate(x[5m])[1h:1m])",
            {"x": HOUR + 5 * MIN + 5 * MIN},
            id="subquery-adds-its-range-and-lookback",
        ),
        pytest.param(
            "sum by (s) (rate(a[1h] offset 1d)) / on (s) (b + c offset 2h)",
            {"a": DAY + HOUR, "b": 5 * MIN, "c": 2 * HOUR + 5 * MIN},
            id="binary-and-aggregation-keep-each-name",
        ),
        pytest.param(
            "topk(scalar(k), -(x offset 1h))",
            {"k": 5 * MIN, "x": HOUR + 5 * MIN},
            id="aggregation-parameter-and-unary",
        ),
        pytest.param("rate(x[5m]) / rate(x[1d])", {"x": DAY}, id="same-name-keeps-the-furthest"),
    ],
)
def test_reach_back(expr: str, expected: dict[str, timedelta]) -> None:
    assert hb.reach_back(expr) == expected


def test_reach_of_rules_takes_the_furthest_over_all_rules() -> None:
    rules = [
        {"record": "r:increase1h", "expr": f"increase({REQUESTS}[1h])"},
        {"record": "r:increase1d", "expr": "r:increase1h + r:increase1h offset 23h"},
        {"alert": "A", "expr": f"rate({REQUESTS}[3d]) > 1"},
    ]
    assert hb.reach_of_rules(rules) == {
        REQUESTS: 3 * DAY,
        "r:increase1h": 23 * HOUR + 5 * MIN,
    }


def test_raw_history_counts_requests_at_the_traffic_rate() -> None:
    traffic = [Traffic("checkout", rps=2.0, error_ratio=0.25)]
    out = io.StringIO()
    written = hb.write_raw(
        out, traffic, end=3600, length=HOUR, step=60, scrape_labels=(("job", "live"),)
    )
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("#")]
    assert written == len(lines) == 2 * 61  # two codes, one sample per step, both ends
    last = {line.split('response_code="')[1][:3]: line.split()[-2] for line in lines[60::61]}
    assert last == {"200": "5400", "503": "1800"}  # 2 rps x 3600 s, split 75/25
    assert all('job="live"' in line for line in lines)


def test_recorded_history_covers_the_reach_and_skips_what_is_read_only_now() -> None:
    traffic = Traffic("checkout", rps=10.0, error_ratio=0.01)
    series = [
        hb.Recorded("m:requests:increase1h", (("svc", "checkout"),), traffic),
        hb.Recorded("m:errors:increase1h", (("svc", "checkout"),), traffic),
        hb.Recorded("m:requests:increase5m", (("svc", "checkout"),), traffic),
    ]
    reach = {"m:requests:increase1h": 2 * HOUR, "m:errors:increase1h": 2 * HOUR}
    out = io.StringIO()
    written = hb.write_recorded(out, series, reach, end=7 * 3600, step=60)
    samples = [line.split() for line in out.getvalue().splitlines() if not line.startswith("#")]
    # two hours plus the lookback at the one-minute step, both ends included
    assert written == len(samples) == 2 * (125 + 1)
    assert {s[0].split("{")[0] for s in samples} == set(reach)
    assert min(int(s[2]) for s in samples) == 7 * 3600 - 125 * 60
    requests = [float(s[1]) for s in samples if s[0].startswith("m:requests")]
    assert all(36_000 * 0.98 <= v <= 36_000 * 1.02 for v in requests)  # 10 rps x 1 h, +-2 %
    errors = [float(s[1]) for s in samples if s[0].startswith("m:errors")]
    assert all(360 * 0.98 <= v <= 360 * 1.02 for v in errors)


def test_a_history_written_in_two_rounds_is_the_history_written_at_once() -> None:
    """The benchmark writes the minutes promtool took as a second round: the counters go on
    from where the first round left them, and no sample is written twice or left out (the
    first round's recorded history reaches back from its own, earlier end: a little more)."""
    traffic = [Traffic("checkout", rps=3.3, error_ratio=0.1)]
    series = [hb.Recorded("m:requests:increase1h", (("svc", "checkout"),), traffic[0])]
    reach = {"m:requests:increase1h": 2 * HOUR}
    scrape = (("job", "live"),)

    def lines(after: int | None, end: int) -> list[str]:
        out = io.StringIO()
        length = timedelta(seconds=end - 3600)  # every counter 0 at t = 3600
        hb.write_raw(
            out, traffic, end=end, length=length, step=5, scrape_labels=scrape, after=after
        )
        hb.write_recorded(out, series, reach, end=end, step=60, after=after)
        return [line for line in out.getvalue().splitlines() if not line.startswith("#")]

    whole = lines(None, 4 * 3600 + 420)
    split = lines(None, 4 * 3600) + lines(4 * 3600, 4 * 3600 + 420)
    assert len(set(split)) == len(split)
    assert set(whole) <= set(split)
    first = min(int(line.split()[-1]) for line in whole if line.startswith("m:"))
    assert all(int(line.split()[-1]) < first for line in set(split) - set(whole))
