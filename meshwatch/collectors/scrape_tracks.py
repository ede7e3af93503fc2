"""The scrape store's bookkeeping: tracks (followed selectors), targets and their series."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from meshwatch.collectors.exposition import Labels
from meshwatch.collectors.scrape_history import CounterHistory, Tier
from meshwatch.model import Selector

LE = "le"
_ALL = ""  # group key of an ungrouped track


def le_key(value: str | float) -> str | None:
    """Canonical spelling of a bucket bound, so `0.3`, `0.30` and `3e-1` are one bucket."""
    try:
        return repr(float(value))
    except ValueError:
        return None


@dataclass(slots=True)
class Track:
    selector: Selector
    group_by: str | None
    tiers: tuple[Tier, ...]
    acc: dict[str, float] = field(default_factory=dict)
    history: dict[str, CounterHistory] = field(default_factory=dict)

    def group_of(self, labels: Mapping[str, str]) -> str | None:
        if self.group_by is None:
            return _ALL
        value = labels.get(self.group_by, "")
        return le_key(value) if self.group_by == LE else value

    def add(self, group: str, delta: float) -> None:
        self.acc[group] = self.acc.get(group, 0.0) + delta

    def record(self, group: str, t: float) -> None:
        history = self.history.get(group)
        if history is None:
            history = self.history[group] = CounterHistory(self.tiers)
        history.record(t, self.acc.get(group, 0.0))

    def coverage(self, start: float, end: float) -> float:
        """Share of (start, end] (Unix seconds) since this track's oldest kept point."""
        known = [t for t in (h.oldest_time() for h in self.history.values()) if t is not None]
        if not known or end <= start:
            return 0.0
        return min(max((end - max(min(known), start)) / (end - start), 0.0), 1.0)


@dataclass(slots=True)
class MetricTracks:
    """Tracks of one metric, indexed by one equality matcher each, so a new series is only
    matched against the tracks that can match it (1,000 SLOs on one Envoy metric)."""

    by_equal: dict[tuple[str, str], list[Track]] = field(default_factory=dict)
    unindexed: list[Track] = field(default_factory=list)
    labels: set[str] = field(default_factory=set)

    def add(self, track: Track) -> None:
        equal = next((m for m in track.selector.matchers if m.op == "="), None)
        if equal is None:
            self.unindexed.append(track)
        else:
            self.by_equal.setdefault((equal.label, equal.value), []).append(track)
            self.labels.add(equal.label)

    def candidates(self, labels: Mapping[str, str]) -> list[Track]:
        found = list(self.unindexed)
        for label in self.labels:
            found.extend(self.by_equal.get((label, labels.get(label, "")), ()))
        return found


@dataclass(slots=True)
class SeriesState:
    value: float
    last_seen: float
    generation: int
    sinks: list[tuple[Track, str]]


@dataclass(slots=True)
class TargetState:
    scraped: bool = False
    series: dict[tuple[str, Labels], SeriesState] = field(default_factory=dict)
