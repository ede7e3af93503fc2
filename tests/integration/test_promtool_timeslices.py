"""Timeslices rules under the real `promtool test rules`: slices counted as the oracle counts.

Synthetic counters with one sample a minute (the slice is 1m, so each sample closes one
slice). The oracle below judges each slice from the traffic list itself - bad when its error
ratio is above 1 - slice target, an idle slice not bad, a window without any traffic absent -
and promtool must report, minute by minute, exactly the burn alerts and shares it predicts.
Scenarios: an outage, a burst, a slow burn (and errors spread thinly under the slice target),
idle slices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from meshwatch.model import SLO, Alerting, Matcher, RatioSLI, Selector, Timeslices, Window
from tests.integration.burn_oracle import WORKBOOK_30D, Traffic
from tests.integration.promtool_run import (
    assert_passes,
    expected_burn_alert,
    run_promtool,
    traffic_series,
)
from tests.support.binaries import require_binary

pytestmark = pytest.mark.integration

OBJECTIVE = 99.0  # 1 % of the period's slices may be bad
SLICE_TARGET = 95.0  # a minute is bad above 5 % errors
LABELS = '{meshwatch_service="checkout",meshwatch_slo="minutes"}'


@pytest.fixture(scope="module")
def promtool() -> str:
    return require_binary("promtool")


def minutes_slo(ratio: bool = False) -> SLO:
    total = Selector("http_requests_total", (Matcher("job", "=", "checkout"),))
    return SLO(
        service="checkout",
        name="minutes",
        objective=OBJECTIVE,
        window=Window.rolling(timedelta(days=30)),
        sli=RatioSLI(total=total, bad=total.with_matchers(Matcher("code", "=~", "5.."))),
        alerting=Alerting(),
        timeslices=Timeslices(timedelta(minutes=1), 0.0 if ratio else SLICE_TARGET, ratio),
    )


@dataclass
class SliceOracle:
    """Slice m (1-based) covers minute m of the traffic list and closes at t = m minutes."""

    traffic: Traffic
    budget: float = 1 - OBJECTIVE / 100

    def bad(self, m: int) -> float | None:
        requests, errors = self.traffic.requests[m - 1], self.traffic.errors[m - 1]
        return float(requests > 0 and errors / requests > 1 - SLICE_TARGET / 100)

    def share(self, t: int, w: int) -> float | None:
        slices = list(range(max(1, t - w + 1), t + 1))
        if not any(self.traffic.requests[m - 1] > 0 for m in slices):
            return None
        values = [self.bad(m) or 0.0 for m in slices]
        return sum(values) / len(values)

    def firing(self, t: int, severity: str) -> float | None:
        for pair in WORKBOOK_30D:
            if pair.severity != severity:
                continue
            long, short = self.share(t, pair.long), self.share(t, pair.short)
            if long is None or short is None:
                continue
            if long / self.budget > pair.factor and short / self.budget > pair.factor:
                return long / self.budget
        return None

    def first(self, severity: str, start: int, stop: int, firing: bool = True) -> int | None:
        return next(
            (t for t in range(start, stop) if (self.firing(t, severity) is not None) == firing),
            None,
        )


def checks(slo: SLO, oracle: SliceOracle, minutes: range) -> list[dict[str, Any]]:
    return [
        {
            "eval_time": f"{t}m",
            "alertname": "MeshwatchErrorBudgetBurn",
            "exp_alerts": [
                expected_burn_alert(slo, severity, burn)
                for severity in ("page", "ticket")
                if (burn := oracle.firing(t, severity)) is not None
            ],
        }
        for t in minutes
    ]


def share_checks(oracle: SliceOracle, at: list[int], window: int) -> list[dict[str, Any]]:
    name = f"meshwatch:slice_bad:share{window}m" if window < 60 else None
    name = name or f"meshwatch:slice_bad:share{window // 60}h"
    return [micro(f"{name}{LABELS}", t, oracle.share(t, window)) for t in at]


def micro(expr: str, t: int, value: float | None) -> dict[str, Any]:
    """A promql_expr_test of `expr` in millionths (promtool compares floats exactly, and
    avg_over_time's running mean differs from a plain sum / n in the last bits)."""
    samples = [] if value is None else [{"labels": LABELS, "value": round(value * 1e6)}]
    return {"expr": f"round({expr} * 1e6)", "eval_time": f"{t}m", "exp_samples": samples}


def scenario(
    promtool: str, folder: Path, slo: SLO, traffic: Traffic, tests: dict[str, Any]
) -> None:
    proc = run_promtool(
        promtool,
        folder,
        [slo],
        [
            {
                "name": "timeslices",
                "interval": "1m",
                "input_series": traffic_series(traffic),
                **tests,
            }
        ],
    )
    assert_passes(proc)


def test_outage_pages_after_nine_bad_minutes_and_clears_five_after(
    promtool: str, tmp_path: Path
) -> None:
    start, stop = 400, 420  # 6h40m clean (every page window full), 20 min of 100 % errors
    traffic = Traffic().add(start, 600, 0).add(stop - start, 600, 600).add(60, 600, 0)
    oracle = SliceOracle(traffic)
    # 14.4x of a 1 % budget over 1h = 8.64 bad minutes: the 9th bad minute pages.
    assert oracle.first("page", start, stop) == start + 9
    assert oracle.first("page", start + 9, stop + 60, firing=False) == stop + 5
    slo = minutes_slo()
    # 20 bad of the 430 slices counted so far
    remaining = f"meshwatch:slo_error_budget_remaining:ratio{LABELS}"
    budget = [micro(remaining, stop + 10, 1 - (20 / 430) / 0.01)]
    tests = {
        "alert_rule_test": checks(slo, oracle, range(start - 5, stop + 40)),
        "promql_expr_test": budget + share_checks(oracle, [start + 3, stop, stop + 30], 60),
    }
    scenario(promtool, tmp_path, slo, traffic, tests)


def test_a_burst_is_one_bad_slice_and_cannot_page(promtool: str, tmp_path: Path) -> None:
    # 100x the traffic for one minute, half of it failing: by occurrences that spends 11.6 %
    # of a 30-day budget at 600 req/min (and pages); in slices it is one bad minute of 43,200.
    traffic = Traffic().add(400, 600, 0).add(1, 60000, 30000).add(60, 600, 0)
    oracle = SliceOracle(traffic)
    assert all(oracle.firing(t, s) is None for t in range(1, 462) for s in ("page", "ticket"))
    slo = minutes_slo()
    tests = {
        "alert_rule_test": checks(slo, oracle, range(395, 462)),
        "promql_expr_test": share_checks(oracle, [401, 405, 406], 5),
    }
    scenario(promtool, tmp_path, slo, traffic, tests)


def test_slow_burn_of_every_twentieth_minute_tickets_and_never_pages(
    promtool: str, tmp_path: Path
) -> None:
    traffic = Traffic()
    for _ in range(80):  # 1600 minutes: every 20th minute has 50 % errors, 5 % of slices bad
        traffic.add(19, 600, 24).add(1, 600, 300)  # 4 % errors is under the slice target
    oracle = SliceOracle(traffic)
    # 5 % of slices bad is 5x a 1 % budget: above the ticket's 3x (1d/2h) from the first bad
    # minute on, below the pages' 6x and 14.4x over their long windows throughout.
    assert oracle.first("ticket", 1, traffic.minutes) == 20
    assert all(oracle.firing(t, "page") is None for t in range(1, traffic.minutes + 1))
    slo = minutes_slo()
    tests = {
        "alert_rule_test": checks(slo, oracle, range(1420, 1601, 3)),
        "promql_expr_test": share_checks(oracle, [1439, 1440, 1441, 1600], 120),
    }
    scenario(promtool, tmp_path, slo, traffic, tests)


def test_idle_slices_are_not_bad_and_an_idle_window_has_no_share(
    promtool: str, tmp_path: Path
) -> None:
    # 30 min busy, 20 min idle, 2 bad minutes, 3 idle, 40 idle: the 5m window at minute 55
    # holds 2 bad and 3 idle slices (40 % bad); at minute 95 it is idle throughout: no share.
    traffic = Traffic().add(30, 600, 0).add(20, 0, 0).add(2, 10, 10).add(3, 0, 0).add(40, 0, 0)
    oracle = SliceOracle(traffic)
    assert oracle.share(55, 5) == pytest.approx(0.4)
    assert oracle.share(95, 5) is None
    assert oracle.share(95, 60) == pytest.approx(2 / 60)  # idle minutes count, and are good
    slo = minutes_slo()
    tests = {
        "alert_rule_test": checks(slo, oracle, range(45, 96)),
        "promql_expr_test": share_checks(oracle, [50, 52, 55, 60, 95], 5)
        + share_checks(oracle, [55, 95], 60),
    }
    scenario(promtool, tmp_path, slo, traffic, tests)


def test_ratio_timeslices_average_the_slices_and_leave_idle_ones_out(
    promtool: str, tmp_path: Path
) -> None:
    # 3 slices at 10 %, 20 %, 30 % errors (different traffic), then 2 idle: the 5m share is
    # their plain average, 20 %, whatever each slice's traffic was.
    traffic = Traffic().add(10, 100, 0).add(1, 100, 10).add(1, 1000, 200).add(1, 10, 3)
    traffic.add(2, 0, 0)
    tests = {"promql_expr_test": [micro(f"meshwatch:slice_bad:share5m{LABELS}", 15, 0.2)]}
    scenario(promtool, tmp_path, minutes_slo(ratio=True), traffic, tests)
