"""How meshwatch reaches the Kubernetes API (lightkube), against a FAKE API server.

No kube-apiserver can run here (research/tooling.md §7): `tests/support/fake_kube.py` is a
local HTTPS server whose certificate comes from a test CA made in each module, and which
authenticates bearer tokens and client certificates of that CA as the API server does
(401 otherwise). Each test gives meshwatch a kubeconfig or a service-account directory
and reads a VirtualService through it, so TLS verification, the chosen context and the
credentials are exercised by the real client library, not by the fake.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshwatch.errors import ActuatorError
from meshwatch.remediate.istio import istio_actuator
from meshwatch.remediate.kube_client import KubeClient, kube_config
from tests.support.fake_kube import TOKEN, USER, FakeKube, run_fake_kube
from tests.support.tls import TestCA

pytestmark = pytest.mark.integration

ROUTE = "prod/reviews#primary"
VIRTUAL_SERVICE: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "VirtualService",
    "metadata": {"name": "reviews", "namespace": "prod"},
    "spec": {
        "hosts": ["reviews"],
        "http": [
            {
                "name": "primary",
                "route": [
                    {"destination": {"host": "reviews", "subset": "v1"}, "weight": 60},
                    {"destination": {"host": "reviews", "subset": "v2"}, "weight": 40},
                ],
            }
        ],
    },
}
WEIGHTS = {"v1": 60, "v2": 40}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server(ca: TestCA) -> Iterator[FakeKube]:
    with run_fake_kube(ca, "virtualservice") as fake:
        yield fake


@pytest.fixture
def kube(server: FakeKube) -> FakeKube:
    server.objects.clear()
    server.requests.clear()
    server.tokens = {TOKEN: USER}
    server.put(VIRTUAL_SERVICE)
    return server


def read(config_path: Path | None, context: str | None = "fake", **kwargs: Any) -> dict[str, int]:
    """The route's weights, read through a client made from this configuration."""
    client = KubeClient.connect(kube_config(config_path, context, **kwargs))
    try:
        return dict(istio_actuator(client).current(ROUTE).weights)
    finally:
        client.close()


def test_bearer_token_through_the_named_context(kube: FakeKube, tmp_path: Path) -> None:
    path = kube.kubeconfig(tmp_path / "config", {"token": TOKEN})
    assert read(path) == WEIGHTS
    assert [r.user for r in kube.requests] == [USER]


def test_the_current_context_is_used_when_none_is_named(kube: FakeKube, tmp_path: Path) -> None:
    """The kubeconfig's current context points at a closed port: naming `fake` matters."""
    path = kube.kubeconfig(tmp_path / "config", {"token": TOKEN})
    with pytest.raises(ActuatorError, match=r"127\.0\.0\.1:9") as caught:
        read(path, None)
    assert caught.value.retryable
    with pytest.raises(ActuatorError, match="Context 'nope' not found"):
        read(path, "nope")


def test_client_certificate(kube: FakeKube, ca: TestCA, tmp_path: Path) -> None:
    issued = ca.issue("alice", groups=("sre",))
    user = {"client-certificate": str(issued.cert), "client-key": str(issued.key)}
    assert read(kube.kubeconfig(tmp_path / "config", user)) == WEIGHTS
    assert [r.user for r in kube.requests] == ["alice"]


def test_inline_ca_and_client_certificate_data(kube: FakeKube, ca: TestCA, tmp_path: Path) -> None:
    issued = ca.issue("bob")
    path = kube.kubeconfig(
        tmp_path / "config",
        {
            "client-certificate-data": base64.b64encode(issued.cert.read_bytes()).decode(),
            "client-key-data": base64.b64encode(issued.key.read_bytes()).decode(),
        },
    )
    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    cluster["certificate-authority-data"] = base64.b64encode(ca.cert.read_bytes()).decode()
    del cluster["certificate-authority"]
    path.write_text(json.dumps(config))
    assert read(path) == WEIGHTS
    assert [r.user for r in kube.requests] == ["bob"]


def test_a_server_certificate_from_another_ca_is_refused(kube: FakeKube, tmp_path: Path) -> None:
    other = TestCA.create(tmp_path / "other-ca", "some other CA")
    path = kube.kubeconfig(tmp_path / "config", {"token": TOKEN})
    path.write_text(path.read_text().replace(str(kube.ca.cert), str(other.cert)))  # type: ignore[union-attr]
    with pytest.raises(ActuatorError, match="CERTIFICATE_VERIFY_FAILED"):
        read(path)
    assert kube.requests == []


def test_a_wrong_token_is_refused(kube: FakeKube, tmp_path: Path) -> None:
    path = kube.kubeconfig(tmp_path / "config", {"token": "wrong"})
    with pytest.raises(ActuatorError, match="401") as caught:
        read(path)
    assert not caught.value.retryable


def rotate(kube: FakeKube, token_file: Path, token: str) -> None:
    """The kubelet writes a new bound token; the API server no longer takes the old one."""
    kube.tokens = {token: USER}
    token_file.write_text(token + "\n")


def test_a_token_file_is_read_again_after_rotation(kube: FakeKube, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    path = kube.kubeconfig(tmp_path / "config", {"tokenFile": str(token_file)})
    client = KubeClient.connect(kube_config(path, "fake"))
    try:
        actuator = istio_actuator(client)
        assert actuator.current(ROUTE).weights == WEIGHTS
        rotate(kube, token_file, "rotated-token")
        assert actuator.current(ROUTE).weights == WEIGHTS  # one 401, then the new token
    finally:
        client.close()
    assert [r.code for r in kube.requests] == [200, 401, 200]


def test_in_cluster_service_account(kube: FakeKube, ca: TestCA, tmp_path: Path) -> None:
    """The pod's environment and /var/run/secrets/kubernetes.io/serviceaccount, with the
    bound token rotated on disk while meshwatch runs."""
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "ca.crt").write_bytes(ca.cert.read_bytes())
    (account / "namespace").write_text("meshwatch")
    port = kube.url.rsplit(":", 1)[1]
    env = {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}
    config = kube_config(None, None, environ=env, account_dir=account)
    assert config.cluster.server == kube.url
    client = KubeClient.connect(config)
    try:
        assert istio_actuator(client).current(ROUTE).weights == WEIGHTS
        rotate(kube, account / "token", "next-bound-token")
        assert istio_actuator(client).current(ROUTE).weights == WEIGHTS
    finally:
        client.close()
    assert [r.code for r in kube.requests] == [200, 401, 200]


EXEC_PLUGIN = """\
import json, pathlib, sys
state = pathlib.Path(sys.argv[1])
runs = state / "runs"
runs.write_text(str(int(runs.read_text() or 0) + 1) if runs.exists() else "1")
print(json.dumps({
    "apiVersion": "client.authentication.k8s.io/v1beta1",
    "kind": "ExecCredential",
    "status": {"token": (state / "token").read_text().strip(),
               "expirationTimestamp": "2099-01-01T00:00:00Z"},
}))
"""


def test_exec_credential_plugin(kube: FakeKube, tmp_path: Path) -> None:
    """An exec plugin as EKS/GKE/AKS kubeconfigs use (`aws eks get-token`,
    `gke-gcloud-auth-plugin`, `kubelogin`): run once, and again when its token expires."""
    (tmp_path / "plugin.py").write_text(EXEC_PLUGIN)
    (tmp_path / "token").write_text(TOKEN)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(tmp_path / "plugin.py"), str(tmp_path)],
            "interactiveMode": "Never",
        }
    }
    client = KubeClient.connect(kube_config(kube.kubeconfig(tmp_path / "config", user), "fake"))
    try:
        actuator = istio_actuator(client)
        assert actuator.current(ROUTE).weights == WEIGHTS
        assert actuator.current(ROUTE).weights == WEIGHTS
        assert (tmp_path / "runs").read_text() == "1"
        rotate(kube, tmp_path / "token", "fresh-cloud-token")
        assert actuator.current(ROUTE).weights == WEIGHTS
        assert (tmp_path / "runs").read_text() == "2"
    finally:
        client.close()


def test_a_failing_exec_plugin_is_a_retryable_error(kube: FakeKube, tmp_path: Path) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", "import sys; sys.exit('token service unreachable')"],
        }
    }
    with pytest.raises(ActuatorError, match=r"credentials: .*token service unreachable") as caught:
        read(kube.kubeconfig(tmp_path / "config", user))
    assert caught.value.retryable


def test_an_exec_plugin_of_an_unsupported_version_is_refused_up_front(
    kube: FakeKube, tmp_path: Path
) -> None:
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "aws",
            "args": ["eks", "get-token"],
            "interactiveMode": "Never",
        }
    }
    with pytest.raises(ActuatorError, match=r"asks for client\.authentication\.k8s\.io/v1;"):
        kube_config(kube.kubeconfig(tmp_path / "config", user), "fake")


def test_the_default_chain(kube: FakeKube, tmp_path: Path) -> None:
    """Neither kubeconfig nor context: the service account, else $KUBECONFIG, else
    ~/.kube/config; and a clear error when there is none."""
    path = kube.kubeconfig(tmp_path / "config", {"token": TOKEN}, context="ctx")
    path.write_text(path.read_text().replace("current-context: elsewhere", "current-context: ctx"))
    nowhere = tmp_path / "no-account"
    env = {"KUBECONFIG": f"{tmp_path / 'missing'}:{path}"}
    assert read(None, None, environ=env, account_dir=nowhere) == WEIGHTS
    assert read(None, None, environ={}, account_dir=nowhere, default_kubeconfig=path) == WEIGHTS
    with pytest.raises(ActuatorError, match=r"no credentials found.*kubernetes\.kubeconfig"):
        kube_config(None, None, environ={}, account_dir=nowhere, default_kubeconfig=nowhere)
    with pytest.raises(ActuatorError, match=r"kubernetes\.kubeconfig: .*absent: no such file"):
        kube_config(tmp_path / "absent", None)
