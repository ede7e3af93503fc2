"""Increases of many selectors in few expressions: one per *family*, not one per SLO.

SLOs of one mesh or app differ only in the value of one label (`destination_service`,
`envoy_cluster_name`, `job`, ...). Selectors that share the metric, the window and every
matcher but one equality matcher on the same label (the *pivot*) are asked together:

    sum by (pivot[, le]) (increase(metric{others..., pivot=~"v1|v2|..."}[w]))

and the answer is split back by the pivot's value. Each series' `increase()` is summed
exactly as in the per-SLO `sum(increase(...))`, so the numbers are the same; only the number
of expressions changes — O(number of families) instead of O(number of SLOs). Families are
cut at `MAX_VALUES` values so no regex grows without bound.

A value absent from the answer means no series matched that selector in the window.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from meshwatch.collectors.prometheus_batch import Probe
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.model import Matcher, Selector, format_duration

MAX_VALUES = 500  # values per family expression
_REGEX_SPECIAL = frozenset("\\.+*?()|[]{}^$")


@dataclass(frozen=True, slots=True)
class Increase:
    """`sum(increase(selector[window]))`, or per bucket bound when `by_le`."""

    selector: Selector
    window: timedelta
    by_le: bool = False


Answer = float | dict[float, float] | None  # total, or le -> total; None = no series

FamilyKey = tuple[str, timedelta, bool, str, tuple[Matcher, ...]]


def regex_literal(value: str) -> str:
    """`value` as an RE2 pattern that matches exactly it."""
    return "".join(f"\\{ch}" if ch in _REGEX_SPECIAL else ch for ch in value)


def _pivots(selector: Selector) -> list[Matcher]:
    labels = Counter(m.label for m in selector.matchers)
    return [m for m in selector.matchers if m.op == "=" and labels[m.label] == 1]


def _family(wanted: Increase, pivot: Matcher) -> FamilyKey:
    others = tuple(
        sorted(
            (m for m in wanted.selector.matchers if m is not pivot),
            key=lambda m: (m.label, m.op, m.value),
        )
    )
    return (wanted.selector.metric, wanted.window, wanted.by_le, pivot.label, others)


@dataclass(slots=True)
class _Group:
    key: FamilyKey | None
    selector: Selector | None  # for a selector without any pivot: asked on its own
    window: timedelta
    by_le: bool
    values: dict[str, None]  # an ordered set: thousands of values per family


Chosen = dict[Increase, tuple[FamilyKey, str] | None]  # family and pivot value, or alone


def _groups(wanted: Sequence[Increase]) -> tuple[list[_Group], Chosen]:
    """Each distinct `Increase` in the family its pivot shares with the most others."""
    candidates = {item: [(p, _family(item, p)) for p in _pivots(item.selector)] for item in wanted}
    score: Counter[FamilyKey] = Counter(key for cands in candidates.values() for _, key in cands)
    families: dict[FamilyKey, _Group] = {}
    alone: dict[Increase, _Group] = {}
    chosen: Chosen = {}
    for item, cands in candidates.items():
        if not cands:
            alone.setdefault(item, _Group(None, item.selector, item.window, item.by_le, {}))
            chosen[item] = None
            continue
        pivot, key = max(cands, key=lambda pk: (score[pk[1]], pk[0].label))
        group = families.setdefault(key, _Group(key, None, item.window, item.by_le, {}))
        group.values[pivot.value] = None
        chosen[item] = (key, pivot.value)
    out = list(alone.values())
    for group in families.values():
        values = list(group.values)
        for start in range(0, len(values), MAX_VALUES):
            part = dict.fromkeys(values[start : start + MAX_VALUES])
            out.append(_Group(group.key, None, group.window, group.by_le, part))
    return out, chosen


def _expr(group: _Group) -> str:
    window = format_duration(group.window)
    le = ", le" if group.by_le else ""
    if group.key is None:
        assert group.selector is not None
        by = " by (le)" if group.by_le else ""
        return f"sum{by} (increase({group.selector.promql()}[{window}]))"
    metric, _, _, label, others = group.key
    if len(group.values) == 1:
        pivot = Matcher(label, "=", next(iter(group.values)))
    else:
        pivot = Matcher(label, "=~", "|".join(regex_literal(v) for v in group.values))
    selector = Selector(metric, (*others, pivot))
    return f"sum by ({label}{le}) (increase({selector.promql()}[{window}]))"


def _bound(spelled: str | None) -> float | None:
    """A bucket's `le` as a number ("+Inf" too); None when it has none or it is no number."""
    if spelled is None:
        return None
    try:
        return float(spelled)
    except ValueError:
        return None


class GroupedIncreases:
    """The probes for many `Increase`s, and their answers read back from a batch result."""

    def __init__(self, wanted: Iterable[Increase], prefix: str = "g") -> None:
        self.asked = list(wanted)  # as given, duplicates and all (what a reuse compares)
        self.wanted = list(dict.fromkeys(self.asked))
        self._groups, self._chosen = _groups(self.wanted)
        self.probes = [Probe(f"{prefix}{i}", _expr(g)) for i, g in enumerate(self._groups)]
        # each family (or lone selector) as a small number: an answer's samples are keyed by
        # it, and hashing a family's matchers for every sample cost more than the rest
        self._ids: dict[FamilyKey | Selector | None, int] = {}
        for group in self._groups:
            self._ids.setdefault(
                group.key if group.key is not None else group.selector, len(self._ids)
            )

    def answers(self, found: Mapping[str, Sequence[Sample]]) -> dict[Increase, Answer]:
        """Every wanted increase: its total (or totals by bound), None without series."""
        by_group: dict[tuple[int, timedelta, bool, str], Answer] = {}
        ids = self._ids
        bounds: dict[str | None, float | None] = {}  # each `le` spelling parsed once
        for probe, group in zip(self.probes, self._groups, strict=True):
            ident = ids[group.key if group.key is not None else group.selector]
            label = group.key[3] if group.key is not None else None
            window, by_le = group.window, group.by_le
            samples = found.get(probe.key, ())
            if not by_le:
                for sample in samples:
                    value = sample.labels.get(label, "") if label is not None else ""
                    by_group[(ident, window, False, value)] = sample.value
                continue
            last: str | None = None
            buckets: dict[float, float] = {}
            # hot loop: every bucket of every latency SLI, every cycle; Prometheus answers
            # them sorted by their labels, so one SLI's buckets come in a row
            for sample in samples:
                labels = sample.labels
                spelled = labels.get("le")
                if spelled in bounds:
                    bound = bounds[spelled]
                else:
                    bound = bounds[spelled] = _bound(spelled)
                if bound is None:  # not a bucket
                    continue
                value = labels.get(label, "") if label is not None else ""
                if value != last:
                    last = value
                    found_buckets = by_group.setdefault((ident, window, True, value), {})
                    assert isinstance(found_buckets, dict)
                    buckets = found_buckets
                count = sample.value
                buckets[bound] = 0.0 if count != count else count  # NaN: nothing counted
        result: dict[Increase, Answer] = {}
        for item in self.wanted:
            choice = self._chosen[item]
            if choice is None:
                result[item] = by_group.get((ids[item.selector], item.window, item.by_le, ""))
            else:
                result[item] = by_group.get((ids[choice[0]], item.window, item.by_le, choice[1]))
        return result
