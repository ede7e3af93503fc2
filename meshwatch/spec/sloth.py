"""Sloth specs: `version: prometheus/v1` and the CRD `sloth.slok.dev/v1` PrometheusServiceLevel.

Both map as Sloth means them: objective in percent, SLO period from `--sloth-period` (or
the `sloth_period` setting; default 30 d, Sloth's default: its spec has no period field),
`events` -> error/total queries, `raw` -> an error-ratio query, each with `{{.window}}`;
`alerting.name` (refused when empty), labels and annotations; `page_alert` / `ticket_alert`
with `disable`, labels and annotations; disabling both turns the SLO's alerts off, the
absent-data alert included. Label and annotation values YAML reads as booleans or numbers
(`generated: true`, `le: 0.2`) become text, as Sloth makes them. Problems of the service
header and of every SLO are reported together. Sloth SLI plugins and SLO plugins cannot be
run by meshwatch and are reported as errors, never dropped.
The CRD is the same spec with camelCase names (`errorQuery`, `pageAlert`, `sloPlugins`).
Events whose queries are both `sum(rate(COUNTER[{{.window}}]))` become a ratio of those
counters, which the embedded engine can compute too; other queries stay PromQL templates.
"""

from __future__ import annotations

from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from meshwatch.model import SLI, SLO, Alerting, SourceRef, Window
from meshwatch.spec.checks import (
    Found,
    check_labels,
    check_name,
    check_objective,
    default_windows,
    merged_labels,
    parse_window,
    service_slos,
    slo_warnings,
)
from meshwatch.spec.fields import TextMap
from meshwatch.spec.options import LoadOptions
from meshwatch.spec.problems import Problems, validate
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import events_sli, raw_sli

FORMAT: Final = "sloth"
PROMETHEUS_V1 = "prometheus/v1"
K8S_API_VERSION = "sloth.slok.dev/v1"
K8S_KIND = "PrometheusServiceLevel"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlertMeta(_Spec):
    disable: bool = False
    labels: TextMap = Field(default_factory=dict)
    annotations: TextMap = Field(default_factory=dict)


class SlothAlerting(_Spec):
    name: str | None = None
    labels: TextMap = Field(default_factory=dict)
    annotations: TextMap = Field(default_factory=dict)
    page_alert: AlertMeta = Field(default_factory=AlertMeta)
    ticket_alert: AlertMeta = Field(default_factory=AlertMeta)


class Events(_Spec):
    error_query: str
    total_query: str


class Raw(_Spec):
    error_ratio_query: str


class Plugin(_Spec):
    id: str
    options: dict[str, Any] = Field(default_factory=dict)


class SlothSLI(_Spec):
    events: Events | None = None
    raw: Raw | None = None
    plugin: Plugin | None = None


class SlothSLO(_Spec):
    name: str
    objective: float
    description: str = ""
    labels: TextMap = Field(default_factory=dict)
    sli: SlothSLI
    alerting: SlothAlerting = Field(default_factory=SlothAlerting)
    plugins: Any = None


class PrometheusV1(_Spec):
    version: Literal["prometheus/v1"]
    service: str
    labels: TextMap = Field(default_factory=dict)
    slo_plugins: Any = None
    slos: list[dict[str, Any]] = Field(min_length=1)


# --- the CRD: the same fields in camelCase -------------------------------------------


class K8sAlerting(SlothAlerting):
    page_alert: AlertMeta = Field(default_factory=AlertMeta, alias="pageAlert")
    ticket_alert: AlertMeta = Field(default_factory=AlertMeta, alias="ticketAlert")


class K8sEvents(Events):
    error_query: str = Field(alias="errorQuery")
    total_query: str = Field(alias="totalQuery")


class K8sRaw(Raw):
    error_ratio_query: str = Field(alias="errorRatioQuery")


class K8sSLI(SlothSLI):
    events: K8sEvents | None = None
    raw: K8sRaw | None = None


class K8sSLO(SlothSLO):
    sli: K8sSLI
    alerting: K8sAlerting = Field(default_factory=K8sAlerting)


class K8sSpec(_Spec):
    service: str
    labels: TextMap = Field(default_factory=dict)
    slo_plugins: Any = Field(default=None, alias="sloPlugins")
    slos: list[dict[str, Any]] = Field(min_length=1)


class K8sMetadata(BaseModel):
    """Kubernetes object metadata; fields the API server adds (uid, resourceVersion,
    managedFields, ...) are accepted, since `kubectl get -o yaml` output is a valid input."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    namespace: str = ""
    labels: TextMap = Field(default_factory=dict)
    annotations: TextMap = Field(default_factory=dict)


class PrometheusServiceLevel(_Spec):
    api_version: Literal["sloth.slok.dev/v1"] = Field(alias="apiVersion")
    kind: Literal["PrometheusServiceLevel"]
    metadata: K8sMetadata
    spec: K8sSpec
    status: Any = None  # written by the Sloth controller; not part of the spec


# --- mapping ----------------------------------------------------------------------------


def load_prometheus_v1(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    spec = validate(PrometheusV1, doc, problems)
    window = period(options, doc, problems)
    if spec is None or window is None:
        _check_slos(doc.data.get("slos"), SlothSLO, doc, (), problems)
        return []
    return _service(spec, SlothSLO, window, doc, (), problems)


def load_k8s(doc: Document, problems: Problems, options: LoadOptions) -> list[Found]:
    obj = validate(PrometheusServiceLevel, doc, problems)
    window = period(options, doc, problems)
    if obj is None or window is None:
        spec = doc.data.get("spec")
        slos = spec.get("slos") if isinstance(spec, dict) else None
        _check_slos(slos, K8sSLO, doc, ("spec",), problems)
        return []
    return _service(obj.spec, K8sSLO, window, doc, ("spec",), problems)


def period(options: LoadOptions, doc: Document, problems: Problems) -> Window | None:
    """The SLO period of Sloth-format specs (they have no field for it: `--sloth-period`)."""
    try:
        return parse_window(options.sloth_period)
    except ValueError as exc:
        problems.error(doc, (), f"Sloth SLO period (--sloth-period / sloth_period): {exc}")
        return None


def _check_slos(
    slos: Any, slo_model: type[SlothSLO], doc: Document, at: FieldPath, problems: Problems
) -> None:
    """Report the SLOs' own problems too when the service header (or the period) is invalid;
    the SLOs are mapped only for their problems, with a stand-in service and period."""
    if not isinstance(slos, list):
        return
    stand_in = parse_window("30d")
    service_slos(
        slos,
        slo_model,
        doc,
        at,
        problems,
        lambda item, path: _slo("service", (), item, stand_in, doc, path, problems),
    )


def _key(model: type[BaseModel], name: str) -> str:
    """How the user spells field `name` in this variant (camelCase in the CRD)."""
    return model.model_fields[name].alias or name


def _service(
    spec: PrometheusV1 | K8sSpec,
    slo_model: type[SlothSLO],
    window: Window,
    doc: Document,
    at: FieldPath,
    problems: Problems,
) -> list[Found]:
    if spec.slo_plugins is not None:
        problems.error(
            doc,
            (*at, _key(type(spec), "slo_plugins")),
            "Sloth SLO plugins are not supported by meshwatch",
        )
    check_name(spec.service, doc, (*at, "service"), problems)
    labels = check_labels(spec.labels, doc, (*at, "labels"), problems)
    return service_slos(
        spec.slos,
        slo_model,
        doc,
        at,
        problems,
        lambda item, path: _slo(spec.service, labels, item, window, doc, path, problems),
    )


def _slo(
    service: str,
    labels: tuple[tuple[str, str], ...],
    spec: SlothSLO,
    window: Window,
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> SLO | None:
    before = problems.error_count
    check_name(spec.name, doc, (*path, "name"), problems)
    check_objective(spec.objective, doc, (*path, "objective"), problems)
    if spec.plugins is not None:
        problems.error(doc, (*path, "plugins"), "Sloth SLO plugins are not supported by meshwatch")
    slo_labels = check_labels(spec.labels, doc, (*path, "labels"), problems)
    sli = _sli(spec.sli, doc, (*path, "sli"), problems)
    alerting = _alerting(spec.alerting, window, doc, (*path, "alerting"), problems)
    if sli is None or problems.error_count > before:
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
        source=SourceRef(doc.file, doc.line_of(path), FORMAT),
    )
    slo_warnings(slo, doc, path, problems)
    return slo


def _sli(spec: SlothSLI, doc: Document, path: FieldPath, problems: Problems) -> SLI | None:
    chosen = [n for n in ("events", "raw", "plugin") if getattr(spec, n) is not None]
    if len(chosen) != 1:
        problems.error(doc, path, f"set exactly one of events, raw, plugin (found {len(chosen)})")
        return None
    if spec.plugin is not None:
        problems.error(
            doc, (*path, "plugin"), "Sloth SLI plugins are not supported; write events or raw"
        )
        return None
    if spec.raw is not None:
        key = _key(type(spec.raw), "error_ratio_query")
        return raw_sli(spec.raw.error_ratio_query, doc, (*path, "raw", key), problems)
    events = spec.events
    assert events is not None
    at: FieldPath = (*path, "events")
    model = type(events)
    return events_sli(
        doc,
        problems,
        total=(events.total_query, (*at, _key(model, "total_query"))),
        bad=(events.error_query, (*at, _key(model, "error_query"))),
        good=None,
        at=at,
        names="error_query",
    )


def _alerting(
    spec: SlothAlerting, window: Window, doc: Document, path: FieldPath, problems: Problems
) -> Alerting:
    model = type(spec)
    page, ticket = _key(model, "page_alert"), _key(model, "ticket_alert")
    if spec.name is not None and not spec.name.strip():
        problems.error(
            doc, (*path, "name"), "alert name is empty; name the alert or leave the field out"
        )
    enabled = not (spec.page_alert.disable and spec.ticket_alert.disable)
    return Alerting(
        name=spec.name or "",
        page=not spec.page_alert.disable,
        ticket=not spec.ticket_alert.disable,
        absent=enabled,  # Sloth: disabling both alerts turns alerting off
        labels=check_labels(spec.labels, doc, (*path, "labels"), problems),
        annotations=tuple(sorted(spec.annotations.items())),
        page_labels=check_labels(spec.page_alert.labels, doc, (*path, page, "labels"), problems),
        ticket_labels=check_labels(
            spec.ticket_alert.labels, doc, (*path, ticket, "labels"), problems
        ),
        page_annotations=tuple(sorted(spec.page_alert.annotations.items())),
        ticket_annotations=tuple(sorted(spec.ticket_alert.annotations.items())),
        windows=default_windows(window),
    )
