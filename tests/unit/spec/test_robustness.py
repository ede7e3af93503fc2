"""Any damage to a valid spec gives SpecError with located problems, never another exception."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.errors import SpecError
from meshwatch.spec import load_text

EXAMPLES = Path(__file__).resolve().parents[3] / "rules" / "slos"
STREAMS = [list(yaml.safe_load_all(p.read_text())) for p in sorted(EXAMPLES.glob("*.yaml"))]

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["{{.window}}", "1h", "calendar-week", "x{a=", "0.999", "istio", "v1"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["name", "kind", "x"]), st.integers(), max_size=2),
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replace(node[path[0]], path[1:], value)
    return copy


@given(data=st.data())
def test_damaged_specs_fail_with_spec_error_only(data: st.DataObject) -> None:
    stream = data.draw(st.sampled_from(STREAMS))
    index = data.draw(st.integers(0, len(stream) - 1))
    path = data.draw(st.sampled_from(_paths(stream[index])[1:]))
    damaged = list(stream)
    damaged[index] = _replace(stream[index], path, data.draw(junk))
    text = yaml.safe_dump_all(damaged, sort_keys=False)
    try:
        load_text(text, "damaged.yaml")
    except SpecError as exc:
        assert exc.problems
        assert all(p.file == "damaged.yaml" and p.line >= 1 for p in exc.problems)
