"""Typed Prometheus rules: what the rule builders return and `rules` writes.

Frozen values, so a rule handed to a test, a benchmark or the writer cannot be changed on the
way. `document()` is the rule as the file holds it: the keys in Prometheus' documented order
(`record`/`alert`, `expr`, `for`, `labels`, `annotations`; a key that is not set is left out),
the form `yaml_text.dump` writes byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meshwatch.render.yaml_text import Value


@dataclass(frozen=True, slots=True)
class RecordingRule:
    """`record: name` - a series recorded from `expr`, with `labels` set on it."""

    record: str
    expr: str
    labels: Mapping[str, str]

    def document(self) -> dict[str, Value]:
        return {"record": self.record, "expr": self.expr, "labels": self.labels}


@dataclass(frozen=True, slots=True)
class AlertingRule:
    """`alert: name` - fires while `expr` has a result (for `for_`, when set)."""

    alert: str
    expr: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    for_: str | None = None  # `for:` (a Python keyword)

    def document(self) -> dict[str, Value]:
        out: dict[str, Value] = {"alert": self.alert, "expr": self.expr}
        if self.for_ is not None:
            out["for"] = self.for_
        out["labels"] = self.labels
        out["annotations"] = self.annotations
        return out


Rule = RecordingRule | AlertingRule


@dataclass(frozen=True, slots=True)
class RuleGroup:
    """One rule group: evaluated together, in order, every `interval` (default: Prometheus's
    global evaluation interval when None)."""

    name: str
    rules: tuple[Rule, ...]
    interval: str | None = None

    def document(self) -> dict[str, Value]:
        out: dict[str, Value] = {"name": self.name}
        if self.interval is not None:
            out["interval"] = self.interval
        out["rules"] = [rule.document() for rule in self.rules]
        return out

    def recorded(self) -> tuple[RecordingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, RecordingRule))

    def alerts(self) -> tuple[AlertingRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, AlertingRule))
