"""Checks and conversions shared by the three spec formats."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from meshwatch.model import (
    SLO,
    Alerting,
    BurnRateWindow,
    CalendarUnit,
    Severity,
    Window,
    format_duration,
    parse_duration,
)
from meshwatch.slo.windows import default_burn_windows
from meshwatch.spec.problems import M, Problems, validate
from meshwatch.spec.source import Document, FieldPath, format_path

NAME_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
_LATENCY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*$")
_CALENDAR = {"calendar-week": CalendarUnit.WEEK, "calendar-month": CalendarUnit.MONTH}
TIGHT_OBJECTIVE = 99.999  # at or above, a total outage spends a 30 d budget in 26 s


# Service and SLO names end up in file names (`<service>.yaml`, `<service>-<slo>`): 100 each
# keeps both, joined and suffixed, under the 255 bytes file systems allow.
MAX_NAME_LENGTH = 100


# Names found valid: a tree repeats its SLO names across services (`availability`,
# `latency`), and a set lookup is a fifth of the length and pattern checks. Bounded.
_VALID_NAMES: set[str] = set()


def check_name(value: str, doc: Document, path: FieldPath, problems: Problems) -> bool:
    if type(value) is str and value in _VALID_NAMES:
        return True
    if len(value) > MAX_NAME_LENGTH:
        problems.error(
            doc,
            path,
            f"name is {len(value)} characters long; at most {MAX_NAME_LENGTH} are allowed "
            "(names become file names)",
        )
        return False
    if NAME_RE.match(value):
        if len(_VALID_NAMES) >= 4096:
            _VALID_NAMES.clear()
        _VALID_NAMES.add(value)
        return True
    problems.error(
        doc,
        path,
        f"invalid name {value!r}: use letters, digits, '-', '_' or '.', "
        "starting and ending with a letter or digit",
    )
    return False


@functools.lru_cache(maxsize=256)
def parse_window(text: str) -> Window:
    """`30d`, `4w`, `calendar-month`...; raise ValueError with the message for the user.
    Cached: a spec tree repeats a handful of periods (errors are not cached)."""
    unit = _CALENDAR.get(text.strip())
    if unit is not None:
        return Window.calendar(unit)
    try:
        length = parse_duration(text)
    except ValueError:
        raise ValueError(
            f"unknown window {text!r}; use a rolling duration like 30d, 28d, 4w or "
            "calendar-week / calendar-month"
        ) from None
    if length < timedelta(hours=1):
        raise ValueError(f"window {text!r} is shorter than 1h; SLO periods are hours to weeks")
    return Window.rolling(length)


def zoned_window(
    window: Window, time_zone: str | None, doc: Document, path: FieldPath, problems: Problems
) -> Window | None:
    """`window` in `time_zone` (calendar windows only); None after reporting a problem."""
    if time_zone is None:
        return window
    from meshwatch.slo.calendar import check_zone  # the zone database, only for a time zone

    try:
        check_zone(time_zone)
    except ValueError as exc:
        problems.error(doc, path, str(exc))
        return None
    if window.unit is None:
        problems.error(
            doc, path, f"time_zone applies to calendar windows only; {window.name} is rolling"
        )
        return None
    if not check_zone_rule(time_zone, doc, path, problems):
        return None
    return Window.calendar(window.unit, time_zone, window.week_start)


RULE_CHECK_FROM = datetime(2025, 1, 1, tzinfo=UTC)  # fixed, so validation is reproducible


def check_zone_rule(time_zone: str, doc: Document, path: FieldPath, problems: Problems) -> bool:
    """The generated rules follow the zone's yearly DST rule (`slo.zone_rule`): an error
    when PromQL cannot express it, a warning when the zone does not follow it yet."""
    from meshwatch.slo.zone_rule import rule_mismatch  # reads TZif files: only for a zone

    try:
        mismatch = rule_mismatch(time_zone, RULE_CHECK_FROM, years=15)
    except ValueError as exc:
        problems.error(doc, path, f"time zone {time_zone!r}: {exc}; the rules cannot follow it")
        return False
    if mismatch is not None:
        problems.warning(
            doc,
            path,
            f"time zone {time_zone!r} changes offset on listed dates (e.g. "
            f"{mismatch:%Y-%m-%d}) that its yearly rule does not give: meshwatch's own "
            "period is exact, the generated rules' period start can be off by the difference",
        )
    return True


def check_objective(objective: float, doc: Document, path: FieldPath, problems: Problems) -> bool:
    """Errors outside (0, 100); a warning when it looks like a ratio."""
    if not 0 < objective < 100:
        problems.error(
            doc, path, f"objective {objective:g} is outside (0, 100); it is a percentage, e.g. 99.9"
        )
        return False
    if objective <= 1:
        problems.warning(
            doc,
            path,
            f"objective {objective:g} looks like a ratio; objective is a percentage "
            f"(did you mean {objective * 100:g}?)",
        )
    return True


def parse_positive_duration(
    text: str, doc: Document, path: FieldPath, problems: Problems
) -> timedelta | None:
    try:
        return parse_duration(text)
    except ValueError as exc:
        problems.error(doc, path, str(exc))
        return None


def parse_latency_ms(text: str) -> float:
    """`250ms` -> 250.0, `1.5s` -> 1500.0; raise ValueError otherwise."""
    match = _LATENCY_RE.match(text)
    if match is None:
        raise ValueError(f"invalid latency {text!r}; use e.g. 250ms or 1s")
    value = float(match.group(1)) * (1000.0 if match.group(2) == "s" else 1.0)
    if value <= 0:
        raise ValueError(f"latency {text!r} must be positive")
    return value


@functools.lru_cache(maxsize=64)
def default_windows(window: Window) -> tuple[BurnRateWindow, ...]:
    """The Workbook windows for `window` (cached: specs reuse a handful of periods)."""
    return default_burn_windows(window.length)


# (objective, id(alerting)) of the SLOs that got no warning from `slo_warnings`, which
# depend on nothing else: a tree shares a few objectives and one Alerting object per window
# (a tenth of the checks' cost). The entry holds the Alerting, so its id is not reused.
_QUIET: dict[tuple[float, int], Alerting] = {}


def slo_warnings(slo: SLO, doc: Document, path: FieldPath, problems: Problems) -> None:
    """Warnings about an SLO that is valid but probably not what its author meant."""
    key = (slo.objective, id(slo.alerting))
    if _QUIET.get(key) is slo.alerting:
        return
    before = len(problems.items)
    _warn(slo, doc, path, problems)
    if len(problems.items) == before:
        if len(_QUIET) >= 1024:
            _QUIET.clear()
        _QUIET[key] = slo.alerting


def _warn(slo: SLO, doc: Document, path: FieldPath, problems: Problems) -> None:
    budget = slo.error_budget
    if slo.objective >= TIGHT_OBJECTIVE:
        outage = slo.window.length.total_seconds() * budget
        problems.warning(
            doc,
            (*path, "objective"),
            f"objective {slo.objective:g} over {slo.window.name} leaves {outage:.0f} s of "
            "total outage; the budget is gone before a burn-rate alert can fire",
        )
    if slo.objective <= 1:
        return  # already warned: it looks like a ratio
    highest = 1.0 / budget
    dead = [
        f"{format_duration(w.long)}/{format_duration(w.short)} x{w.factor:g}"
        for w in slo.alerting.windows
        if w.factor > highest
        and (slo.alerting.page if w.severity is Severity.PAGE else slo.alerting.ticket)
    ]
    if dead:
        problems.warning(
            doc,
            (*path, "alerting"),
            f"burn-rate window{'s' if len(dead) > 1 else ''} {', '.join(dead)} can never fire: "
            f"{highest:g} is the highest burn rate of a {slo.objective:g} % objective "
            "(100 % errors)",
        )


_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_LABEL_PREFIX = "meshwatch_"


def check_labels(
    labels: dict[str, str], doc: Document, path: FieldPath, problems: Problems
) -> tuple[tuple[str, str], ...]:
    """Valid Prometheus label names that meshwatch does not own, as a sorted tuple."""
    if not labels:
        return ()
    for name in labels:
        if not _LABEL_NAME.match(name):
            problems.error(doc, (*path, name), f"invalid label name {name!r}")
        elif name.startswith(RESERVED_LABEL_PREFIX):
            problems.error(
                doc, (*path, name), f"label {name!r} is reserved: meshwatch sets meshwatch_* labels"
            )
    return tuple(sorted(labels.items()))


@dataclass(frozen=True, slots=True)
class Found:
    """An SLO mapped from a document, with where its name was written (for the checks
    across files). It holds no Document, so a mapped document's node tree can go."""

    slo: SLO
    file: str
    index: int  # the document's position in its file
    name_line: int
    name_path: FieldPath

    @property
    def name_field(self) -> str:
        """`name_path` as problems spell it (only a duplicate id needs it)."""
        return format_path(self.name_path)

    @classmethod
    def at(cls, slo: SLO, doc: Document, path: FieldPath) -> Found:
        """`path` leads to the mapping that holds the SLO's `name` (`slos[2]`, `metadata`)."""
        name = (*path, "name")
        return cls(slo, doc.file, doc.index, doc.line_of(name), name)


def service_slos(
    raws: Sequence[Any],
    model: type[M],
    doc: Document,
    at: FieldPath,
    problems: Problems,
    build: Callable[[M, FieldPath], SLO | None],
) -> list[Found]:
    """A service's `slos:` list (native and Sloth specs): each item validated with `model`
    at `<at>.slos[i]` and mapped by `build(item, path)`, which returns None once it has
    recorded the item's problems. The SLOs in list order."""
    items = (
        validate(model, doc, problems, raw, (*at, "slos", index)) for index, raw in enumerate(raws)
    )
    return built_slos(items, doc, at, build)


def built_slos(
    items: Iterable[M | None],
    doc: Document,
    at: FieldPath,
    build: Callable[[M, FieldPath], SLO | None],
) -> list[Found]:
    """`service_slos` of items validated already (None: invalid, problems recorded); each
    is mapped before the next is taken, so problems come in list order."""
    found = []
    for index, item in enumerate(items):
        if item is None:
            continue
        path: FieldPath = (*at, "slos", index)
        slo = build(item, path)
        if slo is not None:
            found.append(Found.at(slo, doc, path))
    return found


def merged_labels(
    service: tuple[tuple[str, str], ...], own: tuple[tuple[str, str], ...]
) -> tuple[tuple[str, str], ...]:
    """An SLO's labels: its service's, each overridden by the SLO's own, sorted by name
    (both are sorted already, as `check_labels` returns them)."""
    if not own or not service:
        return own or service
    return tuple(sorted({**dict(service), **dict(own)}.items()))


def object_slo(slo: SLO, doc: Document, problems: Problems) -> list[Found]:
    """The one SLO of a Kubernetes-style object (`metadata` + `spec`: Pyrra, slo-generator),
    with its warnings reported under `spec`; its name is written at `metadata.name`."""
    slo_warnings(slo, doc, ("spec",), problems)
    return [Found.at(slo, doc, ("metadata",))]


def burn_rate_window(
    severity: Severity,
    long: timedelta,
    short: timedelta,
    factor: float | None,
    budget_percent: float | None,
    window: Window,
) -> BurnRateWindow | str:
    """A burn-rate condition from a factor or a budget share, or the reason it is invalid."""
    if (factor is None) == (budget_percent is None):
        return "set exactly one of factor, budget_percent"
    if short >= long:
        return (
            f"short window {format_duration(short)} must be shorter than "
            f"long {format_duration(long)}"
        )
    if long >= window.length:
        return (
            f"long window {format_duration(long)} must be shorter than the SLO window {window.name}"
        )
    period_share = long / window.length
    if factor is not None:
        if factor <= 0:
            return "factor must be positive"
        return BurnRateWindow(severity, long, short, round(factor * period_share, 6), factor)
    assert budget_percent is not None
    if not 0 < budget_percent <= 100:
        return "budget_percent must be in (0, 100]"
    share = budget_percent / 100
    return BurnRateWindow(severity, long, short, share, round(share / period_share, 4))
