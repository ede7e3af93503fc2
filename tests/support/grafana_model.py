"""Check dashboard JSON against Grafana's own dashboard model (grafana-foundation-sdk types).

grafana-foundation-sdk is generated from Grafana's schema (CUE kinds), pinned to the Grafana
11.6 build in `[dev]`. Its `from_json` is lenient, so this module does the checking itself:

1. decode the dashboard with the SDK (panel options, field config and Prometheus queries
   through the SDK's registered plugin variants);
2. walk the decoded objects and compare every value with the SDK's type hints: scalars,
   enums (value must be a member), nested model classes, lists, optionals;
3. re-encode and report every key of the input the model does not know, except the legacy
   keys grafanalib writes that Grafana accepts and ignores or migrates (`LEGACY_KEYS`).
"""

from __future__ import annotations

import enum
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

from grafana_foundation_sdk.cog import plugins
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as model

# Keys outside the 11.6 model that grafanalib writes; Grafana ignores them or migrates them.
LEGACY_KEYS = {
    "dashboard": {"__inputs", "hideControls", "rows", "sharedCrosshair", "style"},
    "panel": {
        "editable",
        "error",
        "height",
        "minSpan",
        "span",
        "columns",
        "fontSize",
        "color",
        "mappings",
        "collapsed",
        "panels",
    },
    "target": {"query", "target", "metric", "step"},
    # Prometheus annotation queries keep their settings at the top level (Grafana reads them).
    "annotation": {"expr", "step", "tagKeys", "titleFormat", "textFormat"},
    "variable": {"tagsQuery", "tagValuesQuery", "useTags", "auto", "auto_min", "auto_count"},
}

_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        plugins.register_default_plugins()
        _registered = True


def _type_ok(value: Any, hint: Any, where: str) -> Iterator[str]:
    """Problems of `value` against the type hint `hint`."""
    if hint is Any or (value is None and _optional(hint)):
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            yield from _type_ok(value, options[0], where)
            return
        for option in options:  # an already decoded object: check it against its own class
            if isinstance(option, type) and type(value) is option:
                yield from _type_ok(value, option, where)
                return
        for option in options:
            if not list(_type_ok(value, option, where)):
                return
        yield f"{where}: {value!r} matches none of {options}"
        return
    if origin is typing.Literal:
        if value not in typing.get_args(hint):
            yield f"{where}: {value!r} not one of {typing.get_args(hint)}"
        return
    if origin is list:
        if not isinstance(value, list):
            yield f"{where}: expected a list, got {type(value).__name__}"
            return
        (item,) = typing.get_args(hint) or (Any,)
        for i, element in enumerate(value):
            yield from _type_ok(element, item, f"{where}[{i}]")
        return
    if origin is dict:
        if not isinstance(value, dict):
            yield f"{where}: expected an object, got {type(value).__name__}"
        return
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        allowed = {m.value for m in hint}
        raw = value.value if isinstance(value, enum.Enum) else value
        if raw not in allowed:
            yield f"{where}: {raw!r} is not a {hint.__name__} ({sorted(map(str, allowed))})"
        return
    if hint is float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            yield f"{where}: expected a number, got {value!r}"
        return
    if hint in (int, str, bool):
        if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
            yield f"{where}: expected {hint.__name__}, got {value!r}"
        return
    if isinstance(hint, type):
        if isinstance(value, cogvariants.Dataquery) and issubclass(hint, cogvariants.Dataquery):
            yield from _object_ok(value, where)
            return
        if isinstance(value, dict) and hasattr(hint, "from_json"):
            value = hint.from_json(value)  # the SDK left it raw; decode it to check it
        if not isinstance(value, hint):
            yield f"{where}: expected {hint.__name__}, got {type(value).__name__} {value!r:.80}"
            return
        yield from _object_ok(value, where)


def _optional(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType) and type(
        None
    ) in typing.get_args(hint)


def _object_ok(obj: Any, where: str) -> Iterator[str]:
    if not hasattr(type(obj), "__init__") or not hasattr(obj, "to_json"):
        return
    try:
        hints = typing.get_type_hints(
            type(obj), vars(__import__(type(obj).__module__, fromlist=["x"]))
        )
    except Exception:  # a forward reference the SDK cannot resolve: skip the object
        return
    for name, hint in hints.items():
        if name.startswith("_"):
            continue
        yield from _type_ok(getattr(obj, name, None), hint, f"{where}.{name}")


def _encode(obj: Any) -> Any:
    return json.loads(json.dumps(obj, cls=JSONEncoder))


def _unknown_keys(original: Any, encoded: Any, where: str, kind: str) -> Iterator[str]:
    if isinstance(original, dict) and isinstance(encoded, dict):
        for key, value in original.items():
            if key not in encoded:
                if value is None or key in LEGACY_KEYS.get(kind, set()):
                    continue
                yield f"{where}.{key}: not in Grafana's dashboard model"
            else:
                yield from _unknown_keys(value, encoded[key], f"{where}.{key}", "")
    elif isinstance(original, list) and isinstance(encoded, list):
        for i, (a, b) in enumerate(zip(original, encoded, strict=False)):
            yield from _unknown_keys(a, b, f"{where}[{i}]", "")


def check_dashboard(data: dict[str, Any]) -> list[str]:
    """Every structural problem of one dashboard model; empty when it fits Grafana's model."""
    _register()
    problems: list[str] = []
    # panels, variables and annotations are checked one by one below, with clearer locations
    top = {k: v for k, v in data.items() if k not in ("panels", "templating", "annotations")}
    board = model.Dashboard.from_json(top)
    problems += _object_ok(board, "dashboard")
    encoded = _encode(board)
    problems += _unknown_keys(top, encoded, "dashboard", "dashboard")
    panels = list(data.get("panels", []))
    panels += [child for p in data.get("panels", []) for child in p.get("panels", [])]
    for panel in panels:
        cls = model.RowPanel if panel.get("type") == "row" else model.Panel
        decoded = cls.from_json(panel)
        where = f"panel {panel.get('title')!r}"
        problems += _object_ok(decoded, where)
        encoded_panel = _encode(decoded)
        problems += _unknown_keys(
            {k: v for k, v in panel.items() if k not in ("targets", "panels")},
            encoded_panel,
            where,
            "panel",
        )
        for target, enc in zip(
            panel.get("targets", []), encoded_panel.get("targets", []), strict=True
        ):
            problems += _unknown_keys(
                target, enc, f"{where} target {target.get('refId')}", "target"
            )
    for variable in data.get("templating", {}).get("list", []):
        decoded_var = model.VariableModel.from_json(variable)
        where = f"variable {variable.get('name')!r}"
        problems += _object_ok(decoded_var, where)
        problems += _unknown_keys(variable, _encode(decoded_var), where, "variable")
    for annotation in data.get("annotations", {}).get("list", []):
        decoded_ann = model.AnnotationQuery.from_json(annotation)
        where = f"annotation {annotation.get('name')!r}"
        problems += _object_ok(decoded_ann, where)
        problems += _unknown_keys(annotation, _encode(decoded_ann), where, "annotation")
    return problems
