"""Native-histogram latency SLIs from the native spec (`latency.native: true`) and Pyrra's
`latencyNative`, and the PromQL both engines ask Prometheus."""

from __future__ import annotations

from datetime import timedelta

import pytest

from meshwatch.errors import SpecError
from meshwatch.model import LatencySLI, Matcher, NativeLatencySLI
from meshwatch.sli import error_ratio, errors_increase, requests_increase
from meshwatch.spec import load_text

NATIVE = """
apiVersion: meshwatch/v1
kind: ServiceLevels
service: shop
slos:
  - name: latency
    objective: 99
    sli:
      latency:
        histogram: http_request_duration_seconds
        threshold: 0.3
        selector: '{job="shop"}'
        native: NATIVE_FLAG
"""

PYRRA = """
apiVersion: pyrra.dev/v1alpha1
kind: ServiceLevelObjective
metadata: {{name: api-latency, namespace: shop}}
spec:
  target: "99"
  window: 2w
  indicator:
    latencyNative:
      latency: {latency}
      total: {{metric: '{metric}'}}
"""

SLI = NativeLatencySLI("h", 0.3, (Matcher("job", "=", "shop"),))
S = 'sum(increase(h{job="shop"}[5m]))'


def test_native_true_gives_a_native_latency_sli() -> None:
    (slo,) = load_text(NATIVE.replace("NATIVE_FLAG", "true"), "shop.yaml").slos
    assert slo.sli == NativeLatencySLI(
        "http_request_duration_seconds", 0.3, (Matcher("job", "=", "shop"),)
    )


def test_native_false_stays_the_classic_histogram() -> None:
    (slo,) = load_text(NATIVE.replace("NATIVE_FLAG", "false"), "shop.yaml").slos
    assert isinstance(slo.sli, LatencySLI)


def test_pyrra_latency_native_maps_to_seconds() -> None:
    text = PYRRA.format(latency="200ms", metric='http_request_duration_seconds{job="api"}')
    (slo,) = load_text(text, "pyrra.yaml").slos
    assert slo.sli == NativeLatencySLI(
        "http_request_duration_seconds", 0.2, (Matcher("job", "=", "api"),)
    )


@pytest.mark.parametrize(
    ("latency", "metric", "message"),
    [
        pytest.param(
            "1", "h", "spec.indicator.latencyNative.latency: invalid latency '1'", id="no-unit"
        ),
        pytest.param(
            "1s",
            'h_bucket{le="1"}',
            "spec.indicator.latencyNative.total.metric: 'h_bucket' is a classic histogram",
            id="classic-series",
        ),
    ],
)
def test_pyrra_latency_native_problems(latency: str, metric: str, message: str) -> None:
    with pytest.raises(SpecError) as raised:
        load_text(PYRRA.format(latency=latency, metric=metric), "pyrra.yaml")
    assert message in str(raised.value)


def test_requests_are_the_histogram_count_of_the_summed_increase() -> None:
    assert requests_increase(SLI, timedelta(minutes=5)) == f"histogram_count({S})"


def test_errors_are_count_times_the_fraction_above_and_zero_without_traffic() -> None:
    slow = f"histogram_count({S}) * (1 - histogram_fraction(0, 0.3, {S}))"
    assert (
        errors_increase(SLI, timedelta(minutes=5)) == f"({slow} >= 0 or histogram_count({S}) * 0)"
    )


def test_error_ratio_is_guarded_like_every_counted_sli() -> None:
    ratio = error_ratio(SLI, timedelta(hours=1))
    assert ratio.endswith(f"/ histogram_count({S.replace('5m', '1h')})")
