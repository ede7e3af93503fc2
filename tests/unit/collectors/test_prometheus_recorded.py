"""`Recorded`: the recorded-series answer indexed straight from Prometheus's decoded JSON.

The index is built from `data.result` as it is checked (no `Sample` per series first), so
these cases hold it to what `parse_vector` refuses, and `lookup_all` to `lookup`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from meshwatch import conventions as c
from meshwatch.collectors.prometheus_recorded import FRESHNESS, Recorded
from meshwatch.errors import CollectorError, NoTrafficError
from meshwatch.model import Counts

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
MAX_AGE = timedelta(minutes=3)
KEY = ("checkout", "availability")
WINDOWS = (timedelta(minutes=5), timedelta(hours=1), timedelta(days=1), timedelta(days=30))


def _series(name: str, value: str, **labels: str) -> dict[str, Any]:
    metric = {"__name__": name, c.LABEL_SERVICE: KEY[0], c.LABEL_SLO: KEY[1], **labels}
    return {"metric": metric, "value": [NOW.timestamp(), value]}


def _fresh(age_s: float, **labels: str) -> dict[str, Any]:
    metric = {c.LABEL_SERVICE: KEY[0], c.LABEL_SLO: KEY[1], c.LABEL_WINDOW: FRESHNESS, **labels}
    return {"metric": metric, "value": [NOW.timestamp(), repr(NOW.timestamp() - age_s)]}


def _answer(age_s: float = 10.0) -> list[dict[str, Any]]:
    return [
        _series("meshwatch:sli_requests:increase5m", "100"),
        _series("meshwatch:sli_errors:increase5m", "2"),
        _series("meshwatch:sli_requests:increase1h", "0"),
        _series("meshwatch:sli_errors:increase1h", "0"),
        _series("meshwatch:sli_requests:increase1d", "5000"),  # its errors series is missing
        _series("meshwatch:sli_requests:increase30d", "NaN"),
        _series("meshwatch:sli_errors:increase30d", "NaN"),
        _series("meshwatch:backend_requests:increase5m", "40", **{c.LABEL_BACKEND: "v2"}),
        _series("meshwatch:backend_errors:increase5m", "50", **{c.LABEL_BACKEND: "v2"}),
        _series("meshwatch:sli_requests:increase5m", "7", **{c.LABEL_BACKEND: "v2"}),  # ignored
        _series("up", "1"),  # not meshwatch's: ignored
        _fresh(age_s),
        _fresh(age_s, **{c.LABEL_BACKEND: "v2"}),
    ]


def test_windows_are_read_from_the_decoded_answer() -> None:
    recorded = Recorded(_answer(), NOW, MAX_AGE)
    found = recorded.lookup_all(KEY, WINDOWS)
    assert found[timedelta(minutes=5)] == Counts(errors=2.0, total=100.0)
    assert isinstance(found[timedelta(hours=1)], NoTrafficError)
    missing = found[timedelta(days=1)]
    assert isinstance(missing, CollectorError) and "no recorded error count for 1d" in str(missing)
    assert isinstance(found[timedelta(days=30)], NoTrafficError)  # NaN requests: no traffic
    assert recorded.lookup_all(KEY, (timedelta(hours=2),)) == {timedelta(hours=2): None}
    # a backend's errors above its requests are clamped to them
    backend = recorded.lookup_all(KEY, (timedelta(minutes=5),), "v2")
    assert backend == {timedelta(minutes=5): Counts(errors=40.0, total=40.0)}
    assert recorded.slo_keys() == {KEY}
    assert recorded.windows() == {"5m", "1h", "1d", "30d"}


def test_a_window_is_read_under_its_canonical_name_only() -> None:
    """The rules name a window as `format_duration` does (`1h30m`); a series named some
    other way (`90m`, `1h0m`, a suffix that is no duration) is not meshwatch's and is left
    out, whatever window it would parse to."""
    answer = [
        _series("meshwatch:sli_requests:increase1h30m", "90"),
        _series("meshwatch:sli_errors:increase1h30m", "9"),
        _series("meshwatch:sli_requests:increase90m", "1000"),
        _series("meshwatch:sli_errors:increase90m", "1000"),
        _series("meshwatch:sli_requests:increase1h0m", "1000"),
        _series("meshwatch:sli_requests:increasefoo", "1000"),
        _fresh(10.0),
    ]
    recorded = Recorded(answer, NOW, MAX_AGE)
    found = recorded.lookup_all(KEY, (timedelta(minutes=90), timedelta(hours=1)))
    assert found == {
        timedelta(minutes=90): Counts(errors=9.0, total=90.0),
        timedelta(hours=1): None,
    }
    assert recorded.windows() == {"1h30m"}


@pytest.mark.parametrize(
    ("age_s", "fresh_within"),
    [
        pytest.param(10.0, None, id="fresh"),
        pytest.param(400.0, None, id="stale"),
        pytest.param(100.0, timedelta(minutes=1), id="older-than-fresh-within"),
        pytest.param(30.0, timedelta(minutes=1), id="within-fresh-within"),
    ],
)
def test_lookup_all_answers_as_lookup_does_one_window_at_a_time(
    age_s: float, fresh_within: timedelta | None
) -> None:
    recorded = Recorded(_answer(age_s), NOW, MAX_AGE)
    for backend in ("", "v2", "v9"):
        together = recorded.lookup_all(KEY, WINDOWS, backend, fresh_within=fresh_within)
        one_by_one = {
            w: recorded.lookup(KEY, w, backend, fresh_within=fresh_within) for w in WINDOWS
        }
        assert list(together) == list(WINDOWS)
        assert {w: _same(v) for w, v in together.items()} == {
            w: _same(v) for w, v in one_by_one.items()
        }


def test_a_stale_recording_is_an_error_not_data() -> None:
    found = Recorded(_answer(age_s=400.0), NOW, MAX_AGE).lookup(KEY, timedelta(minutes=5))
    assert isinstance(found, CollectorError) and str(found).startswith("stale: ")


def _same(value: object) -> object:
    """Errors compared by type and message (two instances are never equal)."""
    if isinstance(value, Exception):
        return (type(value), str(value))
    return value


@pytest.mark.parametrize(
    "result",
    [
        pytest.param({"resultType": "scalar"}, id="not-a-list"),
        pytest.param([{"metric": {}}], id="no-value"),
        pytest.param([{"value": [1.0, "1"]}], id="no-metric"),
        pytest.param([{"metric": [], "value": [1.0, "1"]}], id="metric-not-a-mapping"),
        pytest.param([{"metric": {}, "value": "1"}], id="value-not-a-pair"),
        pytest.param([{"metric": {}, "value": [1.0]}], id="value-too-short"),
        pytest.param([{"metric": {}, "value": [1.0, "one"]}], id="value-not-a-number"),
        pytest.param(["sample"], id="item-not-a-mapping"),
    ],
)
def test_a_malformed_answer_is_a_collector_error(result: object) -> None:
    with pytest.raises(CollectorError, match=r"instant vector|malformed sample"):
        Recorded(result, NOW, MAX_AGE)


def test_no_series_at_all_is_an_empty_index() -> None:
    recorded = Recorded([], NOW, MAX_AGE)
    assert recorded.lookup(KEY, timedelta(minutes=5)) is None
    assert not recorded.has(KEY)


def _body(result: object, result_type: str = "vector") -> bytes:
    return orjson.dumps(
        {"status": "success", "data": {"resultType": result_type, "result": result}}
    )


@pytest.mark.parametrize("age_s", [10.0, 400.0])
def test_the_undecoded_answer_indexes_as_the_decoded_one(age_s: float) -> None:
    """`from_body` (what `serve` reads: the JSON bytes, decoded into typed series in one
    pass) and the decoded answer of any other client give the same index."""
    decoded = Recorded(_answer(age_s), NOW, MAX_AGE)
    undecoded = Recorded.from_body(_body(_answer(age_s)), NOW, MAX_AGE)
    assert repr(undecoded.entries) == repr(decoded.entries)  # NaN as NaN
    for backend in ("", "v2"):
        assert {w: _same(v) for w, v in undecoded.lookup_all(KEY, WINDOWS, backend).items()} == {
            w: _same(v) for w, v in decoded.lookup_all(KEY, WINDOWS, backend).items()
        }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"<html>proxy error</html>", "answered garbage", id="not-json"),
        pytest.param(b'{"status": "error"}', "answered garbage", id="no-data"),
        pytest.param(_body([1.0, "1"], "scalar"), "instant vector", id="scalar"),
        pytest.param(
            _body([{"metric": {}, "values": [[1.0, "1"]]}], "matrix"), "instant vector", id="matrix"
        ),
        pytest.param(_body([{"metric": {}}]), "malformed sample", id="no-value"),
        pytest.param(_body([{"value": [1.0, "1"]}]), "malformed sample", id="no-metric"),
        pytest.param(_body([{"metric": [], "value": [1.0, "1"]}]), "malformed", id="metric-list"),
        pytest.param(_body([{"metric": {}, "value": [1.0]}]), "malformed sample", id="short"),
        pytest.param(
            _body([{"metric": {c.LABEL_SLO: 7}, "value": [1.0, "1"]}]), "malformed", id="label-int"
        ),
        pytest.param(
            _body([{"metric": {}, "value": [1.0, "one"]}]), "malformed", id="not-a-number"
        ),
    ],
)
def test_a_malformed_undecoded_answer_is_a_collector_error(body: bytes, message: str) -> None:
    with pytest.raises(CollectorError, match=message):
        Recorded.from_body(body, NOW, MAX_AGE)
