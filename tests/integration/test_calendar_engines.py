"""Calendar periods in Europe/Berlin through both engines and a real Prometheus.

* The rules' period-start expressions, queried on a real Prometheus at 2026 instants around
  both DST changes and month/week ends, equal `zoneinfo`'s local midnight.
* The Prometheus engine (`evaluate_all` on `PrometheusCollector.measure`, as `serve` runs
  it) over 40 days of backfilled history: the period's requests and errors are the
  history's own count since Berlin's local midnight. An incident placed in the hour between
  Berlin's and UTC's midnight is in the Berlin period, not in the UTC one.
* `meshwatch report --period calendar-month --time-zone Europe/Berlin` from Prometheus:
  the month before, between Berlin midnights, holds the history's own count; the same
  report in UTC holds the incident hour, the Berlin one does not.
* The embedded engine (a real scrape over HTTP, at synthetic scrape times) across the
  Berlin week boundary of 30 March 2026 (00:00 CEST = 22:00 UTC): the period's counts are
  what the traffic generator served after that midnight.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from meshwatch.cli import app
from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_http import PrometheusQuerier, connect
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.engine.evaluate import evaluate_all
from meshwatch.model import SLO, CalendarUnit, Matcher, RatioSLI, Selector, Window
from meshwatch.render.rules_calendar import (
    local_midnight_expr,
    now_local_expr,
    offset_expr,
    start_of_expr,
)
from meshwatch.slo.calendar import calendar_bounds, zone
from meshwatch.slo.zone_rule import zone_rule
from tests.support.backfill import (
    CODE_LABEL,
    REQUESTS,
    SERVICE_LABEL,
    History,
    Incident,
    Traffic,
    backfill,
)
from tests.support.binaries import require_binary
from tests.support.exporter import serving_metrics
from tests.support.prometheus_run import PrometheusProcess, prometheus_config

pytestmark = pytest.mark.integration

BERLIN = "Europe/Berlin"
STEP = 600  # seconds between backfilled samples; every local midnight is on one


def _slo(service: str, unit: CalendarUnit, time_zone: str = BERLIN) -> SLO:
    total = Selector(REQUESTS, (Matcher(SERVICE_LABEL, "=", service),))
    return SLO(
        service=service,
        name=f"{unit.value}-{time_zone.replace('/', '-').lower()}",
        objective=99.0,
        window=Window.calendar(unit, time_zone),
        sli=RatioSLI(total=total, bad=total.with_matchers(Matcher(CODE_LABEL, "=~", "5.."))),
    )


@dataclasses.dataclass(frozen=True)
class Stack:
    prometheus: PrometheusProcess
    history: History
    month_start: datetime  # Berlin midnight of the 1st, the month holding the history's end


def _history(now: datetime) -> tuple[History, datetime]:
    end = now - timedelta(hours=1)
    month_start, _ = calendar_bounds("month", zone(BERLIN), end)
    if end - month_start < timedelta(days=2):  # keep a few days of the period to count
        end = month_start - timedelta(hours=1)
        month_start, _ = calendar_bounds("month", zone(BERLIN), end)
    # 1 h at 50 % errors between Berlin's midnight and UTC's: in the Berlin month only
    gap = month_start.replace(hour=0) + timedelta(days=1) - month_start
    incident = Incident(month_start, min(gap, timedelta(hours=2)), 0.5)
    history = History(
        end=end,
        traffic=(Traffic("checkout", rps=2.0, error_ratio=0.002, incidents=(incident,)),),
        length=timedelta(days=70),  # the month before is complete: reports
        step=STEP,
    )
    return history, month_start


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus_bin = require_binary("prometheus", "/usr/bin/prometheus")
    promtool = require_binary("promtool", "/usr/bin/promtool")
    workdir = tmp_path_factory.mktemp("calendar-prometheus")
    history, month_start = _history(datetime.now(UTC))
    backfill(history, workdir / "data", promtool, workdir)
    prom = PrometheusProcess(prometheus_bin, workdir, config=prometheus_config(), retention="80d")
    prom.start()
    try:
        yield Stack(prom, history, month_start)
    finally:
        prom.stop()


def _value(prom: PrometheusProcess, expr: str, at: datetime) -> float:
    result = prom.query(expr, at.timestamp())
    assert len(result) == 1, (expr[:200], result)
    return float(result[0]["value"][1])


@pytest.mark.parametrize(
    ("unit", "at"),
    [
        pytest.param(CalendarUnit.MONTH, "2026-03-29T00:59:00", id="month-before-spring"),
        pytest.param(CalendarUnit.MONTH, "2026-03-29T01:00:00", id="month-at-spring"),
        pytest.param(CalendarUnit.MONTH, "2026-03-31T21:59:59", id="last-second-of-march"),
        pytest.param(CalendarUnit.MONTH, "2026-03-31T22:00:00", id="april-00-00-cest"),
        pytest.param(CalendarUnit.MONTH, "2026-10-25T00:59:59", id="month-before-fall"),
        pytest.param(CalendarUnit.MONTH, "2026-10-25T01:00:00", id="month-at-fall"),
        pytest.param(CalendarUnit.MONTH, "2026-10-31T22:59:59", id="last-second-of-october"),
        pytest.param(CalendarUnit.MONTH, "2026-10-31T23:00:00", id="november-00-00-cet"),
        pytest.param(CalendarUnit.WEEK, "2026-03-29T21:59:59", id="week-of-167h-ends"),
        pytest.param(CalendarUnit.WEEK, "2026-03-29T22:00:00", id="week-after-spring"),
        pytest.param(CalendarUnit.WEEK, "2026-10-25T23:00:00", id="week-after-fall"),
        pytest.param(CalendarUnit.WEEK, "2027-01-03T23:00:00", id="week-across-new-year"),
    ],
)
def test_rule_expressions_give_zoneinfo_midnight_in_2026(
    stack: Stack, unit: CalendarUnit, at: str
) -> None:
    slo = _slo("checkout", unit)
    moment = datetime.fromisoformat(at).replace(tzinfo=UTC)
    rule = zone_rule(BERLIN)
    start, _ = calendar_bounds(unit.value, zone(BERLIN), moment)  # type: ignore[arg-type]
    prom = stack.prometheus
    offset = _value(prom, f"vector({offset_expr(rule, 'time()')})", moment)
    assert offset == moment.astimezone(zone(BERLIN)).utcoffset().total_seconds()  # type: ignore[union-attr]
    local = now_local_expr(rule, f"{offset:.0f}")
    wall = _value(prom, f"vector({local_midnight_expr(slo, local)})", moment)
    found = _value(prom, f"vector({start_of_expr(rule, f'{wall:.0f}')})", moment)
    assert datetime.fromtimestamp(found, UTC) == start


def test_prometheus_engine_counts_the_berlin_month_since_local_midnight(stack: Stack) -> None:
    history = stack.history
    at = datetime.fromtimestamp(history.end_ts, UTC)
    berlin, utc = _slo("checkout", CalendarUnit.MONTH), _slo("checkout", CalendarUnit.MONTH, "UTC")
    collector = PrometheusCollector(PrometheusQuerier(connect(stack.prometheus.url)))
    statuses = {s.slo: s for s in evaluate_all([berlin, utc], collector, at).statuses}
    for slo in (berlin, utc):
        start, _ = calendar_bounds("month", zone(slo.window.time_zone), at)
        errors, total = history.counts("checkout", start, at)
        status = statuses[slo.name]
        assert status.requests["calendar-month"] == pytest.approx(total, rel=1e-9), slo.name
        period_sli = 1 - errors / total
        assert status.period_sli == pytest.approx(period_sli, rel=1e-9), slo.name
    # the incident hour is Berlin's: its errors are in the Berlin month, not in UTC's
    incident_errors, _ = history.counts(
        "checkout", stack.month_start, stack.month_start + timedelta(hours=1)
    )
    assert incident_errors > 1000
    assert statuses[berlin.name].period_sli < statuses[utc.name].period_sli  # type: ignore[operator]


class Generator:
    """Counters served at `/metrics`; the test adds requests between scrapes and keeps its
    own count per scrape interval."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0

    def serve(self, ok: int, failed: int) -> None:
        self.ok += ok
        self.failed += failed

    def render(self, _elapsed: float) -> str:
        return (
            f"# TYPE {REQUESTS} counter\n"
            f'{REQUESTS}{{{SERVICE_LABEL}="web",{CODE_LABEL}="200"}} {self.ok}\n'
            f'{REQUESTS}{{{SERVICE_LABEL}="web",{CODE_LABEL}="503"}} {self.failed}\n'
        )


def test_embedded_engine_counts_the_berlin_week_since_local_midnight() -> None:
    """Scrapes every 60 s of synthetic time from 20:00 to 22:30 UTC on Sunday 29 March 2026;
    Berlin's week starts at 22:00 UTC (Monday 00:00 CEST), UTC's two hours later."""
    slo = _slo("web", CalendarUnit.WEEK)
    generator = Generator()
    store = ScrapeStore()
    store.track_sli(slo.sli)
    first = datetime(2026, 3, 29, 20, tzinfo=UTC)
    berlin_start = datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert calendar_bounds("week", zone(BERLIN), berlin_start)[0] == berlin_start
    served_since_start = [0, 0]  # ok, failed: the generator's own count for the period
    with serving_metrics(generator.render) as target, httpx.Client() as client:
        scraper = Scraper(store, [ScrapeTarget(f"http://{target}/metrics")], client)
        moment = first
        minute = 0
        while moment <= datetime(2026, 3, 29, 22, 30, tzinfo=UTC):
            health = scraper.scrape_once(moment)
            assert all(h.up for h in health.values()), health
            minute += 1
            ok, failed = 100 + minute % 7, 3 if minute % 10 == 0 else 0
            moment += timedelta(seconds=60)
            if moment <= datetime(2026, 3, 29, 22, 30, tzinfo=UTC):
                generator.serve(ok, failed)
                if moment > berlin_start:  # served in (previous scrape, this scrape]
                    served_since_start[0] += ok
                    served_since_start[1] += failed
    now = datetime(2026, 3, 29, 22, 30, tzinfo=UTC)
    status = evaluate_all([slo], store, now).statuses[0]
    total = served_since_start[0] + served_since_start[1]
    assert status.requests["calendar-week"] == total
    assert status.period_sli == pytest.approx(1 - served_since_start[1] / total, rel=1e-12)
    # the same traffic in a UTC week: still the previous week, all 2.5 h of it
    utc_status = evaluate_all([_slo("web", CalendarUnit.WEEK, "UTC")], store, now).statuses[0]
    assert utc_status.requests["calendar-week"] == generator.ok + generator.failed


def test_cli_report_of_the_berlin_month_from_prometheus(stack: Stack, tmp_path: Path) -> None:
    spec = tmp_path / "checkout.yaml"
    spec.write_text(
        "apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: checkout\nslos:\n"
        "  - name: availability\n    objective: 99\n    window: 30d\n    sli:\n"
        f"      ratio: {{total: '{REQUESTS}{{{SERVICE_LABEL}=\"checkout\"}}', "
        f'bad: \'{REQUESTS}{{{SERVICE_LABEL}="checkout",{CODE_LABEL}=~"5.."}}\'}}\n'
    )
    config = tmp_path / "meshwatch.yaml"
    config.write_text(
        f"database_url: sqlite:///{tmp_path / 'cli.db'}\nspecs: [checkout.yaml]\n"
        f"prometheus_url: {stack.prometheus.url}\n"
    )
    at = datetime.fromtimestamp(stack.history.end_ts, UTC)
    reports = {}
    for time_zone in (BERLIN, "UTC"):
        args = ["report", "--period", "calendar-month", "--at", at.isoformat()]
        args += ["--format", "json", "--config", str(config), "--time-zone", time_zone]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        start, end = calendar_bounds("month", zone(time_zone), at, back=1)
        assert (report["start"], report["end"]) == (
            start.isoformat().replace("+00:00", "Z"),
            end.isoformat().replace("+00:00", "Z"),
        )
        errors, total = stack.history.counts("checkout", start, end)
        assert report["slos"][0]["requests"] == pytest.approx(total, rel=1e-3)
        assert report["slos"][0]["errors"] == pytest.approx(errors, rel=1e-3)
        reports[time_zone] = report["slos"][0]
    # the incident (Berlin's first hour of the month, UTC's last of the month before)
    assert reports["UTC"]["errors"] > reports[BERLIN]["errors"] + 1000
    bad = CliRunner().invoke(app, [*args[:-1], "Europe/Berln"])
    assert bad.exit_code == 2 and "unknown time zone" in bad.output
