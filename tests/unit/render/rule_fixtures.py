"""SLOs covering every SLI kind and alerting option, for golden files and promtool checks."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from meshwatch.model import (
    SLO,
    Alerting,
    Backend,
    BurnRateWindow,
    CalendarUnit,
    LatencySLI,
    Matcher,
    QuerySLI,
    RatioSLI,
    RawSLI,
    RemediationPolicy,
    Selector,
    Severity,
    Window,
)

DAYS_30 = Window.rolling(timedelta(days=30))


def _istio(service: str, *extra: Matcher) -> Selector:
    return Selector(
        "istio_requests_total",
        (
            Matcher("reporter", "=", "destination"),
            Matcher("destination_service_name", "=", service),
            *extra,
        ),
    )


def _bad(selector: Selector, label: str = "response_code") -> Selector:
    return selector.with_matchers(Matcher(label, "=~", "5.."))


def istio_availability() -> SLO:
    total = _istio("checkout")
    version = "destination_version"
    backends = tuple(
        Backend(
            name,
            RatioSLI(
                total=_istio("checkout", Matcher(version, "=", name)),
                bad=_bad(_istio("checkout", Matcher(version, "=", name))),
            ),
        )
        for name in ("v1", "v2")
    )
    return SLO(
        service="checkout",
        name="availability",
        objective=99.9,
        window=DAYS_30,
        sli=RatioSLI(total=total, bad=_bad(total)),
        labels=(("team", "payments"),),
        alerting=Alerting(
            runbook_url="https://runbooks.example/checkout",
            dashboard_url="https://grafana.example/d/meshwatch-svc-checkout",
            annotations=(("owner", "payments-oncall"),),
            page_labels=(("route", "pagerduty"),),
        ),
        remediation=RemediationPolicy(actuator="istio", target="shop/checkout", backends=backends),
    )


def istio_latency() -> SLO:
    return SLO(
        service="checkout",
        name="latency",
        objective=99.0,
        window=DAYS_30,
        sli=LatencySLI(
            "istio_request_duration_milliseconds",
            250,
            (
                Matcher("reporter", "=", "destination"),
                Matcher("destination_service_name", "=", "checkout"),
            ),
        ),
        alerting=Alerting(labels=(("severity", "critical"),), min_requests=500),
    )


def envoy_good_form() -> SLO:
    total = Selector(
        "envoy_cluster_upstream_rq", (Matcher("envoy_cluster_name", "=", "inventory_v1"),)
    )
    good = total.with_matchers(Matcher("envoy_response_code", "!~", "5.."))
    return SLO(
        service="inventory",
        name="availability",
        objective=99.5,
        window=Window.rolling(timedelta(days=28)),
        sli=RatioSLI(total=total, good=good),
    )  # fmt: skip


def linkerd_calendar() -> SLO:
    total = Selector(
        "response_total", (Matcher("deployment", "=", "web"), Matcher("direction", "=", "inbound"))
    )
    return SLO(
        service="web",
        name="availability",
        objective=99.95,
        window=Window.calendar(CalendarUnit.MONTH),
        sli=RatioSLI(
            total=total, bad=total.with_matchers(Matcher("classification", "=", "failure"))
        ),
        alerting=Alerting(ticket=False),
    )


def berlin_week() -> SLO:
    """A calendar week in Europe/Berlin: the offset, start and accumulation rules."""
    return dataclasses.replace(
        linkerd_calendar(),
        name="weekly",
        window=Window.calendar(CalendarUnit.WEEK, "Europe/Berlin"),
    )


def sloth_query() -> SLO:
    return SLO(
        service="catalog",
        name="requests",
        objective=99.0,
        window=Window.rolling(timedelta(days=7)),
        sli=QuerySLI(
            total='sum(rate(http_requests_total{job="catalog"}[{{.window}}])) by (job)',
            bad='sum(rate(http_requests_total{job="catalog",code=~"(5..|429)"}[{{.window}}]))',
        ),
        alerting=Alerting(name="CatalogHighErrorRate"),
    )


def raw_probe() -> SLO:
    return SLO(
        service="catalog",
        name="probe",
        objective=99.0,
        window=DAYS_30,
        sli=RawSLI('1 - avg_over_time(probe_success{job="blackbox"}[{{.window}}])'),
        alerting=Alerting(
            windows=(
                BurnRateWindow(Severity.PAGE, timedelta(hours=1), timedelta(minutes=5), 0.05, 36),
                BurnRateWindow(Severity.TICKET, timedelta(days=1), timedelta(hours=2), 0.2, 6),
            ),
            absent_for=timedelta(minutes=30),
        ),
    )


def all_slos() -> list[SLO]:
    return [
        istio_availability(),
        istio_latency(),
        envoy_good_form(),
        linkerd_calendar(),
        berlin_week(),
        sloth_query(),
        raw_probe(),
    ]
