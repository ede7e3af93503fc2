"""The percentile probes of native-histogram SLOs on the Prometheus engine, and how their
answers read back; on a real Prometheus in tests/integration/test_native_histogram.py."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from meshwatch.collectors.prometheus_http import Sample
from meshwatch.collectors.prometheus_quantiles import QuantileProbes
from meshwatch.engine.plan import plan_for
from meshwatch.errors import CollectorError, NoSeriesError, NoTrafficError
from meshwatch.model import SLO, LatencySLI, Matcher, NativeLatencySLI, Window

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _slo(name: str, sli: NativeLatencySLI | LatencySLI) -> SLO:
    return SLO("shop", name, 99.0, Window.rolling(timedelta(days=30)), sli)


def test_one_float_probe_per_percentile_of_native_slos_only() -> None:
    native = plan_for(
        _slo("n", NativeLatencySLI("h_seconds", 0.3, (Matcher("job", "=", "a"),))), NOW
    )
    classic = plan_for(_slo("c", LatencySLI("h_seconds", 0.25)), NOW)
    probes = QuantileProbes()
    probes.ask(native)
    probes.ask(classic)  # classic percentiles come from the `by (le)` bucket increases
    assert [p.expr for p in probes.probes] == [
        f'histogram_quantile({q}, sum(rate(h_seconds{{job="a"}}[5m])))' for q in (0.5, 0.9, 0.99)
    ]
    keys = [p.key for p in probes.probes]
    found = {keys[0]: [Sample({}, 0.27)], keys[1]: [Sample({}, math.nan)], keys[2]: []}
    answers = probes.answers(native, found)
    assert answers[0.5] == 0.27
    assert isinstance(answers[0.9], NoTrafficError)  # an empty rate: NaN
    assert isinstance(answers[0.99], NoSeriesError)  # no histogram at all
    assert probes.answers(classic, found) == {}
    two = {keys[0]: [Sample({}, 1.0), Sample({"a": "b"}, 2.0)]}
    assert isinstance(probes.answers(native, two)[0.5], CollectorError)
