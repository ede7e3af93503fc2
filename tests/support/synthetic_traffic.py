"""Synthetic mesh traffic for the series a set of SLOs reads, as Prometheus exposition text.

For every SLO (and every remediation backend) this writes the counters and histograms its SLI
selects, with label values chosen to satisfy (or, for the good part of a `bad` selector, to
violate) the SLI's matchers, plus the labels dashboards break traffic down by: versions,
source workloads, Linkerd's outbound edges. meshwatch's own route-weight gauge and action
counter are included so the mesh dashboard has data. Values grow linearly with time:
100 requests/s per series group, 2 % errors, 5 % slower than the latency threshold.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from meshwatch import conventions as c
from meshwatch.meshes import envoy, istio, linkerd
from meshwatch.model import SLI, SLO, LatencySLI, Matcher, RatioSLI, Selector

RATE = 100.0
ERROR_SHARE = 0.02
SLOW_SHARE = 0.05
MS_BUCKETS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
VERSIONS = (("v1", 0.6), ("v2", 0.4))
_CANDIDATES = ("500", "503", "200", "failure", "success", "inbound", "outbound", "destination", "x")


def _satisfying(matcher: Matcher) -> str:
    """A label value the matcher accepts ('' means: leave the label out)."""
    if matcher.op == "=":
        return matcher.value
    alternatives = [a for a in matcher.value.split("|") if a]
    for candidate in ("", *_CANDIDATES, *alternatives):
        if matcher.matches(candidate):
            return candidate
    raise ValueError(f"no sample value satisfies {matcher.promql()}")


def _violating(matcher: Matcher) -> str:
    for candidate in ("200", "success", "ok", "x", ""):
        if not matcher.matches(candidate):
            return candidate
    raise ValueError(f"no sample value violates {matcher.promql()}")


def _labels(matchers: Iterable[Matcher]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for matcher in matchers:
        value = _satisfying(matcher)
        if value:
            labels[matcher.label] = value
    return labels


@dataclass(frozen=True)
class Series:
    """One counter (or histogram bucket) growing at `rate` per second."""

    name: str
    labels: tuple[tuple[str, str], ...]
    rate: float

    def line(self, elapsed: float) -> str:
        inner = ",".join(f'{k}="{v}"' for k, v in self.labels)
        return f"{self.name}{{{inner}}} {int(self.rate * elapsed)}"


def _series(name: str, labels: Mapping[str, str], rate: float) -> Series:
    return Series(name, tuple(sorted(labels.items())), rate)


def _versioned(
    labels: dict[str, str], version_label: str | None
) -> list[tuple[dict[str, str], float]]:
    """Split a label set over two versions unless the version is already fixed."""
    if version_label is None or version_label in labels:
        return [(labels, 1.0)]
    return [({**labels, version_label: v}, share) for v, share in VERSIONS]


def _ratio(sli: RatioSLI, version_label: str | None) -> list[Series]:
    out: list[Series] = []
    if sli.bad is not None:
        extra = [m for m in sli.bad.matchers if m not in sli.total.matchers]
        bad = _labels(sli.bad.matchers)
        good = {**_labels(sli.total.matchers), **{m.label: _violating(m) for m in extra}}
        name_bad, name_good = sli.bad.metric, sli.total.metric
    else:
        assert sli.good is not None
        extra = [m for m in sli.total.matchers if m not in sli.good.matchers]
        good = _labels(sli.good.matchers)
        bad = {**_labels(sli.total.matchers)}
        for m in (m for m in sli.good.matchers if m not in sli.total.matchers):
            bad[m.label] = _violating(m)
        name_bad, name_good = sli.total.metric, sli.good.metric
    for labels, share in _versioned(good, version_label):
        out.append(_series(name_good, labels, RATE * share * (1 - ERROR_SHARE)))
    for i, (labels, share) in enumerate(_versioned(bad, version_label)):
        # the second version fails three times as often: a version worth shifting away from
        out.append(_series(name_bad, labels, RATE * share * ERROR_SHARE * (1 + 2 * i)))
    return out


def _histogram(
    name: str, matchers: Sequence[Matcher], threshold: float, version_label: str | None
) -> list[Series]:
    bounds = sorted({*MS_BUCKETS, threshold})
    out: list[Series] = []
    for labels, share in _versioned(_labels(matchers), version_label):
        total = RATE * share
        for bound in bounds:
            if bound <= threshold:
                fraction = (1 - SLOW_SHARE) * bound / threshold
            else:
                fraction = 1 - SLOW_SHARE * threshold / bound
            le = str(int(bound)) if float(bound).is_integer() else repr(float(bound))
            out.append(_series(f"{name}_bucket", {**labels, "le": le}, total * fraction))
        out.append(_series(f"{name}_bucket", {**labels, "le": "+Inf"}, total))
        out.append(_series(f"{name}_count", labels, total))
        out.append(_series(f"{name}_sum", labels, total * threshold / 2))
    return out


_MESH_HISTOGRAM = {
    istio.REQUESTS: istio.DURATION_MS,
    envoy.REQUESTS: envoy.DURATION_MS,
    linkerd.RESPONSES: linkerd.LATENCY_MS,
}


def _sli_series(sli: SLI, version_label: str | None, meshed: bool) -> list[Series]:
    if isinstance(sli, LatencySLI):
        out = _histogram(sli.histogram, sli.matchers, sli.threshold, version_label)
        counter = {v: k for k, v in _MESH_HISTOGRAM.items()}.get(sli.histogram)
        if meshed and counter is not None:
            total = Selector(counter, sli.matchers)
            bad = total.with_matchers(Matcher(_code_label(counter), "=~", "5.."))
            out += _ratio(RatioSLI(total=total, bad=bad), version_label)
        return out
    if isinstance(sli, RatioSLI):
        out = _ratio(sli, version_label)
        histogram = _MESH_HISTOGRAM.get(sli.total.metric)
        if meshed and histogram is not None:
            out += _histogram(histogram, sli.total.matchers, 250.0, version_label)
        return out
    return []  # free PromQL: nothing to synthesise


def _code_label(counter: str) -> str:
    return {istio.REQUESTS: istio.CODE, envoy.REQUESTS: envoy.CODE}.get(
        counter, linkerd.CLASSIFICATION
    )


def _with_peers(series: Series) -> Series:
    """Add the source workload Istio reports, so edges have two ends."""
    labels = dict(series.labels)
    if series.name.startswith("istio_") and istio.SOURCE_WORKLOAD not in labels:
        labels[istio.SOURCE_WORKLOAD] = "frontend"
    if series.name.startswith("istio_"):
        labels.setdefault(istio.CODE, "200")
    return _series(series.name, labels, series.rate)


def _linkerd_outbound(series: Series) -> Series | None:
    """The caller's outbound view of a Linkerd inbound series."""
    labels = dict(series.labels)
    if labels.get(linkerd.DIRECTION) != "inbound" or linkerd.DEPLOYMENT not in labels:
        return None
    labels[linkerd.DST_DEPLOYMENT] = labels[linkerd.DEPLOYMENT]
    labels[linkerd.DEPLOYMENT] = "frontend"
    labels[linkerd.DIRECTION] = "outbound"
    return _series(series.name, labels, series.rate)


def _meshwatch_own(slos: Sequence[SLO]) -> list[Series]:
    out: list[Series] = []
    for slo in slos:
        policy = slo.remediation
        if policy is None:
            continue
        for backend in policy.backends:
            labels = {c.LABEL_ROUTE: policy.target, c.LABEL_ROUTE_BACKEND: backend.name}
            out.append(_series(c.METRIC_ROUTE_WEIGHT, labels, 0.0))
        actions = {c.EXPORT_LABEL_ACTUATOR: policy.actuator, c.EXPORT_LABEL_OUTCOME: "applied"}
        out.append(_series(c.METRIC_ACTIONS, actions, 1.0))
    return out


def traffic_series(slos: Sequence[SLO]) -> list[Series]:
    """Every synthetic series for `slos`, deduplicated, in a stable order."""
    found: dict[tuple[str, tuple[tuple[str, str], ...]], Series] = {}
    for slo in slos:
        version = slo.mesh.version_label if slo.mesh is not None else None
        slis = [slo.sli, *(b.sli for b in (slo.remediation.backends if slo.remediation else ()))]
        for sli in slis:
            for series in _sli_series(sli, version, slo.mesh is not None):
                series = _with_peers(series)
                found.setdefault((series.name, series.labels), series)
                outbound = _linkerd_outbound(series)
                if outbound is not None:
                    found.setdefault((outbound.name, outbound.labels), outbound)
    for series in _meshwatch_own(slos):
        found.setdefault((series.name, series.labels), series)
    return sorted(found.values(), key=lambda s: (s.name, s.labels))


def exposition(series: Sequence[Series], elapsed: float) -> str:
    """Prometheus text format at `elapsed` seconds; route weights are 50 % each."""
    lines: list[str] = []
    for s in series:
        if s.name == c.METRIC_ROUTE_WEIGHT:
            inner = ",".join(f'{k}="{v}"' for k, v in s.labels)
            lines.append(f"{s.name}{{{inner}}} 50")
        else:
            lines.append(s.line(elapsed))
    return "\n".join(lines) + "\n"


def check_names(series: Sequence[Series]) -> None:
    """Fail early on label names Prometheus would reject."""
    for s in series:
        for key, _ in s.labels:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                raise ValueError(f"bad label name {key!r} in {s.name}")
