"""A FAKE Kubernetes API server for the actuator tests: no kube-apiserver can run here.

research/tooling.md §7: kube-apiserver is not installable on this machine (no Debian, PyPI
or npm package ships it, and kind/k3s/minikube need container images). This is a small
HTTPS server on 127.0.0.1 that behaves like the API server for what meshwatch sends it,
and records every request so tests can check them:

* TLS with a certificate from a test CA (`tests/support/tls.py`); clients authenticate
  with a bearer token (`tokens`: token -> user) or a client certificate of that CA (user
  = its CN), else 401 — as the API server does, before anything else;
* RBAC after authentication: a verb in `denied` (verb, plural) is 403 Forbidden with the
  API server's message, e.g. a Role without `patch`;
* GET and PATCH of namespaced custom objects under `/apis/<group>/<version>/namespaces/
  <ns>/<plural>/<name>`; PATCH with `application/json-patch+json` (RFC 6902: add, remove,
  replace, test) or `application/merge-patch+json` (RFC 7386); any other type is 415;
* a failed `test` op is 422 "Testing value ... failed" (as kube-apiserver answers since
  1.12); a patch that leaves `metadata.resourceVersion` different from the stored one is
  409 Conflict (optimistic concurrency); changed name/namespace is 422;
* the patched object is validated against the CRD's openAPIV3Schema (hand-written subsets
  of the published schemas in `tests/support/crds/`, see their `description`) with strict
  field validation (unknown fields refused), and annotation keys/values as ObjectMeta
  validation checks them; invalid objects are 422 Invalid with the causes;
* `dryRun=All` validates without storing; every stored change bumps resourceVersion.

Tests play "someone else" with `edit` (a concurrent change, new resourceVersion) and
`on_next_patch` (that change made between meshwatch's read and its patch).
"""

from __future__ import annotations

import contextlib
import copy
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.support.fake_kube_patch import (
    JSON_PATCH,
    MERGE_PATCH,
    Crd,
    PatchError,
    json_patch,
    merge_patch,
    status,
    validate,
)
from tests.support.tls import TestCA

TOKEN = "meshwatch-test-token"
USER = "system:serviceaccount:meshwatch:meshwatch"
_VERBS = {"GET": "get", "PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}

Key = tuple[str, str, str, str, str]  # group, version, plural, namespace, name
Edit = Callable[[dict[str, Any]], None]


def parse_path(path: str) -> Key | None:
    parts = path.strip("/").split("/")
    if len(parts) != 7 or parts[0] != "apis" or parts[3] != "namespaces":
        return None
    return parts[1], parts[2], parts[5], parts[4], parts[6]


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    body: Any
    user: str = ""
    code: int = 0
    at: float = 0.0  # time.monotonic() when the answer was ready


@dataclass
class FakeKube:
    crds: dict[tuple[str, str, str], Crd]
    objects: dict[Key, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    revision: int = 1000
    lock: threading.RLock = field(default_factory=threading.RLock)
    url: str = ""
    ca: TestCA | None = None
    tokens: dict[str, str] = field(default_factory=lambda: {TOKEN: USER})
    denied: set[tuple[str, str]] = field(default_factory=set)
    before_patch: list[tuple[Key, Edit]] = field(default_factory=list)

    def key(self, obj: dict[str, Any]) -> Key:
        group, _, version = obj["apiVersion"].partition("/")
        crd = next(
            c
            for c in self.crds.values()
            if (c.group, c.version) == (group, version) and c.kind == obj["kind"]
        )
        meta = obj["metadata"]
        return group, version, crd.plural, meta["namespace"], meta["name"]

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a fixture object (validated like a create), with a fresh resourceVersion."""
        key = self.key(obj)
        with self.lock:
            stored = copy.deepcopy(obj)
            self.revision += 1
            stored["metadata"]["resourceVersion"] = str(self.revision)
            validate(self.crds[key[:3]], stored)
            self.objects[key] = stored
        return copy.deepcopy(stored)

    def get(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.objects[self.key(obj)])

    def edit(self, obj: dict[str, Any], change: Edit) -> dict[str, Any]:
        """Someone else changes the stored object (a new resourceVersion)."""
        with self.lock:
            current = self.get(obj)
            change(current)
            return self.put(current)

    def on_next_patch(self, obj: dict[str, Any], change: Edit) -> None:
        """`edit(obj, change)` right before the next PATCH of `obj` is applied: the object
        changed between the client's read and its patch."""
        with self.lock:
            self.before_patch.append((self.key(obj), change))

    def patches(self, *, applied: bool = True) -> list[Recorded]:
        """PATCH requests (only those stored, not dry runs nor refused, when `applied`)."""
        return [
            r
            for r in list(self.requests)
            if r.method == "PATCH"
            and (not applied or (r.code == 200 and "dryRun=All" not in r.path))
        ]

    def authenticate(self, authorization: str | None, peer_cn: str | None) -> str | None:
        if authorization and authorization.startswith("Bearer "):
            return self.tokens.get(authorization.removeprefix("Bearer "))
        return peer_cn

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        content_type: str,
        body: bytes,
        user: str = USER,
    ) -> tuple[int, Any]:
        key = parse_path(path)
        if key is None:
            return 404, status(404, "NotFound", f"the server could not find {path}")
        group, version, plural, namespace, name = key
        verb = _VERBS.get(method, method.lower())
        if (verb, plural) in self.denied:
            message = (
                f'{plural}.{group} "{name}" is forbidden: User "{user}" cannot {verb} resource '
                f'"{plural}" in API group "{group}" in the namespace "{namespace}"'
            )
            details = {"name": name, "group": group, "kind": plural}
            return 403, status(403, "Forbidden", message, details=details)
        crd = self.crds.get((group, version, plural))
        if crd is None:
            return 404, status(
                404,
                "NotFound",
                f"the server could not find the requested resource ({plural}.{group}/{version})",
            )
        with self.lock:
            if method == "PATCH":
                self._run_edits(key)
            current = self.objects.get(key)
            if current is None:
                return 404, status(404, "NotFound", f'{plural}.{group} "{name}" not found')
            if method == "GET":
                return 200, copy.deepcopy(current)
            if method != "PATCH":
                return 405, status(405, "MethodNotAllowed", f"{method} not supported by this fake")
            try:
                patched = self._patch(crd, current, content_type, body)
            except PatchError as exc:
                return exc.code, status(exc.code, exc.reason, exc.message, exc.causes)
            if query.get("dryRun") == "All" or patched == current:
                return 200, patched  # like the API server: a no-op keeps resourceVersion
            self.revision += 1
            patched["metadata"]["resourceVersion"] = str(self.revision)
            self.objects[key] = patched
            return 200, copy.deepcopy(patched)

    def _run_edits(self, key: Key) -> None:
        due = [(k, change) for k, change in self.before_patch if k == key]
        self.before_patch = [(k, c) for k, c in self.before_patch if k != key]
        for _, change in due:
            current = copy.deepcopy(self.objects[key])
            change(current)
            self.revision += 1
            current["metadata"]["resourceVersion"] = str(self.revision)
            self.objects[key] = current

    def _patch(
        self, crd: Crd, current: dict[str, Any], content_type: str, body: bytes
    ) -> dict[str, Any]:
        try:
            patch = json.loads(body)
        except ValueError as exc:
            raise PatchError(400, "BadRequest", f"invalid JSON: {exc}") from None
        if content_type == JSON_PATCH:
            if not isinstance(patch, list):
                raise PatchError(400, "BadRequest", "a JSON patch must be a list of operations")
            patched = json_patch(current, patch)
        elif content_type == MERGE_PATCH:
            patched = merge_patch(current, patch)
        else:
            raise PatchError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                f"{JSON_PATCH}, {MERGE_PATCH} (got {content_type})",
            )
        meta, old = patched.get("metadata") or {}, current["metadata"]
        if meta.get("resourceVersion") != old["resourceVersion"]:
            raise PatchError(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {crd.plural}.{crd.group} "{old["name"]}": '
                "the object has been modified; please apply your changes to the latest "
                "version and try again",
            )
        if (meta.get("name"), meta.get("namespace")) != (old["name"], old["namespace"]):
            raise PatchError(422, "Invalid", "metadata.name and metadata.namespace are immutable")
        validate(crd, patched)
        return patched  # type: ignore[no-any-return]

    def kubeconfig(self, path: Path, user: dict[str, Any], *, context: str = "fake") -> Path:
        """A kubeconfig whose context `context` reaches this server as `user` (kubeconfig
        `user` fields: token, tokenFile, client-certificate/-key, exec); its current
        context is another one, pointing nowhere, so choosing the context matters."""
        assert self.ca is not None
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "fake",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca.cert)},
                },
                {"name": "elsewhere", "cluster": {"server": "https://127.0.0.1:9"}},
            ],
            "users": [{"name": "meshwatch", "user": user}, {"name": "nobody", "user": {}}],
            "contexts": [
                {"name": context, "context": {"cluster": "fake", "user": "meshwatch"}},
                {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "nobody"}},
            ],
            "current-context": "elsewhere",
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config))
        return path


def _handler(fake: FakeKube) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = (self.headers.get("content-type") or "").split(";")[0].strip()
            user = fake.authenticate(self.headers.get("authorization"), self._peer_cn())
            if user is None:
                code, answer = 401, status(401, "Unauthorized", "Unauthorized")
            else:
                try:
                    code, answer = fake.handle(self.command, path, params, content_type, body, user)
                except Exception as exc:  # a bug in a test's edit: say so, as a 500
                    code, answer = 500, status(500, "InternalError", f"fake: {exc!r}")
            fake.requests.append(
                Recorded(
                    self.command,
                    self.path,
                    content_type,
                    json.loads(body) if body else None,
                    user or "",
                    code,
                    time.monotonic(),
                )
            )
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _peer_cn(self) -> str | None:
            connection = self.connection
            cert = connection.getpeercert() if isinstance(connection, ssl.SSLSocket) else None
            for rdn in (cert or {}).get("subject", ()):
                for name, value in rdn:
                    if name == "commonName":
                        return str(value)
            return None

        do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    context: ssl.SSLContext

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.context.wrap_socket(sock, server_side=True), address


@contextlib.contextmanager
def run_fake_kube(ca: TestCA, *crd_names: str) -> Iterator[FakeKube]:
    """Serve a FakeKube with the named CRDs over HTTPS on 127.0.0.1 (a free port) until
    exit; its certificate, and the client certificates it accepts, are from `ca`."""
    crds = [Crd.load(n) for n in crd_names or ("virtualservice", "httproute", "trafficsplit")]
    fake = FakeKube({(c.group, c.version, c.plural): c for c in crds}, ca=ca)
    issued = ca.issue("fake-kube-apiserver", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(ca.cert))
    context.load_cert_chain(issued.cert, issued.key)
    context.verify_mode = ssl.CERT_OPTIONAL
    server = _TLSServer(("127.0.0.1", 0), _handler(fake))
    server.context = context
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"https://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
