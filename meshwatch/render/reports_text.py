"""The report as JSON (the documented schema), Markdown and CSV (one row per SLO).

Deterministic: the same report renders to the same bytes (no timestamps of rendering).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence

from meshwatch.render import units
from meshwatch.render.reports import Bucket, Report, SLOReport, Summary


def pct(value: float | None, decimals: int = 2) -> str:
    """A ratio as a percentage (`0.9995` -> `99.95%`); an em dash when unknown."""
    return "—" if value is None else f"{value * 100:.{decimals}f}%"


def count(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def minutes(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} min"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def coverage(slo: SLOReport, report: Report) -> str:
    """`data covers 0.3% of the period (32 min of 7.0 d)`, with the low-coverage warning
    and the gaps, as every format says it."""
    length = (report.end - report.start).total_seconds() / 60.0
    text = (
        f"data covers {pct(slo.coverage, 1)} of the period "
        f"({units.span(slo.covered_minutes)} of {units.span(length)})"
    )
    if slo.low_coverage:
        text += (
            f"; LOW COVERAGE: these figures rest on less than {pct(report.min_coverage, 0)} "
            "of the period"
        )
    if slo.gaps:
        longest = max(g.end - g.start for g in slo.gaps)
        text += (
            f"; {len(slo.gaps)} gap{'s' if len(slo.gaps) > 1 else ''} without data "
            f"(longest {units.span(longest)}), not filled in"
        )
    return text


def requests_total(summary: Summary) -> str:
    """Distinct requests of a roll-up; `≥ n` when it is a lower bound."""
    text = count(summary.requests)
    return text if summary.requests_exact or summary.requests is None else f"≥ {text}"


def when(bucket: Bucket) -> str:
    return f"{bucket.start:%Y-%m-%d %H:%M}–{bucket.end:%H:%M}"


def to_json(report: Report) -> str:
    return report.model_dump_json(indent=2) + "\n"


CSV_COLUMNS = (
    "slo_id",
    "service",
    "slo",
    "objective_percent",
    "state",
    "achieved_sli",
    "requests",
    "errors",
    "budget_consumed_ratio",
    "budget_remaining_ratio",
    "budget_total_minutes",
    "budget_consumed_minutes",
    "budget_remaining_minutes",
    "budget_total_requests",
    "budget_consumed_requests",
    "budget_remaining_requests",
    "coverage",
    "worst_window_start",
    "worst_window_burn_rate",
    "alerts",
    "actions",
    "period_start",
    "period_end",
    "covered_minutes",
    "low_coverage",
    "gaps",
)


def _cell(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def to_csv(report: Report) -> str:
    """One row per SLO; empty cells are unknown. Numbers unformatted, for spreadsheets."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for slo in report.slos:
        budget = slo.budget
        worst = slo.worst_windows[0] if slo.worst_windows else None
        row: Sequence[float | str | None] = (
            slo.slo_id,
            slo.service,
            slo.name,
            slo.objective,
            slo.state,
            slo.achieved_sli,
            slo.requests,
            slo.errors,
            budget.consumed_ratio if budget else None,
            budget.remaining_ratio if budget else None,
            budget.total_minutes if budget else None,
            budget.consumed_minutes if budget else None,
            budget.remaining_minutes if budget else None,
            budget.total_requests if budget else None,
            budget.consumed_requests if budget else None,
            budget.remaining_requests if budget else None,
            slo.coverage,
            worst.start.isoformat() if worst else None,
            worst.burn_rate if worst else None,
            str(len(slo.alerts)),
            str(len(slo.actions)),
            report.start.isoformat(),
            report.end.isoformat(),
            slo.covered_minutes,
            "true" if slo.low_coverage else "false",
            str(len(slo.gaps)),
        )
        writer.writerow([_cell(value) for value in row])
    return out.getvalue()


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def md(text: object) -> str:
    """Untrusted text (descriptions, alert names, API-supplied reasons) as inert Markdown.

    HTML is entity-escaped (a Markdown renderer passes raw HTML through, `<script>`
    included), the Markdown punctuation that works inside a line is backslash-escaped (no
    links, images, code, emphasis or table breaks), and line breaks become spaces so a
    value stays in its table cell.
    """
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    value = " ".join(value.splitlines())
    return _MD_SPECIAL.sub(r"\\\1", value)


def _table(columns: Sequence[str], align: str, rows: Iterable[Sequence[object]]) -> list[str]:
    """A Markdown table: one `align` letter per column, `l` left or `r` right."""
    rules = "".join("|---:" if a == "r" else "|---" for a in align)

    def line(cells: Sequence[object]) -> str:
        return f"| {' | '.join(str(cell) for cell in cells)} |"

    return [line(columns), f"{rules}|", *(line(row) for row in rows)]


def _summary_rows(summaries: Sequence[Summary]) -> list[str]:
    columns = (
        "scope",
        "SLOs",
        "breached",
        "warning",
        "unknown",
        "achieved",
        "distinct requests",
        "lowest budget left",
        "alerts",
        "actions",
    )
    rows = [
        (
            s.name,
            s.slos,
            s.by_state.get("breached", 0),
            s.by_state.get("warning", 0),
            s.by_state.get("unknown", 0),
            pct(s.achieved_sli, 3),
            requests_total(s),
            pct(s.lowest_budget_remaining, 1),
            s.alerts,
            s.actions,
        )
        for s in summaries
    ]
    return _table(columns, "lrrrrrrrrr", rows)


def _slo_section(slo: SLOReport, report: Report) -> list[str]:
    lines = [f"### {slo.slo_id} — {slo.state}", ""]
    if slo.description:
        lines += [md(slo.description), ""]
    budget = slo.budget
    counted, failed = ("slices", "bad") if slo.unit == "slices" else ("requests", "failed")
    lines += [
        f"- objective {slo.objective:g}%, achieved {pct(slo.achieved_sli, 3)} "
        f"over {count(slo.requests)} {counted} ({count(slo.errors)} {failed}); "
        f"{coverage(slo, report)}",
    ]
    if budget is not None:
        lines.append(
            f"- budget consumed {pct(budget.consumed_ratio, 1)}, remaining "
            f"{pct(budget.remaining_ratio, 1)} = {minutes(budget.remaining_minutes)} of "
            f"{minutes(budget.total_minutes)} = {count(budget.remaining_requests)} of "
            f"{count(budget.total_requests)} {failed} {counted}"
        )
    if slo.worst_windows:
        worst = [
            (when(b), count(b.requests), count(b.errors), pct(b.sli, 3), rate(b.burn_rate))
            for b in slo.worst_windows
        ]
        lines += [
            "",
            *_table(("worst windows", "requests", "failed", "SLI", "burn rate"), "lrrrr", worst),
        ]
    if slo.alerts:
        alerts = [
            (
                md(a.name),
                md(a.severity),
                md(a.status),
                f"{a.starts_at:%Y-%m-%d %H:%M}",
                a.ends_at.strftime("%Y-%m-%d %H:%M") if a.ends_at else "—",
            )
            for a in slo.alerts
        ]
        lines += ["", *_table(("alert", "severity", "status", "started", "ended"), "lllll", alerts)]
    if slo.actions:
        actions = [
            (
                f"{md(a.kind)}{' (dry run)' if a.dry_run else ''}",
                md(a.target),
                md(a.state),
                f"{a.created_at:%Y-%m-%d %H:%M}",
                md(a.reason),
            )
            for a in slo.actions
        ]
        lines += ["", *_table(("action", "target", "outcome", "at", "reason"), "lllll", actions)]
    return [*lines, ""]


def to_markdown(report: Report) -> str:
    lines = [
        f"# {report.title}",
        "",
        f"Source: {report.source}; buckets of {report.step_minutes} minutes. "
        "Ratios are request-weighted over the period; requests are counts, "
        "budgets in minutes of full outage and in failed requests.",
        "",
        "## Summary",
        "",
        *_summary_rows([report.mesh, *report.services]),
        "",
        "## SLOs",
        "",
    ]
    columns = (
        "SLO",
        "objective",
        "achieved",
        "budget consumed",
        "budget left",
        "left (min)",
        "left (requests)",
        "state",
    )
    rows = []
    for slo in report.slos:
        b = slo.budget
        low = " (low coverage)" if slo.low_coverage else ""
        rows.append(
            (
                slo.slo_id,
                f"{slo.objective:g}%",
                pct(slo.achieved_sli, 3),
                pct(b.consumed_ratio if b else None, 1),
                f"{pct(b.remaining_ratio if b else None, 1)}{low}",
                minutes(b.remaining_minutes if b else None),
                count(b.remaining_requests if b else None),
                f"**{slo.state}**",
            )
        )
    lines += [*_table(columns, "lrrrrrrl", rows), "", "## Details", ""]
    for slo in report.slos:
        lines += _slo_section(slo, report)
    return "\n".join(lines).rstrip("\n") + "\n"
