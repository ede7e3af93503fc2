"""The recorded series of meshwatch's rules, read for every SLO in one query.

`recorded_query()` selects every SLO's `meshwatch:sli_errors:increase<w>` and
`meshwatch:sli_requests:increase<w>` (all windows), every remediation backend's
`meshwatch:backend_errors/requests:increase<w>`, and their freshness (the newest sample
time of the 5m requests series, which the fast rule group writes every evaluation, and of
each backend's requests series). `Recorded` indexes the answer by (service, slo[, backend])
and answers one window from memory, or None when that window is not recorded. Raw SLIs (an
error-ratio template, no counts) are read from `meshwatch:sli_error:ratio_rate<w>` and the
period's `meshwatch:slo_period_error:ratio`, as stand-in counts.

Recorded counts are request-weighted already (the rules sum 5m increases for long windows).
0 requests is "no traffic". A series older than `max_age` (rules stopped evaluating) makes
the window `CollectorError("stale ...")`: stale data is unknown, never good.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from meshwatch import conventions as c
from meshwatch.collectors.prometheus_grouped import regex_literal
from meshwatch.collectors.prometheus_http import Sample
from meshwatch.errors import CollectorError, NoDataError, NoTrafficError
from meshwatch.model import Counts, Matcher, format_duration
from meshwatch.slo.budget import ratio_counts

_BASE = format_duration(c.BASE_INTERVAL)
_ERRORS_PREFIX = c.RULE_ERRORS_INCREASE.removesuffix(_BASE)  # meshwatch:sli_errors:increase
_REQUESTS_PREFIX = c.RULE_REQUESTS_INCREASE.removesuffix(_BASE)
_BACKEND_ERRORS_PREFIX = c.rule_backend_errors_increase("")
_BACKEND_REQUESTS_PREFIX = c.rule_backend_requests_increase("")
_RATIO_PREFIX = c.rule_error_ratio("")  # raw SLIs have ratios only, no counts
FRESHNESS = "freshness"
DEFAULT_MAX_AGE = timedelta(minutes=3)

SLOKey = tuple[str, str]  # (meshwatch_service, meshwatch_slo)
SeriesKey = tuple[str, str, str]  # (meshwatch_service, meshwatch_slo, meshwatch_backend or "")


def recorded_query(backend_windows: Iterable[timedelta] = (), raw_slos: Iterable[str] = ()) -> str:
    """The one query of a cycle's recorded read: counts per window, and freshness.

    Freshness is the newest sample time of the 5m requests (or, for raw SLIs, 5m ratio)
    series, which the fast rule group writes every evaluation, and of each backend's
    requests series over `backend_windows`. `timestamp()` gives real sample times only for
    plain selectors, and drops the name, so each name gets its own term. Error ratios are
    read only for the SLOs named in `raw_slos` (raw SLIs have no counts): for every other
    SLO they would only add series to the answer.
    """
    names = "|".join(
        f"{prefix}.+"
        for prefix in (
            _ERRORS_PREFIX,
            _REQUESTS_PREFIX,
            _BACKEND_ERRORS_PREFIX,
            _BACKEND_REQUESTS_PREFIX,
        )
    )
    raw = sorted(set(raw_slos))
    ratios = ""
    if raw:
        ratio_names = f"{_RATIO_PREFIX}.+|{c.RULE_PERIOD_ERROR}"
        which = Matcher(c.LABEL_SLO, "=~", "|".join(regex_literal(name) for name in raw))
        ratios = f'{{__name__=~"{ratio_names}",{which.promql()}}} or '
    by = f"{c.LABEL_SERVICE}, {c.LABEL_SLO}, {c.LABEL_BACKEND}"
    fresh_names = [c.RULE_REQUESTS_INCREASE, c.rule_error_ratio(_BASE)]
    fresh_names += [
        c.rule_backend_requests_increase(format_duration(w)) for w in sorted(set(backend_windows))
    ]
    stamps = " or ".join(f"timestamp({name})" for name in fresh_names)
    fresh = f"max by ({by}) ({stamps})"
    # no `meshwatch_slo!=""` matcher on the big selector: the names are meshwatch's own, and
    # that matcher makes Prometheus union the postings of every SLO (3x slower at 1,000 SLOs)
    return (
        f'{{__name__=~"{names}"}} or {ratios}'
        f'label_replace({fresh}, "{c.LABEL_WINDOW}", "{FRESHNESS}", "", "")'
    )


@dataclass(slots=True)
class Entry:
    errors: dict[str, float] = field(default_factory=dict)  # window name -> bad events
    requests: dict[str, float] = field(default_factory=dict)  # window name -> events
    ratios: dict[str, float] = field(default_factory=dict)  # window name -> error ratio
    period_ratio: float | None = None  # meshwatch:slo_period_error:ratio
    updated: float | None = None  # Unix seconds of the newest requests (or 5m ratio) sample


_ERRORS, _REQUESTS, _RATIO, _PERIOD = "errors", "requests", "ratio", "period"


@functools.lru_cache(maxsize=1024)
def _kind(name: str) -> tuple[bool, str, str] | None:
    """(backend?, which map, window name) of a recorded series name, or None."""
    if name == c.RULE_PERIOD_ERROR:
        return False, _PERIOD, ""
    for prefix, backend, which in (
        (_ERRORS_PREFIX, False, _ERRORS),
        (_REQUESTS_PREFIX, False, _REQUESTS),
        (_BACKEND_ERRORS_PREFIX, True, _ERRORS),
        (_BACKEND_REQUESTS_PREFIX, True, _REQUESTS),
        (_RATIO_PREFIX, False, _RATIO),
    ):
        if name.startswith(prefix):
            return backend, which, name.removeprefix(prefix)
    return None


def _stale_error(age: float) -> CollectorError:
    return CollectorError(f"stale: recorded series last evaluated {age:.0f}s ago")


class Recorded:
    """One cycle's recorded series, indexed by (service, slo, backend)."""

    def __init__(self, samples: Sequence[Sample], at: datetime, max_age: timedelta) -> None:
        self.at = at
        self._at_seconds = at.timestamp()
        self._max_age_seconds = max_age.total_seconds()
        self.entries: dict[SeriesKey, Entry] = {}
        entries = self.entries
        # hot loop: ~17 samples per SLO every cycle (a quarter of a million at 10,000 SLOs)
        for labels, value in samples:
            backend = labels.get(c.LABEL_BACKEND, "")
            key = (labels.get(c.LABEL_SERVICE, ""), labels.get(c.LABEL_SLO, ""), backend)
            name = labels.get("__name__")
            if name is None:
                if labels.get(c.LABEL_WINDOW) == FRESHNESS:
                    if (entry := entries.get(key)) is None:
                        entry = entries[key] = Entry()
                    entry.updated = value
                continue
            kind = _kind(name)
            if kind is None or kind[0] != bool(backend):
                continue
            if (entry := entries.get(key)) is None:
                entry = entries[key] = Entry()
            which = kind[1]
            if which == _ERRORS:
                entry.errors[kind[2]] = value
            elif which == _REQUESTS:
                entry.requests[kind[2]] = value
            elif which == _RATIO:
                entry.ratios[kind[2]] = value
            else:
                entry.period_ratio = value

    def has(self, key: SLOKey) -> bool:
        entry = self.entries.get((*key, ""))
        return entry is not None and bool(entry.requests)

    def lookup_ratio(
        self, key: SLOKey, window: timedelta, *, period: timedelta
    ) -> Counts | CollectorError | None:
        """A raw SLI's recorded error ratio as stand-in counts (`budget.ratio_counts`); the
        SLO period's from `meshwatch:slo_period_error:ratio`. None when not recorded."""
        entry = self.entries.get((*key, ""))
        if entry is None:
            return None
        ratio = (
            entry.period_ratio if window == period else entry.ratios.get(format_duration(window))
        )
        if ratio is None:
            return None
        if (stale := self._stale(entry)) is not None:
            return stale
        try:
            return ratio_counts(ratio)
        except NoDataError as exc:
            return exc

    def _stale(self, entry: Entry) -> CollectorError | None:
        age = self._at_seconds - entry.updated if entry.updated is not None else math.inf
        return _stale_error(age) if age > self._max_age_seconds else None

    def slo_keys(self) -> set[SLOKey]:
        """Every (service, slo) with recorded SLI series."""
        return {(k[0], k[1]) for k, e in self.entries.items() if not k[2] and e.requests}

    def lookup(
        self,
        key: SLOKey,
        window: timedelta,
        backend: str = "",
        *,
        fresh_within: timedelta | None = None,
    ) -> Counts | CollectorError | None:
        """The recorded answer for one window, or None when it is not recorded — or, with
        `fresh_within`, when the recording is older than that (ask the raw counters)."""
        # hot path: every window of every SLO and backend, every cycle
        entry = self.entries.get((key[0], key[1], backend))
        if entry is None:
            return None
        name = format_duration(window)
        total = entry.requests.get(name)
        if total is None:
            return None
        updated = entry.updated
        age = self._at_seconds - updated if updated is not None else math.inf
        if fresh_within is not None and age > fresh_within.total_seconds():
            return None
        if age > self._max_age_seconds:
            return _stale_error(age)
        if not total > 0:  # no requests, or NaN
            return NoTrafficError()
        errors = entry.errors.get(name)
        if errors is None or math.isnan(errors):
            return CollectorError(f"no recorded error count for {name} (latency bucket missing?)")
        return Counts(errors=min(max(errors, 0.0), total), total=total)

    def windows(self) -> set[str]:
        """Every window name some SLO has recorded series for (diagnostics and tests)."""
        return {name for key, e in self.entries.items() if not key[2] for name in e.requests}
