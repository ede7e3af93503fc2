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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import msgspec

from meshwatch import conventions as c
from meshwatch.collectors.prometheus_grouped import regex_literal
from meshwatch.collectors.prometheus_http import vector_of_body, vector_of_result
from meshwatch.errors import CollectorError, NoDataError, NoTrafficError
from meshwatch.model import Counts, Matcher, format_duration, parse_duration
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
    errors: dict[timedelta, float] = field(default_factory=dict)  # window -> bad events
    requests: dict[timedelta, float] = field(default_factory=dict)  # window -> events
    ratios: dict[timedelta, float] = field(default_factory=dict)  # window -> error ratio
    period_ratio: float | None = None  # meshwatch:slo_period_error:ratio
    updated: float | None = None  # Unix seconds of the newest requests (or 5m ratio) sample


_ERRORS, _REQUESTS, _RATIO, _PERIOD = "errors", "requests", "ratio", "period"
_Kind = tuple[bool, str, timedelta]  # (backend?, which map, window; 0 for the period)
_UNSEEN: _Kind = (False, "", timedelta(0))  # compared by identity: not a kind


def _kind(name: str) -> _Kind | None:
    """(backend?, which map, window) of a recorded series name, or None; a window is read
    only under its canonical name (`format_duration`'s, as the rules write it)."""
    if name == c.RULE_PERIOD_ERROR:
        return False, _PERIOD, timedelta(0)
    for prefix, backend, which in (
        (_ERRORS_PREFIX, False, _ERRORS),
        (_REQUESTS_PREFIX, False, _REQUESTS),
        (_BACKEND_ERRORS_PREFIX, True, _ERRORS),
        (_BACKEND_REQUESTS_PREFIX, True, _REQUESTS),
        (_RATIO_PREFIX, False, _RATIO),
    ):
        if name.startswith(prefix):
            suffix = name.removeprefix(prefix)
            try:
                window = parse_duration(suffix)
            except ValueError:
                return None
            return (backend, which, window) if format_duration(window) == suffix else None
    return None


def _stale_error(age: float) -> CollectorError:
    return CollectorError(f"stale: recorded series last evaluated {age:.0f}s ago")


class _Labels(msgspec.Struct, frozen=True, gc=False):
    """The labels of a recorded series that meshwatch reads; the others are skipped."""

    name: str | None = msgspec.field(default=None, name="__name__")
    service: str = msgspec.field(default="", name=c.LABEL_SERVICE)
    slo: str = msgspec.field(default="", name=c.LABEL_SLO)
    backend: str = msgspec.field(default="", name=c.LABEL_BACKEND)
    window: str = msgspec.field(default="", name=c.LABEL_WINDOW)


class _Series(msgspec.Struct, frozen=True, gc=False):
    """One element of an instant vector: `{"metric": {...}, "value": [t, "v"]}`."""

    metric: _Labels
    value: tuple[float, str]


@functools.cache
def _series_decoder() -> msgspec.json.Decoder[list[_Series]]:
    return msgspec.json.Decoder(list[_Series])


def _index(series: list[_Series]) -> dict[SeriesKey, Entry]:
    """The entries of a recorded-query answer; CollectorError for a value that is not a
    number."""
    entries: dict[SeriesKey, Entry] = {}
    kinds: dict[str, _Kind | None] = {}  # `_kind` of each name, looked up once
    last: str | None = None  # Prometheus answers series sorted by name: a name in a row
    kind: _Kind | None = None
    item: _Series | None = None
    try:
        # hot loop: ~17 series per SLO every cycle
        for item in series:
            labels = item.metric
            value = float(item.value[1])  # "NaN", "+Inf", "-Inf" parse too
            backend = labels.backend
            key = (labels.service, labels.slo, backend)
            name = labels.name
            if name is None:
                if labels.window == FRESHNESS:
                    if (entry := entries.get(key)) is None:
                        entry = entries[key] = Entry()
                    entry.updated = value
                continue
            if name != last:
                last = name
                if (kind := kinds.get(name, _UNSEEN)) is _UNSEEN:
                    kind = kinds[name] = _kind(name)
            if kind is None or kind[0] is not (backend != ""):
                continue
            if (entry := entries.get(key)) is None:
                entry = entries[key] = Entry()
            which = kind[1]
            if which is _ERRORS:
                entry.errors[kind[2]] = value
            elif which is _REQUESTS:
                entry.requests[kind[2]] = value
            elif which is _RATIO:
                entry.ratios[kind[2]] = value
            else:
                entry.period_ratio = value
    except ValueError as exc:
        raise CollectorError(f"malformed sample {item!r:.200}") from exc
    return entries


class Recorded:
    """One cycle's recorded series, indexed by (service, slo, backend).

    Built from the `data.result` of `recorded_query` (a list of
    `{"metric": {...}, "value": [t, "v"]}`), decoded (`from_body`) or not, into typed series
    that carry only the labels read, and checked as it is indexed: at 10,000 SLOs that is
    170,000 series every cycle."""

    def __init__(self, result: object, at: datetime, max_age: timedelta) -> None:
        self._setup(vector_of_result(result, _Series), at, max_age)

    @classmethod
    def from_body(cls, body: bytes, at: datetime, max_age: timedelta) -> Recorded:
        """From the whole undecoded JSON answer of the query (`PrometheusClient.query_body`)."""
        recorded = cls.__new__(cls)
        # decoded into `_Series` in one pass: at 10,000 SLOs (25 MB) twice as fast as
        # orjson's dicts, and the shape is checked as it goes
        recorded._setup(vector_of_body(body, _series_decoder()), at, max_age)
        return recorded

    def _setup(self, series: list[_Series], at: datetime, max_age: timedelta) -> None:
        self.at = at
        self._at_seconds = at.timestamp()
        self._max_age_seconds = max_age.total_seconds()
        self.entries: dict[SeriesKey, Entry] = _index(series)

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
        ratio = entry.period_ratio if window == period else entry.ratios.get(window)
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
        return self.lookup_all(key, (window,), backend, fresh_within=fresh_within)[window]

    def lookup_all(
        self,
        key: SLOKey,
        windows: Iterable[timedelta],
        backend: str = "",
        *,
        fresh_within: timedelta | None = None,
    ) -> dict[timedelta, Counts | CollectorError | None]:
        """`lookup` of each of `windows`: the series are found, and their age checked, once."""
        # hot path: every SLO and backend, every cycle
        entry = self.entries.get((key[0], key[1], backend))
        if entry is None:
            return dict.fromkeys(windows)
        updated = entry.updated
        age = self._at_seconds - updated if updated is not None else math.inf
        if fresh_within is not None and age > fresh_within.total_seconds():
            return dict.fromkeys(windows)
        stale = _stale_error(age) if age > self._max_age_seconds else None
        requests, errors = entry.requests, entry.errors
        found: dict[timedelta, Counts | CollectorError | None] = {}
        for window in windows:
            total = requests.get(window)
            if total is None or stale is not None:
                found[window] = None if total is None else stale
            elif not total > 0:  # no requests, or NaN
                found[window] = NoTrafficError()
            elif (bad := errors.get(window)) is None or bad != bad:  # missing, or NaN
                found[window] = CollectorError(
                    f"no recorded error count for {format_duration(window)}"
                    " (latency bucket missing?)"
                )
            else:  # errors clamped to [0, total]
                found[window] = Counts(
                    bad if 0.0 <= bad <= total else total if bad > 0 else 0.0, total
                )
        return found

    def windows(self) -> set[str]:
        """Every window name some SLO has recorded series for (diagnostics and tests)."""
        return {
            format_duration(window)
            for key, e in self.entries.items()
            if not key[2]
            for window in e.requests
        }
