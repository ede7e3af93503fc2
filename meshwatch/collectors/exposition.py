"""A fast parser for the Prometheus text format (0.0.4) and OpenMetrics 1.0 expositions.

The embedded scraper needs a handful of metric names out of expositions with hundreds of
thousands of samples (Envoy's `/stats/prometheus`, Istio sidecars). `prometheus_client.parser`
parses every line into objects, about 30k samples/s here. This parser never looks at a line
whose metric name is not wanted: it jumps to the wanted lines with `str.find` (a C scan over
the text), and only parses those, with one compiled regex per line.

Scope and corners handled:
* `# HELP`, `# TYPE`, `# UNIT`, any other comment, blank lines and `# EOF` are skipped;
  nothing after `# EOF` is read.
* Label values with the escapes `\\\\`, `\\"` and `\\n` (other backslashes are kept as they
  are, like `prometheus_client`); `}` `,` `=` and `#` inside values; optional spaces around
  `=`/`,` and a trailing comma.
* Values `NaN`, `+Inf`, `-Inf` and any Go/Python float; an optional timestamp (integer
  milliseconds in the text format, float seconds in OpenMetrics), and an OpenMetrics exemplar
  (`# {...} value [ts]`) after the value, which is ignored.
* Names are matched exactly as sample names: `foo_total`, `foo_bucket`, `foo_count` are
  wanted by spelling them; `foo` never matches `foo_total` or `foo_created`.

Not handled: quoted UTF-8 metric names (`{"my.metric"}`), which no mesh emits. Lines of
unwanted metrics are not validated, by design.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable
from typing import NamedTuple

from meshwatch.errors import ExpositionError

Labels = tuple[tuple[str, str], ...]
"""Label pairs sorted by name: hashable, so they identify a series."""


class Sample(NamedTuple):
    """One sample line. `timestamp` is in seconds since the epoch, `None` when absent."""

    name: str
    labels: Labels
    value: float
    timestamp: float | None


_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
# Possessive, unrolled loops: a quoted value is `"` {plain chars} ({escape} {plain chars})* `"`.
_QUOTED = r'"[^"\\\n]*+(?:\\.[^"\\\n]*+)*+"'
_LINE = re.compile(
    rf"""
    ({_NAME})                                           # 1 metric name
    (?:\{{([^"}}\n]*+(?:{_QUOTED}[^"}}\n]*+)*+)\}})?     # 2 label block (values may hold braces)
    [ \t]+(\S+)                                         # 3 value
    (?:[ \t]+([^\s\#]\S*))?                              # 4 timestamp
    (?:[ \t]+\#[^\n]*)?                                 # OpenMetrics exemplar, ignored
    [ \t\r]*(?:\n|\Z)
    """,
    re.VERBOSE,
)
_SP = r"[ \t]*+"
_PLAIN_PAIR = rf'{_SP}{_NAME}{_SP}={_SP}"[^"\\\n]*+"{_SP}'
_ESCAPED_PAIR = rf"{_SP}{_NAME}{_SP}={_SP}{_QUOTED}{_SP}"
# A whole label block: pairs separated by commas, an optional trailing comma.
_PLAIN_BLOCK = re.compile(rf"(?:{_PLAIN_PAIR},)*+(?:{_PLAIN_PAIR})?{_SP}")
_ESCAPED_BLOCK = re.compile(rf"(?:{_ESCAPED_PAIR},)*+(?:{_ESCAPED_PAIR})?{_SP}")
_PLAIN_PAIRS = re.compile(rf'({_NAME}){_SP}={_SP}"([^"\\\n]*+)"')
_ESCAPED_PAIRS = re.compile(rf"({_NAME}){_SP}={_SP}({_QUOTED})")
# `le` last, as Envoy, Istio and client libraries write buckets: `...,le="0.5"`.
_LE_LAST = re.compile(r'le[ \t]*=[ \t]*"([^"\\\n]*)"[ \t]*,?[ \t]*\Z')
_ESCAPE = re.compile(r"\\[\\n\"]")
_UNESCAPE = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
_EOF = "\n# EOF"


def parse_wanted(text: str, wanted: Iterable[str], *, openmetrics: bool = False) -> list[Sample]:
    """Samples of the metrics named in `wanted`, in the order they appear in `text`.

    `wanted` holds sample names as PromQL spells them (`istio_requests_total`,
    `envoy_cluster_upstream_rq_time_bucket`). Raises ExpositionError on a malformed wanted line.
    """
    end = _end_of_samples(text)
    starts: list[int] = []
    for name in set(wanted):
        _find_line_starts(text, name, end, starts)
    starts.sort()
    cache: dict[str, Labels] = {}
    return [_parse_line(text, start, openmetrics, cache) for start in starts]


def _end_of_samples(text: str) -> int:
    """Offset where samples stop: at `# EOF` (OpenMetrics) or the end of the text."""
    if text.startswith("# EOF"):
        return 0
    eof = text.find(_EOF)
    while eof != -1:
        after = eof + len(_EOF)
        if after == len(text) or text[after] in "\r\n":
            return eof + 1
        eof = text.find(_EOF, after)
    return len(text)


def _find_line_starts(text: str, name: str, end: int, out: list[int]) -> None:
    """Append the offset of every line in text[:end] whose metric name is exactly `name`."""
    size = len(name)
    if text.startswith(name) and text[size : size + 1] in ("{", " ", "\t"):
        out.append(0)
    find = text.find
    probe = "\n" + name
    pos = find(probe, 0, end)
    while pos != -1:
        after = pos + 1 + size
        if text[after : after + 1] in ("{", " ", "\t"):
            out.append(pos + 1)
        pos = find(probe, after, end)


def _parse_line(text: str, start: int, openmetrics: bool, cache: dict[str, Labels]) -> Sample:
    match = _LINE.match(text, start)
    if match is None:
        raise _error(text, start, "not a sample line")
    name, block, raw_value, raw_ts = match.groups()
    try:
        value = float(raw_value)
        timestamp = None
        if raw_ts is not None:
            timestamp = float(raw_ts) if openmetrics else int(raw_ts) / 1000.0
    except ValueError:
        raise _error(text, start, "bad value or timestamp") from None
    if not block:
        return Sample(name, (), value, timestamp)
    labels = cache.get(block)
    if labels is None:
        labels = _bucket_labels(block, cache) or _parse_labels(block)
        if labels is None:
            raise _error(text, start, "bad label set")
        cache[block] = labels
    return Sample(name, labels, value, timestamp)


def _bucket_labels(block: str, cache: dict[str, Labels]) -> Labels | None:
    """Labels of a histogram bucket line, parsing the labels before `le` once per series."""
    le_at = block.rfind("le")
    if le_at <= 0 or block[le_at - 1] not in ", \t":
        return None
    le = _LE_LAST.match(block, le_at)
    if le is None:
        return None
    base_block = block[:le_at]
    if not base_block.rstrip(" \t").endswith(","):
        return None
    base = cache.get(base_block)
    if base is None:
        base = _parse_labels(base_block)
        if base is None:
            return None
        cache[base_block] = base
    at = bisect.bisect_left(base, ("le", ""))
    if at < len(base) and base[at][0] == "le":
        return None
    return (*base[:at], ("le", le.group(1)), *base[at:])


def _parse_labels(block: str) -> Labels | None:
    """Sorted label pairs of a `{...}` body, or None when it is not a valid label set."""
    if "\\" in block:
        if _ESCAPED_BLOCK.fullmatch(block) is None:
            return None
        pairs = [(k, _unescape(v[1:-1])) for k, v in _ESCAPED_PAIRS.findall(block)]
    else:
        if _PLAIN_BLOCK.fullmatch(block) is None:
            return None
        pairs = _PLAIN_PAIRS.findall(block)
    if len(pairs) > 1:
        pairs.sort()
        if any(a[0] == b[0] for a, b in itertools.pairwise(pairs)):
            return None
    return tuple(pairs)


def _unescape(value: str) -> str:
    if "\\" not in value:
        return value
    return _ESCAPE.sub(lambda m: _UNESCAPE[m.group(0)], value)


def _error(text: str, start: int, what: str) -> ExpositionError:
    line_no = text.count("\n", 0, start) + 1
    end = text.find("\n", start)
    line = text[start : end if end != -1 else len(text)]
    return ExpositionError(f"exposition line {line_no}: {what}: {line[:200]!r}")
