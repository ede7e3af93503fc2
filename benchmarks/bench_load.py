"""Load + validate + map 10,000 native SLOs (`meshwatch.spec.load_text`), in SLOs per second.

Baseline: parsing the same YAML text only (`yaml.load_all` with the C SafeLoader when
available), i.e. the floor of any YAML-based loader. meshwatch does that parse plus line
tracking, pydantic validation, PromQL selector parsing, mesh expansion and the cross-SLO
checks, so the ratio is expected below 1; it says what the checks cost on top of YAML.
"""

from __future__ import annotations

import yaml

from benchmarks.result import Result, best_of
from meshwatch.spec import load_text

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


def run() -> Result:
    text = spec_text()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    result = load_text(text, "bench.yaml")
    assert len(result.slos) == SLOS
    meshwatch_s = best_of(lambda: load_text(text, "bench.yaml"), repeat=5)
    parse_s = best_of(lambda: list(yaml.load_all(text, Loader=loader)), repeat=5)
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
            "meshwatch_seconds": round(meshwatch_s, 3),
            "parse_only_seconds": round(parse_s, 3),
            "note": "baseline is only the YAML parse of the same text; meshwatch adds line "
            "tracking, validation, PromQL parsing and mapping, so ratio < 1 is expected",
        },
    )
