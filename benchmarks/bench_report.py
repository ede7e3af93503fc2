"""`meshwatch report --period 30d` for 1,000 SLOs over 30 days of stored history, in seconds.

History is seeded as HOURLY points (720 per SLO, 720,000 rows): what the default retention
keeps for days 7-35 (1 h tier); 5-minute points for all 30 days would be 8.6 M rows and take
longer to seed than to report on. Each status carries the `5m` and `1h` windows the
evaluation stores, so the report tiles every hour with its `1h` counts (request-weighted).

meshwatch: one streamed query for every SLO's points (`StatusHistory.scan`), one for alerts,
one for actions, then the pure report builder and the Markdown renderer.
Baseline (same run, same store, same builder and renderer): the naive read, one history
query per SLO per day (30,000 queries), as a per-SLO, per-day loop over the existing
`StatusHistory.history` would do it.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from benchmarks.result import Result
from meshwatch.jobs.reports import ReportBuilder
from meshwatch.model import SLO, RatioSLI, Selector, SLOStatus, State, Window
from meshwatch.render.reports_build import (
    Slice,
    SLOInput,
    build_report,
    report_window,
    slices_from_statuses,
)
from meshwatch.render.reports_html import render_report
from meshwatch.store import Store, make_engine, upgrade
from meshwatch.store.codec import status_values
from meshwatch.store.tables import StatusRow

SLOS = 1_000
DAYS = 30
END = datetime(2026, 11, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def make_slos(count: int = SLOS) -> tuple[SLO, ...]:
    sli = RatioSLI(total=Selector("http_requests_total"), bad=Selector("http_errors_total"))
    return tuple(
        SLO(
            service=f"svc{i // 20}",
            name=f"slo{i % 20}",
            objective=99.9,
            window=Window.rolling(timedelta(days=30)),
            sli=sli,
        )
        for i in range(count)
    )


def seed(store: Store, slos: Sequence[SLO], days: int = DAYS) -> None:
    """One status per SLO per hour; SLO i fails (i % 7) / 10,000 of 1,000 requests/hour,
    plus 5 % for one hour in ten days. Rows go in with bulk INSERTs (the evaluation job's
    `save_statuses` per cycle would take minutes for 720 cycles of 1,000 SLOs); the last
    cycle goes through `save_statuses` so that the latest pointers are set as in service."""
    hours = days * 24
    chunk: list[dict[str, object]] = []
    with store.engine.begin() as conn:
        for hour in range(1, hours):
            for status in _cycle(slos, hour, days):
                chunk.append(status_values(status))
            if len(chunk) >= 50_000:
                conn.execute(insert(StatusRow), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(StatusRow), chunk)
    store.history.save_statuses(list(_cycle(slos, hours, days)))


def _cycle(slos: Sequence[SLO], hour: int, days: int) -> list[SLOStatus]:
    at = END - timedelta(days=days) + timedelta(hours=hour)
    batch = []
    for i, slo in enumerate(slos):
        ratio = (i % 7) / 10_000 + (0.05 if hour % 240 == i % 240 else 0.0)
        batch.append(
            SLOStatus(
                slo_id=slo.id,
                service=slo.service,
                slo=slo.name,
                at=at,
                state=State.OK,
                reason="",
                objective=slo.target,
                period_sli=1 - ratio,
                budget_remaining=0.5,
                throughput=1000 / 3600,
                sli={"5m": 1 - ratio, "1h": 1 - ratio},
                burn_rate={"5m": ratio * 1000, "1h": ratio * 1000},
                requests={"5m": 1000 / 12, "1h": 1000.0},
            )
        )
    return batch


def naive(store: Store, slos: Sequence[SLO], at: datetime) -> str:
    """The baseline: one query per SLO per day, same tiling, builder and renderer."""
    start, end = report_window("30d", at)
    items = []
    for slo in slos:
        slices: list[Slice] = []
        for day in range(DAYS):
            lo, hi = start + timedelta(days=day), start + timedelta(days=day + 1)
            points = store.history.history(slo.id, lo + _US, hi + _US)  # (lo, hi]
            slices += slices_from_statuses((p.status for p in points), lo, hi)
        items.append(SLOInput(slo, slices))
    report = build_report(items, period="30d", start=start, end=end, source="history")
    return render_report(report, "md")


def run(slos_count: int = SLOS) -> Result:
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        upgrade(url)
        store = Store(make_engine(url, durable=False))
        try:
            slos = make_slos(slos_count)
            started = time.perf_counter()
            seed(store, slos)
            seed_s = time.perf_counter() - started
            builder = ReportBuilder(store, lambda: slos)

            started = time.perf_counter()
            report = builder.build("30d", END)
            text = render_report(report, "md")
            meshwatch_s = time.perf_counter() - started

            started = time.perf_counter()
            baseline_text = naive(store, slos, END)
            naive_s = time.perf_counter() - started
        finally:
            store.close()
    assert len(report.slos) == slos_count
    assert all(s.coverage > 0.99 for s in report.slos), "report did not cover the period"
    assert text == baseline_text, "baseline and meshwatch disagree"
    return Result(
        name="report",
        value=meshwatch_s,
        unit="s",
        baseline_name="one history query per SLO per day (30,000 queries)",
        baseline_value=naive_s,
        higher_is_better=False,
        params={
            "slos": slos_count,
            "days": DAYS,
            "points_per_slo": DAYS * 24,
            "rows": slos_count * DAYS * 24,
            "resolution": "1h",
            "format": "md",
            "seed_s": round(seed_s, 1),
            "database": "sqlite",
        },
    )
