"""The load's fast paths give what the general path gives (issue 15: fast where users feel it)."""

from __future__ import annotations

import promql_parser as pp
import pytest
import yaml

from meshwatch.errors import PromQLError
from meshwatch.model import Matcher, Selector
from meshwatch.promql import expr
from meshwatch.spec.promql import parse_selector
from meshwatch.spec.source import _Builder, _compose, parse_stream


def test_mapping_values_are_typed_as_build_types_them() -> None:
    text = "a: 1\nb: '1'\nc: yes\nd: ~\ne: 1.5\nf: !!str 2\ng: |\n  x\nh: [1, '2']\ni: {j: 0x1f}\n"
    (root,) = [node for node in _compose(text, "f.yaml", []) if node is not None]
    assert isinstance(root, yaml.MappingNode)
    fast = _Builder("f.yaml", merges=False).build(root)
    general = _Builder("f.yaml", merges=False)
    one_by_one = {key.value: general.build(value) for key, value in root.value}
    assert fast == one_by_one
    assert [type(v) for v in fast.values()] == [type(v) for v in one_by_one.values()]
    assert fast == {
        "a": 1, "b": "1", "c": True, "d": None, "e": 1.5, "f": "2", "g": "x\n",
        "h": [1, "2"], "i": {"j": 31},
    }  # fmt: skip


SELECTORS = [
    'http_requests_total{job="api",code=~"5.."}',
    'http_requests_total{job="api",handler="/a"}',
    'other_total{job="api",code!~"4..",x!="y"}',
]


def _read(text: str) -> Selector | None:
    return expr.selector(pp.parse(text))


def test_remembered_matchers_and_metrics_give_the_same_selectors() -> None:
    expr.clear_caches()
    first = [_read(text) for text in SELECTORS]
    again = [_read(text) for text in SELECTORS]  # every metric and matcher remembered now
    expr.clear_caches()
    fresh = [_read(text) for text in SELECTORS]
    assert first == again == fresh
    assert first[0] == Selector(
        "http_requests_total", (Matcher("job", "=", "api"), Matcher("code", "=~", "5.."))
    )
    assert again[0] is not None and again[1] is not None
    assert again[0].matchers[0] is again[1].matchers[0]  # one object for one matcher


def test_what_is_outside_the_subset_stays_outside_when_remembered() -> None:
    expr.clear_caches()
    assert _read('x{job="a"}') is not None
    assert _read('{"utf8.name"="a"}') is None  # a quoted label name is not remembered
    assert _read('{"utf8.name"="a"}') is None
    with pytest.raises(PromQLError, match="invalid regular expression"):
        _read('x{a=~"(?<n>a)"}')  # Rust accepts it, Python's re does not
    with pytest.raises(PromQLError, match="invalid regular expression"):
        _read('x{a=~"(?<n>a)"}')  # still refused: refusals are not remembered


def test_cache_clear_forgets_selectors_down_to_their_matchers() -> None:
    parse_selector('http_requests_total{job="cleared"}')
    assert ("job", int(pp.MatchOp.Equal), "cleared") in expr._MATCHERS  # type: ignore[call-overload]
    parse_selector.cache_clear()  # type: ignore[attr-defined]
    assert not expr._MATCHERS
    assert not expr._METRICS


def test_the_sli_kind_is_the_one_set_as_the_comprehension_found_it() -> None:
    from itertools import product

    from meshwatch.spec.native import models as native
    from meshwatch.spec.native.sli import _SLI_KINDS, _kind

    values = {
        "ratio": native.RatioSpec(total="a", bad="b"),
        "latency": native.LatencySpec(histogram="h", threshold=1),
        "events": native.EventsSpec(total_query="t"),
        "raw": native.RawSpec(error_ratio_query="r"),
        "mesh": native.MeshSpec(kind="istio", service="s"),
    }
    for chosen in product((False, True), repeat=len(_SLI_KINDS)):
        spec = native.SLISpec(
            **{k: values[k] for k, on in zip(_SLI_KINDS, chosen, strict=True) if on}
        )
        found = [name for name in _SLI_KINDS if getattr(spec, name) is not None]
        assert _kind(spec) == (found[0] if len(found) == 1 else None)


def test_a_remembered_valid_name_is_still_valid_and_invalid_ones_are_still_reported() -> None:
    from meshwatch.spec.checks import _VALID_NAMES, check_name
    from meshwatch.spec.problems import Problems

    (doc,), _ = parse_stream("name: x\n", "f.yaml")
    problems = Problems()
    _VALID_NAMES.clear()
    assert check_name("availability", doc, ("name",), problems)
    assert check_name("availability", doc, ("name",), problems)  # remembered
    for _ in range(2):
        assert not check_name("-bad", doc, ("name",), problems)
        assert not check_name("x" * 101, doc, ("name",), problems)
    assert problems.error_count == 4
    assert "-bad" not in _VALID_NAMES


def test_remembered_default_alerting_and_quiet_slos_match_the_checks() -> None:
    from meshwatch.model import Window
    from meshwatch.spec import load_text
    from meshwatch.spec.checks import parse_window
    from meshwatch.spec.native import models as native
    from meshwatch.spec.native.policy import _default_alerting, alerting_from_spec
    from meshwatch.spec.problems import Problems

    (doc,), _ = parse_stream("a: 1\n", "f.yaml")
    window = parse_window("28d")
    spec = native.AlertingSpec()
    first = alerting_from_spec(spec, window, doc, ("alerting",), Problems())
    again = alerting_from_spec(spec, window, doc, ("alerting",), Problems())
    other = alerting_from_spec(spec, Window.rolling(window.length), doc, (), Problems())
    assert first is again == _default_alerting(window)
    assert other == first  # an equal window that is another object: the same value
    text = """apiVersion: meshwatch/v1
kind: ServiceLevels
service: s
slos:
{slos}"""
    one = "  - {{name: n{i}, objective: {o}, sli: {{mesh: {{kind: istio, service: s}}}}}}\n"
    objectives = [99.9, 99.9999, 99.9, 0.5, 99.9999, 0.5, 99.9, 90, 90]
    slos = "".join(one.format(i=i, o=o) for i, o in enumerate(objectives))
    warned = [
        (p.line, p.field) for p in load_text(text.format(slos=slos), "f.yaml").warnings
    ]  # as before the memo: each repeated objective is warned about every time
    assert warned == [(6, "slos[1].objective"), (8, "slos[3].objective"),
                      (9, "slos[4].objective"), (10, "slos[5].objective"),
                      (12, "slos[7].alerting"), (13, "slos[8].alerting")]  # fmt: skip
