"""SLOs of every SLI kind over the Istio-style series of `tests.support.backfill.LiveExporter`.

`spec_text(kind, services)` writes a native meshwatch/v1 spec (one document per service) so a
test or benchmark can load it through `meshwatch.spec` as `serve` does; `write_rules` writes
the rules `meshwatch generate rules` makes for them, optionally with the long-window groups
evaluated more often than their 5 m (so a test need not wait up to 5 min for their first
evaluation; what they compute is unchanged, only when).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from meshwatch import conventions as c
from meshwatch.engine.plan import plan_for
from meshwatch.model import SLO, RawSLI, format_duration
from meshwatch.render.rules import rule_files
from meshwatch.render.rules_common import series_labels
from tests.support.backfill import CODE_LABEL, DURATION, REQUESTS, SERVICE_LABEL

KINDS = ("ratio", "latency", "mesh", "mesh-latency", "events", "raw")
THRESHOLD_MS = 250  # a bucket bound of the exporter's histogram


def _sli(kind: str, service: str) -> str:
    sel = f'{SERVICE_LABEL}="{service}"'
    bad = f'{sel},{CODE_LABEL}=~"5.."'
    if kind == "ratio":
        return f"ratio: {{total: '{REQUESTS}{{{sel}}}', bad: '{REQUESTS}{{{bad}}}'}}"
    if kind == "latency":
        return (
            f"latency: {{histogram: {DURATION}, threshold: {THRESHOLD_MS}, selector: '{{{sel}}}'}}"
        )
    if kind == "mesh":
        return f"mesh: {{kind: istio, service: {service}}}"
    if kind == "mesh-latency":
        return f"mesh: {{kind: istio, service: {service}, latency_threshold: {THRESHOLD_MS}ms}}"
    # `sum by ()`: the loader turns plain `sum(rate|increase(counter))` templates into a
    # ratio SLI on the counters; this stays a PromQL template SLI
    total = f"sum by () (increase({REQUESTS}{{{sel}}}[{{{{.window}}}}]))"
    errors = f"sum by () (increase({REQUESTS}{{{bad}}}[{{{{.window}}}}]))"
    if kind == "events":
        return f"events: {{total_query: '{total}', bad_query: '{errors}'}}"
    if kind == "raw":
        return f"raw: {{error_ratio_query: '{errors} / {total}'}}"
    raise ValueError(f"unknown SLI kind {kind!r}")


def spec_text(kinds: Sequence[str], services: Sequence[str], window: str = "7d") -> str:
    """One `ServiceLevels` document per service, with one SLO per kind (named after it)."""
    docs = []
    for service in services:
        slos = "".join(
            f"  - name: {kind}\n    objective: 99.0\n    window: {window}\n"
            f"    sli:\n      {_sli(kind, service)}\n"
            for kind in kinds
        )
        docs.append(
            f"apiVersion: meshwatch/v1\nkind: ServiceLevels\nservice: {service}\nslos:\n{slos}"
        )
    return "---\n".join(docs)


def write_rules(
    slos: Sequence[SLO], directory: Path, long_interval: timedelta | None = None
) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in rule_files(slos).items():
        if long_interval is not None:
            text = re.sub(
                r"(?m)^(\s+interval: )5m$", rf"\g<1>{format_duration(long_interval)}", text
            )
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def backfill_recorded(
    slos: Sequence[SLO], data_dir: Path, promtool: str, end: int, step: int = 10
) -> None:
    """Blocks holding what the rules would have recorded for the 30 s up to `end` (Unix
    seconds, one sample per `step`) for every window each SLO's cycle reads, with the same
    names and labels: the state of a Prometheus that has run the rules for a while, without
    waiting for (or paying for) the long-window groups. Values are steady: 10 requests/s
    and 0.1 % errors (raw SLIs: an error ratio of 0.001). Instant queries see them for the
    5 minutes of Prometheus's lookback after `end`; the fast rules write newer ones."""
    lines: list[str] = []
    at = datetime.fromtimestamp(end, UTC)
    stamps = range(end - 30, end + 1, step)
    for slo in slos:
        labels = ",".join(f'{k}="{v}"' for k, v in series_labels(slo).items())
        for window in plan_for(slo, at).count_windows:
            w = format_duration(window)
            if isinstance(slo.sli, RawSLI):
                name = c.RULE_PERIOD_ERROR if window == slo.window.length else c.rule_error_ratio(w)
                series = [(name, 0.001)]
            else:
                requests = 10.0 * window.total_seconds()
                series = [
                    (c.rule_requests_increase(w), requests),
                    (c.rule_errors_increase(w), requests * 0.001),
                ]
            for name, value in series:
                lines.extend(f"{name}{{{labels}}} {value} {ts}\n" for ts in stamps)
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / "recorded.om"
    source.write_text("".join(lines) + "# EOF\n")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(source), str(data_dir)],
        check=True,
        capture_output=True,
        timeout=1800,
    )
