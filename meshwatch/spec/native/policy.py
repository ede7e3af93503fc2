"""`alerting:` and `remediation:` of a native spec."""

from __future__ import annotations

import functools

from meshwatch.meshes import actuator_target, mesh
from meshwatch.model import (
    SLI,
    Alerting,
    Backend,
    BurnRateWindow,
    RemediationPolicy,
    Severity,
    Window,
    parse_duration,
)
from meshwatch.spec.checks import (
    burn_rate_window,
    check_labels,
    default_windows,
    parse_positive_duration,
)
from meshwatch.spec.native import models as native
from meshwatch.spec.native.sli import backend_mesh, mesh_from_spec, sli_from_spec
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath

# --- alerting -------------------------------------------------------------------------


def _pairs(values: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(values.items()))


def alerting_from_spec(
    spec: native.AlertingSpec, window: Window, doc: Document, path: FieldPath, problems: Problems
) -> Alerting | None:
    if not spec.model_fields_set:  # no `alerting:` in the spec: the same for every SLO
        known = _DEFAULTS_BY_WINDOW.get(id(window))
        if known is not None and known[0] is window:
            return known[1]
        alerting = _default_alerting(window)
        if len(_DEFAULTS_BY_WINDOW) >= 64:
            _DEFAULTS_BY_WINDOW.clear()
        _DEFAULTS_BY_WINDOW[id(window)] = (window, alerting)
        return alerting
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


# `_default_alerting` by the identity of the window object (`parse_window` hands out one
# object per period): hashing a Window calls Enum.__hash__ in Python, 2 us an SLO. The entry
# holds the window, so its id cannot be reused while it is there.
_DEFAULTS_BY_WINDOW: dict[int, tuple[Window, Alerting]] = {}


@functools.lru_cache(maxsize=64)
def _default_alerting(window: Window) -> Alerting:
    """The alerting of an SLO that does not say (Alerting is immutable: shared safely)."""
    default = native.AlertingSpec()
    return Alerting(
        name=default.name,
        windows=default_windows(window),
        runbook_url=default.runbook_url,
        dashboard_url=default.dashboard_url,
        min_requests=default.min_requests,
        absent_for=parse_duration(default.absent_for),
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


def remediation_from_spec(
    spec: native.RemediationSpec,
    slo_sli: native.SLISpec,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> RemediationPolicy | None:
    before = problems.error_count
    target_format = actuator_target(spec.actuator)
    if target_format is not None and not target_format.pattern.match(spec.target):
        problems.error(
            doc,
            (*path, "target"),
            f"target {spec.target!r} must be {target_format.shape} for actuator {spec.actuator}",
        )
    elif not spec.target.strip():
        problems.error(doc, (*path, "target"), "target must name the route to change")
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
    if problems.error_count > before or cooldown is None or recovery is None:
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
    mesh_spec = slo_sli.mesh
    members_field = mesh(mesh_spec.kind).members_field
    members = getattr(mesh_spec, members_field) if members_field else None
    if members and backend.name not in members:
        problems.warning(
            doc,
            (*path, "name"),
            f"backend {backend.name!r} is not one of the SLO's {members_field}; "
            "its traffic does not count towards the SLO",
        )
    # The SLO's own preset was valid, so this cannot fail; its warnings were already given.
    found = mesh_from_spec(backend_mesh(slo_sli.mesh, backend.name), doc, path, Problems())
    return None if found is None else found[0]
