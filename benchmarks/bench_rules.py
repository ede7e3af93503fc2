"""`rules`: Prometheus rule files for 10,000 SLOs (1,000 services x 10 SLOs).

The SLOs mix every kind meshwatch generates rules for: Istio availability with two
remediation backends, Istio latency, Envoy availability (good = total - 5xx form), Linkerd,
Sloth-style PromQL templates and raw error-ratio templates, on 30d / 28d / 7d periods.

value    = seconds of `rule_files(slos)`: building every group and writing every file's text
           (best of 3, process CPU time: both sides are single-threaded, and CPU time is what
           stays meaningful when the machine is shared; wall time is in params);
baseline = seconds of the same rule groups built by meshwatch and written by PyYAML's C
           emitter (`yaml.dump(..., Dumper=yaml.CSafeDumper)`), the fastest stock way to write
           them, on the same SLOs in the same run (best of 3);
ratio    = baseline / value (> 1: meshwatch's writer is faster).
params report the rule count and rules/s. There is no Python Sloth to compare with; Sloth
itself is Go and is not installed here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import yaml

from benchmarks.result import Result, best_of
from meshwatch.model import (
    SLO,
    Backend,
    LatencySLI,
    Matcher,
    QuerySLI,
    RatioSLI,
    RawSLI,
    RemediationPolicy,
    Selector,
    Window,
)
from meshwatch.render.rules import render_service, rule_files, slo_groups

SERVICES = 1_000
PER_SERVICE = 10
PERIODS = (
    Window.rolling(timedelta(days=30)),
    Window.rolling(timedelta(days=28)),
    Window.rolling(timedelta(days=7)),
)


def _istio(service: str, *extra: Matcher) -> Selector:
    return Selector(
        "istio_requests_total",
        (
            Matcher("reporter", "=", "destination"),
            Matcher("destination_service_name", "=", service),
            *extra,
        ),
    )


def _slos_of(n: int) -> list[SLO]:
    service = f"svc{n:04d}"
    code = Matcher("response_code", "=~", "5..")
    total = _istio(service)
    envoy = Selector("envoy_cluster_upstream_rq", (Matcher("envoy_cluster_name", "=", service),))
    linkerd = Selector(
        "response_total",
        (Matcher("deployment", "=", service), Matcher("direction", "=", "inbound")),
    )
    backends = tuple(
        Backend(
            v,
            RatioSLI(
                total=_istio(service, Matcher("destination_version", "=", v)),
                bad=_istio(service, Matcher("destination_version", "=", v), code),
            ),
        )
        for v in ("v1", "v2")
    )
    latency_matchers = total.matchers
    slis = [
        RatioSLI(total=total, bad=total.with_matchers(code)),
        LatencySLI("istio_request_duration_milliseconds", 250, latency_matchers),
        LatencySLI("istio_request_duration_milliseconds", 1000, latency_matchers),
        RatioSLI(
            total=envoy, good=envoy.with_matchers(Matcher("envoy_response_code", "!~", "5.."))
        ),
        RatioSLI(
            total=linkerd, bad=linkerd.with_matchers(Matcher("classification", "=", "failure"))
        ),
        QuerySLI(
            total=f'sum(rate(http_requests_total{{job="{service}"}}[{{{{.window}}}}]))',
            bad=f'sum(rate(http_requests_total{{job="{service}",code=~"5.."}}[{{{{.window}}}}]))',
        ),
        RawSLI(f'1 - avg_over_time(probe_success{{job="{service}"}}[{{{{.window}}}}])'),
        RatioSLI(
            total=total, bad=total.with_matchers(code, Matcher("request_protocol", "=", "grpc"))
        ),
        LatencySLI("istio_request_duration_milliseconds", 500, latency_matchers),
        RatioSLI(total=total, bad=total.with_matchers(Matcher("response_code", "=~", "5..|429"))),
    ]
    return [
        SLO(
            service=service,
            name=f"slo{i}",
            objective=(99.9, 99.5, 99.0)[i % 3],
            window=PERIODS[i % len(PERIODS)],
            sli=sli,
            labels=(("team", f"team{n % 50}"),),
            remediation=(
                RemediationPolicy(actuator="istio", target=f"shop/{service}", backends=backends)
                if i == 0
                else None
            ),
        )
        for i, sli in enumerate(slis[:PER_SERVICE])
    ]


def make_slos(services: int = SERVICES) -> list[SLO]:
    return [slo for n in range(services) for slo in _slos_of(n)]


def _pyyaml(slos: list[SLO]) -> dict[str, str]:
    by_service: dict[str, list[SLO]] = {}
    for slo in slos:
        by_service.setdefault(slo.service, []).append(slo)
    return {
        service: yaml.dump(
            {"groups": [g.document() for slo in items for g in slo_groups(slo)]},
            Dumper=yaml.CSafeDumper,
            sort_keys=False,
            width=1_000_000,
        )
        for service, items in by_service.items()
    }


def _best_cpu(func: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        func()
        times.append(time.process_time() - start)
    return min(times)


def run() -> Result:
    slos = make_slos()
    files = rule_files(slos)
    rules = sum(len(g.rules) for slo in slos for g in slo_groups(slo))
    assert files["svc0000.yaml"] == render_service("svc0000", slos[:PER_SERVICE])
    assert yaml.load(files["svc0000.yaml"], Loader=yaml.CSafeLoader) == yaml.load(
        _pyyaml(slos[:PER_SERVICE])["svc0000"], Loader=yaml.CSafeLoader
    )  # both writers hold the same rules
    wall = best_of(lambda: rule_files(slos), repeat=1)
    seconds = _best_cpu(lambda: rule_files(slos))
    baseline = _best_cpu(lambda: _pyyaml(slos))
    size = sum(len(text) for text in files.values())
    return Result(
        name="rules",
        value=seconds,
        unit="s",
        baseline_name="same groups written by PyYAML CSafeDumper",
        baseline_value=baseline,
        higher_is_better=False,
        params={
            "slos": len(slos),
            "services": SERVICES,
            "rules": rules,
            "seconds": round(seconds, 3),
            "wall_seconds": round(wall, 3),
            "rules_per_s": round(rules / seconds),
            "megabytes": round(size / 1e6, 1),
        },
    )
