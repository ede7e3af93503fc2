"""The PromQL behind every dashboard panel, as pure functions of the model.

Two kinds of query:

* recorded series (`meshwatch:*`, the rules' public contract), which work for every SLI kind
  and are filtered by `meshwatch_service` / `meshwatch_slo`, usually through the dashboard's
  template variables (`$service`, `$slo`);
* raw mesh series (Istio, Envoy, Linkerd), built from the SLO's own SLI selectors so that a
  panel shows exactly the traffic the SLO measures, broken down by response code, version or
  peer. SLIs written as free PromQL (Sloth, OpenSLO) get the recorded panels only.

`$__rate_interval` is Grafana's rate window; `$__range` is the dashboard's time range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from meshwatch import conventions as c
from meshwatch import meshes
from meshwatch.model import (
    SLO,
    LatencySLI,
    Matcher,
    MeshSource,
    NativeLatencySLI,
    QuerySLI,
    RatioSLI,
    RawSLI,
    Selector,
)
from meshwatch.render import units
from meshwatch.sli import le_matcher

RATE = "$__rate_interval"
KEYS = f"{c.LABEL_SERVICE}, {c.LABEL_SLO}"
ACTION_KEYS = f"{c.EXPORT_LABEL_ACTUATOR}, {c.EXPORT_LABEL_OUTCOME}"
PERCENTILES = (0.5, 0.9, 0.99)


def slo_filter(service: str = "$service", slo: str = "$slo", *, regex: bool = False) -> str:
    """Matchers selecting one SLO's series; `regex` for multi-value template variables."""
    op = "=~" if regex else "="
    return f'{c.LABEL_SERVICE}{op}"{service}",{c.LABEL_SLO}{op}"{slo}"'


def service_filter(service: str = "$service", *, regex: bool = False) -> str:
    op = "=~" if regex else "="
    return f'{c.LABEL_SERVICE}{op}"{service}"'


def service_slos_filter() -> str:
    """One service (a single value) and any of the `$slo` variable's values."""
    return f'{c.LABEL_SERVICE}="$service",{c.LABEL_SLO}=~"$slo"'


# --- recorded series ---------------------------------------------------------------


def recorded(name: str, matchers: str) -> str:
    return f"{name}{{{matchers}}}"


def period_sli(matchers: str) -> str:
    """SLI over the whole SLO period (ratio of good requests)."""
    return f"1 - {recorded(c.RULE_PERIOD_ERROR, matchers)}"


def window_sli(window: str, matchers: str) -> str:
    return f"1 - {recorded(c.rule_error_ratio(window), matchers)}"


def burn_rate(window: str, matchers: str) -> str:
    """Error ratio over `window` divided by the error budget (1 - objective)."""
    return (
        f"{recorded(c.rule_error_ratio(window), matchers)}"
        f" / on({KEYS}) (1 - {recorded(c.RULE_OBJECTIVE, matchers)})"
    )


def request_rate(matchers: str) -> str:
    """Requests/s over the last 5 minutes, from the rules' 5m request count."""
    seconds = int(c.BASE_INTERVAL.total_seconds())
    return f"{recorded(c.RULE_REQUESTS_INCREASE, matchers)} / {seconds}"


def alerts(matchers: str, alertname: str = f"{c.ALERT_BURN}|{c.ALERT_ABSENT}") -> str:
    """Firing meshwatch alerts, one series per SLO and severity (for annotations/counts)."""
    return f'ALERTS{{alertname=~"{alertname}",alertstate="firing",{matchers}}}'


def remediation_actions() -> str:
    """Remediation actions meshwatch recorded in the last minute (annotation source).

    The counter is labelled by actuator and outcome only, so every dashboard shows all of
    meshwatch's actions, not one service's.
    """
    return f"sum by ({ACTION_KEYS}) (increase({c.METRIC_ACTIONS}[1m])) > 0"


def slo_state(matchers: str) -> str:
    """0 ok, 1 warning (a burn alert fires), 2 breached (budget spent); no value = unknown.

    An SLO whose budget is NaN (no traffic in the period) is dropped, so the panel shows it as
    unknown instead of `ok`.
    """
    budget = f"max by ({KEYS}) ({recorded(c.RULE_BUDGET_REMAINING, matchers)})"
    firing = (
        f'max by ({KEYS}) (ALERTS{{alertname="{c.ALERT_BURN}",alertstate="firing",{matchers}}})'
    )
    none = f"0 * max by ({KEYS}) ({recorded(c.RULE_OBJECTIVE, matchers)})"
    return (
        f"clamp_max(({budget} <= bool 0) * 2 + on({KEYS}) ({firing} or on({KEYS}) {none}), 2)"
        f" unless on({KEYS}) ({budget} != {budget})"
    )


# --- raw mesh series ----------------------------------------------------------------


HTTP_OK = "[23].."
GRPC_OK = "0"


@dataclass(frozen=True, slots=True)
class RawSeries:
    """The raw series one SLO is computed from; any part may be missing (`None`)."""

    requests: Selector | None  # a counter of every request the SLI counts
    histogram: str | None  # latency histogram name without `_bucket`
    histogram_matchers: tuple[Matcher, ...]
    latency_unit: str  # Grafana unit of the histogram's bounds
    code_label: str | None
    version_label: str | None
    code_ok: str = HTTP_OK  # regex of the `code_label` values that are not errors
    native: bool = False  # `requests` and `histogram` name one native histogram


def _base_matchers(sli: RatioSLI | LatencySLI) -> tuple[Matcher, ...]:
    match sli:
        case RatioSLI():
            return sli.total.matchers
        case LatencySLI():
            return sli.matchers
        case _:
            assert_never(sli)


def histogram_unit(histogram: str) -> str:
    """Grafana unit of a histogram from its name; `none` when the name tells no unit."""
    return units.histogram_unit(histogram) or "none"


def raw_series(slo: SLO) -> RawSeries:
    """Which raw series the service dashboard can break down for `slo`."""
    sli = slo.sli
    match sli:
        case NativeLatencySLI():  # one series: its count is the requests
            unit = histogram_unit(sli.histogram)
            return RawSeries(
                sli.selector, sli.histogram, sli.matchers, unit, None, None, native=True
            )
        case RatioSLI() | LatencySLI() if slo.mesh is not None:
            return _mesh_series(slo.mesh, _base_matchers(sli))
        case LatencySLI():
            return RawSeries(
                sli.count, sli.histogram, sli.matchers, histogram_unit(sli.histogram), None, None
            )
        case RatioSLI():
            return RawSeries(sli.total, None, (), "none", None, None)
        case QuerySLI() | RawSLI():
            return RawSeries(None, None, (), "none", None, None)
        case _:
            assert_never(sli)


def _mesh_series(source: MeshSource, matchers: tuple[Matcher, ...]) -> RawSeries:
    """The mesh's own request counter and duration histogram, on the SLI's matchers."""
    mesh = meshes.mesh(source.kind)
    grpc = source.protocol == "grpc"
    return RawSeries(
        requests=Selector(mesh.requests, matchers),
        histogram=mesh.duration_ms,
        # the gRPC status is not known when latency is recorded (Linkerd: no such label)
        histogram_matchers=tuple(m for m in matchers if m.label != mesh.grpc_code_label),
        latency_unit="ms",
        code_label=mesh.grpc_code_label if grpc else mesh.code_label,
        version_label=source.version_label,
        code_ok=GRPC_OK if grpc else HTTP_OK,
    )


def rate_by(selector: Selector, by: tuple[str, ...] = ()) -> str:
    grouping = f" by ({', '.join(by)})" if by else ""
    return f"sum{grouping} (rate({selector.promql()}[{RATE}]))"


def requests_rate(raw: RawSeries, requests: Selector) -> str:
    """Requests/s of raw series: a counter's rate, or the count of a native histogram's."""
    return f"histogram_count({rate_by(requests)})" if raw.native else rate_by(requests)


def raw_latency_quantile(quantile: float, raw: RawSeries) -> str | None:
    """A latency percentile of the raw histogram: classic (`by (le)`) or native."""
    if raw.histogram is None:
        return None
    if raw.native:  # Prometheus >= 2.40 with native histograms: a float per instant
        native = Selector(raw.histogram, raw.histogram_matchers)
        return f"histogram_quantile({quantile}, {rate_by(native)})"
    return latency_quantile(quantile, raw.histogram, raw.histogram_matchers)


def code_share(selector: Selector, code_label: str, ok: str = HTTP_OK) -> str:
    """Share of all requests answered with each code that `ok` does not match (non-2xx/3xx
    HTTP codes; non-OK gRPC statuses with `GRPC_OK`)."""
    errors = selector.with_matchers(Matcher(code_label, "!~", ok))
    return f"{rate_by(errors, (code_label,))} / scalar({rate_by(selector)})"


def sli_error_ratio_by(slo: SLO, by: tuple[str, ...]) -> str | None:
    """The SLO's own error ratio per group `by` (e.g. per version), from its raw counters.

    Groups with traffic but no bad series read 0, not "no data". `None` for SLIs written as
    free PromQL, which cannot be split.
    """
    sli = slo.sli
    match sli:
        case RatioSLI():
            total = rate_by(sli.total, by)
            if sli.bad is not None and not sli.more_bad:
                return f"({rate_by(sli.bad, by)} or {total} * 0) / {total}"
            if sli.bad is not None:
                bad = " + ".join(f"({rate_by(s, by)} or {total} * 0)" for s in sli.bad_selectors)
                return f"({bad}) / {total}"
            if sli.good is not None:
                return f"1 - ({rate_by(sli.good, by)} or {total} * 0) / {total}"
            return None
        case LatencySLI():
            fast = rate_by(sli.bucket.with_matchers(le_matcher(sli.threshold)), by)
            total = rate_by(sli.count, by)
            return f"1 - ({fast} or {total} * 0) / {total}"
        case NativeLatencySLI() | QuerySLI() | RawSLI():
            return None
        case _:
            assert_never(sli)


def latency_quantile(
    quantile: float, histogram: str, matchers: tuple[Matcher, ...], by: tuple[str, ...] = ()
) -> str:
    bucket = Selector(f"{histogram}_bucket", matchers)
    return f"histogram_quantile({quantile}, {rate_by(bucket, ('le', *by))})"


def failure_ratio(total: Selector, bad: Matcher, by: tuple[str, ...]) -> str:
    """Share of failed requests per group; groups with traffic but no failures read 0."""
    all_ = rate_by(total, by)
    return f"({rate_by(total.with_matchers(bad), by)} or {all_} * 0) / {all_}"
