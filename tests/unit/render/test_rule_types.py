"""Typed rules: frozen, and written with Prometheus' keys in its documented order."""

from __future__ import annotations

import dataclasses

import pytest

from meshwatch.render import yaml_text
from meshwatch.render.rule_types import AlertingRule, RecordingRule, RuleGroup

RECORD = RecordingRule("meshwatch:x:ratio", "vector(1)", {"a": "b"})
ALERT = AlertingRule("Burn", "up == 0", {"severity": "page"}, {"summary": "s"}, for_="5m")


def test_documents_keep_prometheus_key_order_and_leave_unset_keys_out() -> None:
    assert list(RECORD.document()) == ["record", "expr", "labels"]
    assert list(ALERT.document()) == ["alert", "expr", "for", "labels", "annotations"]
    instant = dataclasses.replace(ALERT, for_=None)
    assert list(instant.document()) == ["alert", "expr", "labels", "annotations"]
    group = RuleGroup("g", (RECORD, ALERT))
    assert list(group.document()) == ["name", "rules"]
    assert list(dataclasses.replace(group, interval="5s").document()) == [
        "name",
        "interval",
        "rules",
    ]


def test_a_group_splits_its_rules_by_type_in_order() -> None:
    group = RuleGroup("g", (ALERT, RECORD, ALERT))
    assert group.recorded() == (RECORD,)
    assert group.alerts() == (ALERT, ALERT)


def test_rules_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        RECORD.expr = "vector(2)"  # type: ignore[misc]


def test_the_writer_prints_the_document() -> None:
    text = yaml_text.dump({"groups": [RuleGroup("g", (ALERT,), "1m").document()]})
    assert text == (
        "groups:\n"
        "  - name: g\n"
        "    interval: 1m\n"
        "    rules:\n"
        "      - alert: Burn\n"
        '        expr: "up == 0"\n'
        "        for: 5m\n"
        "        labels:\n"
        "          severity: page\n"
        "        annotations:\n"
        "          summary: s\n"
    )
