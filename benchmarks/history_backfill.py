"""Steady-state history for `rule_eval_history`: what a rule set reads in the past, backfilled.

A rule set that has run for a whole SLO period finds, at every evaluation, the history its
expressions reach back into: `rate(x[3d])` reads three days of raw samples, `sum_over_time(
r[30d])` thirty days of a recorded series, `r offset 27d` one sample 27 days ago. A benchmark
on a fresh Prometheus finds none of it. This module works out, from the rule files alone, how
far back each metric is read (`reach_back`), and writes that much history as OpenMetrics for
`promtool tsdb create-blocks-from openmetrics`:

- raw counters (the live exporter's families, with the `job`/`instance` labels the scrape adds)
  every scrape interval, growing like the live exporter's (fractional rates, floored);
- every series a recording rule writes whose name is read in the past, every evaluation
  interval, with the labels that rule gives it, so the live evaluations continue the same
  series. Values follow the traffic (requests = rate x window, errors = their share, error
  ratios) with a small deterministic wobble so that chunks compress like real data.

Series that are only ever read at the current instant get no history: no rule reads it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TextIO

import promql_parser as pp

from meshwatch.model import parse_duration
from tests.support.backfill import ERROR_CODE, OK_CODE, REQUESTS, Traffic, labels_text

LOOKBACK = timedelta(minutes=5)  # Prometheus's default lookback delta for instant selectors


def reach_back(expr: str) -> dict[str, timedelta]:
    """How far into the past `expr`, evaluated now, reads each metric name it selects."""
    found: dict[str, timedelta] = {}

    def note(selector: pp.VectorSelector, reach: timedelta) -> None:
        name = selector.name or ""
        found[name] = max(found.get(name, timedelta(0)), reach + (selector.offset or timedelta(0)))

    def visit(node: object, base: timedelta) -> None:
        if isinstance(node, pp.VectorSelector):
            note(node, base + LOOKBACK)
        elif isinstance(node, pp.MatrixSelector):
            note(node.vector_selector, base + node.range)
        elif isinstance(node, pp.SubqueryExpr):
            visit(
                node.expr,
                base + (node.offset or timedelta(0)) + (node.range or timedelta(0)) + LOOKBACK,
            )
        elif isinstance(node, pp.BinaryExpr):
            visit(node.lhs, base)
            visit(node.rhs, base)
        elif isinstance(node, pp.Call):
            for arg in node.args:
                visit(arg, base)
        elif isinstance(node, pp.AggregateExpr):
            visit(node.expr, base)
            if node.param is not None:
                visit(node.param, base)
        elif isinstance(node, pp.ParenExpr | pp.UnaryExpr):
            visit(node.expr, base)

    visit(pp.parse(expr), timedelta(0))
    return found


def reach_of_rules(rules: Iterable[Mapping[str, object]]) -> dict[str, timedelta]:
    """`reach_back` over every rule's expression: the furthest each name is read."""
    reach: dict[str, timedelta] = {}
    for rule in rules:
        for name, back in reach_back(str(rule["expr"])).items():
            reach[name] = max(reach.get(name, timedelta(0)), back)
    return reach


@dataclass(frozen=True, slots=True)
class Recorded:
    """One series a recording rule writes: its name and the labels the rule gives it."""

    name: str
    labels: tuple[tuple[str, str], ...]
    traffic: Traffic


def recorded_series(
    rules: Iterable[Mapping[str, object]], service_label: str, traffic: Mapping[str, Traffic]
) -> list[Recorded]:
    """The series `rules` record, each tied to the traffic of the service its labels name."""
    out = []
    for rule in rules:
        if "record" not in rule:
            continue
        labels = {str(k): str(v) for k, v in dict(rule.get("labels") or {}).items()}  # type: ignore[call-overload]
        service = labels[service_label]
        out.append(Recorded(str(rule["record"]), tuple(sorted(labels.items())), traffic[service]))
    return out


def recorded_value(name: str, traffic: Traffic) -> float:
    """A plausible steady value of recorded series `name` for `traffic`."""
    window = name.rsplit(":", 1)[-1]
    for prefix in ("increase", "ratio_rate"):
        if window.startswith(prefix):
            seconds = parse_duration(window.removeprefix(prefix)).total_seconds()
            break
    else:
        return 1.0
    if "ratio" in name:
        return traffic.error_ratio
    requests = traffic.rps * seconds
    return requests * traffic.error_ratio if "error" in name else requests


def _label_text(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in pairs)


def _stamps(first: int, end: int, step: int, after: int | None) -> range:
    """`first`, `first + step`, ... up to `end`, without those at or before `after`."""
    if after is not None and after >= first:
        first += (after - first) // step * step + step
    return range(first, end + 1, step)


def write_raw(
    out: TextIO,
    traffic: Sequence[Traffic],
    *,
    end: int,
    length: timedelta,
    step: int,
    scrape_labels: Sequence[tuple[str, str]],
    after: int | None = None,
) -> int:
    """The live exporter's request counters for `length` before `end` (each counter 0 at
    `end - length`); returns samples written. With `after`, only the samples later than it:
    the counters go on from where a history ending at `after` left them."""
    family = REQUESTS.removesuffix("_total")
    out.write(f"# HELP {family} Requests (steady-state history).\n# TYPE {family} counter\n")
    origin = end - int(length.total_seconds())
    stamps = _stamps(origin, end, step, after)
    extra = _label_text(scrape_labels)
    written = 0
    for t in traffic:
        for code, share in ((OK_CODE, 1 - t.error_ratio), (ERROR_CODE, t.error_ratio)):
            labels = labels_text(t, code) + "," + extra
            per_step = t.rps * step * share
            lines = [
                f"{REQUESTS}{{{labels}}} {math.floor(per_step * ((ts - origin) // step))} {ts}\n"
                for ts in stamps
            ]
            out.writelines(lines)
            written += len(lines)
    return written


def _wobble(ts: int, seed: int) -> float:
    return 1.0 + 0.02 * math.sin(ts / 997.0 + seed)


def write_recorded(
    out: TextIO,
    series: Sequence[Recorded],
    reach: Mapping[str, timedelta],
    *,
    end: int,
    step: int,
    after: int | None = None,
) -> int:
    """History for every series in `series` whose name `reach` says is read in the past;
    with `after`, only its samples later than that."""
    written = 0
    by_name: dict[str, list[Recorded]] = {}
    for s in series:
        if s.name in reach:
            by_name.setdefault(s.name, []).append(s)
    for name in sorted(by_name):
        back = int((reach[name] + LOOKBACK).total_seconds()) // step * step
        stamps = _stamps(end - back, end, step, after)
        out.write(f"# TYPE {name} gauge\n")
        for seed, s in enumerate(by_name[name]):
            labels, base = _label_text(s.labels), recorded_value(name, s.traffic)
            out.writelines(
                f"{name}{{{labels}}} {base * _wobble(ts, seed)!r} {ts}\n" for ts in stamps
            )
            written += len(stamps)
    return written


def eof(out: TextIO) -> None:
    out.write("# EOF\n")
