"""Load + validate + map 10,000 native SLOs (`meshwatch.spec.load_text`), in SLOs per second.

Baseline: parsing the same YAML text only (`yaml.load_all` with the C SafeLoader when
available). meshwatch does that parse too (the same C composer), plus line lookup, pydantic
validation, PromQL selector parsing, mesh expansion and the cross-SLO checks; it is faster
because it types scalars itself once per distinct value instead of PyYAML's per-node
resolver and constructor, and keeps the cyclic garbage collector out of the load. The two
are timed alternately (best of 7 each) in process CPU time: both are single-threaded, and on
a shared machine wall time mostly measures the wait for a core (wall seconds are reported
too). Peak memory of one run of each is measured separately (tracemalloc slows what it
traces). Each meshwatch run starts with an empty selector cache (`spec.promql.parse_selector`
keeps the selectors of the texts it has parsed), so it pays what a first load pays.
"""

from __future__ import annotations

import platform
import time
import tracemalloc
from collections.abc import Callable
from importlib import metadata

import yaml

from benchmarks.result import Result
from meshwatch.spec import load_text
from meshwatch.spec.promql import parse_selector

SLOS = 10_000
PER_SERVICE = 50

_SLI = (
    "      ratio:\n"
    '        total: \'http_requests_total{{job="svc{s}",handler="/h{i}"}}\'\n'
    '        bad: \'http_requests_total{{job="svc{s}",handler="/h{i}",code=~"5.."}}\'\n',
    "      mesh: {{kind: istio, service: svc{s}, namespace: shop, version: v{i}}}\n",
    "      latency: {{histogram: http_request_duration_seconds, threshold: 0.25,"
    ' selector: \'{{job="svc{s}",handler="/h{i}"}}\'}}\n',
    "      mesh: {{kind: envoy, cluster: svc{s}_v{i}, latency_threshold: 250ms}}\n",
)


def spec_text(slos: int = SLOS) -> str:
    """`slos` native SLOs in services of PER_SERVICE, one document per service."""
    docs = []
    for s in range(0, slos, PER_SERVICE):
        lines = [
            "apiVersion: meshwatch/v1",
            "kind: ServiceLevels",
            f"service: svc{s}",
            "labels: {team: bench}",
            "slos:",
        ]
        for i in range(min(PER_SERVICE, slos - s)):
            lines.append(
                f"  - name: slo{i}\n"
                f"    objective: 99.{i % 10}\n"
                f"    window: {('30d', '28d', 'calendar-month')[i % 3]}\n"
                "    sli:\n" + _SLI[i % len(_SLI)].format(s=s, i=i).rstrip("\n")
            )
        docs.append("\n".join(lines))
    return "\n---\n".join(docs) + "\n"


def _alternating(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Best (CPU, wall) seconds of each, the two run in turn."""
    cpu = [float("inf"), float("inf")]
    wall = [float("inf"), float("inf")]
    for _ in range(repeat):
        for index, func in enumerate((first, second)):
            start, start_cpu = time.perf_counter(), time.process_time()
            func()
            cpu[index] = min(cpu[index], time.process_time() - start_cpu)
            wall[index] = min(wall[index], time.perf_counter() - start)
    return (cpu[0], wall[0]), (cpu[1], wall[1])


def _peak_mib(func: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


# what the figure depends on besides meshwatch's own code: two machines with the same tree
# gave 0.99 and 0.76, and the package versions of the first were not on record
_PACKAGES = ("PyYAML", "pydantic", "pydantic-core", "promql-parser")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def run() -> Result:
    text = spec_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    result = load_text(text, "bench.yaml")
    assert len(result.slos) == SLOS

    def meshwatch_load() -> object:
        parse_selector.cache_clear()  # every run parses its selectors, as a first load does
        return load_text(text, "bench.yaml")

    def parse_only() -> object:
        return list(yaml.load_all(text, Loader=loader))

    (meshwatch_s, meshwatch_wall), (parse_s, parse_wall) = _alternating(
        meshwatch_load, parse_only, repeat=7
    )
    return Result(
        name="load",
        value=SLOS / meshwatch_s,
        unit="SLOs/s",
        baseline_name=f"yaml.load_all({loader.__name__}), parse only",
        baseline_value=SLOS / parse_s,
        higher_is_better=True,
        params={
            "slos": SLOS,
            "bytes": len(text),
            "timer": "process CPU time (best of 7, alternating)",
            "meshwatch_seconds": round(meshwatch_s, 3),
            "parse_only_seconds": round(parse_s, 3),
            "meshwatch_wall_seconds": round(meshwatch_wall, 3),
            "parse_only_wall_seconds": round(parse_wall, 3),
            "meshwatch_peak_mib": round(_peak_mib(meshwatch_load), 1),
            "parse_only_peak_mib": round(_peak_mib(parse_only), 1),
            "versions": _versions(),
            "note": "baseline is only the YAML parse of the same text; meshwatch parses it "
            "too and adds line lookup, validation, PromQL parsing and mapping",
        },
    )
