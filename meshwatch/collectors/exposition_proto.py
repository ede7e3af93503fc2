"""The Prometheus protobuf exposition (`io.prometheus.client.MetricFamily`, delimited).

Native histograms are only exposed in this format (Prometheus 2.42 scrapes them from nothing
else), so the embedded scraper asks for it when an SLO needs one. The body is a sequence of
`MetricFamily` messages, each preceded by its length as a varint. The messages are decoded with
the `protobuf` package from a schema built here (field numbers of client_model's
`metrics.proto`); no generated code, and fields meshwatch does not read are skipped by protobuf.

Families become the same `Sample`s the text parser gives, so the store does not care which
format a target spoke: counters, gauges and untyped as their name; classic histograms as
`_bucket{le}` (with `+Inf`), `_count` and `_sum`; summaries as `_count` and `_sum`. A native
histogram `h` that an SLO follows becomes two synthetic counters, named with a `#` that no
metric name can hold: `native_count_name(h)` (its observations) and
`native_below_name(h, t)` (observations at or under `t`, estimated as Prometheus's
`histogram_fraction(0, t)` x count, see `meshwatch.slo.native_histogram`). For latency
percentiles, `native_bucket_name(h)` is one counter per bucket, labelled `NATIVE_BUCKET` with
its schema and index (`bucket_key`), from which `meshwatch.collectors.native_buckets` rebuilds
the histogram's increase over a window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message

from meshwatch.collectors.exposition import Labels, Sample
from meshwatch.collectors.exposition_native import (
    NATIVE_BUCKET,
    bucket_key,
    bucket_samples,
    is_native_name,
    native_below_name,
    native_bucket_name,
    native_count_name,
    native_delta,
    native_selectors,
    native_wants,
    zero_key,
)
from meshwatch.errors import ExpositionError
from meshwatch.slo.native_histogram import (
    NativeHistogram,
    deltas_to_counts,
    observations_between,
    spans_to_buckets,
)

__all__ = [  # the native names are re-exported: callers import them from here
    "CONTENT_TYPE",
    "NATIVE_BUCKET",
    "bucket_key",
    "is_native_name",
    "message_class",
    "native_below_name",
    "native_bucket_name",
    "native_count_name",
    "native_delta",
    "native_histogram",
    "native_selectors",
    "parse_wanted_proto",
    "read_delimited",
    "zero_key",
]

CONTENT_TYPE = (
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)
_PACKAGE = "io.prometheus.client"
_COUNTER, _GAUGE, _SUMMARY, _UNTYPED, _HISTOGRAM, _GAUGE_HISTOGRAM = range(6)

# (message, ((field, number, type, label, message type or ""), ...)); types and labels are
# descriptor_pb2.FieldDescriptorProto values
_F = descriptor_pb2.FieldDescriptorProto
_OPT, _REP = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_SCHEMA: tuple[tuple[str, tuple[tuple[str, int, int, int, str], ...]], ...] = (
    ("LabelPair", (("name", 1, _F.TYPE_STRING, _OPT, ""), ("value", 2, _F.TYPE_STRING, _OPT, ""))),
    ("Gauge", (("value", 1, _F.TYPE_DOUBLE, _OPT, ""),)),
    ("Counter", (("value", 1, _F.TYPE_DOUBLE, _OPT, ""),)),
    ("Untyped", (("value", 1, _F.TYPE_DOUBLE, _OPT, ""),)),
    (
        "Summary",
        (
            ("sample_count", 1, _F.TYPE_UINT64, _OPT, ""),
            ("sample_sum", 2, _F.TYPE_DOUBLE, _OPT, ""),
        ),
    ),
    (
        "Bucket",
        (
            ("cumulative_count", 1, _F.TYPE_UINT64, _OPT, ""),
            ("upper_bound", 2, _F.TYPE_DOUBLE, _OPT, ""),
            ("cumulative_count_float", 4, _F.TYPE_DOUBLE, _OPT, ""),
        ),
    ),
    (
        "BucketSpan",
        (("offset", 1, _F.TYPE_SINT32, _OPT, ""), ("length", 2, _F.TYPE_UINT32, _OPT, "")),
    ),
    (
        "Histogram",
        (
            ("sample_count", 1, _F.TYPE_UINT64, _OPT, ""),
            ("sample_sum", 2, _F.TYPE_DOUBLE, _OPT, ""),
            ("bucket", 3, _F.TYPE_MESSAGE, _REP, "Bucket"),
            ("sample_count_float", 4, _F.TYPE_DOUBLE, _OPT, ""),
            ("schema", 5, _F.TYPE_SINT32, _OPT, ""),
            ("zero_threshold", 6, _F.TYPE_DOUBLE, _OPT, ""),
            ("zero_count", 7, _F.TYPE_UINT64, _OPT, ""),
            ("zero_count_float", 8, _F.TYPE_DOUBLE, _OPT, ""),
            ("negative_span", 9, _F.TYPE_MESSAGE, _REP, "BucketSpan"),
            ("negative_delta", 10, _F.TYPE_SINT64, _REP, ""),
            ("negative_count", 11, _F.TYPE_DOUBLE, _REP, ""),
            ("positive_span", 12, _F.TYPE_MESSAGE, _REP, "BucketSpan"),
            ("positive_delta", 13, _F.TYPE_SINT64, _REP, ""),
            ("positive_count", 14, _F.TYPE_DOUBLE, _REP, ""),
        ),
    ),
    (
        "Metric",
        (
            ("label", 1, _F.TYPE_MESSAGE, _REP, "LabelPair"),
            ("gauge", 2, _F.TYPE_MESSAGE, _OPT, "Gauge"),
            ("counter", 3, _F.TYPE_MESSAGE, _OPT, "Counter"),
            ("summary", 4, _F.TYPE_MESSAGE, _OPT, "Summary"),
            ("untyped", 5, _F.TYPE_MESSAGE, _OPT, "Untyped"),
            ("timestamp_ms", 6, _F.TYPE_INT64, _OPT, ""),
            ("histogram", 7, _F.TYPE_MESSAGE, _OPT, "Histogram"),
        ),
    ),
    (
        "MetricFamily",
        (
            ("name", 1, _F.TYPE_STRING, _OPT, ""),
            ("help", 2, _F.TYPE_STRING, _OPT, ""),
            ("type", 3, _F.TYPE_INT32, _OPT, ""),  # the MetricType enum, read as its number
            ("metric", 4, _F.TYPE_MESSAGE, _REP, "Metric"),
        ),
    ),
)


@cache
def message_class(name: str) -> type[Message]:
    """The message class of `io.prometheus.client.<name>`, built once on first use."""
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(
        name="meshwatch_metrics.proto", package=_PACKAGE, syntax="proto2"
    )
    for message, fields in _SCHEMA:
        described = proto.message_type.add(name=message)
        for field, number, kind, label, of in fields:
            entry = described.field.add(name=field, number=number, type=kind, label=label)
            if of:
                entry.type_name = f".{_PACKAGE}.{of}"
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{name}"))


def read_delimited(body: bytes) -> Iterator[bytes]:
    """The messages of a varint-length-delimited stream; ExpositionError when truncated."""
    at, end = 0, len(body)
    while at < end:
        size, shift = 0, 0
        while True:
            if at >= end or shift > 63:
                raise ExpositionError("protobuf exposition: truncated length prefix")
            byte = body[at]
            at += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if at + size > end:
            raise ExpositionError("protobuf exposition: truncated message")
        yield body[at : at + size]
        at += size


def parse_wanted_proto(body: bytes, wanted: Iterable[str]) -> list[Sample]:
    """Samples of the families `wanted` needs, from a delimited protobuf exposition."""
    wanted = set(wanted)
    natives = native_wants(wanted)
    family_class = message_class("MetricFamily")
    samples: list[Sample] = []
    for raw in read_delimited(body):
        family: Any = family_class()
        try:
            family.ParseFromString(raw)
        except DecodeError as error:
            raise ExpositionError(f"protobuf exposition: {error}") from None
        name: str = family.name
        if name in natives:
            samples.extend(_native(family, natives[name]))
        elif any(n in wanted for n in (name, f"{name}_bucket", f"{name}_count", f"{name}_sum")):
            samples.extend(s for s in _plain(family) if s.name in wanted)
    return samples


def _labels(metric: Any) -> Labels:
    return tuple(sorted((pair.name, pair.value) for pair in metric.label))


def _timestamp(metric: Any) -> float | None:
    return metric.timestamp_ms / 1000.0 if metric.HasField("timestamp_ms") else None


def _plain(family: Any) -> Iterator[Sample]:
    """A family as the text format would have exposed it."""
    name: str = family.name
    for metric in family.metric:
        labels, ts = _labels(metric), _timestamp(metric)
        if family.type == _COUNTER:
            yield Sample(name, labels, metric.counter.value, ts)
        elif family.type == _GAUGE:
            yield Sample(name, labels, metric.gauge.value, ts)
        elif family.type == _UNTYPED:
            yield Sample(name, labels, metric.untyped.value, ts)
        elif family.type == _SUMMARY:
            yield Sample(f"{name}_count", labels, float(metric.summary.sample_count), ts)
            yield Sample(f"{name}_sum", labels, metric.summary.sample_sum, ts)
        elif family.type in (_HISTOGRAM, _GAUGE_HISTOGRAM):
            yield from _classic(name, labels, metric.histogram, ts)


def _classic(name: str, labels: Labels, histogram: Any, ts: float | None) -> Iterator[Sample]:
    count = _count(histogram)
    has_inf = False
    for bucket in histogram.bucket:
        bound = bucket.upper_bound
        has_inf = has_inf or bound == math.inf
        cumulative = bucket.cumulative_count_float or float(bucket.cumulative_count)
        yield Sample(f"{name}_bucket", _with_le(labels, bound), cumulative, ts)
    if histogram.bucket and not has_inf:
        yield Sample(f"{name}_bucket", _with_le(labels, math.inf), count, ts)
    yield Sample(f"{name}_count", labels, count, ts)
    yield Sample(f"{name}_sum", labels, histogram.sample_sum, ts)


def _with_le(labels: Labels, bound: float) -> Labels:
    le = "+Inf" if bound == math.inf else repr(bound)
    return tuple(sorted((*labels, ("le", le))))


def _count(histogram: Any) -> float:
    return float(histogram.sample_count_float or histogram.sample_count)


def _native(family: Any, thresholds: set[float]) -> Iterator[Sample]:
    """The synthetic counters of one native histogram family; classic-only metrics of that
    name (no schema, no spans, no zero bucket) have no native part and give nothing."""
    name: str = family.name
    if family.type not in (_HISTOGRAM, _GAUGE_HISTOGRAM):
        return
    for metric in family.metric:
        histogram = native_histogram(metric.histogram)
        if histogram is None:
            continue
        labels, ts = _labels(metric), _timestamp(metric)
        yield Sample(native_count_name(name), labels, histogram.count, ts)
        if any(math.isnan(t) for t in thresholds):
            yield from bucket_samples(name, labels, histogram, ts)
        for threshold in sorted(t for t in thresholds if not math.isnan(t)):
            good = observations_between(histogram, 0.0, threshold)
            yield Sample(
                native_below_name(name, threshold), labels, 0.0 if math.isnan(good) else good, ts
            )


def native_histogram(histogram: Any) -> NativeHistogram | None:
    """The native part of a protobuf `Histogram`, None when it has none.

    A histogram is native when it has spans or a zero bucket (threshold or count): client
    libraries always set a zero threshold, and Prometheus 2.42 takes an empty histogram with
    only that as native (tests/integration/test_native_histogram.py). Integer histograms
    delta-encode their bucket counts, float ones do not.
    """
    spans_pos = tuple((s.offset, s.length) for s in histogram.positive_span)
    spans_neg = tuple((s.offset, s.length) for s in histogram.negative_span)
    is_float = histogram.sample_count_float > 0 or histogram.zero_count_float > 0
    zero = histogram.zero_count_float if is_float else float(histogram.zero_count)
    if not (spans_pos or spans_neg or histogram.zero_threshold > 0 or zero > 0):
        return None
    try:
        if is_float:
            positive = spans_to_buckets(spans_pos, tuple(histogram.positive_count))
            negative = spans_to_buckets(spans_neg, tuple(histogram.negative_count))
        else:
            positive = spans_to_buckets(
                spans_pos, deltas_to_counts(tuple(histogram.positive_delta))
            )
            negative = spans_to_buckets(
                spans_neg, deltas_to_counts(tuple(histogram.negative_delta))
            )
    except ValueError as error:
        raise ExpositionError(f"protobuf exposition: native histogram: {error}") from None
    return NativeHistogram(
        schema=histogram.schema,
        count=_count(histogram),
        zero_threshold=histogram.zero_threshold,
        zero_count=zero,
        positive=positive,
        negative=negative,
    )
