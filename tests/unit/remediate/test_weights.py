"""The one baseline: what restore, a manual rollback and the noop data plane call the
route's normal weights (`meshwatch.remediate.weights`)."""

from __future__ import annotations

import pytest

from meshwatch.model import Backend, RatioSLI, RemediationPolicy, Selector
from meshwatch.remediate.weights import baseline_weights, initial_weights, starting_weights

SLI = RatioSLI(total=Selector("requests_total"), bad=Selector("errors_total"))


def policy(*initial: int | None) -> RemediationPolicy:
    backends = tuple(Backend(f"v{i + 1}", SLI, w) for i, w in enumerate(initial))
    return RemediationPolicy(actuator="noop", target="r", backends=backends)


@pytest.mark.parametrize(
    ("initial", "remembered", "current", "expected"),
    [
        pytest.param((50, 50), {}, {"v1": 90, "v2": 10}, {"v1": 50, "v2": 50}, id="initial"),
        pytest.param(
            (50, 50),
            {"v1": 80, "v2": 20},
            {"v1": 90, "v2": 10},
            {"v1": 80, "v2": 20},
            id="remembered-wins",
        ),
        pytest.param(
            (1, 1), {}, {"v1": 90, "v2": 10}, {"v1": 50, "v2": 50}, id="scaled-to-route-total"
        ),
        pytest.param(
            (None, 50), {}, {"v1": 90, "v2": 10}, {"v1": 90, "v2": 10}, id="no-initial-current"
        ),
        pytest.param(
            (50, 50),
            {"v1": 50, "v3": 50},
            {"v1": 90, "v2": 10},
            {"v1": 50, "v2": 50},
            id="remembered-other-backends-ignored",
        ),
        pytest.param((0, 0), {}, {"v1": 3, "v2": 1}, {"v1": 3, "v2": 1}, id="all-zero-initial"),
    ],
)
def test_baseline_weights(
    initial: tuple[int | None, ...],
    remembered: dict[str, int],
    current: dict[str, int],
    expected: dict[str, int],
) -> None:
    got = baseline_weights(policy(*initial), remembered, current)
    assert got == expected
    assert sum(got.values()) == sum(current.values())


def test_initial_and_starting_weights() -> None:
    assert initial_weights(policy(70, 30)) == {"v1": 70, "v2": 30}
    assert initial_weights(policy(70, None)) is None
    assert starting_weights(policy(70, 30)) == {"v1": 70, "v2": 30}
    assert starting_weights(policy(None, None, None)) == {"v1": 34, "v2": 33, "v3": 33}
