"""The embedded engine's coverage: the share of the SLO period its history spans."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.collectors.exposition import Sample
from meshwatch.collectors.scrape_history import Tier
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.plan import plan_for
from meshwatch.model import SLO, Counts, Matcher, QuerySLI, RatioSLI, Selector, Window

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
TOTAL = Selector("req_total", (Matcher("job", "=", "web"),))
SLI = RatioSLI(total=TOTAL, bad=TOTAL.with_matchers(Matcher("code", "=~", "5..")))
WEEK = timedelta(days=7)


def _scrape(store: ScrapeStore, seconds: float, value: float) -> None:
    labels = (("code", "200"), ("job", "web"))
    store.observe("t", [Sample("req_total", labels, value, None)], T0 + timedelta(seconds=seconds))


def test_thirty_minutes_of_a_week_through_measure() -> None:
    store = ScrapeStore()
    store.track_sli(SLI)
    for second in range(1801):
        _scrape(store, second, 10.0 * second)
    now = T0 + timedelta(seconds=1800)
    slo = SLO("web", "availability", 99.9, Window.rolling(WEEK), SLI)

    (measured,) = store.measure([plan_for(slo, now)], now).values()

    assert measured.coverage == pytest.approx(1800 / WEEK.total_seconds(), abs=1 / 604800)
    assert measured.counts[WEEK] == Counts(0.0, 18000.0)


def test_a_history_thinned_past_its_last_tier_covers_the_period() -> None:
    store = ScrapeStore(tiers=(Tier(timedelta(seconds=10), timedelta(minutes=10)),))
    store.track_sli(SLI)
    for minute in range(30):
        _scrape(store, minute * 60, float(minute))

    coverage = store.coverage(SLI, timedelta(minutes=20), T0 + timedelta(minutes=29))

    assert coverage == 1.0


def test_no_history_is_zero_and_promql_slis_are_unknown() -> None:
    store = ScrapeStore()
    store.track_sli(SLI)

    assert store.coverage(SLI, WEEK, T0) == 0.0
    assert store.coverage(QuerySLI(total="x"), WEEK, T0) is None
