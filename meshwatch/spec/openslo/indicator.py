"""OpenSLO SLIs (`ratioMetric` on Prometheus metric sources) -> domain SLIs."""

from __future__ import annotations

from meshwatch.errors import PromQLError
from meshwatch.model import SLI, RatioSLI, RawSLI, Selector
from meshwatch.spec.openslo import models as m
from meshwatch.spec.openslo.registry import Entry, Registry
from meshwatch.spec.problems import Problems
from meshwatch.spec.promql import has_window, parse_counter
from meshwatch.spec.source import Document, FieldPath
from meshwatch.spec.templates import checked_query, events_sli, raw_sli


def sli_from_indicator(
    spec: m.SLOSpec, doc: Document, registry: Registry, problems: Problems
) -> SLI | None:
    if (spec.indicator is None) == (spec.indicator_ref is None):
        problems.error(doc, ("spec",), "set exactly one of indicator, indicatorRef")
        return None
    if spec.indicator is not None:
        return _sli(spec.indicator.spec, doc, ("spec", "indicator", "spec"), registry, problems)
    assert spec.indicator_ref is not None
    entry = registry.get("SLI", spec.indicator_ref)
    if entry is None:
        if not registry.missing("SLI", spec.indicator_ref):
            return None  # the SLI document's own problems are reported
        problems.error(
            doc,
            ("spec", "indicatorRef"),
            f"indicatorRef {spec.indicator_ref!r} names no SLI document in the loaded files",
        )
        return None
    assert isinstance(entry.model, m.SLIDocument)
    return _sli(entry.model.spec, entry.doc, ("spec",), registry, problems)


def check_unused_sli(entry: Entry, registry: Registry, problems: Problems) -> None:
    """Check an SLI document no SLO refers to, so its mistakes still show, and say so."""
    assert isinstance(entry.model, m.SLIDocument)
    _sli(entry.model.spec, entry.doc, ("spec",), registry, problems)
    problems.warning(
        entry.doc,
        ("metadata", "name"),
        f"SLI {entry.model.metadata.name!r} is not used by any SLO (no indicatorRef names it)",
    )


def _sli(
    spec: m.SLISpec, doc: Document, path: FieldPath, registry: Registry, problems: Problems
) -> SLI | None:
    if spec.threshold_metric is not None:
        problems.error(
            doc,
            (*path, "thresholdMetric"),
            "thresholdMetric SLIs are not supported; use ratioMetric",
        )
        return None
    ratio = spec.ratio_metric
    if ratio is None:
        problems.error(doc, path, "set ratioMetric")
        return None
    at: FieldPath = (*path, "ratioMetric")
    if ratio.raw is not None:
        return _raw(ratio, doc, at, registry, problems)
    if (ratio.good is None) == (ratio.bad is None) or ratio.total is None:
        problems.error(doc, at, "set total and exactly one of good, bad (or raw with rawType)")
        return None
    if ratio.raw_type is not None:
        problems.error(doc, (*at, "rawType"), "rawType is only for raw")
        return None
    part_name = "good" if ratio.good is not None else "bad"
    part = ratio.good or ratio.bad
    assert part is not None
    total_query = _query(ratio.total, doc, (*at, "total"), registry, problems)
    part_query = _query(part, doc, (*at, part_name), registry, problems)
    if total_query is None or part_query is None:
        return None
    total_at: FieldPath = (*at, "total", "metricSource", "spec", "query")
    part_at: FieldPath = (*at, part_name, "metricSource", "spec", "query")
    templated = [has_window(q) for q in (total_query, part_query)]
    if all(templated):
        return events_sli(
            doc,
            problems,
            total=(total_query, total_at),
            bad=(part_query, part_at) if part_name == "bad" else None,
            good=(part_query, part_at) if part_name == "good" else None,
            at=at,
            names="good, bad",
        )
    if any(templated):
        problems.error(
            doc, at, "mix of a {{.window}} template and a plain selector; write both the same way"
        )
        return None
    return _counters(
        ratio.counter, (total_query, total_at), (part_name, part_query, part_at), doc, at, problems
    )


def _counters(
    counter: bool,
    total: tuple[str, FieldPath],
    part: tuple[str, str, FieldPath],
    doc: Document,
    at: FieldPath,
    problems: Problems,
) -> RatioSLI | None:
    selectors: list[Selector] = []
    for query, path in (total, part[1:]):
        try:
            selectors.append(parse_counter(query))
        except PromQLError as exc:
            problems.error(
                doc,
                path,
                "query is neither a counter selector (`metric{...}` or `sum(metric{...})`) "
                "nor a PromQL template with {{.window}}: "
                f"{exc}",
            )
    if len(selectors) != 2:
        return None
    if not counter:
        problems.error(
            doc, (*at, "counter"), "plain selectors need counter: true (meshwatch takes increases)"
        )
        return None
    total_selector, part_selector = selectors
    if part[0] == "bad":
        return RatioSLI(total=total_selector, bad=part_selector)
    return RatioSLI(total=total_selector, good=part_selector)


def _raw(
    ratio: m.RatioMetric, doc: Document, at: FieldPath, registry: Registry, problems: Problems
) -> RawSLI | None:
    if any(x is not None for x in (ratio.good, ratio.bad, ratio.total)):
        problems.error(doc, at, "raw cannot be combined with good, bad or total")
        return None
    if ratio.raw_type is None:
        problems.error(doc, (*at, "rawType"), "raw needs rawType: failure or success")
        return None
    assert ratio.raw is not None
    query = _query(ratio.raw, doc, (*at, "raw"), registry, problems)
    if query is None:
        return None
    query_at: FieldPath = (*at, "raw", "metricSource", "spec", "query")
    if ratio.raw_type == "success":
        if not checked_query(query, doc, query_at, problems):
            return None
        return RawSLI(error_ratio=f"1 - ({query})")
    return raw_sli(query, doc, query_at, problems)


def _query(
    metric: m.Metric, doc: Document, path: FieldPath, registry: Registry, problems: Problems
) -> str | None:
    """The PromQL of a Prometheus metric source."""
    source, at = metric.metric_source, (*path, "metricSource")
    kind = source.type
    if source.metric_source_ref is not None and kind is None:  # an inline type is enough
        entry = registry.get("DataSource", source.metric_source_ref)
        if entry is None:
            if registry.missing("DataSource", source.metric_source_ref):
                problems.error(
                    doc,
                    (*at, "metricSourceRef"),
                    f"metricSourceRef {source.metric_source_ref!r} names no DataSource "
                    "document in the loaded files (or give the source's type inline)",
                )
            return None
        assert isinstance(entry.model, m.DataSourceDocument)
        kind = entry.model.spec.type
    if kind is None or kind.lower() != "prometheus":
        problems.error(
            doc, (*at, "type"), f"metric source type {kind!r} is not supported; use Prometheus"
        )
        return None
    for key in source.spec:
        if key != "query":
            problems.error(doc, (*at, "spec", key), f"unknown field {key!r}; use query")
    query = source.spec.get("query")
    if not isinstance(query, str) or not query.strip():
        problems.error(doc, (*at, "spec", "query"), "a PromQL query (string) is required")
        return None
    return query if not set(source.spec) - {"query"} else None
