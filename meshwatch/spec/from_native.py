"""Map `meshwatch/v1` documents into domain SLOs, collecting every problem on the way."""

from __future__ import annotations

import re
from typing import Final

from meshwatch.model import (
    SLI,
    SLO,
    Alerting,
    Backend,
    BurnRateWindow,
    LatencySLI,
    Matcher,
    MeshSource,
    RatioSLI,
    RemediationPolicy,
    Selector,
    Severity,
    SourceRef,
    Window,
)
from meshwatch.spec import mesh, native
from meshwatch.spec.checks import (
    Found,
    burn_rate_window,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    parse_latency_ms,
    parse_positive_duration,
    parse_window,
    slo_warnings,
)
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.promql import PromQLError, parse_selector
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import events_sli, raw_sli

FORMAT: Final = "meshwatch/v1"
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SLI_KINDS = ("ratio", "latency", "events", "raw", "mesh")


def load_native(doc: Document, problems: Problems) -> list[Found]:
    spec = validate(native.ServiceLevelsHeader, doc, problems)
    if spec is None:
        return []
    check_name(spec.service, doc, ("service",), problems)
    service_labels = check_labels(spec.labels, doc, ("labels",), problems)
    found = []
    for index, raw in enumerate(spec.slos):
        path: FieldPath = ("slos", index)
        slo_spec = validate(native.SLOSpec, doc, problems, raw, path)
        if slo_spec is None:
            continue
        slo = _slo(spec.service, dict(service_labels), slo_spec, doc, path, problems)
        if slo is not None:
            found.append(Found(slo, doc, path))
    return found


def _slo(
    service: str,
    labels: dict[str, str],
    spec: native.SLOSpec,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> SLO | None:
    before = len(problems.errors)
    check_name(spec.name, doc, (*path, "name"), problems)
    check_objective(spec.objective, doc, (*path, "objective"), problems)
    window = None
    try:
        window = parse_window(spec.window)
    except ValueError as exc:
        problems.error(doc, (*path, "window"), str(exc))
    slo_labels = check_labels(spec.labels, doc, (*path, "labels"), problems)
    sli_and_mesh = sli_from_spec(spec.sli, doc, (*path, "sli"), problems)
    if window is None or sli_and_mesh is None:
        return None
    sli, mesh_source = sli_and_mesh
    alerting = _alerting(spec.alerting, window, doc, (*path, "alerting"), problems)
    remediation = None
    if spec.remediation is not None:
        remediation = _remediation(
            spec.remediation, spec.sli, doc, (*path, "remediation"), problems
        )
    if len(problems.errors) > before or alerting is None:
        return None
    slo = SLO(
        service=service,
        name=spec.name,
        objective=spec.objective,
        window=window,
        sli=sli,
        description=spec.description,
        labels=tuple(sorted({**labels, **dict(slo_labels)}.items())),
        alerting=alerting,
        mesh=mesh_source,
        remediation=remediation,
        source=SourceRef(doc.file, doc.line_of(path), FORMAT),
    )
    slo_warnings(slo, doc, path, problems)
    return slo


# --- SLIs ---------------------------------------------------------------------------


def sli_from_spec(
    spec: native.SLISpec, doc: Document, path: FieldPath, problems: Problems
) -> tuple[SLI, MeshSource | None] | None:
    """The SLI (and its mesh source, for presets), or None with the problems recorded."""
    chosen = [name for name in _SLI_KINDS if getattr(spec, name) is not None]
    if len(chosen) != 1:
        problems.error(
            doc, path, f"set exactly one of {', '.join(_SLI_KINDS)} (found {len(chosen)})"
        )
        return None
    kind = chosen[0]
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


def _selector(text: str, doc: Document, path: FieldPath, problems: Problems) -> Selector | None:
    try:
        return parse_selector(text)
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
) -> LatencySLI | None:
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
        selector = parse_selector(spec.selector, metric_required=False)
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
    return LatencySLI(spec.histogram, spec.threshold, selector.matchers)


_MESH_FIELDS = {
    "istio": ("service", "version", "namespace"),
    "envoy": ("cluster", "clusters"),
    "linkerd": ("deployment", "namespace"),
}
_ALL_MESH_FIELDS = ("service", "version", "cluster", "clusters", "deployment", "namespace")


def mesh_from_spec(
    spec: native.MeshSpec, doc: Document, path: FieldPath, problems: Problems
) -> tuple[SLI, MeshSource] | None:
    """Expand a mesh preset; every field that does not belong to `kind` is an error."""
    before = len(problems.errors)
    allowed = _MESH_FIELDS[spec.kind]
    for name in _ALL_MESH_FIELDS:
        if getattr(spec, name) is not None and name not in allowed:
            owners = [k for k, fields in _MESH_FIELDS.items() if name in fields]
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
            buckets = mesh.BUCKETS_MS[spec.kind]
            if latency_ms not in buckets:
                problems.warning(
                    doc,
                    (*path, "latency_threshold"),
                    f"{spec.latency_threshold} is not a default bucket bound of {spec.kind}'s "
                    f"latency histogram ({', '.join(f'{b:g}' for b in buckets[:14])} ms ...); "
                    "the SLI needs a bucket at the threshold",
                )
    matchers, target = _mesh_target(spec, doc, path, problems)
    if len(problems.errors) > before or matchers is None:
        return None
    return mesh.mesh_sli(spec.kind, matchers, latency_ms), mesh.mesh_source(spec.kind, target)


def _mesh_target(
    spec: native.MeshSpec, doc: Document, path: FieldPath, problems: Problems
) -> tuple[tuple[Matcher, ...] | None, str]:
    if spec.kind == "istio":
        if not spec.service:
            problems.error(doc, (*path, "service"), "kind istio needs service")
            return None, ""
        return mesh.istio_matchers(spec.service, spec.namespace, spec.version), spec.service
    if spec.kind == "envoy":
        clusters = (spec.cluster,) if spec.cluster else tuple(spec.clusters or ())
        if (spec.cluster and spec.clusters) or not clusters:
            problems.error(doc, path, "kind envoy needs exactly one of cluster, clusters")
            return None, ""
        return mesh.envoy_matchers(clusters), "|".join(clusters)
    if not spec.deployment:
        problems.error(doc, (*path, "deployment"), "kind linkerd needs deployment")
        return None, ""
    return mesh.linkerd_matchers(spec.deployment, spec.namespace), spec.deployment


def backend_mesh(spec: native.MeshSpec, backend: str) -> native.MeshSpec:
    """The SLO's mesh preset restricted to one backend (version, cluster or deployment)."""
    if spec.kind == "istio":
        return spec.model_copy(update={"version": backend})
    if spec.kind == "envoy":
        return spec.model_copy(update={"cluster": backend, "clusters": None})
    return spec.model_copy(update={"deployment": backend})


# --- alerting -------------------------------------------------------------------------


def _pairs(values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


def _alerting(
    spec: native.AlertingSpec, window: Window, doc: Document, path: FieldPath, problems: Problems
) -> Alerting | None:
    absent_for = parse_positive_duration(spec.absent_for, doc, (*path, "absent_for"), problems)
    labels = check_labels(spec.labels, doc, (*path, "labels"), problems)
    page_labels = check_labels(spec.page.labels, doc, (*path, "page", "labels"), problems)
    ticket_labels = check_labels(spec.ticket.labels, doc, (*path, "ticket", "labels"), problems)
    if spec.windows is None:
        windows: tuple[BurnRateWindow, ...] | None = default_windows(window)
    else:
        windows = _windows(spec.windows, window, doc, (*path, "windows"), problems)
    if absent_for is None or windows is None:
        return None
    return Alerting(
        name=spec.name,
        page=spec.page.enabled,
        ticket=spec.ticket.enabled,
        labels=labels,
        annotations=_pairs(spec.annotations),
        page_labels=page_labels,
        ticket_labels=ticket_labels,
        page_annotations=_pairs(spec.page.annotations),
        ticket_annotations=_pairs(spec.ticket.annotations),
        windows=windows,
        runbook_url=spec.runbook_url,
        dashboard_url=spec.dashboard_url,
        min_requests=spec.min_requests,
        absent_for=absent_for,
    )


def _windows(
    specs: list[native.BurnWindowSpec],
    window: Window,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> tuple[BurnRateWindow, ...] | None:
    result = []
    for index, spec in enumerate(specs):
        at: FieldPath = (*path, index)
        long = parse_positive_duration(spec.long, doc, (*at, "long"), problems)
        if long is None:
            continue
        short = long / 12
        if spec.short is not None:
            parsed = parse_positive_duration(spec.short, doc, (*at, "short"), problems)
            if parsed is None:
                continue
            short = parsed
        window_result = burn_rate_window(
            Severity(spec.severity), long, short, spec.factor, spec.budget_percent, window
        )
        if isinstance(window_result, str):
            problems.error(doc, at, window_result)
        else:
            result.append(window_result)
    return tuple(result) if len(result) == len(specs) else None


# --- remediation ------------------------------------------------------------------------


def _remediation(
    spec: native.RemediationSpec,
    slo_sli: native.SLISpec,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> RemediationPolicy | None:
    before = len(problems.errors)
    if len(spec.backends) < 2:
        problems.error(
            doc, (*path, "backends"), "needs at least two backends to move traffic between"
        )
    names = [b.name for b in spec.backends]
    backends = []
    for index, backend in enumerate(spec.backends):
        at: FieldPath = (*path, "backends", index)
        if names.index(backend.name) != index:
            problems.error(doc, (*at, "name"), f"duplicate backend {backend.name!r}")
            continue
        sli = _backend_sli(backend, slo_sli, doc, at, problems)
        if sli is not None:
            backends.append(Backend(backend.name, sli, backend.weight))
    weights = [b.weight for b in spec.backends]
    if all(w is not None for w in weights) and spec.backends and not any(weights):
        problems.error(doc, (*path, "backends"), "weights must not all be 0")
    durations = [
        parse_positive_duration(text, doc, (*path, "short_windows", i), problems)
        for i, text in enumerate(spec.short_windows)
    ]
    if len(durations) != 2:
        problems.error(doc, (*path, "short_windows"), "give exactly two windows, e.g. [1m, 5m]")
    elif durations[0] is not None and durations[1] is not None and durations[0] >= durations[1]:
        problems.error(doc, (*path, "short_windows"), "the first window must be the shorter")
    cooldown = parse_positive_duration(spec.cooldown, doc, (*path, "cooldown"), problems)
    recovery = parse_positive_duration(
        spec.recovery_window, doc, (*path, "recovery_window"), problems
    )
    if len(problems.errors) > before or cooldown is None or recovery is None:
        return None
    first, second = durations
    assert first is not None and second is not None
    return RemediationPolicy(
        actuator=spec.actuator,
        target=spec.target,
        backends=tuple(backends),
        action=spec.action,
        short_windows=(first, second),
        factor=spec.factor,
        step=spec.step,
        max_shift=spec.max_shift,
        min_healthy_weight=spec.min_healthy_weight,
        min_requests=spec.min_requests,
        cooldown=cooldown,
        recovery_window=recovery,
        dry_run=spec.dry_run,
    )


def _backend_sli(
    backend: native.BackendSpec,
    slo_sli: native.SLISpec,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> SLI | None:
    if backend.sli is not None:
        found = sli_from_spec(backend.sli, doc, (*path, "sli"), problems)
        return None if found is None else found[0]
    if slo_sli.mesh is None:
        problems.error(
            doc, (*path, "sli"), "required: the SLO's sli is not a mesh preset to derive it from"
        )
        return None
    # The SLO's own preset was valid, so this cannot fail; its warnings were already given.
    found = mesh_from_spec(backend_mesh(slo_sli.mesh, backend.name), doc, path, Problems())
    return None if found is None else found[0]
