"""Retries, timeouts and answer parsing of the Prometheus query layer, with an injected client."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from meshwatch.collectors.prometheus_http import (
    PrometheusQuerier,
    RetryPolicy,
    Sample,
    connect,
    parse_vector,
)
from meshwatch.errors import CollectorError
from tests.support.http_thread import QuietHandler, serve_in_thread, stop_server


class ScriptedClient:
    """Answers `custom_query` from a script: an exception is raised, anything else returned."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict[str, Any], float | None]] = []

    def custom_query(
        self, query: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> Any:
        self.calls.append((query, dict(params or {}), timeout))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def _querier(client: ScriptedClient, sleeps: list[float], **policy: float) -> PrometheusQuerier:
    return PrometheusQuerier(
        client,
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=sleeps.append,
        rng=random.Random(7),
    )


def test_nan_and_empty_are_different_answers() -> None:
    assert parse_vector([]) == []
    (sample,) = parse_vector([{"metric": {"a": "b"}, "value": [1.0, "NaN"]}])
    assert sample.labels == {"a": "b"}
    assert math.isnan(sample.value)
    assert parse_vector([{"metric": {}, "value": [1.0, "+Inf"]}]) == [Sample({}, math.inf)]


@pytest.mark.parametrize(
    "result",
    [
        pytest.param([1.0, "3"], id="scalar"),
        pytest.param({"resultType": "matrix"}, id="not-a-list"),
        pytest.param([{"metric": {}, "values": [[1, "2"]]}], id="range-sample"),
        pytest.param([{"metric": {}, "value": [1.0, "many"]}], id="non-numeric"),
    ],
)
def test_garbage_is_a_collector_error(result: object) -> None:
    with pytest.raises(CollectorError):
        parse_vector(result)


def test_transient_failures_are_retried_with_bounded_jittered_backoff() -> None:
    client = ScriptedClient(
        requests.ConnectionError("refused"),
        requests.Timeout("slow"),
        PrometheusApiClientException("HTTP Status Code 503 (b'unavailable')"),
        [{"metric": {}, "value": [1.0, "5"]}],
    )
    sleeps: list[float] = []
    querier = _querier(client, sleeps, attempts=4, base_delay=0.1, max_delay=0.15)

    assert querier.instant("up") == [Sample({}, 5.0)]
    assert querier.queries == 4
    assert len(sleeps) == 3
    caps = [0.1, 0.15, 0.15]  # base x 2^n, capped at max_delay
    assert all(0.0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) == 3  # jittered, not a fixed schedule


def test_exhausted_retries_raise_collector_error() -> None:
    client = ScriptedClient(*(requests.ConnectionError("refused") for _ in range(3)))
    sleeps: list[float] = []

    with pytest.raises(CollectorError, match="unavailable after 3 attempts"):
        _querier(client, sleeps, attempts=3).instant("up")
    assert len(client.calls) == 3


@pytest.mark.parametrize(
    "status", [pytest.param(400, id="bad-query"), pytest.param(422, id="cannot-execute")]
)
def test_rejected_queries_are_not_retried(status: int) -> None:
    client = ScriptedClient(PrometheusApiClientException(f"HTTP Status Code {status} (b'x')"))

    with pytest.raises(CollectorError, match="rejected"):
        _querier(client, []).instant("sum(")
    assert len(client.calls) == 1


def test_timeout_and_time_are_sent() -> None:
    client = ScriptedClient([])
    at = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

    _querier(client, [], timeout=2.5).instant("up", at)

    query, params, timeout = client.calls[0]
    assert query == "up"
    assert params == {"timeout": "2.5s", "time": f"{at.timestamp():.3f}"}
    assert timeout == 2.5


class _Answers(QuietHandler):
    """Answers every query with the class's (status, body); records the form it was sent."""

    status = 200
    body = b""
    forms: ClassVar[list[dict[str, list[str]]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.forms.append(
            parse_qs(urlsplit(self.path).query + "&" + self.rfile.read(length).decode())
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@contextmanager
def _prometheus(status: int, body: bytes) -> Iterator[tuple[PrometheusQuerier, type[_Answers]]]:
    handler = type("Answers", (_Answers,), {"status": status, "body": body, "forms": []})
    server = serve_in_thread(handler)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        yield PrometheusQuerier(connect(url), policy=RetryPolicy(attempts=1, timeout=5.0)), handler
    finally:
        stop_server(server)


def test_answers_are_decoded_over_real_http() -> None:
    """`connect()`'s client hands the querier the undecoded answer, which is decoded into
    typed elements (msgspec): the same samples as the JSON says, NaN kept."""
    result = [
        {"metric": {"__name__": "up", "job": "a"}, "value": [1.5, "1"]},
        {"metric": {"job": "b"}, "value": [1.5, "NaN"]},
        {"metric": {"job": "é"}, "value": [1.5, "+Inf"]},
    ]
    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}})
    with _prometheus(200, body.encode()) as (querier, handler):
        samples = querier.instant('up{job="a"}', datetime(2026, 11, 1, tzinfo=UTC))

    assert [s.labels for s in samples] == [r["metric"] for r in result]
    assert samples[0].value == 1.0 and math.isnan(samples[1].value)
    assert samples[2].value == math.inf
    (form,) = handler.forms
    assert form["query"] == ['up{job="a"}'] and form["timeout"] == ["5s"]


def test_a_rejected_query_over_real_http_is_not_retried() -> None:
    body = b'{"status":"error","errorType":"bad_data","error":"parse error"}'
    rejected = pytest.raises(CollectorError, match="rejected the query: HTTP Status Code 400")
    with _prometheus(400, body) as (querier, handler), rejected:
        querier.instant("sum(")
    assert len(handler.forms) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>proxy error</html>", id="not-json"),
        pytest.param(b'{"status":"success"}', id="no-data"),
        pytest.param(b"[1, 2]", id="not-an-object"),
    ],
)
def test_a_garbage_answer_over_real_http_is_a_collector_error(body: bytes) -> None:
    with _prometheus(200, body) as (querier, _), pytest.raises(CollectorError, match="garbage"):
        querier.instant("up")


@pytest.mark.parametrize(
    ("result_type", "result", "message"),
    [
        pytest.param("scalar", [1.5, "1"], "instant vector", id="scalar"),
        pytest.param("vector", [{"metric": {}, "value": [1.5]}], "malformed sample", id="short"),
        pytest.param("vector", [{"metric": {"a": 1}, "value": [1.5, "1"]}], "malformed", id="int"),
        pytest.param(
            "vector", [{"metric": {}, "value": [1.5, "x"]}], "malformed", id="not-a-number"
        ),
    ],
)
def test_a_wrong_shape_over_real_http_is_a_collector_error(
    result_type: str, result: object, message: str
) -> None:
    data = {"resultType": result_type, "result": result}
    body = json.dumps({"status": "success", "data": data}).encode()
    with _prometheus(200, body) as (querier, _), pytest.raises(CollectorError, match=message):
        querier.instant("up")
