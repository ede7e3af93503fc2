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
from datetime import timedelta
from pathlib import Path

from meshwatch import conventions as c
from meshwatch.model import SLO, RawSLI, format_duration
from meshwatch.render.rules import rule_files
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
    slos: Sequence[SLO], data_dir: Path, promtool: str, start: int, end: int, step: int = 10
) -> None:
    """Blocks holding the 5 m recordings the rules would have written over [start, end]
    (Unix seconds, one sample per `step`), with the same labels, so that the long-window
    rules find aligned 5 m tiles at once instead of after the next 5 m boundary. The values
    are a steady 100 requests and 1 error per 5 m (raw SLIs: an error ratio of 0.01)."""
    lines: list[str] = []
    for slo in slos:
        labels = ",".join(
            f'{k}="{v}"' for k, v in sorted({**dict(slo.labels), **_ids(slo)}.items())
        )
        series = (
            ((rule_error_ratio_5m(), 0.01),)
            if isinstance(slo.sli, RawSLI)
            else ((c.RULE_REQUESTS_INCREASE, 100.0), (c.RULE_ERRORS_INCREASE, 1.0))
        )
        for name, value in series:
            lines.extend(f"{name}{{{labels}}} {value} {ts}\n" for ts in range(start, end + 1, step))
    data_dir.mkdir(parents=True, exist_ok=True)
    source = data_dir.parent / "recorded.om"
    source.write_text("".join(lines) + "# EOF\n")
    subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
         str(source), str(data_dir)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip


def _ids(slo: SLO) -> dict[str, str]:
    return {c.LABEL_SERVICE: slo.service, c.LABEL_SLO: slo.name}


def rule_error_ratio_5m() -> str:
    return c.rule_error_ratio(format_duration(c.BASE_INTERVAL))
