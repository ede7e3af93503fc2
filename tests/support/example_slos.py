"""SLO objects covering every shape a dashboard must handle, built without the spec loader.

Istio availability and latency with a remediation policy, an Envoy cluster, a Linkerd
deployment, a plain app counter with a `good` selector, a seconds histogram, a free-PromQL
(Sloth-style) SLI and a calendar-month window.
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch import conventions as c
from meshwatch.model import (
    SLO,
    Backend,
    CalendarUnit,
    LatencySLI,
    Matcher,
    MeshSource,
    QuerySLI,
    RatioSLI,
    RemediationPolicy,
    Selector,
    Window,
)

THIRTY_DAYS = Window.rolling(timedelta(days=30))


def _istio(service: str, version: str | None = None) -> RatioSLI:
    matchers = [
        Matcher(c.ISTIO_REPORTER, "=", "destination"),
        Matcher(c.ISTIO_SERVICE, "=", service),
    ]
    if version:
        matchers.append(Matcher(c.ISTIO_VERSION, "=", version))
    total = Selector(c.ISTIO_REQUESTS, tuple(matchers))
    return RatioSLI(total=total, bad=total.with_matchers(Matcher(c.ISTIO_CODE, "=~", "5..")))


def example_slos() -> list[SLO]:
    istio_mesh = MeshSource("istio", "checkout", c.ISTIO_VERSION)
    istio_base = (
        Matcher(c.ISTIO_REPORTER, "=", "destination"),
        Matcher(c.ISTIO_SERVICE, "=", "checkout"),
    )
    envoy_total = Selector(c.ENVOY_REQUESTS, (Matcher(c.ENVOY_CLUSTER, "=", "payments_v1"),))
    linkerd_total = Selector(
        c.LINKERD_RESPONSES,
        (Matcher(c.LINKERD_DEPLOYMENT, "=", "web"), Matcher(c.LINKERD_DIRECTION, "=", "inbound")),
    )
    return [
        SLO(
            "checkout",
            "availability",
            99.9,
            THIRTY_DAYS,
            _istio("checkout"),
            description="Checkout answers without 5xx.",
            mesh=istio_mesh,
            remediation=RemediationPolicy(
                actuator="istio",
                target="shop/checkout",
                backends=(
                    Backend("v1", _istio("checkout", "v1")),
                    Backend("v2", _istio("checkout", "v2")),
                ),
            ),
        ),
        SLO(
            "checkout",
            "latency",
            99.0,
            THIRTY_DAYS,
            LatencySLI(c.ISTIO_DURATION_MS, 250.0, istio_base),
            mesh=istio_mesh,
        ),
        SLO(
            "payments",
            "availability",
            99.95,
            Window.rolling(timedelta(days=28)),
            RatioSLI(
                total=envoy_total,
                bad=envoy_total.with_matchers(Matcher(c.ENVOY_CODE, "=~", "5..")),
            ),
            mesh=MeshSource("envoy", "payments_v1", c.ENVOY_CLUSTER),
        ),
        SLO(
            "web",
            "availability",
            99.5,
            THIRTY_DAYS,
            RatioSLI(
                total=linkerd_total,
                bad=linkerd_total.with_matchers(Matcher(c.LINKERD_CLASSIFICATION, "=", "failure")),
            ),
            mesh=MeshSource("linkerd", "web", c.LINKERD_DEPLOYMENT),
        ),
        SLO(
            "api",
            "availability",
            99.5,
            Window.calendar(CalendarUnit.MONTH),
            RatioSLI(
                total=Selector("http_requests_total", (Matcher("job", "=", "api"),)),
                good=Selector(
                    "http_requests_total",
                    (Matcher("job", "=", "api"), Matcher("code", "=~", "2..")),
                ),
            ),
        ),
        SLO(
            "api",
            "latency",
            95.0,
            Window.rolling(timedelta(days=7)),
            LatencySLI("http_request_duration_seconds", 0.5, (Matcher("job", "=", "api"),)),
        ),
        SLO(
            "search",
            "availability",
            99.0,
            THIRTY_DAYS,
            QuerySLI(
                total='sum(rate(search_requests_total{job="search"}[{{.window}}]))',
                bad='sum(rate(search_requests_total{job="search",code=~"5.."}[{{.window}}]))',
            ),
        ),
    ]
