"""The report as one self-contained HTML page: inline CSS (with a print layout) and SVG charts.

The same template renders every report; `render_report` picks the format.
"""

from __future__ import annotations

import functools

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from meshwatch.render import reports_text as text
from meshwatch.render.reports import Report, ReportFormat, SLOReport
from meshwatch.render.svg import Point, budget_chart, sli_chart


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("meshwatch.render", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=text.pct, count=text.count, minutes=text.minutes, rate=text.rate)
    env.filters["when"] = text.when
    env.filters["requests_total"] = text.requests_total
    env.globals["coverage_text"] = text.coverage
    return env


def charts(report: Report, slo: SLOReport) -> tuple[Markup, Markup]:
    """(budget burn-down, SLI vs objective) of one SLO over the report's buckets."""
    budget = [Point(b.end, b.budget_remaining) for b in slo.buckets]
    sli = [Point(b.end, b.sli) for b in slo.buckets]
    return (
        Markup(budget_chart(budget, report.start, report.end, f"{slo.slo_id}: error budget left")),
        Markup(sli_chart(sli, report.start, report.end, slo.objective / 100, f"{slo.slo_id}: SLI")),
    )


def to_html(report: Report) -> str:
    template = environment().get_template("report.html.j2")
    return template.render(
        report=report,
        summaries=[report.mesh, *report.services],
        charts={slo.slo_id: charts(report, slo) for slo in report.slos},
    )


def render_report(report: Report, fmt: ReportFormat) -> str:
    """The report in one of `html`, `md`, `json`, `csv`."""
    if fmt == "html":
        return to_html(report)
    if fmt == "md":
        return text.to_markdown(report)
    if fmt == "json":
        return text.to_json(report)
    if fmt == "csv":
        return text.to_csv(report)
    raise ValueError(f"unknown report format {fmt!r}; use html, md, json or csv")
