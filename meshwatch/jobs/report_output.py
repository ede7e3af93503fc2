"""What a report run leaves behind: a file of its own, and the body sent to webhook targets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from meshwatch.render.reports import Report

EXTENSIONS: Mapping[str, str] = {"html": "html", "md": "md", "json": "json", "csv": "csv"}


def report_filename(
    period: str, fmt: str, end: datetime, name: str | None = None, copy: int = 1
) -> str:
    """`<name>-<period>-<end>.<ext>`; the `copy`-th report of the same name gets `-<copy>`."""
    suffix = "" if copy == 1 else f"-{copy}"
    # An explicit period `START/END` holds `/` and `:`; keep file names portable.
    label = period.replace("/", "_").replace(":", "").replace("-", "") if "/" in period else period
    return f"{name or 'slo-report'}-{label}-{end:%Y%m%dT%H%MZ}{suffix}.{EXTENSIONS[fmt]}"


def write_new_report(folder: Path, content: str, name_of: Callable[[int], str]) -> Path:
    """Write `content` to a file that did not exist (`name_of(1)`, else `name_of(2)`, ...).

    Two runs ending in the same minute used to share one file, so an older run served the
    newer one's content; the exclusive create makes every run keep its own file.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(1, 10_000):
        path = folder / name_of(copy)
        try:
            with path.open("x", encoding="utf-8") as out:
                out.write(content)
        except FileExistsError:
            continue
        return path
    raise OSError(f"more than 10,000 reports named like {name_of(1)} in {folder}")


def webhook_body(
    webhook_format: str, name: str, report: Report, fmt: str, content: str, uri: str
) -> dict[str, object]:
    """The notification of one report: Slack `text`, or the generic `kind: report` body."""
    summary = (
        f"{report.title}: {report.mesh.by_state.get('breached', 0)} of "
        f"{report.mesh.slos} SLOs breached"
    )
    if webhook_format == "slack":
        return {"text": f"{summary} ({uri})"}
    return {
        "kind": "report",
        "name": name,
        "period": report.period,
        "format": fmt,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "summary": summary,
        "uri": uri,
        "content": content,
    }
