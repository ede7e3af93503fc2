"""SLO reports: read what was measured (store or Prometheus), build, render, write, record.

`ReportBuilder.build` gathers the inputs of `meshwatch.render.reports_build.build_report`:
from stored history in ONE streamed query for every SLO (hourly buckets), plus one query each
for alerts and actions; or, with a Prometheus collector, the period's counts as one
`increase()` over the whole period at its end and one per bucket, for any past period.

`ReportRunner.run` renders a report, writes it to a folder, queues it for webhook targets
(through the notification outbox, so delivery is retried and signed like every
notification) and records the run in the store. Scheduled runs first *claim*
(report name, cron time) in the store: of two replicas firing the same schedule, one runs it.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from meshwatch.collectors.prometheus import PrometheusCollector
from meshwatch.collectors.prometheus_slices import slices_at
from meshwatch.engine.plan import THROUGHPUT_WINDOW
from meshwatch.errors import CollectorError, MeshwatchError, NoDataError
from meshwatch.jobs.report_events import actions_by_slo, alerts_by_slo
from meshwatch.jobs.report_output import report_filename, webhook_body, write_new_report
from meshwatch.model import SLO, Counts
from meshwatch.render.reports import Report, ReportFormat, ReportPeriod
from meshwatch.render.reports_build import (
    DEFAULT_MIN_COVERAGE,
    Slice,
    SLOInput,
    build_report,
    report_window,
    slices_from_statuses,
    step_for,
)
from meshwatch.render.reports_html import render_report
from meshwatch.settings import WebhookTarget
from meshwatch.slo.periods import utc
from meshwatch.slo.policy import alert_windows
from meshwatch.slo.windows import window_name
from meshwatch.store import ReportRun, ReportStatus, Store

log = logging.getLogger(__name__)

HISTORY_STEP = timedelta(hours=1)  # history is read at this resolution (1 h tier after 7 d)
_EPSILON = timedelta(microseconds=1)  # history ranges are [start, end); reports want (start, end]
EVENT_LIMIT = 10_000  # newest alerts / actions read per report

Progress = Callable[[int, int], None]
"""Called with (SLOs done, SLOs in all) while a report is built."""


class ReportError(MeshwatchError):
    """A report could not be built or written (bad period, unwritable folder, source down)."""


def _period_length(slo: SLO) -> timedelta | None:
    """The length `coverage` is a share of: a rolling period; calendar periods vary."""
    return slo.window.length if slo.window.unit is None else None


def tile_windows(slo: SLO) -> tuple[tuple[str, timedelta], ...]:
    """The windows a stored status of `slo` carries (burn-rate, throughput, rolling period)."""
    lengths = {THROUGHPUT_WINDOW}
    for window in alert_windows(slo):
        lengths.update((window.long, window.short))
    if slo.window.unit is None:
        lengths.add(slo.window.length)
    return tuple((window_name(length), length) for length in sorted(lengths))


def _by_windows(
    slos: Sequence[SLO],
) -> dict[tuple[timedelta | None, tuple[tuple[str, timedelta], ...]], list[SLO]]:
    """SLOs grouped by (period length, windows): one history query per group."""
    groups: dict[tuple[timedelta | None, tuple[tuple[str, timedelta], ...]], list[SLO]] = {}
    for slo in slos:
        groups.setdefault((_period_length(slo), tile_windows(slo)), []).append(slo)
    return groups


@dataclass
class ReportBuilder:
    """Builds reports for `slos()` from `store` (or from `prometheus` when given)."""

    store: Store
    slos: Callable[[], Sequence[SLO]]
    prometheus: PrometheusCollector | None = None
    min_coverage: float = DEFAULT_MIN_COVERAGE  # settings `min_coverage`
    time_zone: str = "UTC"  # settings `report_time_zone`: where calendar periods start

    def build(
        self,
        period: ReportPeriod,
        at: datetime,
        progress: Progress | None = None,
        *,
        time_zone: str | None = None,
    ) -> Report:
        """The report of `period` at `at`; calendar periods in `time_zone` (an IANA name,
        default the builder's `time_zone`)."""
        start, end = report_window(period, utc(at), time_zone or self.time_zone)
        slos = sorted(self.slos(), key=lambda s: s.id)
        alerts = alerts_by_slo(self.store.alerts.list_alerts(limit=EVENT_LIMIT))
        actions = actions_by_slo(self.store.actions.list_actions(limit=EVENT_LIMIT))
        if self.prometheus is not None:
            measured = self._from_prometheus(slos, period, start, end, progress)
            source = "prometheus"
        else:
            measured = self._from_history(slos, period, start, end, progress)
            source = "history"
        items = [
            SLOInput(
                slo=slo,
                slices=measured[slo.id][0],
                alerts=alerts.get(slo.id, ()),
                actions=actions.get(slo.id, ()),
                period_counts=measured[slo.id][1],
            )
            for slo in slos
        ]
        return build_report(
            items,
            period=period,
            start=start,
            end=end,
            source=source,
            min_coverage=self.min_coverage,
        )

    def _from_history(
        self,
        slos: Sequence[SLO],
        period: ReportPeriod,
        start: datetime,
        end: datetime,
        progress: Progress | None,
    ) -> dict[str, tuple[list[Slice], Counts | None]]:
        """Per SLO, one slice per report bucket, each request counted once, summed by the
        database (`StatusHistory.window_sums`, one query per distinct SLO period); an SLO
        without any of its windows in the history is read point by point and tiled here."""
        step = step_for(period)
        out: dict[str, tuple[list[Slice], Counts | None]] = {slo.id: ([], None) for slo in slos}
        done = 0
        for (length, windows), group in _by_windows(slos).items():
            sums = self.store.history.window_sums(
                start,
                end,
                slo_ids=[slo.id for slo in group],
                windows=windows,
                period=length,
                step=HISTORY_STEP,
                bucket=step,
            )
            for slo_id, items in itertools.groupby(sums, key=lambda s: s.slo_id):
                slices = []
                for item in items:
                    lo = start + step * item.bucket
                    hi = min(lo + step, end)
                    covered = min(item.covered, hi - lo)
                    slices.append(Slice(lo, hi, item.errors, item.requests, covered))
                out[slo_id] = (slices, None)
                done += 1
                if progress is not None:
                    progress(done, len(slos))
        for slo in slos:
            if not out[slo.id][0]:  # none of its windows stored: tile its points one by one
                points = self.store.history.history(
                    slo.id, start + _EPSILON, end + _EPSILON, HISTORY_STEP
                )
                slices = slices_from_statuses(
                    (p.status for p in points), start, end, _period_length(slo)
                )
                out[slo.id] = (slices, None)
        if progress is not None:
            progress(len(slos), len(slos))
        return out

    def _from_prometheus(
        self,
        slos: Sequence[SLO],
        period: ReportPeriod,
        start: datetime,
        end: datetime,
        progress: Progress | None,
    ) -> dict[str, tuple[list[Slice], Counts | None]]:
        assert self.prometheus is not None
        step = step_for(period)
        try:
            totals = self.prometheus.fetch([(s.sli, end - start) for s in slos], (), end).counts
        except CollectorError as exc:
            raise ReportError(f"Prometheus: {exc}") from exc
        slices: dict[str, list[Slice]] = {slo.id: [] for slo in slos}
        bucket_ends = []
        moment = start + step
        while moment <= end:
            bucket_ends.append(moment)
            moment += step
        for done, bucket_end in enumerate(bucket_ends, start=1):
            try:
                found = self.prometheus.fetch([(s.sli, step) for s in slos], (), bucket_end).counts
            except CollectorError as exc:
                raise ReportError(f"Prometheus: {exc}") from exc
            for slo in slos:
                value = found[slo.sli][step]
                if slo.timeslices is not None:  # counted in slices, not requests
                    value = slices_at(self.prometheus.querier, slo, (step,), bucket_end)[step]
                if isinstance(value, Counts):
                    slices[slo.id].append(
                        Slice(bucket_end - step, bucket_end, value.errors, value.total)
                    )
            if progress is not None:
                progress(done * len(slos) // len(bucket_ends), len(slos))
        out: dict[str, tuple[list[Slice], Counts | None]] = {}
        for slo in slos:
            total = totals[slo.sli][end - start]
            if slo.timeslices is not None:
                total = slices_at(self.prometheus.querier, slo, (end - start,), end)[end - start]
            counts: Counts | None = None
            if isinstance(total, Counts):
                counts = total
            elif isinstance(total, NoDataError):
                counts = Counts(0.0, 0.0)
            out[slo.id] = (slices[slo.id], counts)
        return out


@dataclass
class ReportRunner:
    """Builds, writes, delivers and records reports; shared by the API, the CLI and the jobs."""

    builder: ReportBuilder
    store: Store
    directory: Path
    clock: Callable[[], datetime]
    webhooks: Sequence[WebhookTarget] = ()

    def render(
        self,
        period: ReportPeriod,
        fmt: ReportFormat,
        at: datetime,
        progress: Progress | None = None,
        *,
        time_zone: str | None = None,
    ) -> tuple[Report, str]:
        report = self.builder.build(period, at, progress, time_zone=time_zone)
        return report, render_report(report, fmt)

    def run(
        self,
        period: ReportPeriod,
        fmt: ReportFormat,
        at: datetime | None = None,
        *,
        directory: Path | None = None,
        webhooks: Sequence[str] = (),
        name: str | None = None,
        run_id: int | None = None,
        time_zone: str | None = None,
    ) -> ReportRun:
        """Write one report and record the run (completing `run_id` when it was claimed)."""
        started = self.clock()
        at = at or started
        folder = directory or self.directory
        uri = ""
        status, error = ReportStatus.OK, ""
        try:
            report, content = self.render(period, fmt, at, time_zone=time_zone)
            path = write_new_report(
                folder,
                content,
                lambda copy: report_filename(period, fmt, report.end, name, copy),
            )
            uri = str(path)
            self._queue(name or "adhoc", report, fmt, content, uri, webhooks, started)
        except (MeshwatchError, OSError, ValueError) as exc:
            status, error = ReportStatus.FAILED, f"{type(exc).__name__}: {exc}"
            log.error("report %s (%s, %s) failed: %s", name or "adhoc", period, fmt, error)
        finished = self.clock()
        if run_id is None:
            run_id = self.store.reports.record_report_run(
                period=period,
                format=fmt,
                uri=uri,
                started=started,
                finished=finished,
                status=status,
                error=error,
            )
        else:
            self.store.reports.finish_report_run(
                run_id, finished=finished, status=status, uri=uri, error=error
            )
        run = self.store.reports.get_report_run(run_id)
        assert run is not None
        log.info("report run %s: %s %s -> %s (%s)", run_id, period, fmt, uri, status.value)
        return run

    def _queue(
        self,
        name: str,
        report: Report,
        fmt: str,
        content: str,
        uri: str,
        targets: Sequence[str],
        now: datetime,
    ) -> None:
        known = {t.name: t for t in self.webhooks}
        for target in targets:
            webhook = known.get(target)
            if webhook is None:
                log.warning("report %s: no webhook target named %s", name, target)
                continue
            body = webhook_body(webhook.format, name, report, fmt, content, uri)
            key = f"report:{name}:{report.period}:{report.end.isoformat()}:{fmt}@{target}"
            self.store.outbox.enqueue(key, target, body, now)
