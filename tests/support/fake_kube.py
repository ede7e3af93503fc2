"""A FAKE Kubernetes API server for the actuator tests: no kube-apiserver can run here.

research/tooling.md §7: kube-apiserver is not installable on this machine (no Debian, PyPI
or npm package ships it, and kind/k3s/minikube need container images). This is a small HTTP
server on 127.0.0.1 that behaves like the API server for what meshwatch sends it, and
records every request so tests can check them:

* GET and PATCH of namespaced custom objects under `/apis/<group>/<version>/namespaces/
  <ns>/<plural>/<name>`, bearer-token auth (401 otherwise);
* PATCH with `application/json-patch+json` (RFC 6902: add, remove, replace, test) or
  `application/merge-patch+json` (RFC 7386); any other type is 415;
* a failed `test` op is 422 "Testing value ... failed" (as kube-apiserver answers since
  1.12); a patch that leaves `metadata.resourceVersion` different from the stored one is
  409 Conflict (optimistic concurrency); changed name/namespace is 422;
* the patched object is validated against the CRD's openAPIV3Schema (hand-written subsets
  of the published schemas in `tests/support/crds/`, see their `description`) with strict
  field validation (unknown fields refused), and annotation keys/values as ObjectMeta
  validation checks them; invalid objects are 422 Invalid with the causes;
* `dryRun=All` validates without storing; every stored change bumps resourceVersion.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

CRDS = Path(__file__).parent / "crds"
TOKEN = "meshwatch-test-token"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
_PATH = re.compile(r"^/apis/([^/]+)/([^/]+)/namespaces/([^/]+)/([^/]+)/([^/?]+)$")
_QUALIFIED = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def json_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """A JSON Schema for an OpenAPI v3 structural schema, with the API server's semantics:
    objects with `properties` are closed unless `x-kubernetes-preserve-unknown-fields`,
    `nullable` admits null, int32 has its bounds."""
    out = {k: v for k, v in openapi.items() if not k.startswith("x-") and k != "nullable"}
    if "properties" in openapi:
        out["properties"] = {k: json_schema(v) for k, v in openapi["properties"].items()}
        if not openapi.get("x-kubernetes-preserve-unknown-fields"):
            out.setdefault("additionalProperties", False)
    if "items" in openapi:
        out["items"] = json_schema(openapi["items"])
    if openapi.get("format") == "int32":
        out.setdefault("minimum", -(2**31))
        out.setdefault("maximum", 2**31 - 1)
    if openapi.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


METADATA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "uid": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": True,
}


@dataclass
class Crd:
    group: str
    version: str
    plural: str
    kind: str
    schema: dict[str, Any]

    @staticmethod
    def load(name: str) -> Crd:
        doc = json.loads((CRDS / f"{name}.json").read_text())
        schema = json_schema(doc["openAPIV3Schema"])
        schema["properties"].update(
            apiVersion={"type": "string"}, kind={"type": "string"}, metadata=METADATA
        )
        return Crd(doc["group"], doc["version"], doc["plural"], doc["kind"], schema)


class PatchError(Exception):
    def __init__(self, code: int, reason: str, message: str, causes: list[str] | None = None):
        super().__init__(message)
        self.code, self.reason, self.message, self.causes = code, reason, message, causes or []


# --- RFC 6902 / RFC 7386 -------------------------------------------------------------


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise PatchError(400, "BadRequest", f"invalid JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise PatchError(400, "BadRequest", "cannot patch the whole document")
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    return node, tokens[-1]


def _child(node: Any, token: str, pointer: str) -> Any:
    try:
        return node[int(token)] if isinstance(node, list) else node[token]
    except (KeyError, IndexError, ValueError, TypeError):
        raise PatchError(422, "Invalid", f"doc is missing path: {pointer!r}") from None


def json_patch(doc: Any, ops: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(doc)
    for op in ops:
        kind, path = op.get("op"), op.get("path", "")
        parent, last = _parent(doc, path)
        if kind == "test":
            if _child(parent, last, path) != op.get("value"):
                raise PatchError(422, "Invalid", f"Testing value {path} failed")
        elif kind == "remove":
            _child(parent, last, path)
            del parent[int(last) if isinstance(parent, list) else last]
        elif kind in ("add", "replace"):
            if kind == "replace":
                _child(parent, last, path)
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op["value"])
                else:
                    parent[index] = op["value"]
            elif isinstance(parent, dict):
                parent[last] = op["value"]
            else:
                raise PatchError(422, "Invalid", f"cannot {kind} at {path!r}")
        else:
            raise PatchError(400, "BadRequest", f"unsupported op {kind!r} (this fake)")
    return doc


def merge_patch(doc: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# --- the server -------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    content_type: str
    body: Any


@dataclass
class FakeKube:
    crds: dict[tuple[str, str, str], Crd]
    objects: dict[tuple[str, str, str, str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    revision: int = 1000
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a fixture object (validated like a create), with a fresh resourceVersion."""
        group, _, version = obj["apiVersion"].partition("/")
        crd = next(
            c
            for c in self.crds.values()
            if (c.group, c.version) == (group, version) and c.kind == obj["kind"]
        )
        meta = obj["metadata"]
        key = (group, version, crd.plural, meta["namespace"], meta["name"])
        with self.lock:
            stored = copy.deepcopy(obj)
            self.revision += 1
            stored["metadata"]["resourceVersion"] = str(self.revision)
            _validate(crd, stored)
            self.objects[key] = stored
        return copy.deepcopy(stored)

    def get(self, obj: dict[str, Any]) -> dict[str, Any]:
        group, _, version = obj["apiVersion"].partition("/")
        meta = obj["metadata"]
        crd = next(c for c in self.crds.values() if c.kind == obj["kind"])
        return copy.deepcopy(
            self.objects[(group, version, crd.plural, meta["namespace"], meta["name"])]
        )

    def handle(
        self, method: str, path: str, query: dict[str, str], content_type: str, body: bytes
    ) -> tuple[int, Any]:
        match = _PATH.match(path)
        if not match:
            return 404, _status(404, "NotFound", f"the server could not find {path}")
        group, version, namespace, plural, name = match.groups()
        crd = self.crds.get((group, version, plural))
        if crd is None:
            return 404, _status(
                404,
                "NotFound",
                f"the server could not find the requested resource ({plural}.{group}/{version})",
            )
        key = (group, version, plural, namespace, name)
        with self.lock:
            current = self.objects.get(key)
            if current is None:
                return 404, _status(404, "NotFound", f'{plural}.{group} "{name}" not found')
            if method == "GET":
                return 200, copy.deepcopy(current)
            if method != "PATCH":
                return 405, _status(405, "MethodNotAllowed", f"{method} not supported by this fake")
            try:
                patched = self._patch(crd, current, content_type, body)
            except PatchError as exc:
                return exc.code, _status(exc.code, exc.reason, exc.message, exc.causes)
            if query.get("dryRun") == "All" or patched == current:
                return 200, patched  # like the API server: a no-op keeps resourceVersion
            self.revision += 1
            patched["metadata"]["resourceVersion"] = str(self.revision)
            self.objects[key] = patched
            return 200, copy.deepcopy(patched)

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
        _validate(crd, patched)
        return patched  # type: ignore[no-any-return]


def _validate(crd: Crd, obj: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(crd.schema)
    causes = [
        f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(obj)
    ]
    for key in (obj.get("metadata") or {}).get("annotations") or {}:
        prefix, _, name = key.rpartition("/")
        if not _QUALIFIED.match(name) or (prefix and not _DNS_SUBDOMAIN.match(prefix)):
            causes.append(
                f"metadata.annotations: Invalid value: {key!r}: name part must be no more "
                "than 63 characters of alphanumerics, '-', '_' or '.'"
            )
    if causes:
        raise PatchError(
            422,
            "Invalid",
            f'{crd.kind}.{crd.group} "{obj["metadata"]["name"]}" is invalid: ' + "; ".join(causes),
            causes,
        )


def _status(
    code: int, reason: str, message: str, causes: list[str] | None = None
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if causes:
        status["details"] = {"causes": [{"message": c} for c in causes]}
    return status


@contextlib.contextmanager
def run_fake_kube(*crd_names: str) -> Iterator[FakeKube]:
    """Serve a FakeKube with the named CRDs on 127.0.0.1 (a free port) until exit."""
    crds = [Crd.load(n) for n in crd_names or ("virtualservice", "httproute", "trafficsplit")]
    fake = FakeKube({(c.group, c.version, c.plural): c for c in crds})

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = (self.headers.get("content-type") or "").split(";")[0].strip()
            fake.requests.append(
                Recorded(self.command, self.path, content_type, json.loads(body) if body else None)
            )
            if self.headers.get("authorization") != f"Bearer {TOKEN}":
                code, answer = 401, _status(401, "Unauthorized", "Unauthorized")
            else:
                code, answer = fake.handle(self.command, path, params, content_type, body)
            data = json.dumps(answer).encode()
            self.send_response(code)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PATCH = do_PUT = do_POST = do_DELETE = _serve

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
