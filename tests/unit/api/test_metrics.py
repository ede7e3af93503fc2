"""meshwatch's /metrics Collector, read through prometheus-client's own text exposition."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from meshwatch import conventions as c
from meshwatch.api.metrics import HealthSnapshot, SLOStatusCollector, create_registry
from meshwatch.model import SLOStatus, State

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _status(**overrides: object) -> SLOStatus:
    values: dict[str, object] = {
        "slo_id": "checkout-availability",
        "service": "checkout",
        "slo": "availability",
        "at": AT,
        "state": State.WARNING,
        "reason": "burning 14.4x in 1h",
        "objective": 0.999,
        "period_sli": 0.9985,
        "budget_remaining": -0.5,
        "budget_remaining_seconds": -1296.0,
        "throughput": 120.5,
        "sli": {"5m": 0.98, "1h": 0.985, "30d": 0.9985},
        "burn_rate": {"5m": 20.0, "1h": 15.0},
        "latency": {"p50": 12.0, "p99": 250.0},
        "requests": {"5m": 36150.0, "30d": None},
    }
    values.update(overrides)
    return SLOStatus(**values)  # type: ignore[arg-type]


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def _ids(**extra: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        sorted({c.LABEL_SERVICE: "checkout", c.LABEL_SLO: "availability", **extra}.items())
    )


def test_status_values_are_exported_with_slo_labels() -> None:
    samples = _samples(generate_latest(create_registry(lambda: [_status()])))

    assert samples[(c.METRIC_OBJECTIVE, _ids())] == 0.999
    assert samples[(c.METRIC_BUDGET_REMAINING, _ids())] == -0.5
    assert samples[(c.METRIC_BUDGET_REMAINING_SECONDS, _ids())] == -1296.0
    assert samples[(c.METRIC_THROUGHPUT, _ids())] == 120.5
    assert samples[(c.METRIC_SLI, _ids(window="1h"))] == 0.985
    assert samples[(c.METRIC_SLI, _ids(window="30d"))] == 0.9985
    assert samples[(c.METRIC_BURN_RATE, _ids(window="5m"))] == 20.0
    assert samples[(c.METRIC_LATENCY, _ids(percentile="p99"))] == 250.0
    assert samples[(c.METRIC_REQUESTS, _ids(window="5m"))] == 36150.0
    assert samples[(c.METRIC_STATUS_TIMESTAMP, _ids())] == AT.timestamp()


def test_status_is_one_hot_over_every_state() -> None:
    samples = _samples(generate_latest(create_registry(lambda: [_status()])))

    states = {s.value: samples[(c.METRIC_STATUS, _ids(state=s.value))] for s in State}
    assert states == {"ok": 0.0, "warning": 1.0, "breached": 0.0, "unknown": 0.0}


def test_unknown_values_are_left_out_never_zero() -> None:
    unknown = _status(
        state=State.UNKNOWN,
        reason="no traffic in 30d",
        budget_remaining=None,
        budget_remaining_seconds=None,
        throughput=None,
        sli={"5m": None},
        burn_rate={"5m": None},
        latency={},
        requests={},
    )
    samples = _samples(generate_latest(create_registry(lambda: [unknown])))
    names = {name for name, _ in samples}

    assert c.METRIC_BUDGET_REMAINING not in names
    assert c.METRIC_SLI not in names
    assert c.METRIC_BURN_RATE not in names
    assert samples[(c.METRIC_STATUS, _ids(state="unknown"))] == 1.0
    assert samples[(c.METRIC_OBJECTIVE, _ids())] == 0.999


def test_provider_is_read_at_every_scrape() -> None:
    latest = [_status(state=State.OK)]
    registry = create_registry(lambda: latest)
    first = _samples(generate_latest(registry))
    latest[:] = [_status(state=State.BREACHED), _status(service="cart", slo="latency")]
    second = _samples(generate_latest(registry))

    assert first[(c.METRIC_STATUS, _ids(state="ok"))] == 1.0
    assert second[(c.METRIC_STATUS, _ids(state="breached"))] == 1.0
    cart = tuple(sorted({c.LABEL_SERVICE: "cart", c.LABEL_SLO: "latency"}.items()))
    assert second[(c.METRIC_OBJECTIVE, cart)] == 0.999


def test_health_metrics() -> None:
    health = HealthSnapshot(
        last_success=AT,
        last_duration_seconds=0.042,
        collector_errors={"prometheus": 3.0},
        collector_up={"prometheus": False, "scrape": True},
        scrape_failures={"127.0.0.1:9901": 2.0, "127.0.0.1:9902": 0.0},
        remediation_actions={("envoy", "applied"): 1.0},
    )
    samples = _samples(generate_latest(create_registry(list, lambda: health)))

    assert samples[(c.METRIC_LAST_EVALUATION, ())] == AT.timestamp()
    assert samples[(c.METRIC_EVALUATION_DURATION, ())] == 0.042
    assert samples[(c.METRIC_COLLECTOR_ERRORS, (("collector", "prometheus"),))] == 3.0
    assert samples[(c.METRIC_COLLECTOR_UP, (("collector", "prometheus"),))] == 0.0
    assert samples[(c.METRIC_COLLECTOR_UP, (("collector", "scrape"),))] == 1.0
    assert samples[(c.METRIC_SCRAPE_FAILURES, (("target", "127.0.0.1:9901"),))] == 2.0
    actions = (("actuator", "envoy"), ("outcome", "applied"))
    assert samples[(c.METRIC_ACTIONS, actions)] == 1.0


def test_never_evaluated_has_no_last_success_sample() -> None:
    samples = _samples(generate_latest(create_registry(list, HealthSnapshot)))

    assert (c.METRIC_LAST_EVALUATION, ()) not in samples


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(c.METRIC_OBJECTIVE, id="objective"),
        pytest.param(c.METRIC_SLI, id="sli"),
        pytest.param(c.METRIC_BUDGET_REMAINING, id="budget"),
        pytest.param(c.METRIC_BURN_RATE, id="burn-rate"),
        pytest.param(c.METRIC_STATUS, id="status"),
        pytest.param(c.METRIC_ACTIONS, id="actions"),
    ],
)
def test_design_names_are_described(name: str) -> None:
    described = {m.name for m in SLOStatusCollector(list, HealthSnapshot).describe()}
    # prometheus-client keeps counter family names without the `_total` suffix
    assert name.removesuffix("_total") in described


def test_two_apps_get_independent_registries() -> None:
    one = create_registry(lambda: [_status()])
    two = create_registry(list)

    assert c.METRIC_OBJECTIVE.encode() in generate_latest(one)
    assert f"{c.METRIC_OBJECTIVE}{{".encode() not in generate_latest(two)
