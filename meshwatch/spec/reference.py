"""Render the `meshwatch/v1` reference (docs/spec-reference.md) from the pydantic models.

The field descriptions in `meshwatch.spec.native` are the only source: a test fails when the
committed file differs from `render_reference()`.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from meshwatch.meshes import all_meshes, grpc
from meshwatch.meshes.base import Mesh, PresetError
from meshwatch.model import LatencySLI, Matcher, RatioSLI
from meshwatch.spec import bounds, openslo, openslo_v1alpha, pyrra, slo_generator, sloth
from meshwatch.spec.native import models as native

HEADER = """\
# `meshwatch/v1` spec reference

<!-- Generated from meshwatch/spec/native.py by meshwatch.spec.reference. DO NOT EDIT. -->

A spec file holds one or more YAML documents (`---`); meshwatch also reads Sloth
(`prometheus/v1`, `sloth.slok.dev/v1`), OpenSLO (`openslo/v1`, and `openslo/v1alpha` as
Sloth reads it), Pyrra (`pyrra.dev/v1alpha1`) and slo-generator (`sre.google.com/v2`)
documents. Durations are Prometheus-style (`30s`, `5m`, `1h`, `30d`, `4w`). Unknown fields
are errors. `meshwatch validate PATH...` prints every problem as
`FILE:LINE: field.path: message`.

```yaml
apiVersion: meshwatch/v1
kind: ServiceLevels
service: checkout
slos:
  - name: availability
    objective: 99.9
    window: 30d
    sli:
      mesh: {kind: istio, service: checkout}
```
"""


def render_reference() -> str:
    """The whole reference page, deterministic."""
    parts = [HEADER]
    for model in _models(native.ServiceLevels):
        parts.append(_section(model))
    parts.append(_mesh_section())
    parts.append(_module_section("Sloth specs", sloth.__doc__))
    parts.append(_module_section("OpenSLO specs", openslo.__doc__))
    parts.append(_module_section("OpenSLO v1alpha specs", openslo_v1alpha.__doc__))
    parts.append(_module_section("Pyrra specs", pyrra.__doc__))
    parts.append(_module_section("slo-generator specs", slo_generator.__doc__))
    parts.append(_module_section("What a spec file may be", bounds.__doc__))
    return "\n".join(parts)


def _module_section(title: str, doc: str | None) -> str:
    return f"## {title}\n\n{inspect.cleandoc(doc or '')}\n"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    """`root` and every model reachable from its fields, in first-seen order."""
    order: list[type[BaseModel]] = []
    todo = [root]
    while todo:
        model = todo.pop(0)
        if model in order:
            continue
        order.append(model)
        for info in model.model_fields.values():
            todo.extend(_nested(info.annotation))
    return order


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested(arg)]


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _section(model: type[BaseModel]) -> str:
    doc = " ".join((model.__doc__ or "").split())
    rows = [
        f"## {model.__name__}",
        "",
        doc,
        "",
        "| field | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, info in model.model_fields.items():
        key = info.alias or name
        rows.append(
            f"| `{key}` | {_type(info.annotation)} | {_default(info)} | "
            f"{_escape(info.description or '')} |"
        )
    return "\n".join(rows) + "\n"


def _type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{_anchor(annotation)})"
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type(a) for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return "map of string"
    names = {str: "string", float: "number", int: "integer", bool: "boolean"}
    return names.get(annotation, str(annotation))


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()  # type: ignore[call-arg]
        if isinstance(value, BaseModel):
            return "see below"
        if isinstance(value, list) and value:
            return f"`[{', '.join(str(v) for v in value)}]`"
        return f"`{value}`" if value else "empty"
    if info.default is None or info.default is PydanticUndefined:
        return "—"
    if isinstance(info.default, bool):
        return f"`{str(info.default).lower()}`"
    return f"`{info.default}`" if info.default != "" else '`""`'


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _mesh_section() -> str:
    rows = [
        "## Mesh presets",
        "",
        "What `sli: {mesh: ...}` expands to. Bad requests are the availability SLI's errors; "
        "latency SLIs count requests at or under `latency_threshold` as good.",
        "",
        "| kind | requests counter | bad requests | latency histogram (ms) | per-backend label |",
        "|---|---|---|---|---|",
    ]
    for preset in all_meshes():
        matchers = _example_matchers(preset)
        sli = preset.sli(matchers, None)
        latency = preset.sli(matchers, 250.0)
        assert isinstance(sli, RatioSLI) and sli.bad is not None
        assert isinstance(latency, LatencySLI)
        bad_extra = [m for m in sli.bad.matchers if m not in sli.total.matchers]
        rows.append(
            f"| `{preset.kind}` | `{_escape(sli.total.promql())}` | "
            f"`{_escape(', '.join(m.promql() for m in bad_extra))}` | `{latency.histogram}` | "
            f"`{preset.version_label}` |"
        )
    return "\n".join(rows) + "\n" + _grpc_section()


def _example_matchers(preset: Mesh) -> tuple[Matcher, ...]:
    selected = preset.select(preset.example)
    assert not isinstance(selected, PresetError), selected
    return selected[0]


def _grpc_section() -> str:
    """What `protocol: grpc` and `auto` expand to, with the default server errors."""
    rows = [
        "",
        "### gRPC",
        "",
        "With `protocol: grpc` a call is bad when its gRPC status is one of "
        "`grpc_server_errors` (default "
        f"{', '.join(f'`{name}`' for name in grpc.DEFAULT_SERVER_ERRORS)}), whatever its "
        "HTTP code; `auto` counts HTTP 5xx and those statuses. Each preset below as "
        "generated with the default set:",
        "",
        "| kind | protocol | requests counter | bad requests | good requests |",
        "|---|---|---|---|---|",
    ]
    for preset in all_meshes():
        for protocol in preset.protocols[1:]:
            sli = preset.sli(_example_matchers(preset), None, protocol)
            assert isinstance(sli, RatioSLI)
            bad = " + ".join(s.promql() for s in sli.bad_selectors)
            good = "" if sli.good is None else sli.good.promql()
            rows.append(
                f"| `{preset.kind}` | `{protocol}` | `{_escape(sli.total.promql())}` | "
                + (f"`{_escape(bad)}`" if bad else "")
                + " | "
                + (f"`{_escape(good)}`" if good else "")
                + " |"
            )
    return "\n".join(rows) + "\n"
