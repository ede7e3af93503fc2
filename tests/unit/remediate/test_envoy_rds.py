"""Pure edits of an Envoy RDS document: only the owned fields of the named route change."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest

from meshwatch.errors import ActuatorError
from meshwatch.remediate import envoy_rds
from meshwatch.remediate.base import Retries
from meshwatch.remediate.envoy_rds import RouteRef

USER_RETRIES = {"retry_on": "gateway-error", "num_retries": 1}


def document() -> dict[str, Any]:
    return {
        "version_info": "41",
        "resources": [
            {
                "@type": envoy_rds.ROUTE_CONFIG_TYPE,
                "name": "local_route",
                "virtual_hosts": [
                    {
                        "name": "svc",
                        "domains": ["*"],
                        "routes": [
                            {
                                "name": "main",
                                "match": {"prefix": "/"},
                                "typed_per_filter_config": {"x": {"y": 1}},
                                "route": {
                                    "timeout": "3s",
                                    "retry_policy": dict(USER_RETRIES),
                                    "weighted_clusters": {
                                        "clusters": [
                                            {
                                                "name": "v1",
                                                "weight": 50,
                                                "host_rewrite_literal": "a",
                                            },
                                            {"name": "v2", "weight": 50},
                                        ]
                                    },
                                },
                            },
                            {
                                "name": "plain",
                                "match": {"prefix": "/p"},
                                "route": {"cluster": "v1"},
                            },
                        ],
                    }
                ],
            }
        ],
    }


REF = RouteRef("local_route", "svc", "main")


def main_route(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["resources"][0]["virtual_hosts"][0]["routes"][0]  # type: ignore[no-any-return]


def test_weights_change_and_nothing_else() -> None:
    doc = document()
    new = envoy_rds.edit(
        doc, REF, weights={"v1": 90, "v2": 10}, retries=None, restore_retries=False
    )
    expected = document()
    clusters = main_route(expected)["route"]["weighted_clusters"]["clusters"]
    clusters[0]["weight"], clusters[1]["weight"] = 90, 10
    expected["version_info"] = "42"
    assert new == expected
    assert doc == document()  # the input is not modified


def test_tighten_then_restore_gives_back_the_users_policy() -> None:
    tight = envoy_rds.edit(
        document(),
        REF,
        weights=None,
        retries=Retries(attempts=3, per_try_timeout=timedelta(milliseconds=250)),
        restore_retries=False,
    )
    policy = main_route(tight)["route"]["retry_policy"]
    assert policy["refresh_cluster_on_retry"] is True
    assert (policy["num_retries"], policy["per_try_timeout"]) == (3, "0.25s")
    assert policy["retry_host_predicate"][0]["name"] == "envoy.retry_host_predicates.previous_hosts"
    assert envoy_rds.has_meshwatch_retries(main_route(tight))
    # tightening twice keeps the user's original, not meshwatch's own policy
    twice = envoy_rds.edit(tight, REF, weights=None, retries=Retries(), restore_retries=False)
    back = envoy_rds.edit(twice, REF, weights=None, retries=None, restore_retries=True)
    expected = document()
    expected["version_info"] = "44"
    assert back == expected


def test_restore_removes_a_policy_the_user_never_had() -> None:
    doc = document()
    del main_route(doc)["route"]["retry_policy"]
    original = copy.deepcopy(doc)
    tight = envoy_rds.edit(doc, REF, weights=None, retries=Retries(), restore_retries=False)
    back = envoy_rds.edit(tight, REF, weights=None, retries=None, restore_retries=True)
    original["version_info"] = "43"
    assert back == original


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        pytest.param("7", "8", id="number"),
        pytest.param("v12", "v13", id="trailing-number"),
        pytest.param("abc", "abc-1", id="no-number"),
        pytest.param("", "1", id="empty"),
    ],
)
def test_next_version(version: str, expected: str) -> None:
    assert envoy_rds.next_version(version) == expected


@pytest.mark.parametrize(
    ("target", "message"),
    [
        pytest.param("local_route/svc", "must be", id="too-few-parts"),
        pytest.param("other/svc/main", "no route configuration", id="unknown-config"),
        pytest.param("local_route/nope/main", "no virtual host", id="unknown-vhost"),
        pytest.param("local_route/svc/nope", "no route named", id="unknown-route"),
        pytest.param("local_route/svc/plain", "no weighted_clusters", id="single-cluster-route"),
    ],
)
def test_bad_targets(target: str, message: str) -> None:
    with pytest.raises(ActuatorError, match=message) as caught:
        ref = RouteRef.parse(target)
        envoy_rds.find_route(envoy_rds.find_route_config(document()["resources"], ref), ref)
    assert not caught.value.retryable
