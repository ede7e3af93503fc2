"""`scrape_parse`: meshwatch's exposition parser vs `prometheus_client.parser` on one big text.

The text imitates what the embedded scraper reads from a busy node: Envoy's
`/stats/prometheus` (hundreds of clusters, each with dozens of unrelated counters and gauges,
per-code request counters and three histograms) plus an Istio sidecar's standard metrics
(`istio_requests_total` and three histograms with Istio's ~20 labels per series).

value    = exposition samples (all of them, wanted or not) per second of
           `parse_wanted(text, families one SLO set needs)`;
baseline = the same sample count per second of
           `prometheus_client.parser.text_string_to_metric_families(text)`, consumed fully.
Both read the identical text in the same run; ratio = value / baseline.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

from benchmarks.result import Result, best_of

ENVOY_BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000)
ENVOY_BUCKETS += (60000, 300000, 600000, 1800000, 3600000)
# A selection of Envoy's per-cluster stats that no SLO reads (the real list is longer).
UNRELATED_CLUSTER_STATS = tuple(
    f"envoy_cluster_{stat}"
    for stat in [
        "assignment_stale",
        "assignment_timeout_received",
        "bind_errors",
        "circuit_breakers_default_cx_open",
        "circuit_breakers_default_cx_pool_open",
        "circuit_breakers_default_rq_open",
        "circuit_breakers_default_rq_pending_open",
        "circuit_breakers_default_rq_retry_open",
        "default_total_match_count",
        "external_upstream_rq_completed",
        "lb_healthy_panic",
        "lb_local_cluster_not_ok",
        "lb_recalculate_zone_structures",
        "lb_subsets_active",
        "lb_subsets_created",
        "lb_subsets_fallback",
        "lb_subsets_removed",
        "lb_subsets_selected",
        "lb_zone_cluster_too_small",
        "lb_zone_no_capacity_left",
        "lb_zone_number_differs",
        "lb_zone_routing_all_directly",
        "lb_zone_routing_cross_zone",
        "lb_zone_routing_sampled",
        "max_host_weight",
        "membership_change",
        "membership_degraded",
        "membership_excluded",
        "membership_healthy",
        "membership_total",
        "original_dst_host_invalid",
        "retry_or_shadow_abandoned",
        "update_attempt",
        "update_empty",
        "update_failure",
        "update_no_rebuild",
        "update_success",
        "upstream_cx_active",
        "upstream_cx_close_notify",
        "upstream_cx_connect_attempts_exceeded",
        "upstream_cx_connect_fail",
        "upstream_cx_connect_timeout",
        "upstream_cx_destroy",
        "upstream_cx_destroy_local",
        "upstream_cx_destroy_remote",
        "upstream_cx_http1_total",
        "upstream_cx_http2_total",
        "upstream_cx_idle_timeout",
        "upstream_cx_none_healthy",
        "upstream_cx_overflow",
        "upstream_cx_pool_overflow",
        "upstream_cx_protocol_error",
        "upstream_cx_rx_bytes_buffered",
        "upstream_cx_rx_bytes_total",
        "upstream_cx_total",
        "upstream_cx_tx_bytes_buffered",
        "upstream_cx_tx_bytes_total",
        "upstream_rq_active",
        "upstream_rq_cancelled",
        "upstream_rq_completed",
        "upstream_rq_maintenance_mode",
        "upstream_rq_pending_active",
        "upstream_rq_pending_overflow",
        "upstream_rq_pending_total",
        "upstream_rq_per_try_timeout",
        "upstream_rq_retry",
        "upstream_rq_retry_overflow",
        "upstream_rq_retry_success",
        "upstream_rq_rx_reset",
        "upstream_rq_timeout",
        "upstream_rq_total",
        "upstream_rq_tx_reset",
        "version",
    ]
)
ENVOY_CODES = ("200", "201", "404", "503", "504")
ISTIO_CODES = ("200", "404", "500", "503")

# The families an SLO set over this node needs: Istio availability + latency for every
# service, Envoy availability + latency per cluster (what `mesh: istio` / `mesh: envoy` expand to).
WANTED = (
    "istio_requests_total",
    "istio_request_duration_milliseconds_bucket",
    "istio_request_duration_milliseconds_count",
    "envoy_cluster_upstream_rq",
    "envoy_cluster_upstream_rq_time_bucket",
    "envoy_cluster_upstream_rq_time_count",
)


def envoy_istio_exposition(clusters: int = 1200, pairs: int = 60, seed: int = 7) -> str:
    """A Prometheus text exposition like an Istio ingress/sidecar's merged `/stats/prometheus`."""
    rng = random.Random(seed)
    lines: list[str] = []
    names = [
        f"outbound|8080|v{i % 3}|svc-{i}.ns-{i % 17}.svc.cluster.local" for i in range(clusters)
    ]
    for stat in UNRELATED_CLUSTER_STATS:
        kind = "gauge" if stat.endswith(("active", "buffered", "healthy", "total")) else "counter"
        lines.append(f"# TYPE {stat} {kind}")
        lines.extend(f'{stat}{{envoy_cluster_name="{n}"}} {rng.randrange(10**6)}' for n in names)
    lines.append("# TYPE envoy_cluster_upstream_rq counter")
    for n in names:
        lines.extend(
            f'envoy_cluster_upstream_rq{{envoy_response_code="{c}",envoy_cluster_name="{n}"}} '
            f"{rng.randrange(10**7)}"
            for c in ENVOY_CODES
        )
    lines.append("# TYPE envoy_cluster_upstream_rq_xx counter")
    for n in names:
        lines.extend(
            f'envoy_cluster_upstream_rq_xx{{envoy_response_code_class="{c}",envoy_cluster_name="{n}"}}'
            f" {rng.randrange(10**7)}"
            for c in "245"
        )
    for hist in ("upstream_rq_time", "upstream_cx_connect_ms", "upstream_cx_length_ms"):
        family = f"envoy_cluster_{hist}"
        lines.append(f"# TYPE {family} histogram")
        for n in names:
            lines.extend(_histogram(family, f'envoy_cluster_name="{n}"', ENVOY_BUCKETS, rng))
    lines.extend(_istio(pairs, rng))
    return "\n".join(lines) + "\n"


def _cluster_name(i: int) -> str:
    return f"outbound|8080|v{i % 3}|svc-{i}.ns-{i % 17}.svc.cluster.local"


def _histogram(
    family: str, labels: str, bounds: tuple[float, ...], rng: random.Random
) -> Iterator[str]:
    count = 0
    for bound in bounds:
        count += rng.randrange(1000)
        yield f'{family}_bucket{{{labels},le="{bound:g}"}} {count}'
    yield f'{family}_bucket{{{labels},le="+Inf"}} {count}'
    yield f"{family}_sum{{{labels}}} {count * 37.5}"
    yield f"{family}_count{{{labels}}} {count}"


def _istio(pairs: int, rng: random.Random) -> Iterator[str]:
    series = []
    for i in range(pairs):
        for reporter in ("source", "destination"):
            src, dst = f"frontend-{i % 11}", f"svc-{i}"
            series.append(
                f'reporter="{reporter}",source_workload="{src}",'
                f'source_workload_namespace="ns-{i % 5}",'
                f'source_principal="spiffe://cluster.local/ns/ns-{i % 5}/sa/{src}",'
                f'source_app="{src}",source_version="v1",source_cluster="Kubernetes",'
                f'destination_workload="{dst}-v{i % 3}",'
                f'destination_workload_namespace="ns-{i % 17}",'
                f'destination_principal="spiffe://cluster.local/ns/ns-{i % 17}/sa/{dst}",'
                f'destination_app="{dst}",destination_version="v{i % 3}",'
                f'destination_service="{dst}.ns-{i % 17}.svc.cluster.local",'
                f'destination_service_name="{dst}",'
                f'destination_service_namespace="ns-{i % 17}",destination_cluster="Kubernetes",'
                f'request_protocol="http",grpc_response_status="",response_flags="-",'
                f'connection_security_policy="mutual_tls"'
            )
    yield "# HELP istio_requests_total Total requests."
    yield "# TYPE istio_requests_total counter"
    for s in series:
        for code in ISTIO_CODES:
            yield f'istio_requests_total{{response_code="{code}",{s}}} {rng.randrange(10**6)}'
    for family in (
        "istio_request_duration_milliseconds",
        "istio_request_bytes",
        "istio_response_bytes",
    ):
        yield f"# TYPE {family} histogram"
        for s in series:
            for code in ISTIO_CODES:
                yield from _histogram(family, f'response_code="{code}",{s}', ENVOY_BUCKETS, rng)


def count_samples(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _observe_seconds(text: str, slos: int = 1000) -> tuple[float, float]:
    """(first, steady) seconds of `ScrapeStore.observe` for `slos` Envoy ratio + latency SLIs."""
    from datetime import UTC, datetime, timedelta

    from meshwatch.collectors.exposition import parse_wanted
    from meshwatch.collectors.scrape_store import ScrapeStore
    from meshwatch.model import LatencySLI, Matcher, RatioSLI, Selector

    store = ScrapeStore()
    for i in range(slos):
        cluster = Matcher("envoy_cluster_name", "=", _cluster_name(i))
        total = Selector("envoy_cluster_upstream_rq", (cluster,))
        bad = total.with_matchers(Matcher("envoy_response_code", "=~", "5.."))
        store.track_sli(RatioSLI(total=total, bad=bad))
        store.track_sli(LatencySLI("envoy_cluster_upstream_rq_time", 250.0, (cluster,)))
    samples = parse_wanted(text, store.wanted)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    seconds = []
    for step in range(3):
        began = time.perf_counter()
        store.observe("envoy", samples, start + timedelta(seconds=step))
        seconds.append(time.perf_counter() - began)
    return seconds[0], min(seconds[1:])


def run() -> Result:
    from prometheus_client.parser import text_string_to_metric_families

    from meshwatch.collectors.exposition import parse_wanted

    text = envoy_istio_exposition()
    total = count_samples(text)
    wanted = len(parse_wanted(text, WANTED))

    def baseline() -> None:
        for family in text_string_to_metric_families(text):
            for _ in family.samples:
                pass

    started = time.perf_counter()
    first_observe, steady_observe = _observe_seconds(text)
    ours = best_of(lambda: parse_wanted(text, WANTED), repeat=3)
    theirs = best_of(baseline, repeat=2)
    return Result(
        name="scrape_parse",
        value=total / ours,
        unit="samples/s",
        baseline_name="prometheus_client.parser.text_string_to_metric_families",
        baseline_value=total / theirs,
        higher_is_better=True,
        params={
            "exposition_samples": total,
            "exposition_bytes": len(text.encode()),
            "wanted_families": list(WANTED),
            "wanted_samples": wanted,
            "value_counts": "all exposition samples / parse time (same text for both)",
            "timing": "best of 3 (meshwatch) and of 2 (baseline, ~10 s a run)",
            "meshwatch_seconds": round(ours, 4),
            "baseline_seconds": round(theirs, 4),
            "store_observe_seconds_1000_envoy_slos": {
                "first_scrape": round(first_observe, 3),
                "steady": round(steady_observe, 3),
            },
            "wall_seconds": round(time.perf_counter() - started, 1),
        },
    )
