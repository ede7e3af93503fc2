"""Which SLOs measure the same requests, so that roll-ups count each request once (pure).

Two SLOs on one service (availability and latency) usually measure the same request
stream; summing their throughput shows twice the traffic there is. A roll-up therefore
adds streams, not SLOs: SLOs with the same stream key are one stream (counted once), and
two different streams are added only when they are provably disjoint:

* mesh presets of the same mesh kind on different targets (different destinations);
* selectors of the same counter with an equality matcher on the same label that differs.

Anything else (different metrics, regexes, PromQL templates, two meshes) may or may not be
the same traffic: those are not added; the roll-up takes the largest of them and says it is
a lower bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import assert_never

from meshwatch.model import SLO, LatencySLI, NativeLatencySLI, QuerySLI, RatioSLI, RawSLI, Selector


@dataclass(frozen=True, slots=True)
class StreamKey:
    """What identifies the requests an SLO counts."""

    kind: str  # "mesh:<kind>", "series", "query" or "raw"
    name: str  # mesh target, counter name (histograms: `<name>_count`), template
    equal: frozenset[tuple[str, str]] = frozenset()  # label="value" matchers
    other: frozenset[tuple[str, str, str]] = frozenset()  # every other matcher


def _series(selector: Selector) -> StreamKey:
    equal = frozenset((m.label, m.value) for m in selector.matchers if m.op == "=")
    other = frozenset((m.label, m.op, m.value) for m in selector.matchers if m.op != "=")
    return StreamKey("series", selector.metric, equal, other)


def stream_key(slo: SLO) -> StreamKey:
    """The stream `slo` measures (its SLI's total events)."""
    if slo.mesh is not None:
        return StreamKey(f"mesh:{slo.mesh.kind}", slo.mesh.target)
    sli = slo.sli
    match sli:
        case RatioSLI():
            return _series(sli.total)
        case LatencySLI():
            return _series(sli.count)
        case NativeLatencySLI():  # the same requests as its classic `_count`
            return _series(Selector(f"{sli.histogram}_count", sli.matchers))
        case QuerySLI():
            return StreamKey("query", sli.total)
        case RawSLI():
            return StreamKey("raw", sli.error_ratio)
        case _:
            assert_never(sli)


def disjoint(a: StreamKey, b: StreamKey) -> bool:
    """Whether `a` and `b` provably count different requests."""
    if a == b or a.kind != b.kind or a.kind in ("query", "raw"):
        return False
    if a.kind.startswith("mesh:"):
        return a.name != b.name
    if a.name != b.name:
        return False  # two counters: maybe the same requests (a histogram and a counter)
    labels = dict(a.equal)
    return any(label in labels and labels[label] != value for label, value in b.equal)


@dataclass(frozen=True, slots=True)
class StreamTotal:
    """A roll-up of per-SLO figures (requests, requests/s) over distinct streams.

    `exact` is False when some streams could not be told apart from others: `value` is
    then a lower bound (the largest of each such group, never their sum).
    """

    value: float | None
    streams: int
    exact: bool


def distinct_total(values: Iterable[tuple[StreamKey, float | None]]) -> StreamTotal:
    """Sum over distinct streams; one figure per stream (the largest of its SLOs)."""
    by_key: dict[StreamKey, float] = {}
    for key, value in values:
        if value is not None:
            by_key[key] = max(value, by_key.get(key, value))
    keys = sorted(by_key, key=repr)
    groups = _groups(keys)
    total = sum(max(by_key[k] for k in group) for group in groups)
    exact = all(len(group) == 1 for group in groups)
    return StreamTotal(total if keys else None, len(keys), exact)


def _groups(keys: Sequence[StreamKey]) -> list[list[StreamKey]]:
    """Connected groups of streams that are not provably disjoint from each other.

    Keys of two different classes (mesh kind, counter name, template) are never disjoint,
    so with more than one class everything is one group; within one class, pairs are
    checked (mesh targets are always disjoint, counters by their equality matchers).
    """
    classes = {(k.kind, k.name if k.kind == "series" else "") for k in keys}
    if len(classes) > 1:
        return [list(keys)] if keys else []
    parent = list(range(len(keys)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            if root(i) != root(j) and not disjoint(keys[i], keys[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[StreamKey]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(root(i), []).append(key)
    return list(groups.values())
