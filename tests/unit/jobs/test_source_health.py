"""Short reasons for a source that cannot be read (values in, text out; no I/O)."""

from __future__ import annotations

import socket

import pytest

from meshwatch.engine.runtime import Runtime
from meshwatch.errors import CollectorError
from meshwatch.jobs.source_health import (
    MAX_DETAIL,
    describe_failure,
    describe_scrape_failures,
    public_url,
)


def _wrapped(inner: BaseException, text: str) -> CollectorError:
    """A CollectorError raised from an HTTP-client error raised from `inner`, as in life."""

    class ClientError(Exception):
        pass

    try:
        try:
            raise inner
        except BaseException as exc:
            raise ClientError(text) from exc
    except ClientError as client:
        error = CollectorError(f"Prometheus unavailable after 3 attempts: {client}")
        error.__cause__ = client
        return error


LONG = "HTTPConnectionPool(host='127.0.0.1', port=1): Max retries exceeded with url: " + (
    "/api/v1/query?query=%7B__name__%3D~%22meshwatch%3Asli_errors%3Aincrease.%2B" * 8
)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        pytest.param(
            _wrapped(ConnectionRefusedError(111, "Connection refused"), LONG),
            "prometheus unreachable: connection refused (http://127.0.0.1:1)",
            id="refused-from-the-chain",
        ),
        pytest.param(
            _wrapped(TimeoutError("timed out"), "Read timed out. (read timeout=5)"),
            "prometheus unreachable: timed out (http://127.0.0.1:1)",
            id="timeout",
        ),
        pytest.param(
            _wrapped(socket.gaierror(-2, "Name or service not known"), LONG),
            "prometheus unreachable: name not resolved (http://127.0.0.1:1)",
            id="dns",
        ),
        pytest.param(
            CollectorError(
                "Prometheus unavailable after 3 attempts: 503 Server Error; "
                "HTTP Status Code 503 (b'overloaded')"
            ),
            "prometheus failed: HTTP 503 (http://127.0.0.1:1)",
            id="http-status",
        ),
        pytest.param(
            CollectorError("malformed sample " + "x" * 500),
            f"prometheus failed: {'malformed sample ' + 'x' * (MAX_DETAIL - 18)}… "
            "(http://127.0.0.1:1)",
            id="unknown-kind-is-clipped",
        ),
    ],
)
def test_prometheus_failures_are_short(error: CollectorError, expected: str) -> None:
    reason = describe_failure("prometheus", "http://127.0.0.1:1", error)
    assert reason == expected
    assert len(reason) < 200


def test_credentials_never_reach_the_reason() -> None:
    assert public_url("https://user:secret@prom.example:9443/prom/?x=1#y") == (
        "https://prom.example:9443/prom"
    )


def test_scrape_failures_name_each_target() -> None:
    reason = describe_scrape_failures(
        [
            (
                "envoy",
                "http://127.0.0.1:9901/stats/prometheus",
                "ConnectError: [Errno 111] Connection refused",
            ),
            ("app", "http://127.0.0.1:8081/metrics", "HTTP 500"),
        ]
    )
    assert reason == (
        "scrape targets unreachable: app: HTTP 500 (http://127.0.0.1:8081/metrics); "
        "envoy: connection refused (http://127.0.0.1:9901/stats/prometheus)"
    )


def test_runtime_counts_a_blind_cycle_and_forgets_it_on_recovery() -> None:
    runtime = Runtime()
    runtime.set_source_problem("prometheus", "prometheus unreachable: connection refused (x)")
    runtime.set_source_problem("prometheus", "prometheus unreachable: connection refused (x)")
    assert runtime.blind() == ["prometheus unreachable: connection refused (x)"]
    assert runtime.collector_up == {"prometheus": False}
    assert runtime.collector_errors == {"prometheus": 2.0}
    runtime.set_source_problem("prometheus", None)
    assert runtime.blind() == []
    assert runtime.collector_up == {"prometheus": True}
    assert runtime.collector_errors == {"prometheus": 2.0}  # a counter: never goes down
