"""`compact_json`, the store's JSON writer: orjson where it answers what the standard library
would, the standard library (strict) everywhere else."""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.model import SLOStatus, State
from meshwatch.store.codec import status_row
from meshwatch.store.engine import compact_json, strict_json

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = finite | st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


def _strict(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


@given(values)
def test_reads_back_as_what_the_standard_library_writes(value: Any) -> None:
    """Same values back, floats exactly (shortest round-tripping form on both paths)."""
    assert json.loads(compact_json(value)) == json.loads(_strict(value))


def test_a_status_row_map_is_compact_and_exact() -> None:
    windows = {
        "sli": {"5m": 0.999, "30d": 1 - 1e-05},
        "burn_rate": {"5m": 0.09999999999999991, "1h": "Infinity"},
        "latency": {"p99": 1e16},
        "requests": {"5m": 12345.0},
    }
    text = compact_json(windows)
    assert " " not in text
    assert json.loads(text) == windows


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"sli": {"5m": math.nan}}, id="nan"),
        pytest.param([1.0, math.inf], id="inf"),
        pytest.param({"a": [{"b": -math.inf}]}, id="nested-negative-inf"),
        pytest.param({"a": None, "b": math.nan}, id="nan-beside-a-null"),
    ],
)
def test_nan_and_infinities_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="Out of range float"):
        compact_json(value)


class Colour(enum.StrEnum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({1: "a", None: "b", 2.5: "c"}, id="non-string-keys"),
        pytest.param({"c": Colour.RED, "l": Level.HIGH}, id="str-and-int-enums"),
        pytest.param(2**80, id="big-int"),
        pytest.param({"none": None, "ratio": 0.5}, id="a-null"),
    ],
)
def test_where_orjson_would_differ_the_standard_library_writes(value: Any) -> None:
    assert compact_json(value) == _strict(value)


def test_text_is_utf_8_and_reads_back_the_same() -> None:
    value = {"reason": "é \u2028 \x00 \U0001f525"}
    assert json.loads(compact_json(value)) == value


def test_what_the_standard_library_refuses_is_still_refused() -> None:
    with pytest.raises(TypeError):
        compact_json({"at": datetime(2026, 12, 2, tzinfo=UTC)})


@given(values)
def test_strict_json_reads_back_as_compact_json_does(value: Any) -> None:
    """What is strict already (no NaN or infinity) comes back the same from either writer."""
    assert json.loads(strict_json(value)) == json.loads(compact_json(value))


def test_a_status_row_with_unknown_windows_is_written_by_orjson_and_reads_back() -> None:
    """Unknown windows (`null`) are the common case of a quiet service, every cycle."""
    status = SLOStatus(
        slo_id="shop-availability",
        service="shop",
        slo="availability",
        at=datetime(2026, 12, 4, tzinfo=UTC),
        state=State.UNKNOWN,
        reason="no traffic in 5m",
        objective=0.999,
        sli={"5m": None, "1h": 0.5, "30d": math.nan},
        burn_rate={"5m": None, "1h": math.inf},
        requests={"5m": 0.0, "1h": 2},
    )
    text = status_row(status, strict_json)[-1]
    assert " " not in text
    assert json.loads(text) == json.loads(status_row(status, compact_json)[-1])
    assert json.loads(text)["sli"] == {"5m": None, "1h": 0.5, "30d": None}
    assert json.loads(text)["burn_rate"] == {"5m": None, "1h": "Infinity"}
