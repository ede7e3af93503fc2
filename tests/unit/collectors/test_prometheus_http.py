"""Retries, timeouts and answer parsing of the Prometheus query layer, with an injected client."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from prometheus_api_client.exceptions import PrometheusApiClientException

from meshwatch.collectors.prometheus_http import (
    PrometheusQuerier,
    RetryPolicy,
    Sample,
    parse_vector,
)
from meshwatch.errors import CollectorError


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
