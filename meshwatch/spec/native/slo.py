"""Map `meshwatch/v1` documents into domain SLOs, collecting every problem on the way."""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from meshwatch.model import SLO, Alerting, SourceRef, Timeslices, Window
from meshwatch.spec.budgeting import parse_slice, timeslices
from meshwatch.spec.checks import (
    Found,
    built_slos,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    merged_labels,
    parse_window,
    service_slos,
    slo_warnings,
    zoned_window,
)
from meshwatch.spec.native import models as native
from meshwatch.spec.native.policy import alerting_from_spec, remediation_from_spec
from meshwatch.spec.native.sli import sli_from_spec
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.source import Document, FieldPath

FORMAT: Final = "meshwatch/v1"


def load_native(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    whole = _valid_document(doc)
    spec = validate(native.ServiceLevelsHeader, doc, problems) if whole is None else whole
    if spec is None:
        return []
    check_name(spec.service, doc, ("service",), problems)
    labels = check_labels(spec.labels, doc, ("labels",), problems)

    def build(item: native.SLOSpec, path: FieldPath) -> SLO | None:
        return _slo(spec.service, labels, item, doc, path, problems)

    if whole is not None:
        return built_slos(whole.slos, doc, (), build)
    return service_slos(spec.slos, native.SLOSpec, doc, (), problems, build)


def _valid_document(doc: Document) -> native.ServiceLevels | None:
    """The whole document validated in one call, or None when anything in it is invalid:
    then the header and each SLO are validated on their own, so that every problem is
    reported and the valid SLOs are still checked (one call per SLO cost a tenth of a load)."""
    try:
        return native.ServiceLevels.model_validate(doc.data)
    except ValidationError:
        return None


def _slo(
    service: str,
    labels: tuple[tuple[str, str], ...],
    spec: native.SLOSpec,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> SLO | None:
    before = problems.error_count
    check_name(spec.name, doc, (*path, "name"), problems)
    check_objective(spec.objective, doc, (*path, "objective"), problems)
    window = None
    try:
        window = parse_window(spec.window)
    except ValueError as exc:
        problems.error(doc, (*path, "window"), str(exc))
    if window is not None and spec.time_zone is not None:  # (a call less per SLO without)
        window = zoned_window(window, spec.time_zone, doc, (*path, "time_zone"), problems)
    slo_labels = check_labels(spec.labels, doc, (*path, "labels"), problems) if spec.labels else ()
    sli_and_mesh = sli_from_spec(spec.sli, doc, (*path, "sli"), problems)
    if window is None or sli_and_mesh is None:
        return None
    sli, mesh_source = sli_and_mesh
    alerting = alerting_from_spec(spec.alerting, window, doc, (*path, "alerting"), problems)
    remediation = None
    if spec.remediation is not None:
        remediation = remediation_from_spec(
            spec.remediation, spec.sli, doc, (*path, "remediation"), problems
        )
    budgeting = _budgeting(spec, window, alerting, doc, path, problems)
    if problems.error_count > before or alerting is None:
        return None
    slo = SLO(
        service=service,
        name=spec.name,
        objective=spec.objective,
        window=window,
        sli=sli,
        description=spec.description,
        labels=merged_labels(labels, slo_labels),
        alerting=alerting,
        mesh=mesh_source,
        remediation=remediation,
        source=SourceRef(doc.file, doc.line_of(path), FORMAT),
        timeslices=budgeting,
    )
    slo_warnings(slo, doc, path, problems)
    return slo


def _budgeting(
    spec: native.SLOSpec,
    window: Window,
    alerting: Alerting | None,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> Timeslices | None:
    """`budgeting`, `slice` and `slice_target`, checked together; None for occurrences."""
    if spec.budgeting == "occurrences":
        for name in ("slice", "slice_target"):
            if getattr(spec, name) is not None:
                problems.error(
                    doc, (*path, name), f"{name} needs budgeting: timeslices (or ratio_timeslices)"
                )
        return None
    slice_path: FieldPath = (*path, "slice")
    if spec.slice is None:
        problems.error(doc, slice_path, f"budgeting: {spec.budgeting} needs a slice, e.g. 1m")
        length = None
    else:
        length = parse_slice(spec.slice, doc, slice_path, problems)
    burn = None
    if alerting is not None:
        burn = alerting.windows or default_windows(window)
    return timeslices(
        ratio=spec.budgeting == "ratio_timeslices",
        slice_length=length,
        target=spec.slice_target,
        window=window,
        burn_windows=burn,
        doc=doc,
        slice_path=slice_path,
        target_path=(*path, "slice_target"),
        problems=problems,
    )
