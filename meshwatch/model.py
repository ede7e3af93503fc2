"""The domain model: frozen objects every output of meshwatch is derived from.

Specs (any of the three formats) are mapped into these objects once, by `meshwatch.spec`;
rules, dashboards, evaluation, reports and remediation only ever see these. Nothing here does
I/O. Objectives are percentages (99.9), ratios are fractions (0.999); durations are `timedelta`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from meshwatch.durations import format_duration as format_duration
from meshwatch.durations import parse_duration as parse_duration
from meshwatch.selector import Matcher as Matcher
from meshwatch.selector import MatchOp as MatchOp
from meshwatch.selector import Selector as Selector

if TYPE_CHECKING:
    from meshwatch.status import STATE_SEVERITY as STATE_SEVERITY
    from meshwatch.status import Counts as Counts
    from meshwatch.status import SLOStatus as SLOStatus
    from meshwatch.status import State as State

_STATUS_NAMES = frozenset({"STATE_SEVERITY", "Counts", "SLOStatus", "State"})


def __getattr__(name: str) -> object:
    """The status types (`meshwatch.status`), imported when first asked for: a spec load,
    which `meshwatch validate` is, needs none of them."""
    if name in _STATUS_NAMES:
        from meshwatch import status

        return getattr(status, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    more_bad: tuple[Selector, ...] = ()
    """Further counters of bad events, summed with `bad`: for a mesh that spells the outcome
    in the metric name (Envoy's gRPC status counters `envoy_cluster_grpc_<n>`)."""

    @property
    def bad_selectors(self) -> tuple[Selector, ...]:
        """Every counter of bad events (none in the good form)."""
        return () if self.bad is None else (self.bad, *self.more_bad)


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
class NativeLatencySLI:
    """Fraction of requests served at or under `threshold`, from a native histogram.

    `histogram` is the metric name (a native histogram is one series, without `_bucket`);
    `threshold` is in the histogram's own unit and may be any positive value: good =
    `histogram_fraction(0, threshold)` x `histogram_count`, which interpolates linearly inside
    the bucket that holds the threshold (exact when it is a bucket boundary).
    """

    histogram: str
    threshold: float
    matchers: tuple[Matcher, ...] = ()

    @property
    def selector(self) -> Selector:
        return Selector(self.histogram, self.matchers)


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


SLI = RatioSLI | LatencySLI | QuerySLI | RawSLI | NativeLatencySLI

MeshKind = Literal["istio", "envoy", "linkerd"]
"""The meshes `sli: {mesh: ...}` presets read; each has its module in `meshwatch.meshes`."""

MeshProtocol = Literal["http", "grpc", "auto"]
"""What a mesh preset counts as failed: HTTP 5xx, server-error gRPC statuses, or each by its own."""

ActuatorName = Literal["envoy", "istio", "gateway", "linkerd", "noop"]
"""The data planes remediation can change (`meshwatch.remediate`, one actuator each)."""


@dataclass(frozen=True, slots=True)
class MeshSource:
    """Which mesh preset an SLI was expanded from, kept for dashboards and remediation."""

    kind: MeshKind
    target: str  # Istio service, Envoy cluster, Linkerd deployment
    version_label: str  # label that tells versions/subsets apart in this mesh's metrics
    protocol: MeshProtocol = "http"


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

    actuator: ActuatorName
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


# --- budgeting --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeslices:
    """Budgeting in time slices (OpenSLO Timeslices / RatioTimeslices) instead of requests.

    The period is cut into consecutive slices of `slice` (aligned to multiples of `slice`
    since the Unix epoch). With `ratio=False` (Timeslices) a slice is good when its SLI is at
    least `target` percent, and the objective is the share of good slices; a slice without
    requests is not bad (OpenSLO counts a slice bad only when its ratio is below the target).
    With `ratio=True` (RatioTimeslices) the objective is the average of the slices' SLIs, and
    a slice without requests has no ratio and is left out. See `meshwatch.slo.timeslices`.
    """

    slice: timedelta
    target: float = 0.0  # percent, like the objective; unused when `ratio`
    ratio: bool = False

    @property
    def allowed_error(self) -> float:
        """Error ratio above which a slice is bad: 0.05 for a 95 % slice target."""
        return round(1.0 - self.target / 100.0, 12)

    @property
    def method(self) -> str:
        return "ratio_timeslices" if self.ratio else "timeslices"


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
    timeslices: Timeslices | None = None  # None: budgeting by occurrences (requests)
    id: str = field(init=False, repr=False, compare=False)
    """`<service>-<name>`: set once (read many times per SLO, every cycle)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.service}-{self.name}")

    @property
    def target(self) -> float:
        """The objective as a ratio (0.999 for 99.9 %)."""
        return self.objective / 100.0

    @property
    def error_budget(self) -> float:
        """The allowed error ratio (0.001 for 99.9 %)."""
        return 1.0 - self.objective / 100.0
