"""The fast exposition parser against `prometheus_client`'s parsers, on corners and at random."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as om_families,
)
from prometheus_client.parser import text_string_to_metric_families

from meshwatch.collectors.exposition import Sample, parse_wanted
from meshwatch.errors import ExpositionError


def _reference(text: str, wanted: set[str], *, openmetrics: bool = False) -> list[Sample]:
    parse = om_families if openmetrics else text_string_to_metric_families
    return [
        Sample(s.name, tuple(sorted(s.labels.items())), s.value, s.timestamp)
        for family in parse(text)
        for s in family.samples
        if s.name in wanted
    ]


def _normalized(samples: list[Sample]) -> list[tuple[object, ...]]:
    """Comparable form: NaN equals NaN, order-independent, timestamps as float seconds."""
    out = []
    for s in samples:
        value = "nan" if math.isnan(s.value) else s.value
        ts = None if s.timestamp is None else float(s.timestamp)
        out.append((s.name, s.labels, value, ts))
    return sorted(out, key=repr)


def test_escaped_label_values_are_unescaped() -> None:
    text = 'a_total{path="/x\\\\y\\"z\\n}",code="5,0=0 # not a comment"} 12\n'
    (sample,) = parse_wanted(text, ["a_total"])
    assert dict(sample.labels) == {"path": '/x\\y"z\n}', "code": "5,0=0 # not a comment"}


def test_only_wanted_names_are_returned_and_prefixes_do_not_match() -> None:
    text = (
        "# HELP foo Foo.\n# TYPE foo counter\nfoo 1\nfoo_total 2\nfoo_created 3\n"
        'foo{a="b"} 4\nfoo_bucket{le="1"} 5\nfoobar 6\n'
    )
    assert [s.value for s in parse_wanted(text, ["foo"])] == [1.0, 4.0]
    assert [s.value for s in parse_wanted(text, ["foo_total", "foobar"])] == [2.0, 6.0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("NaN", math.nan, id="nan"),
        pytest.param("+Inf", math.inf, id="plus-inf"),
        pytest.param("-Inf", -math.inf, id="minus-inf"),
        pytest.param("1.5e+06", 1.5e6, id="exponent"),
        pytest.param("-0", 0.0, id="negative-zero"),
    ],
)
def test_special_values(raw: str, expected: float) -> None:
    (sample,) = parse_wanted(f'm{{le="+Inf"}} {raw}\n', ["m"])
    assert sample.value == expected or (math.isnan(expected) and math.isnan(sample.value))


def test_timestamps_are_milliseconds_in_text_and_seconds_in_openmetrics() -> None:
    assert parse_wanted("m 1 1700000000123\n", ["m"])[0].timestamp == pytest.approx(1700000000.123)
    om = "# TYPE m gauge\nm 1 1700000000.5\n# EOF\n"
    assert parse_wanted(om, ["m"], openmetrics=True)[0].timestamp == 1700000000.5


def test_openmetrics_eof_exemplars_total_and_created() -> None:
    text = (
        "# TYPE req counter\n# HELP req Requests.\n"
        'req_total{code="200"} 10 # {trace_id="abc"} 1.0 1700000000.0\n'
        'req_created{code="200"} 1700000000.0\n'
        "# TYPE lat histogram\n"
        'lat_bucket{le="0.1"} 3 # {trace_id="x"} 0.05\n'
        'lat_bucket{le="+Inf"} 4\nlat_count 4\nlat_sum 1.5\n'
        "# EOF\n"
    )
    wanted = {"req_total", "lat_bucket", "lat_count"}
    ours = parse_wanted(text, wanted, openmetrics=True)
    assert _normalized(ours) == _normalized(_reference(text, wanted, openmetrics=True))
    assert parse_wanted(text + 'req_total{code="500"} 1\n', ["req_total"], openmetrics=True) == [
        Sample("req_total", (("code", "200"),), 10.0, None)
    ]


def test_bucket_lines_share_the_labels_before_le() -> None:
    text = (
        'h_bucket{svc="a",le="0.3"} 1\nh_bucket{svc="a",le="+Inf"} 2\nh_bucket{le="1",svc="b"} 3\n'
    )
    assert [s.labels for s in parse_wanted(text, ["h_bucket"])] == [
        (("le", "0.3"), ("svc", "a")),
        (("le", "+Inf"), ("svc", "a")),
        (("le", "1"), ("svc", "b")),
    ]


def test_whitespace_trailing_comma_and_empty_label_set() -> None:
    text = 'm{ a = "1" , b="2", } 3\nm{} 4\nm\t5\n'
    assert [(s.labels, s.value) for s in parse_wanted(text, ["m"])] == [
        ((("a", "1"), ("b", "2")), 3.0),
        ((), 4.0),
        ((), 5.0),
    ]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param('m{a="1"}', id="no-value"),
        pytest.param('m{a="1} 2', id="unterminated-quote"),
        pytest.param("m{a=1} 2", id="unquoted-value"),
        pytest.param('m{a="1",a="2"} 2', id="duplicate-label"),
        pytest.param('m{a="1" b="2"} 2', id="missing-comma"),
        pytest.param('m{x="1" le="2"} 2', id="missing-comma-before-le"),
        pytest.param("m twelve", id="bad-value"),
        pytest.param("m 1 soon", id="bad-timestamp"),
    ],
)
def test_malformed_wanted_lines_raise(line: str) -> None:
    with pytest.raises(ExpositionError, match="line 2"):
        parse_wanted(f"# TYPE m counter\n{line}\n", ["m"])


def test_malformed_unwanted_lines_are_not_read() -> None:
    assert parse_wanted('other{a="1} garbage\nm 1\n', ["m"]) == [Sample("m", (), 1.0, None)]


# --- random expositions against prometheus_client ------------------------------------

_label_names = st.sampled_from(["code", "le", "path", "svc", "a_b", "_x"])
_label_values = st.text(
    alphabet=st.sampled_from(list('ab\\"\n}{,= #é\t0.')), min_size=0, max_size=12
)
_values = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(float),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
)
_metric_names = st.sampled_from(
    ["req_total", "req", "lat_bucket", "lat_count", "up", "req_total_x"]
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)


@st.composite
def _expositions(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=12))):
        name = draw(_metric_names)
        labels = draw(st.dictionaries(_label_names, _label_values, max_size=4))
        body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
        ts = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=2 * 10**12)))
        line = f"{name}{{{body}}} {_format_value(draw(_values))}" if labels else ""
        line = line or f"{name} {_format_value(draw(_values))}"
        lines.append(line if ts is None else f"{line} {ts}")
        if draw(st.booleans()):
            lines.append(f"# HELP {name} Some \\\\ help \\n text.")
    return "\n".join(lines) + "\n"


@given(text=_expositions(), wanted=st.sets(_metric_names, max_size=4))
def test_random_text_expositions_match_prometheus_client(text: str, wanted: set[str]) -> None:
    assert _normalized(parse_wanted(text, wanted)) == _normalized(_reference(text, wanted))


@st.composite
def _openmetrics(draw: st.DrawFn) -> str:
    """Valid OpenMetrics: counters (`_total`, `_created`, exemplars), gauges, histograms."""
    lines = []
    names = draw(st.lists(st.sampled_from(["req", "lat", "temp", "bytes"]), unique=True))
    for family in names:
        kind = {"req": "counter", "bytes": "counter", "lat": "histogram", "temp": "gauge"}[family]
        lines.append(f"# TYPE {family} {kind}")
        if draw(st.booleans()):
            lines.append(f'# HELP {family} Help with \\\\ and \\n and \\".')
        label_sets = draw(
            st.lists(
                st.dictionaries(st.sampled_from(["code", "path"]), _label_values, max_size=2),
                max_size=3,
                unique_by=lambda d: tuple(sorted(d.items())),
            )
        )
        for labels in label_sets:
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            sep = "," if body else ""
            value = draw(st.integers(min_value=0, max_value=10**9))
            ts = draw(
                st.one_of(
                    st.none(), st.floats(min_value=0, max_value=2e9).map(lambda f: round(f, 3))
                )
            )
            suffix = "" if ts is None else f" {ts!r}"
            if kind == "counter":
                exemplar = ' # {trace_id="ab"} 0.5' if draw(st.booleans()) else ""
                lines.append(f"{family}_total{{{body}}} {value}{suffix}{exemplar}")
                if draw(st.booleans()):
                    lines.append(f"{family}_created{{{body}}} 1700000000.25{suffix}")
            elif kind == "gauge":
                lines.append(f"{family}{{{body}}} {_format_value(draw(_values))}{suffix}")
            else:
                low = draw(st.integers(min_value=0, max_value=value))
                lines.append(f'{family}_bucket{{{body}{sep}le="0.25"}} {low}{suffix}')
                lines.append(f'{family}_bucket{{{body}{sep}le="+Inf"}} {value}{suffix}')
                lines.append(f"{family}_count{{{body}}} {value}{suffix}")
                lines.append(f"{family}_sum{{{body}}} {value * 0.1}{suffix}")
    return "\n".join([*lines, "# EOF", ""])


@given(text=_openmetrics(), data=st.data())
def test_random_openmetrics_expositions_match_prometheus_client(
    text: str, data: st.DataObject
) -> None:
    names = _all_names(text)
    wanted = data.draw(st.sets(st.sampled_from(sorted(names))) if names else st.just(set()))
    ours = parse_wanted(text, wanted, openmetrics=True)
    assert _normalized(ours) == _normalized(_reference(text, wanted, openmetrics=True))


def _all_names(text: str) -> set[str]:
    return {
        line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and line[0] != "#"
    }
