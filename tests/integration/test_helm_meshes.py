"""The chart per mesh (Istio, Gateway API, Linkerd): RBAC for the kind, in-cluster
Kubernetes settings, and Prometheus credentials as files from a mounted Secret.

The renders are the golden ones of tests/integration/test_helm.py (same value sets, same
helm, validated there with helm lint --strict, kubernetes-validate and promtool).
"""

from __future__ import annotations

import json

import pytest
import yaml

from meshwatch.settings import Settings
from tests.support.helm_chart import (
    CASE_PARAMS,
    GOLDEN,
    ROUTE_RESOURCES,
    helm,
    objects,
    of_kind,
    renders,
    settings_of,
)

pytestmark = pytest.mark.integration

__all__ = ["helm", "renders"]  # session fixtures

PROMETHEUS_SECRET_DIR = "/etc/meshwatch/prometheus"
MESH_CASES = {"istio": "istio", "gateway-api": "gateway", "linkerd": "linkerd"}


def _files(config: object) -> list[str]:
    """Every *_file / files value in a prometheus_http_config mapping."""
    if isinstance(config, dict):
        found = [v for k, v in config.items() if k.endswith("_file") and isinstance(v, str)]
        found += [f for k, v in config.items() if k == "files" for f in v]
        return found + [f for v in config.values() for f in _files(v)]
    return []


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_in_cluster_kubernetes_settings_when_a_route_kind_is_enabled(
    renders: dict[str, str], case: str
) -> None:
    values = yaml.safe_load((GOLDEN / "values" / f"{case}.yaml").read_text()) or {}
    kinds = values.get("remediation", {}).get("kinds", [])
    config = settings_of(renders[case])
    if kinds:
        assert config["kubernetes"] == {}  # no kubeconfig, no context: the service account
        (deployment,) = of_kind(renders[case], "Deployment")
        assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    else:
        assert "kubernetes" not in config


@pytest.mark.parametrize("case", sorted(MESH_CASES))
def test_each_mesh_case_grants_its_kind_and_reads_an_authenticated_prometheus(
    renders: dict[str, str], case: str
) -> None:
    render = renders[case]
    granted = {
        (g, r)
        for role in objects(render)
        if role["kind"] in ("Role", "ClusterRole")
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert granted == ROUTE_RESOURCES[MESH_CASES[case]]
    config = settings_of(render)
    assert config["prometheus_url"].startswith("https://")
    assert Settings(**{k: v for k, v in config.items() if k != "kubernetes"}).prometheus_http_config


@pytest.mark.parametrize("case", sorted(MESH_CASES))
def test_prometheus_credentials_are_files_from_the_mounted_secret(
    renders: dict[str, str], case: str
) -> None:
    values = yaml.safe_load((GOLDEN / "values" / f"{case}.yaml").read_text())
    render = renders[case]
    http_config = settings_of(render)["prometheus_http_config"]
    files = _files(http_config)
    assert files and all(f.startswith(f"{PROMETHEUS_SECRET_DIR}/") for f in files), files
    (deployment,) = of_kind(render, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (mount,) = [
        m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == PROMETHEUS_SECRET_DIR
    ]
    assert mount["readOnly"] is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    secret_name = volume["secret"]["secretName"]
    prometheus = values["prometheus"]
    if prometheus.get("existingSecret"):
        assert secret_name == prometheus["existingSecret"]
        keys = set(prometheus["existingSecretKeys"])
        assert not [s for s in of_kind(render, "Secret") if s["metadata"]["name"] == secret_name]
    else:
        (secret,) = [s for s in of_kind(render, "Secret") if s["metadata"]["name"] == secret_name]
        keys = set(secret["data"])
    assert {f.rsplit("/", 1)[1] for f in files} == keys
    # no secret value in any ConfigMap (the settings file included)
    secret_values = [v for v in prometheus.get("secret", {}).values() if isinstance(v, str)]
    secret_values += list(prometheus.get("secret", {}).get("headers", {}).values())
    needles = [
        line.strip()
        for value in secret_values
        for line in value.splitlines()
        if len(line.strip()) > 8 and "-----" not in line
    ]
    assert needles or prometheus.get("existingSecret")
    for config_map in of_kind(render, "ConfigMap"):
        text = json.dumps(config_map)
        assert not [n for n in needles if n in text]
