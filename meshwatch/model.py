"""The domain model: frozen objects every output of meshwatch is derived from.

Specs (any of the three formats) are mapped into these objects once, by `meshwatch.spec`;
rules, dashboards, evaluation, reports and remediation only ever see these. Nothing here does
I/O. Objectives are percentages (99.9), ratios are fractions (0.999); durations are `timedelta`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

MatchOp = Literal["=", "!=", "=~", "!~"]


@dataclass(frozen=True, slots=True)
class Matcher:
    """One PromQL label matcher, e.g. `code=~"5.."`."""

    label: str
    op: MatchOp
    value: str

    def promql(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return f'{self.label}{self.op}"{escaped}"'

    def matches(self, value: str) -> bool:
        """Whether a label value (empty string when the label is absent) matches, PromQL-style."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        full = re.fullmatch(self.value, value) is not None
        return full if self.op == "=~" else not full


@dataclass(frozen=True, slots=True)
class Selector:
    """A PromQL instant-vector selector of a counter: a metric name and label matchers."""

    metric: str
    matchers: tuple[Matcher, ...] = ()

    def promql(self, extra: tuple[Matcher, ...] = ()) -> str:
        parts = [m.promql() for m in (*self.matchers, *extra)]
        return f"{self.metric}{{{','.join(parts)}}}" if parts else self.metric

    def with_matchers(self, *extra: Matcher) -> Selector:
        return Selector(self.metric, (*self.matchers, *extra))

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(m.matches(labels.get(m.label, "")) for m in self.matchers)


# --- SLI kinds --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RatioSLI:
    """Events counted by counters: errors = `bad`, or errors = total - `good`.

    Exactly one of `good` and `bad` is set. Both engines (Prometheus rules and the embedded
    scraper) can compute it, because every part is a plain counter selector.
    """

    total: Selector
    good: Selector | None = None
    bad: Selector | None = None


@dataclass(frozen=True, slots=True)
class LatencySLI:
    """Fraction of requests served at or under `threshold`, from a classic histogram.

    `histogram` is the metric name without `_bucket`/`_count`; `threshold` is in the
    histogram's own unit (milliseconds for Istio and Envoy, seconds for most apps) and must
    be one of its bucket bounds. Good = bucket{le=threshold}, total = _count.
    """

    histogram: str
    threshold: float
    matchers: tuple[Matcher, ...] = ()

    @property
    def bucket(self) -> Selector:
        return Selector(f"{self.histogram}_bucket", self.matchers)

    @property
    def count(self) -> Selector:
        return Selector(f"{self.histogram}_count", self.matchers)


@dataclass(frozen=True, slots=True)
class QuerySLI:
    """Events as arbitrary PromQL templates with a `{{.window}}` placeholder (Sloth, OpenSLO).

    `total` and exactly one of `good` / `bad` are set. Only the Prometheus engine can
    evaluate these; the embedded scraper reports them as `unknown`.
    """

    total: str
    good: str | None = None
    bad: str | None = None


@dataclass(frozen=True, slots=True)
class RawSLI:
    """An error ratio (0..1) already computed by a PromQL template with `{{.window}}`."""

    error_ratio: str


SLI = RatioSLI | LatencySLI | QuerySLI | RawSLI

MeshKind = Literal["istio", "envoy", "linkerd"]


@dataclass(frozen=True, slots=True)
class MeshSource:
    """Which mesh preset an SLI was expanded from, kept for dashboards and remediation."""

    kind: MeshKind
    target: str  # Istio service, Envoy cluster, Linkerd deployment
    version_label: str  # label that tells versions/subsets apart in this mesh's metrics


# --- windows ----------------------------------------------------------------------


class WindowKind(enum.StrEnum):
    ROLLING = "rolling"
    CALENDAR = "calendar"


class CalendarUnit(enum.StrEnum):
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Window:
    """The SLO period: rolling (any length) or a calendar week/month in an IANA time zone
    (UTC by default; weeks start on `week_start`, 0 = Monday as in ISO 8601)."""

    kind: WindowKind
    length: timedelta  # rolling length; for calendar windows the nominal length (7 d, 30 d)
    unit: CalendarUnit | None = None
    time_zone: str = "UTC"  # IANA name; calendar periods start at local midnight there
    week_start: int = 0  # first day of a calendar week, `date.weekday()` numbering

    @staticmethod
    def rolling(length: timedelta) -> Window:
        return Window(WindowKind.ROLLING, length)

    @staticmethod
    def calendar(unit: CalendarUnit, time_zone: str = "UTC", week_start: int = 0) -> Window:
        nominal = timedelta(days=7) if unit is CalendarUnit.WEEK else timedelta(days=30)
        start = week_start if unit is CalendarUnit.WEEK else 0
        return Window(WindowKind.CALENDAR, nominal, unit, time_zone, start)

    @property
    def name(self) -> str:
        if self.unit is not None:
            return f"calendar-{self.unit.value}"
        return format_duration(self.length)


# --- alerting ---------------------------------------------------------------------


class Severity(enum.StrEnum):
    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True, slots=True)
class BurnRateWindow:
    """One multiwindow multi-burn-rate condition: both windows above `factor` x budget."""

    severity: Severity
    long: timedelta
    short: timedelta
    budget_share: float  # fraction of the period's budget spent when it fires (0.02 = 2 %)
    factor: float  # burn rate threshold
    alert_after: timedelta = timedelta(0)  # how long the condition must hold (`for:`)


@dataclass(frozen=True, slots=True)
class Alerting:
    """How an SLO alerts. Empty `windows` means the defaults for the SLO period."""

    name: str = ""
    page: bool = True
    ticket: bool = True
    labels: tuple[tuple[str, str], ...] = ()
    annotations: tuple[tuple[str, str], ...] = ()
    page_labels: tuple[tuple[str, str], ...] = ()
    ticket_labels: tuple[tuple[str, str], ...] = ()
    page_annotations: tuple[tuple[str, str], ...] = ()
    ticket_annotations: tuple[tuple[str, str], ...] = ()
    windows: tuple[BurnRateWindow, ...] = ()
    runbook_url: str = ""
    dashboard_url: str = ""
    min_requests: float = 0.0  # requests in the long window below which a burn cannot alert
    absent_for: timedelta = timedelta(minutes=10)
    absent: bool = True  # the absent-data alert; off when a spec turns every alert off


# --- remediation (policy in the spec; the loop lives in meshwatch.remediate) -------


@dataclass(frozen=True, slots=True)
class Backend:
    """One version/subset behind a route, with the SLI that measures it alone."""

    name: str
    sli: SLI
    initial_weight: int | None = None


@dataclass(frozen=True, slots=True)
class RemediationPolicy:
    """What to do when one backend of a route burns the budget and its siblings do not."""

    actuator: Literal["envoy", "istio", "gateway", "linkerd", "noop"]
    target: str  # route name / VirtualService / HTTPRoute, `namespace/name[#rule]`
    backends: tuple[Backend, ...]
    action: Literal["shift", "retries", "shift+retries"] = "shift"
    short_windows: tuple[timedelta, timedelta] = (timedelta(minutes=1), timedelta(minutes=5))
    factor: float = 14.4
    step: int = 50  # weight moved per evaluation, in percent of the route's total
    max_shift: int = 100  # most weight moved away from one backend, in percent
    min_healthy_weight: int = 0  # floor left on the breaching backend, in percent
    min_requests: float = 20.0  # requests in the short window below which data is `unknown`
    cooldown: timedelta = timedelta(seconds=30)
    recovery_window: timedelta = timedelta(minutes=2)
    dry_run: bool = True


# --- the SLO ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an SLO was written, for error messages and the API."""

    file: str
    line: int
    format: Literal[
        "meshwatch/v1", "sloth", "openslo/v1", "openslo/v1alpha", "pyrra", "slo-generator"
    ]


@dataclass(frozen=True, slots=True)
class SLO:
    """One service-level objective. `objective` is a percentage, e.g. 99.9."""

    service: str
    name: str
    objective: float
    window: Window
    sli: SLI
    description: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    alerting: Alerting = field(default_factory=Alerting)
    mesh: MeshSource | None = None
    remediation: RemediationPolicy | None = None
    source: SourceRef | None = None

    @property
    def id(self) -> str:
        return f"{self.service}-{self.name}"

    @property
    def target(self) -> float:
        """The objective as a ratio (0.999 for 99.9 %)."""
        return self.objective / 100.0

    @property
    def error_budget(self) -> float:
        """The allowed error ratio (0.001 for 99.9 %)."""
        return 1.0 - self.objective / 100.0


# --- status ----------------------------------------------------------------------------


class State(enum.StrEnum):
    OK = "ok"
    WARNING = "warning"  # budget burning faster than sustainable, or mostly spent
    BREACHED = "breached"  # budget exhausted
    UNKNOWN = "unknown"  # no series, no traffic, stale data or a failing source


@dataclass(frozen=True, slots=True)
class Counts:
    """Events of one SLI over one window: `errors` bad events out of `total` requests.

    Counts (not ratios) so that longer windows and aggregates are request-weighted sums.
    """

    errors: float
    total: float


@dataclass(frozen=True, slots=True)
class SLOStatus:
    """What meshwatch knows about one SLO at `at`; `None` means unknown (never 100 %).

    Maps are keyed by window name (`5m`, `1h`, `30d`, ...) or percentile (`p50`, `p90`,
    `p99`). Ratios are fractions; `budget_remaining` is 1 at the start of the period, 0 when
    spent and negative when overspent. Latency is in the histogram's own unit.
    """

    slo_id: str
    service: str
    slo: str
    at: datetime
    state: State
    reason: str
    objective: float  # ratio, 0.999
    period_sli: float | None = None
    budget_remaining: float | None = None
    budget_remaining_seconds: float | None = None
    budget_remaining_requests: float | None = None
    throughput: float | None = None  # requests/s over the shortest window
    sli: Mapping[str, float | None] = field(default_factory=dict)
    burn_rate: Mapping[str, float | None] = field(default_factory=dict)
    latency: Mapping[str, float | None] = field(default_factory=dict)
    requests: Mapping[str, float | None] = field(default_factory=dict)
    # Share of the SLO period (ending at `at`) that actually has samples, 0..1; None when the
    # source could not measure it. A period figure resting on little data must say so.
    coverage: float | None = None


# --- durations --------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def parse_duration(text: str) -> timedelta:
    """Parse a Prometheus-style duration (`30d`, `1h30m`, `5m`); raise ValueError otherwise."""
    match = _DURATION_RE.match(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        raise ValueError(f"invalid duration {text!r}; use e.g. 30d, 6h, 5m")
    seconds = sum(int(g) * size for g, (_, size) in zip(match.groups(), _UNITS, strict=True) if g)
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be positive")
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Format as the shortest Prometheus duration: 30 d -> `30d`, 90 min -> `1h30m`."""
    seconds = int(delta.total_seconds())
    if seconds <= 0:
        raise ValueError("duration must be positive")
    parts = []
    for unit, size in _UNITS[1:]:  # Prometheus accepts w, but d reads better for SLO periods
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
