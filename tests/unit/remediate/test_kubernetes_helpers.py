"""Target parsing, route picking and annotation keys of the Kubernetes actuators."""

from __future__ import annotations

import re

import pytest

from meshwatch.errors import ActuatorError
from meshwatch.remediate.kubernetes import annotation_key, escape, parse_target, pick

QUALIFIED_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("prod/reviews#primary", ("prod", "reviews", "primary"), id="with-route"),
        pytest.param("prod/reviews", ("prod", "reviews", ""), id="without-route"),
        pytest.param("prod/reviews#0", ("prod", "reviews", "0"), id="route-index"),
    ],
)
def test_parse_target(target: str, expected: tuple[str, str, str]) -> None:
    assert parse_target(target) == expected


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("reviews", id="no-namespace"),
        pytest.param("/reviews", id="empty-namespace"),
        pytest.param("a/b/c", id="too-many-parts"),
    ],
)
def test_parse_target_refuses(target: str) -> None:
    with pytest.raises(ActuatorError, match="must be <namespace>/<name>"):
        parse_target(target)


def test_pick_by_name_index_or_only_item() -> None:
    items = [{"name": "a"}, {"name": "b"}, {}]
    assert (pick(items, "b", "rule"), pick(items, "2", "rule"), pick([{}], "", "rule")) == (1, 2, 0)
    with pytest.raises(ActuatorError, match="3 rules: name one"):
        pick(items, "", "rule")
    with pytest.raises(ActuatorError, match="no rule 'z'"):
        pick(items, "z", "rule")


@pytest.mark.parametrize(
    "selector",
    [
        pytest.param("", id="no-selector"),
        pytest.param("primary", id="plain"),
        pytest.param("route with spaces/and:slashes", id="invalid-characters"),
        pytest.param("x" * 200, id="too-long"),
        pytest.param("-edge-", id="dash-at-ends"),
    ],
)
def test_annotation_keys_are_valid_qualified_names(selector: str) -> None:
    key = annotation_key("retries", selector)
    prefix, _, name = key.partition("/")
    assert prefix == "meshwatch.io"
    assert QUALIFIED_NAME.match(name), name


def test_long_selectors_stay_distinct() -> None:
    assert annotation_key("retries", "a" * 100) != annotation_key("retries", "a" * 101)


def test_escape_json_pointer_token() -> None:
    assert escape("retry.linkerd.io/http~x") == "retry.linkerd.io~1http~0x"
