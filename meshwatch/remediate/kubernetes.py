"""Weights and retries of routes kept in Kubernetes objects (Istio, Gateway API, Linkerd).

One actuator shared by every route kind, over `kube_client.KubeClient` (lightkube). The
kind itself is a small `RouteKind` that finds the weighted entries and builds the retry
edits.

Each change is one RFC 6902 JSON patch that touches only the owned fields, so the rest of
the user's object is kept whatever else it holds:

* `replace /metadata/resourceVersion` with the version read: optimistic concurrency; the
  API server answers 409 Conflict if the object changed since (retryable);
* a `test` per weighted entry that it still names the same backend (array indexes can
  shift when someone edits the object): a failed test is 422 "Testing value ... failed",
  also treated as a retryable conflict;
* the weights, and the retry fields with the user's original saved in an annotation.

`dry_run` sends the same patch with `dryRun=All`: the API server validates it against the
CRD schema and admission without storing it. An apply is confirmed by the new
`resourceVersion` and by reading the object back.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from meshwatch import conventions as c
from meshwatch.errors import ActuatorError, PatchInvalid
from meshwatch.remediate.base import ApplyResult, ApplyState, Retries, RouteState, check_weights
from meshwatch.remediate.kube_client import KubeClient, Obj, ObjectRef, Op

log = logging.getLogger(__name__)

ANNOTATION_PREFIX = c.ANNOTATION_PREFIX


# --- route kinds ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """One weighted entry of a route: where it is, what it must still name, its weight."""

    backend: str
    pointer: str  # JSON pointer of the entry, e.g. /spec/http/0/route/1
    identity: tuple[tuple[str, Any], ...]  # (pointer suffix, expected value) tested first
    weight: int


class RouteKind(Protocol):
    """What differs between VirtualService, HTTPRoute and TrafficSplit."""

    group: str
    version: str
    kind: str
    plural: str

    def slots(self, obj: Obj, selector: str) -> list[Slot]:
        """The weighted entries of the selected route (raise ActuatorError if none)."""
        ...

    def has_retries(self, obj: Obj, selector: str) -> bool: ...

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        """Ops that set meshwatch's retries (`retries`) or put the user's back (None)."""
        ...


def parse_target(target: str) -> tuple[str, str, str]:
    """`namespace/name[#route]` -> (namespace, name, route selector or "")."""
    ref, _, selector = target.partition("#")
    namespace, _, name = ref.partition("/")
    if not namespace or not name or "/" in name:
        raise ActuatorError(
            f"kubernetes target {target!r} must be <namespace>/<name>[#<route name or index>]",
            retryable=False,
        )
    return namespace, name, selector


def pick(items: Sequence[Any], selector: str, what: str) -> int:
    """Index of the item named `selector` (its `name`), or `selector` as an index; the only
    item when `selector` is empty."""
    if not selector:
        if len(items) == 1:
            return 0
        raise ActuatorError(f"{len(items)} {what}s: name one with #<name>", retryable=False)
    for index, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == selector:
            return index
    if selector.isdigit() and int(selector) < len(items):
        return int(selector)
    raise ActuatorError(f"no {what} {selector!r}", retryable=False)


def escape(token: str) -> str:
    """One JSON-pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def annotation_key(what: str, selector: str) -> str:
    """The annotation that keeps the user's original value of something meshwatch changed.

    `meshwatch.io/original-<what>[-<route>]`; the name part is made a valid qualified name
    (at most 63 of [-A-Za-z0-9_.], alphanumeric at both ends), with a hash when shortened.
    """
    name = f"original-{what}" + (f"-{selector}" if selector else "")
    name = re.sub(r"[^-A-Za-z0-9_.]", "-", name)
    if len(name) > 63:
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = f"{name[:54]}-{digest}"
    return ANNOTATION_PREFIX + name.strip("-_.")


def set_annotation_ops(obj: Obj, key: str, value: str) -> list[Op]:
    annotations = (obj.get("metadata") or {}).get("annotations")
    if annotations is None:
        return [{"op": "add", "path": "/metadata/annotations", "value": {key: value}}]
    return [{"op": "add", "path": f"/metadata/annotations/{escape(key)}", "value": value}]


def remove_annotations_ops(obj: Obj, keys: Sequence[str]) -> list[Op]:
    """Remove annotations meshwatch added; drop the map when nothing else is left in it."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    present = [k for k in keys if k in annotations]
    if present and set(annotations) <= set(present):
        return [{"op": "remove", "path": "/metadata/annotations"}]
    return [{"op": "remove", "path": f"/metadata/annotations/{escape(k)}"} for k in present]


def saved_annotation(obj: Obj, key: str) -> str | None:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(key)
    return value if isinstance(value, str) else None


def at_least_two(slots: list[Slot], message: str) -> list[Slot]:
    """`slots`, or a non-retryable ActuatorError(`message`) when there is nothing to shift."""
    if len(slots) < 2:
        raise ActuatorError(message, retryable=False)
    return slots


class ListedRoutes:
    """A route kind whose routes are the list `spec.<routes_field>` (picked by `#name` or
    index) with retries in the picked route's field `retry_field`; meshwatch keeps the
    user's original in the annotation `annotation_key(retry_field, selector)`."""

    routes_field: str
    route_what: str
    retry_field: str

    def route(self, obj: Obj, selector: str) -> tuple[str, dict[str, Any]]:
        """The selected route's JSON pointer and the route."""
        routes = (obj.get("spec") or {}).get(self.routes_field) or []
        index = pick(routes, selector, self.route_what)
        return f"/spec/{self.routes_field}/{index}", routes[index]

    def retry_value(self, retries: Retries) -> dict[str, Any]:
        """meshwatch's value of the retry field."""
        raise NotImplementedError

    def has_retries(self, obj: Obj, selector: str) -> bool:
        return saved_annotation(obj, annotation_key(self.retry_field, selector)) is not None

    def retry_ops(self, obj: Obj, selector: str, retries: Retries | None) -> list[Op]:
        """Set meshwatch's retries, or (None) put the user's original back."""
        pointer, route = self.route(obj, selector)
        key = annotation_key(self.retry_field, selector)
        saved = saved_annotation(obj, key)
        path = f"{pointer}/{self.retry_field}"
        if retries is None:
            if saved is None:
                return []
            original = json.loads(saved)
            ops = remove_annotations_ops(obj, [key])
            if original is not None:
                ops.append({"op": "add", "path": path, "value": original})
            elif self.retry_field in route:
                ops.append({"op": "remove", "path": path})
            return ops
        ops = (
            []
            if saved is not None
            else set_annotation_ops(obj, key, json.dumps(route.get(self.retry_field)))
        )
        ops.append({"op": "add", "path": path, "value": self.retry_value(retries)})
        return ops


# --- the actuator -----------------------------------------------------------------------


class KubeRouteActuator:
    """Weights (and retries) of one kind of route object, through the Kubernetes API."""

    def __init__(self, client: KubeClient, kind: RouteKind) -> None:
        self.client = client
        self.kind = kind

    def _ref(self, target: str) -> tuple[ObjectRef, str]:
        namespace, name, selector = parse_target(target)
        k = self.kind
        return ObjectRef(k.group, k.version, k.kind, k.plural, namespace, name), selector

    def current(self, target: str) -> RouteState:
        ref, selector = self._ref(target)
        obj = self.client.get(ref)
        return self._state(obj, selector)

    def _state(self, obj: Obj, selector: str) -> RouteState:
        weights = {slot.backend: slot.weight for slot in self.kind.slots(obj, selector)}
        version = str((obj.get("metadata") or {}).get("resourceVersion", ""))
        return RouteState(weights, version, self.kind.has_retries(obj, selector))

    def apply(
        self,
        target: str,
        weights: Mapping[str, int] | None,
        *,
        retries: Retries | None = None,
        restore_retries: bool = False,
        dry_run: bool = True,
    ) -> ApplyResult:
        ref, selector = self._ref(target)
        obj = self.client.get(ref)
        before = self._state(obj, selector)
        after = dict(weights) if weights is not None else dict(before.weights)
        check_weights(target, before.weights, after)
        ops = self._ops(obj, selector, before.version, weights, retries, restore_retries)

        def result(state: ApplyState, version: str, detail: str) -> ApplyResult:
            return ApplyResult(
                state, target, before, after, version, detail, retries, restore_retries
            )

        if all(op["op"] == "test" for op in ops[1:]):
            state = ApplyState.DRY_RUN if dry_run else ApplyState.APPLIED
            return result(state, before.version, "nothing to change")
        try:
            patched = self.client.patch(ref, ops, dry_run=dry_run)
        except PatchInvalid as exc:
            log.warning("%s: API server refused the patch: %s", target, exc)
            return result(ApplyState.REJECTED, before.version, str(exc))
        if dry_run:
            return result(
                ApplyState.DRY_RUN, before.version, "dry run: the API server validated the patch"
            )
        return self._confirm(ref, selector, patched, before, after, result)

    def _ops(
        self,
        obj: Obj,
        selector: str,
        version: str,
        weights: Mapping[str, int] | None,
        retries: Retries | None,
        restore_retries: bool,
    ) -> list[Op]:
        ops: list[Op] = [{"op": "replace", "path": "/metadata/resourceVersion", "value": version}]
        for slot in self.kind.slots(obj, selector):
            for suffix, value in slot.identity:
                ops.append({"op": "test", "path": f"{slot.pointer}/{suffix}", "value": value})
            if weights is not None and weights[slot.backend] != slot.weight:
                ops.append(
                    {"op": "add", "path": f"{slot.pointer}/weight", "value": weights[slot.backend]}
                )
        if retries is not None or restore_retries:
            ops.extend(self.kind.retry_ops(obj, selector, retries))
        return ops

    def _confirm(
        self,
        ref: ObjectRef,
        selector: str,
        patched: Obj,
        before: RouteState,
        after: Mapping[str, int],
        result: Callable[[ApplyState, str, str], ApplyResult],
    ) -> ApplyResult:
        """Applied when the server answered with a new resourceVersion holding our weights,
        and reading the object back shows them too (nothing reverted it meanwhile)."""
        answered = self._state(patched, selector)
        stored = self._state(self.client.get(ref), selector)
        if answered.version == before.version:
            return result(
                ApplyState.FAILED, before.version, "the API server kept the old resourceVersion"
            )
        if dict(stored.weights) != dict(after):
            return result(
                ApplyState.FAILED,
                stored.version,
                f"read back weights {dict(stored.weights)} at resourceVersion {stored.version}",
            )
        return result(
            ApplyState.APPLIED,
            answered.version,
            f"resourceVersion {before.version} -> {answered.version}",
        )
