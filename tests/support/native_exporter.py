"""An exporter of one native histogram in the protobuf exposition, and the traffic it counts.

prometheus-client (0.26 here) cannot expose native histograms in the protobuf format, the only
one Prometheus 2.42 scrapes them from (its OpenMetrics 2.0 text form is newer than 2.42), so
the test serves the protobuf itself: observations go into exponential buckets of `SCHEMA`
(placed with `meshwatch.slo.native_histogram.bucket_index`), and each scrape answers one
delimited `MetricFamily` built with meshwatch's message schema. Prometheus decodes it on its
own side: a wrong field number or span would show as a wrong SLI against the counts below.

`NativeTraffic` is the independent count: the raw latency of every observation, so a test
knows how many requests were at or under a threshold without any histogram.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from meshwatch.collectors.exposition_proto import CONTENT_TYPE, message_class
from meshwatch.slo.native_histogram import NativeHistogram, bucket_index
from tests.support.http_thread import QuietHandler, ThreadedServer

SCHEMA = 3  # client_golang's default bucket factor 1.1 picks schema 3: 8 buckets per octave
ZERO_THRESHOLD = 2.0**-128  # client_golang's default


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


@dataclass
class NativeTraffic:
    """Every latency observed, in seconds; the test's own count of fast and slow requests."""

    latencies: list[float] = field(default_factory=list)

    def at_or_under(self, threshold: float) -> int:
        return sum(1 for value in self.latencies if value <= threshold)

    def between(self, lower: float, upper: float) -> int:
        """Observations in (lower, upper]: the bucket a threshold inside it can misclassify."""
        return sum(1 for value in self.latencies if lower < value <= upper)


class NativeHistogramExporter(ThreadedServer):
    """Serves `name` as an integer native histogram at `/metrics`, in protobuf only."""

    def __init__(self, name: str, labels: dict[str, str] | None = None) -> None:
        self.name = name
        self.labels = dict(labels or {})
        self.traffic = NativeTraffic()
        self._buckets: Counter[int] = Counter()
        self._sum = 0.0
        self._lock = threading.Lock()
        self.scrapes = 0

    def observe(self, latencies: list[float]) -> None:
        with self._lock:
            for value in latencies:
                self._buckets[bucket_index(value, SCHEMA)] += 1
                self._sum += value
                self.traffic.latencies.append(value)

    def snapshot(self) -> NativeHistogram:
        """The histogram as served now, for computing what Prometheus should answer."""
        with self._lock:
            positive = tuple(sorted((i, float(c)) for i, c in self._buckets.items()))
        return NativeHistogram(SCHEMA, sum(c for _, c in positive), ZERO_THRESHOLD, 0.0, positive)

    def restart(self) -> NativeHistogram:
        """The process restarts: the histogram starts again from zero (the traffic log stays).
        Returns the histogram as it was, for the expected figures."""
        before = self.snapshot()
        with self._lock:
            self._buckets.clear()
            self._sum = 0.0
        return before

    def body(self) -> bytes:
        family = message_class("MetricFamily")(name=self.name, help="Request latency.", type=4)
        metric = family.metric.add()  # type: ignore[attr-defined]
        for key, value in sorted(self.labels.items()):
            metric.label.add(name=key, value=value)
        histogram = metric.histogram
        with self._lock:
            indexes = sorted(self._buckets)
            histogram.sample_count = sum(self._buckets.values())
            histogram.sample_sum = self._sum
            counts = [self._buckets[i] for i in indexes]
        histogram.schema = SCHEMA
        histogram.zero_threshold = ZERO_THRESHOLD
        histogram.zero_count = 0
        previous_end, previous_count = None, 0
        for index, count in zip(indexes, counts, strict=True):
            if previous_end is None or index != previous_end:
                offset = index if previous_end is None else index - previous_end
                histogram.positive_span.add(offset=offset, length=0)
            histogram.positive_span[-1].length += 1
            histogram.positive_delta.append(count - previous_count)
            previous_end, previous_count = index + 1, count
        raw = family.SerializeToString()
        return _varint(len(raw)) + raw

    def handler(self) -> type[BaseHTTPRequestHandler]:
        exporter = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                body = exporter.body()
                exporter.scrapes += 1
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


def latencies(rng: random.Random, n: int, median: float) -> list[float]:
    """`n` log-normal latencies around `median` seconds (a long right tail, like requests)."""
    return [median * rng.lognormvariate(0.0, 0.35) for _ in range(n)]
