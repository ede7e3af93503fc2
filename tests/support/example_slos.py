"""SLO objects covering every shape a dashboard must handle, built without the spec loader.

Istio availability and latency with a remediation policy, an Envoy cluster, a Linkerd
deployment, a plain app counter with a `good` selector, a seconds histogram, a free-PromQL
(Sloth-style) SLI and a calendar-month window.
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch.meshes import envoy, istio, linkerd
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
        Matcher(istio.REPORTER, "=", "destination"),
        Matcher(istio.SERVICE, "=", service),
    ]
    if version:
        matchers.append(Matcher(istio.VERSION, "=", version))
    total = Selector(istio.REQUESTS, tuple(matchers))
    return RatioSLI(total=total, bad=total.with_matchers(Matcher(istio.CODE, "=~", "5..")))


def example_slos() -> list[SLO]:
    istio_mesh = MeshSource("istio", "checkout", istio.VERSION)
    istio_base = (
        Matcher(istio.REPORTER, "=", "destination"),
        Matcher(istio.SERVICE, "=", "checkout"),
    )
    envoy_total = Selector(envoy.REQUESTS, (Matcher(envoy.CLUSTER, "=", "payments_v1"),))
    linkerd_total = Selector(
        linkerd.RESPONSES,
        (Matcher(linkerd.DEPLOYMENT, "=", "web"), Matcher(linkerd.DIRECTION, "=", "inbound")),
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
            LatencySLI(istio.DURATION_MS, 250.0, istio_base),
            mesh=istio_mesh,
        ),
        SLO(
            "payments",
            "availability",
            99.95,
            Window.rolling(timedelta(days=28)),
            RatioSLI(
                total=envoy_total,
                bad=envoy_total.with_matchers(Matcher(envoy.CODE, "=~", "5..")),
            ),
            mesh=MeshSource("envoy", "payments_v1", envoy.CLUSTER),
        ),
        SLO(
            "web",
            "availability",
            99.5,
            THIRTY_DAYS,
            RatioSLI(
                total=linkerd_total,
                bad=linkerd_total.with_matchers(Matcher(linkerd.CLASSIFICATION, "=", "failure")),
            ),
            mesh=MeshSource("linkerd", "web", linkerd.DEPLOYMENT),
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
