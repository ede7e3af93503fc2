"""Latency percentiles of native-histogram SLIs from Prometheus, as floats.

`histogram_quantile(q, sum(rate(h{...}[w])))` on a native histogram (Prometheus >= 2.40 with
`--enable-feature=native-histograms`) returns a plain float, so no histogram JSON is read:
one tagged probe per (SLO, quantile), batched with the cycle's other ad-hoc probes. No series
answers nothing (`NoSeriesError`); a window without requests answers NaN (`NoTrafficError`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from meshwatch.collectors.base import SLOPlan
from meshwatch.collectors.prometheus_batch import Probe
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import NativeLatencySLI, format_duration
from meshwatch.slo.kinds import native_latency


def quantile_expr(q: float, sli: NativeLatencySLI, window: str) -> str:
    """The PromQL of one percentile of `sli` over `window` (e.g. `5m`)."""
    return f"histogram_quantile({q!r}, sum(rate({sli.selector.promql()}[{window}])))"


class QuantileProbes:
    """The percentile probes of a cycle's native SLOs, and their answers read back."""

    def __init__(self) -> None:
        self.probes: list[Probe] = []
        self._keys: dict[str, dict[float, str]] = {}

    def ask(self, plan: SLOPlan) -> None:
        sli = native_latency(plan.slo.sli)
        if sli is None or not plan.quantiles or not plan.bucket_windows:
            return
        window = format_duration(plan.bucket_windows[0])
        keys = self._keys.setdefault(plan.slo.id, {})
        for q in plan.quantiles:
            keys[q] = f"nq{len(self.probes)}"
            self.probes.append(Probe(keys[q], quantile_expr(q, sli, window)))

    def answers(
        self, plan: SLOPlan, found: Mapping[str, Sequence[Sample]]
    ) -> dict[float, float | CollectorError]:
        return {q: _value(found.get(key, ())) for q, key in self._keys.get(plan.slo.id, {}).items()}


def _value(samples: Sequence[Sample]) -> float | CollectorError:
    if not samples:
        return NoSeriesError()
    if len(samples) != 1:
        return CollectorError(f"expected one aggregated percentile, got {len(samples)}")
    value = samples[0].value
    return NoTrafficError() if math.isnan(value) else value
