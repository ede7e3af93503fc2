"""The YAML writer: whatever it writes, PyYAML reads back unchanged; styles are readable."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.render.yaml_text import dump, scalar

keys = st.text(min_size=1, max_size=12)
scalars = st.one_of(
    st.text(max_size=80),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
)
documents = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=20,
)


@given(st.dictionaries(keys, documents, max_size=5))
def test_round_trip(document: dict[str, Any]) -> None:
    assert yaml.safe_load(dump(document)) == (document or {})


@pytest.mark.parametrize(
    ("value", "written"),
    [
        pytest.param("checkout", "checkout", id="word"),
        pytest.param(
            "meshwatch:sli_error:ratio_rate5m", "meshwatch:sli_error:ratio_rate5m", id="rule"
        ),
        pytest.param("5m", "5m", id="duration"),
        pytest.param("yes", '"yes"', id="yaml11-bool"),
        pytest.param("0.999", '"0.999"', id="number"),
        pytest.param("1:30", '"1:30"', id="sexagesimal"),
        pytest.param("a b", '"a b"', id="space"),
        pytest.param("", '""', id="empty"),
        pytest.param("A:", '"A:"', id="trailing-colon"),
    ],
)
def test_scalar_style(value: str, written: str) -> None:
    assert scalar(value) == written
    assert yaml.safe_load(f"k: {written}") == {"k": value}


def test_promql_is_a_literal_block() -> None:
    expr = 'sum(increase(http_requests_total{job="api",code=~"5.."}[5m])) or vector(0)'
    text = dump({"groups": [{"name": "g", "rules": [{"record": "r", "expr": expr}]}]})
    assert text == (
        f"groups:\n  - name: g\n    rules:\n      - record: r\n        expr: |-\n          {expr}\n"
    )


def test_header_comes_first() -> None:
    assert dump({"a": 1}, "# DO NOT EDIT.") == "# DO NOT EDIT.\na: 1\n"
