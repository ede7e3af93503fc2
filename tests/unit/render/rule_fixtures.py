"""SLOs covering every SLI kind and alerting option, for unit tests and promtool checks.

They are the rule goldens' specs (`tests/golden/rules/<case>/in.yaml`), so the SLOs the tests
reason about are the ones whose rule files are pinned byte for byte.
"""

from __future__ import annotations

from functools import cache

from meshwatch.model import SLO
from meshwatch.spec import load_paths
from tests.support.golden import rule_cases


@cache
def _by_id() -> dict[tuple[str, str], SLO]:
    slos = load_paths([case / "in.yaml" for case in rule_cases()]).slos
    return {(slo.service, slo.name): slo for slo in slos}


def golden_slo(service: str, name: str) -> SLO:
    return _by_id()[(service, name)]


def istio_availability() -> SLO:
    """Istio counters, a remediation policy, links, per-severity labels."""
    return golden_slo("checkout", "availability")


def istio_latency() -> SLO:
    """A classic histogram, its own `severity` label, `min_requests`."""
    return golden_slo("checkout", "latency")


def envoy_good_form() -> SLO:
    """Good (not bad) requests, a 28-day window."""
    return golden_slo("inventory", "availability")


def linkerd_calendar() -> SLO:
    """A UTC calendar month, no ticket alert."""
    return golden_slo("web", "availability")


def berlin_week() -> SLO:
    """A calendar week in Europe/Berlin: the offset, start and accumulation rules."""
    return golden_slo("web", "weekly")


def sloth_query() -> SLO:
    """Event templates with `{{.window}}`, a custom alert name."""
    return golden_slo("catalog", "requests")


def raw_probe() -> SLO:
    """A raw error-ratio template, custom burn windows, a longer absent delay."""
    return golden_slo("catalog", "probe")


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
