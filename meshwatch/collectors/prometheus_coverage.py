"""Coverage from Prometheus: since when an SLO's recorded series has samples.

Every period figure meshwatch reads from Prometheus is built from the SLO's recorded
`meshwatch:sli_requests:increase5m` series (long windows tile it), so the period rests on
data from that series' first sample on. `FirstSamples` finds that first sample for every
SLO at once and keeps it (samples are only appended, so it does not move), which makes the
steady-state cost zero queries per cycle. Finding it is a coarse-to-fine search over
subqueries of `timestamp()` (which gives each step the time of the real sample it used):

    1. min_over_time(timestamp(S)[P:1h])           over each distinct period P, all SLOs
    2. min_over_time(timestamp(S)[1h1s:1m] @ t1)   per distinct first hit t1, batched
    3. min_over_time(timestamp(S)[1m1s:1s] @ t2)   per distinct t2, batched

so at most three batched queries (fewer when probes fit one batch) when SLOs appear, with
an error of at most 1 s plus one rule evaluation interval (the series' own resolution).
A first sample younger than the last aligned hour is found from `at` itself.

Coverage = (at - max(first sample, at - P)) / P, in 0..1. It does not subtract gaps inside
the data (a Prometheus that was down for an hour in the middle): those show as missing
traffic in the figures, not as lower coverage. If Prometheus's retention is shorter than the
period, the first sample moves forward as old blocks are deleted; a kept value then
overstates coverage until meshwatch restarts (set retention above the longest SLO period,
as DESIGN.md asks for 30-day windows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from itertools import pairwise

from meshwatch import conventions as c
from meshwatch.collectors.prometheus_batch import Probe, run_probes
from meshwatch.collectors.prometheus_grouped import regex_literal
from meshwatch.collectors.prometheus_http import PrometheusQuerier
from meshwatch.collectors.prometheus_recorded import SLOKey
from meshwatch.model import Matcher, Selector, format_duration

STEPS = (timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1))
_SLACK = timedelta(seconds=1)


def coverage_of(first: float | None, period: timedelta, at: datetime) -> float | None:
    """Share of (at - period, at] from `first` (Unix seconds) on; None when unknown."""
    length = period.total_seconds()
    if first is None or length <= 0:
        return None
    end = at.timestamp()
    begin = max(first, end - length)
    return min(max((end - begin) / length, 0.0), 1.0)


def _selector(keys: Sequence[SLOKey], restrict: bool) -> str:
    if not restrict:
        return Selector(c.RULE_REQUESTS_INCREASE).promql()
    services = "|".join(sorted({regex_literal(k[0]) for k in keys}))
    slos = "|".join(sorted({regex_literal(k[1]) for k in keys}))
    matchers = (Matcher(c.LABEL_SERVICE, "=~", services), Matcher(c.LABEL_SLO, "=~", slos))
    return Selector(c.RULE_REQUESTS_INCREASE, matchers).promql()


def _first_hits(
    querier: PrometheusQuerier,
    groups: Mapping[tuple[timedelta, float | None], list[SLOKey]],
    step: timedelta,
    everyone: int,
    at: datetime,
    chunk: int,
) -> dict[SLOKey, float]:
    """min over `[range:step]` of timestamp() per group (range, `@` time); keys -> time.

    A group holding all `everyone` SLOs with recorded series needs no label filter (a regex
    of thousands of names costs Prometheus more than reading every series)."""
    probes, members = [], {}
    by = f"{c.LABEL_SERVICE}, {c.LABEL_SLO}"
    for i, ((span, when), keys) in enumerate(sorted(groups.items(), key=repr)):
        at_mod = f" @ {when:.3f}" if when is not None else ""
        subquery = f"[{format_duration(span)}:{format_duration(step)}]{at_mod}"
        selector = _selector(keys, len(keys) < everyone)
        expr = f"min by ({by}) (min_over_time(timestamp({selector}){subquery}))"
        probes.append(Probe(f"f{i}", expr))
        members[f"f{i}"] = set(keys)
    found = run_probes(querier, probes, at, chunk=chunk)
    hits: dict[SLOKey, float] = {}
    for tag, samples in found.items():
        for sample in samples:
            key = (sample.labels.get(c.LABEL_SERVICE, ""), sample.labels.get(c.LABEL_SLO, ""))
            if key in members[tag]:
                hits[key] = min(sample.value, hits.get(key, sample.value))
    return hits


class FirstSamples:
    """The first sample time of each SLO's recorded 5m requests series, found once."""

    def __init__(self) -> None:
        self.known: dict[SLOKey, float] = {}

    def find(
        self,
        querier: PrometheusQuerier,
        wanted: Mapping[SLOKey, timedelta],
        at: datetime,
        *,
        everything: bool,
        chunk: int,
    ) -> None:
        """Look up every key of `wanted` (key -> period) not known yet; `everything` says
        the keys are all SLOs with recorded series (no label filter needed)."""
        missing = {k: p for k, p in wanted.items() if k not in self.known}
        if not missing:
            return
        everyone = len(wanted) if everything else len(wanted) + 1
        by_period: dict[tuple[timedelta, float | None], list[SLOKey]] = {}
        for key, period in missing.items():
            by_period.setdefault((period, None), []).append(key)
        hits = _first_hits(querier, by_period, STEPS[0], everyone, at, chunk)
        now = at.timestamp()
        current = {key: hits.get(key, now) for key in missing}  # younger than the last hour
        for coarse, fine in pairwise(STEPS):
            groups: dict[tuple[timedelta, float | None], list[SLOKey]] = {}
            for key, when in current.items():
                groups.setdefault((coarse + _SLACK, when), []).append(key)
            refined = _first_hits(querier, groups, fine, everyone, at, chunk)
            current = {key: refined.get(key, when) for key, when in current.items()}
        self.known.update(current)
