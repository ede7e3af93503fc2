"""`prometheus_timeout`: the bound of every Prometheus query `serve` and reports make.

A real Prometheus sits behind a proxy on 127.0.0.1 that holds each request before forwarding
it (tests.support.slow_proxy), standing in for a recorded query over many SLOs that takes
long to answer (10,000 SLOs: ~25 MB in ~30 s). The querier is built exactly as `serve`
builds it (`meshwatch.service.prometheus_querier`) from settings loaded from a file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meshwatch.errors import CollectorError
from meshwatch.service import prometheus_querier
from meshwatch.settings import load_settings
from tests.support.binaries import require_binary
from tests.support.prometheus_run import PrometheusProcess, prometheus_config
from tests.support.slow_proxy import SlowProxy

pytestmark = pytest.mark.integration

OLD_FIXED_TIMEOUT = 5.0  # seconds: what serve used before the setting existed


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusProcess]:
    binary = require_binary("prometheus", "/usr/bin/prometheus")
    prom = PrometheusProcess(
        binary, tmp_path_factory.mktemp("prometheus"), config=prometheus_config(scrape_targets=[])
    )
    with prom:
        yield prom


def _settings(tmp_path: Path, url: str, timeout: str) -> Path:
    config = tmp_path / "meshwatch.yaml"
    config.write_text(f"prometheus_url: {url}\nprometheus_timeout: {timeout}\n")
    return config


def test_a_query_slower_than_five_seconds_is_answered_with_a_longer_timeout(
    tmp_path: Path, prometheus: PrometheusProcess
) -> None:
    delay = OLD_FIXED_TIMEOUT + 1.0
    proxy = SlowProxy(prometheus.url, delay=delay).start()
    try:
        settings = load_settings(_settings(tmp_path, proxy.url, "30s"), environ={})
        assert settings.prometheus_timeout.total_seconds() == 30.0
        querier = prometheus_querier(settings, proxy.url)
        started = time.monotonic()
        samples = querier.instant("vector(7)")
        assert [s.value for s in samples] == [7.0]
        assert time.monotonic() - started >= delay  # it really waited past the old 5 s
        assert querier.queries == 1  # one attempt: nothing timed out and was retried
    finally:
        proxy.stop()


def test_a_short_timeout_abandons_a_slow_query(
    tmp_path: Path, prometheus: PrometheusProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    delay = 60.0  # never answered within the test
    proxy = SlowProxy(prometheus.url, delay=delay).start()
    try:
        monkeypatch.setenv("MESHWATCH_PROMETHEUS_TIMEOUT", "1s")  # the environment wins
        settings = load_settings(_settings(tmp_path, proxy.url, "1m"))
        assert settings.prometheus_timeout.total_seconds() == 1.0
        querier = prometheus_querier(settings, proxy.url)
        assert querier.policy.timeout == 1.0
        started = time.monotonic()
        with pytest.raises(CollectorError, match="Prometheus unavailable after 3 attempts"):
            querier.instant("vector(7)")
        elapsed = time.monotonic() - started
        # Three attempts of 1 s with at most 0.2 + 0.4 s of backoff between them: far under
        # the proxy's delay, so no attempt waited for an answer (the bound held each time).
        assert elapsed < delay / 4, elapsed
        assert querier.queries == 3
        assert len(proxy.started) == 3
    finally:
        proxy.stop()
