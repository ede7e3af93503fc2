"""What the FAKE Kubernetes API server (tests/support/fake_kube.py) does to an object:
RFC 6902 JSON patch, RFC 7386 merge patch, and validation against a CRD's structural
schema with the API server's semantics (closed objects, int32 bounds, ObjectMeta
annotation keys). Errors are `PatchError`s carrying the Status the server answers.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

CRDS = Path(__file__).parent / "crds"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
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

    def tightened(self, path: tuple[str, ...], **constraints: Any) -> Crd:
        """This CRD with `constraints` (e.g. maximum=60) added to the field at `path` (its
        property names from the object's root, e.g. ("spec", "http", "route", "weight")):
        a newer CRD version whose schema objects stored before may no longer meet."""
        schema = copy.deepcopy(self.schema)
        node = schema
        for name in path:
            node = node["properties"][name]
            node = node.get("items", node)
        node.update(constraints)
        return Crd(self.group, self.version, self.plural, self.kind, schema)


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


def validate(crd: Crd, obj: dict[str, Any]) -> None:
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


def status(
    code: int,
    reason: str,
    message: str,
    causes: list[str] | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A `metav1.Status` as the API server answers errors."""
    answer: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if causes or details:
        answer["details"] = {**(details or {}), "causes": [{"message": c} for c in causes or []]}
    return answer
