"""The Kubernetes API as the route actuators need it: get and JSON-patch one custom object.

Built on lightkube, a kept client library over httpx2: it reads kubeconfig files with
their contexts, CA bundles (file or inline data), client certificates, bearer tokens
(inline, a kubeconfig `tokenFile`, or the service account's token, read again from disk
when the API server answers 401 after the kubelet rotated it) and exec credential
plugins (`client.authentication.k8s.io/v1beta1`, as EKS, GKE and AKS kubeconfigs write
them; the plugin runs again on a 401). meshwatch only chooses which configuration
(`kube_config`) and turns the API server's refusals into `ActuatorError`s.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import yaml
from lightkube import ApiError, Client, ConfigError, KubeConfig, SingleConfig
from lightkube.config.models import Cluster, User
from lightkube.generic_resource import GenericNamespacedResource, create_namespaced_resource
from lightkube.types import PatchType

from meshwatch.errors import ActuatorError, PatchInvalid

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
DEFAULT_KUBECONFIG = Path("~/.kube/config")
FIELD_MANAGER = "meshwatch"
EXEC_API_VERSIONS = (
    "client.authentication.k8s.io/v1alpha1",
    "client.authentication.k8s.io/v1beta1",
)
"""The ExecCredential versions lightkube's exec plugin support speaks (not yet v1)."""

Obj = dict[str, Any]
Op = dict[str, Any]

# what loading a kubeconfig can raise (msgspec's ValidationError is a ValueError)
_CONFIG_ERRORS = (ConfigError, KeyError, TypeError, ValueError, OSError, yaml.YAMLError)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One namespaced custom object."""

    group: str
    version: str
    kind: str
    plural: str
    namespace: str
    name: str

    @property
    def path(self) -> str:
        return (
            f"/apis/{self.group}/{self.version}/namespaces/{self.namespace}/"
            f"{self.plural}/{self.name}"
        )


# --- which cluster, which credentials -----------------------------------------------------


def kube_config(
    kubeconfig: Path | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    account_dir: Path = SERVICE_ACCOUNT_DIR,
    default_kubeconfig: Path = DEFAULT_KUBECONFIG,
) -> SingleConfig:
    """The cluster and credentials to use.

    `kubeconfig` (its `context`, else its current context); with neither, the in-cluster
    service account (env KUBERNETES_SERVICE_HOST/PORT and `account_dir`), then the first
    file of $KUBECONFIG, then ~/.kube/config. A `context` alone picks a context of the
    $KUBECONFIG / ~/.kube/config file. Raises a non-retryable ActuatorError saying what
    is missing.
    """
    env = os.environ if environ is None else environ
    if kubeconfig is None and context is None:
        in_pod = in_cluster_config(env, account_dir)
        if in_pod is not None:
            return in_pod
    path = kubeconfig or _env_kubeconfig(env) or default_kubeconfig.expanduser()
    if kubeconfig is not None and not path.is_file():
        raise ActuatorError(f"kubernetes.kubeconfig: {path}: no such file", retryable=False)
    if not path.is_file():
        raise ActuatorError(
            "kubernetes: no credentials found: not in a pod (no KUBERNETES_SERVICE_HOST or "
            f"no token in {account_dir}) and no kubeconfig at {path} ($KUBECONFIG, else "
            "~/.kube/config); set `kubernetes.kubeconfig` in the settings",
            retryable=False,
        )
    try:
        config = KubeConfig.from_file(path).get(context)
    except _CONFIG_ERRORS as exc:
        raise ActuatorError(f"kubernetes: kubeconfig {path}: {exc}", retryable=False) from exc
    if config is None or config.user is None:
        raise ActuatorError(
            f"kubernetes: kubeconfig {path}: context {context or '(current)'} names no user",
            retryable=False,
        )
    plugin = config.user.exec
    if plugin is not None and plugin.apiVersion not in EXEC_API_VERSIONS:
        raise ActuatorError(
            f"kubernetes: kubeconfig {path}: exec plugin {plugin.command!r} asks for "
            f"{plugin.apiVersion}; the client speaks {' and '.join(EXEC_API_VERSIONS)} "
            "(set the user's exec.apiVersion to client.authentication.k8s.io/v1beta1)",
            retryable=False,
        )
    return config


def in_cluster_config(environ: Mapping[str, str], account_dir: Path) -> SingleConfig | None:
    """The API server as seen from a pod, or None outside one. The token is given as a
    file, so it is read again when the kubelet rotates it (bound service-account tokens)."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    token = account_dir / "token"
    if not host or not port or not token.is_file():
        return None
    host = f"[{host}]" if ":" in host else host
    cluster = Cluster(server=f"https://{host}:{port}", certificate_auth=str(account_dir / "ca.crt"))
    config = KubeConfig.from_one(cluster=cluster, user=User(token_file=str(token)))
    return config.get()


def _env_kubeconfig(environ: Mapping[str, str]) -> Path | None:
    """The first existing file of $KUBECONFIG (a path list, like kubectl's), else its first."""
    paths = [Path(p).expanduser() for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    return next((p for p in paths if p.is_file()), paths[0] if paths else None)


# --- the client -------------------------------------------------------------------------


class KubeClient:
    """Get and JSON-patch custom objects through a lightkube `Client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @staticmethod
    def connect(config: SingleConfig, *, timeout: float = 10.0) -> KubeClient:
        """A client for `config`; TLS and credentials are checked on the first request."""
        try:
            client = Client(config, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)
        except _CONFIG_ERRORS as exc:  # an unreadable CA or client certificate (ssl.SSLError)
            raise ActuatorError(f"kubernetes: {exc}", retryable=False) from exc
        return KubeClient(client)

    def close(self) -> None:
        self.client.close()

    def get(self, ref: ObjectRef) -> Obj:
        return self._call(
            "GET", ref, lambda res: self.client.get(res, ref.name, namespace=ref.namespace)
        )

    def patch(self, ref: ObjectRef, ops: Sequence[Op], *, dry_run: bool = False) -> Obj:
        return self._call(
            "PATCH",
            ref,
            lambda res: self.client.patch(
                res,
                ref.name,
                list(ops),
                namespace=ref.namespace,
                patch_type=PatchType.JSON,
                dry_run=dry_run,
            ),
        )

    def _call(
        self, method: str, ref: ObjectRef, send: Callable[[type[GenericNamespacedResource]], object]
    ) -> Obj:
        resource = _resource(ref)
        try:
            answer = send(resource)
        except ApiError as exc:
            raise _refusal(method, ref, exc) from exc
        except httpx2.HTTPError as exc:
            server = self.client.config.cluster.server
            raise ActuatorError(f"{method} {server}{ref.path}: {exc}", retryable=True) from exc
        except ConfigError as exc:  # an exec credential plugin failed; often transient
            raise ActuatorError(f"{method} {ref.path}: credentials: {exc}", retryable=True) from exc
        except (OSError, KeyError, ValueError) as exc:
            # a plugin that cannot start or answers garbage, or an error that is not JSON
            raise ActuatorError(f"{method} {ref.path}: {exc!r}", retryable=True) from exc
        if not isinstance(answer, GenericNamespacedResource):
            raise ActuatorError(f"{method} {ref.path}: unexpected answer", retryable=True)
        return dict(answer)  # a dict of the decoded JSON


def _resource(ref: ObjectRef) -> type[GenericNamespacedResource]:
    """lightkube's generic class for the object's kind (registered once per kind)."""
    return create_namespaced_resource(
        ref.group, ref.version, ref.kind, ref.plural, verbs=["get", "patch"]
    )


def _refusal(method: str, ref: ObjectRef, exc: ApiError) -> ActuatorError:
    """What an API server refusal means for the loop."""
    code = exc.status.code or exc.response.status_code
    message = exc.status.message or exc.response.text
    where = f"{method} {ref.path}: {code}"
    if code == 409 or (code == 422 and "Testing value" in message):
        return ActuatorError(f"{where}: changed meanwhile ({message})", retryable=True)
    if code == 422:
        return PatchInvalid(f"{where}: {message}")
    if code == 403:
        verb = "get" if method == "GET" else "patch"
        return ActuatorError(
            f"{where}: forbidden ({message}); grant `{verb}` on {ref.plural}.{ref.group}",
            retryable=False,
        )
    return ActuatorError(f"{where}: {message}", retryable=code == 429 or code >= 500)
