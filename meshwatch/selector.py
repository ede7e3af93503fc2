"""PromQL label matchers and counter selectors, as the model and every renderer use them.

Re-exported from `meshwatch.model`. Nothing here does I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """One PromQL label matcher, e.g. `code=~"5.."`."""

    label: str
    op: MatchOp
    value: str

    def promql(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, value: str) -> bool:
        """Whether a label value (empty string when the label is absent) matches, PromQL-style."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        full = re.fullmatch(self.value, value) is not None
        return full if self.op == "=~" else not full


@dataclass(frozen=True, slots=True)
class Selector:
    """A PromQL instant-vector selector of a counter: a metric name and label matchers."""

    metric: str
    matchers: tuple[Matcher, ...] = ()
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        # kept once worked out: a cycle hashes each latency SLI's bucket selector several
        # times (batched increases are keyed by it), and each hash walks every matcher
        cached = self._hash
        if not cached:
            cached = hash((self.metric, self.matchers))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __reduce__(self) -> tuple[type[Selector], tuple[str, tuple[Matcher, ...]]]:
        # pickled without the cached hash: string hashes differ from process to process
        return Selector, (self.metric, self.matchers)

    def promql(self, extra: tuple[Matcher, ...] = ()) -> str:
        parts = [m.promql() for m in (*self.matchers, *extra)]
        return f"{self.metric}{{{','.join(parts)}}}" if parts else self.metric

    def with_matchers(self, *extra: Matcher) -> Selector:
        return Selector(self.metric, (*self.matchers, *extra))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.label, "")) for m in self.matchers)
