"""SLIs written as PromQL templates (`{{.window}}`), shared by the native, Sloth and OpenSLO.

An events SLI whose queries are all `sum(rate(COUNTER[{{.window}}]))` becomes a RatioSLI on
those counters, so the embedded engine can compute it too; anything else stays a QuerySLI.
"""

from __future__ import annotations

from meshwatch.errors import PromQLError
from meshwatch.model import SLI, QuerySLI, RatioSLI, RawSLI
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath


def checked_query(query: str, doc: Document, path: FieldPath, problems: Problems) -> bool:
    from meshwatch.spec.promql import check_template  # the parser only for specs with PromQL

    try:
        check_template(query)
    except PromQLError as exc:
        problems.error(doc, path, str(exc))
        return False
    return True


def events_sli(
    doc: Document,
    problems: Problems,
    total: tuple[str, FieldPath],
    bad: tuple[str, FieldPath] | None,
    good: tuple[str, FieldPath] | None,
    at: FieldPath,
    names: str,
) -> SLI | None:
    """A ratio of event templates; exactly one of `bad`/`good` (`names` spells them for errors)."""
    if (bad is None) == (good is None):
        problems.error(doc, at, f"set exactly one of {names}")
        return None
    ok = checked_query(total[0], doc, total[1], problems)
    part = bad or good
    assert part is not None
    ok = checked_query(part[0], doc, part[1], problems) and ok
    if not ok:
        return None
    from meshwatch.spec.promql import counter_in_rate

    total_counter, part_counter = counter_in_rate(total[0]), counter_in_rate(part[0])
    if total_counter is not None and part_counter is not None:
        if bad is not None:
            return RatioSLI(total=total_counter, bad=part_counter)
        return RatioSLI(total=total_counter, good=part_counter)
    if bad is not None:
        return QuerySLI(total=total[0], bad=bad[0])
    return QuerySLI(total=total[0], good=part[0])


def raw_sli(query: str, doc: Document, path: FieldPath, problems: Problems) -> RawSLI | None:
    if not checked_query(query, doc, path, problems):
        return None
    return RawSLI(error_ratio=query)
