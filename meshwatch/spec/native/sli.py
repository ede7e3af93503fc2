"""`sli:` of a native spec: counter ratios, latency histograms, PromQL templates, mesh presets."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from meshwatch.errors import PromQLError
from meshwatch.meshes import all_meshes, grpc, mesh
from meshwatch.meshes.base import Mesh, PresetError
from meshwatch.model import (
    SLI,
    LatencySLI,
    MeshKind,
    MeshSource,
    NativeLatencySLI,
    RatioSLI,
    Selector,
)
from meshwatch.spec.checks import parse_latency_ms
from meshwatch.spec.native import models as native
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import events_sli, raw_sli

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SLI_KINDS = ("ratio", "latency", "events", "raw", "mesh")


def sli_from_spec(
    spec: native.SLISpec, doc: Document, path: FieldPath, problems: Problems
) -> tuple[SLI, MeshSource | None] | None:
    """The SLI (and its mesh source, for presets), or None with the problems recorded."""
    kind = _kind(spec)
    if kind is None:
        found = sum(getattr(spec, name) is not None for name in _SLI_KINDS)
        problems.error(doc, path, f"set exactly one of {', '.join(_SLI_KINDS)} (found {found})")
        return None
    at: FieldPath = (*path, kind)
    if spec.ratio is not None:
        ratio = _ratio(spec.ratio, doc, at, problems)
        return None if ratio is None else (ratio, None)
    if spec.latency is not None:
        latency = _latency(spec.latency, doc, at, problems)
        return None if latency is None else (latency, None)
    if spec.events is not None:
        events = spec.events
        sli = events_sli(
            doc,
            problems,
            total=(events.total_query, (*at, "total_query")),
            bad=None if events.bad_query is None else (events.bad_query, (*at, "bad_query")),
            good=None if events.good_query is None else (events.good_query, (*at, "good_query")),
            at=at,
            names="bad_query, good_query",
        )
        return None if sli is None else (sli, None)
    if spec.raw is not None:
        raw = raw_sli(spec.raw.error_ratio_query, doc, (*at, "error_ratio_query"), problems)
        return None if raw is None else (raw, None)
    assert spec.mesh is not None
    return mesh_from_spec(spec.mesh, doc, at, problems)


def _kind(spec: native.SLISpec) -> str | None:
    """The one SLI kind `spec` sets, or None when it sets none or several. Spelt out: a
    comprehension over `_SLI_KINDS` cost three times as much, once per SLO."""
    ratio, latency, events, raw = spec.ratio, spec.latency, spec.events, spec.raw
    unset = (ratio is None) + (latency is None) + (events is None) + (raw is None)
    if unset + (spec.mesh is None) != len(_SLI_KINDS) - 1:
        return None
    if ratio is not None:
        return "ratio"
    if latency is not None:
        return "latency"
    if events is not None:
        return "events"
    return "raw" if raw is not None else "mesh"


@functools.cache
def _parser() -> Callable[..., Selector]:
    """`spec.promql.parse_selector`, imported on first use: the parser only for specs with
    PromQL (an import statement per selector cost as much as mapping its tree)."""
    from meshwatch.spec.promql import parse_selector

    return parse_selector


def _selector(text: str, doc: Document, path: FieldPath, problems: Problems) -> Selector | None:
    try:
        return _parser()(text)
    except PromQLError as exc:
        problems.error(doc, path, f"invalid PromQL selector: {exc}")
        return None


def _ratio(
    spec: native.RatioSpec, doc: Document, path: FieldPath, problems: Problems
) -> RatioSLI | None:
    if (spec.good is None) == (spec.bad is None):
        problems.error(doc, path, "set exactly one of good, bad")
        return None
    total = _selector(spec.total, doc, (*path, "total"), problems)
    if spec.bad is not None:
        bad = _selector(spec.bad, doc, (*path, "bad"), problems)
        return None if total is None or bad is None else RatioSLI(total=total, bad=bad)
    assert spec.good is not None
    good = _selector(spec.good, doc, (*path, "good"), problems)
    return None if total is None or good is None else RatioSLI(total=total, good=good)


def _latency(
    spec: native.LatencySpec, doc: Document, path: FieldPath, problems: Problems
) -> LatencySLI | NativeLatencySLI | None:
    ok = True
    if not _METRIC_NAME.match(spec.histogram):
        problems.error(doc, (*path, "histogram"), f"invalid metric name {spec.histogram!r}")
        ok = False
    elif spec.histogram.endswith(("_bucket", "_count", "_sum")):
        problems.error(
            doc,
            (*path, "histogram"),
            f"name the histogram without its suffix, e.g. {spec.histogram.rsplit('_', 1)[0]!r}",
        )
        ok = False
    if spec.threshold <= 0:
        problems.error(doc, (*path, "threshold"), "threshold must be positive")
        ok = False
    try:
        selector = _parser()(spec.selector, metric_required=False)
    except PromQLError as exc:
        problems.error(doc, (*path, "selector"), f"invalid PromQL selector: {exc}")
        return None
    if selector.metric:
        problems.error(doc, (*path, "selector"), 'give only label matchers here, e.g. {job="api"}')
        ok = False
    if any(m.label == "le" for m in selector.matchers):
        problems.error(doc, (*path, "selector"), "do not match on `le`; set threshold instead")
        ok = False
    if not ok:
        return None
    if spec.native:
        return NativeLatencySLI(spec.histogram, spec.threshold, selector.matchers)
    return LatencySLI(spec.histogram, spec.threshold, selector.matchers)


@functools.cache
def _preset_fields() -> tuple[str, ...]:
    """Every mesh-specific preset field, in the order MeshSpec declares them."""
    meshes = all_meshes()
    return tuple(
        name for name in native.MeshSpec.model_fields if any(name in m.fields for m in meshes)
    )


@functools.cache
def _foreign_fields(kind: MeshKind) -> tuple[str, ...]:
    """The preset fields that belong to other meshes than `kind`, in `_preset_fields` order."""
    own = mesh(kind).fields
    return tuple(name for name in _preset_fields() if name not in own)


def mesh_from_spec(
    spec: native.MeshSpec, doc: Document, path: FieldPath, problems: Problems
) -> tuple[SLI, MeshSource] | None:
    """Expand a mesh preset; every field that does not belong to `kind` is an error."""
    before = problems.error_count
    chosen = mesh(spec.kind)
    for name in _foreign_fields(spec.kind):
        if getattr(spec, name) is not None:
            owners = [m.kind for m in all_meshes() if name in m.fields]
            problems.error(
                doc, (*path, name), f"{name} is for kind {' or '.join(owners)}, not {spec.kind}"
            )
    latency_ms = None
    if spec.latency_threshold is not None:
        try:
            latency_ms = parse_latency_ms(spec.latency_threshold)
        except ValueError as exc:
            problems.error(doc, (*path, "latency_threshold"), str(exc))
        else:
            buckets = chosen.buckets_ms
            if latency_ms not in buckets:
                problems.warning(
                    doc,
                    (*path, "latency_threshold"),
                    f"{spec.latency_threshold} is not a default bucket bound of {spec.kind}'s "
                    f"latency histogram ({', '.join(f'{b:g}' for b in buckets[:14])} ms ...); "
                    "the SLI needs a bucket at the threshold",
                )
    grpc_errors = _grpc_errors(spec, chosen, doc, path, problems)
    selected = chosen.select({name: getattr(spec, name) for name in chosen.fields})
    if isinstance(selected, PresetError):
        at = path if selected.field is None else (*path, selected.field)
        problems.error(doc, at, selected.message)
        return None
    if problems.error_count > before:
        return None
    matchers, target = selected
    protocol = spec.protocol
    source = MeshSource(spec.kind, target, chosen.version_label, protocol)
    return chosen.sli(matchers, latency_ms, protocol, grpc_errors), source


def _grpc_errors(
    spec: native.MeshSpec, chosen: Mesh, doc: Document, path: FieldPath, problems: Problems
) -> tuple[str, ...]:
    """The server-error statuses of a gRPC preset (problems recorded for bad values)."""
    if spec.protocol not in chosen.protocols:
        problems.error(
            doc,
            (*path, "protocol"),
            f"kind {spec.kind} cannot tell HTTP from gRPC in one metric; "
            f"set protocol to one of {', '.join(chosen.protocols)}",
        )
    if spec.grpc_server_errors is None:
        return grpc.DEFAULT_SERVER_ERRORS
    at: FieldPath = (*path, "grpc_server_errors")
    if spec.protocol == "http":
        problems.error(doc, at, "grpc_server_errors needs protocol grpc or auto")
    if not spec.grpc_server_errors:
        problems.error(doc, at, "name at least one gRPC status, e.g. UNAVAILABLE")
    unknown = grpc.unknown_names(spec.grpc_server_errors)
    if unknown:
        problems.error(
            doc,
            at,
            f"not a gRPC status: {', '.join(unknown)} (one of {', '.join(grpc.CODES)})",
        )
    if "OK" in spec.grpc_server_errors:
        problems.error(doc, at, "OK is a success, not a server error")
    return tuple(spec.grpc_server_errors)


def backend_mesh(spec: native.MeshSpec, backend: str) -> native.MeshSpec:
    """The SLO's mesh preset restricted to one backend (version, cluster or deployment)."""
    return spec.model_copy(update=mesh(spec.kind).backend(backend))
