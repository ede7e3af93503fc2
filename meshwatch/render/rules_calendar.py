"""Recording rules of a calendar SLO period: where it starts, and its counts so far.

PromQL has no range that starts at a computed instant, so the period is built in steps,
all in the SLO's `-sli` group after the 5m counts (see docs/rules.md, "Calendar periods"):

    meshwatch:slo_utc_offset:seconds        the zone's UTC offset now (zones with DST only),
                                            from its yearly rule (`slo.zone_rule`) with
                                            month(), day_of_month(), day_of_week()
    meshwatch:slo_period_start:local_timestamp   (zones with DST only) that midnight's
                                            wall-clock time, read as if it were UTC
    meshwatch:slo_period_start:timestamp    local midnight of the 1st / the week's first
                                            day, as a Unix time (UTC)
    meshwatch:sli_{requests,errors}:increase_period
        (last_over_time(self[1h] offset 5m) + increase5m)   while in the same period
        or increase5m x min(1, (time() - start) / 5m)       at the start of a period

The accumulation adds the newest 5m recording to its own value 5 minutes earlier, so it is
exact (as exact as the 5m windows tile time, see `rules_chain`) when the evaluation interval
divides 5m; the 5 minutes that straddle the period start are pro-rated.
"""

from __future__ import annotations

from collections.abc import Callable

from meshwatch import conventions as c
from meshwatch.model import SLO
from meshwatch.render.rules_common import BASE, RecordingRule, dur, record, ref
from meshwatch.slo.zone_rule import Transition, ZoneRule, zone_rule

DAY = 86400
RESTART_LOOKBACK = "1h"  # an accumulation older than this (Prometheus down) restarts


def _date(function: str, instant: str) -> str:
    """A date function of a scalar instant, as a scalar (scalar arithmetic is cheap: no
    label matching, which vector arithmetic would pay at every operator)."""
    return f"scalar({function}(vector({instant})))"


def _after(rule: Transition, local: str) -> str:
    """1 when the local standard time `local` (a scalar) is at or after the transition in
    its year, else 0. The transition's day D in `local`'s month: the `week`-th `weekday`
    from the weekday of the 1st, or for the last one, back from the last day's weekday."""
    day, weekday = _date("day_of_month", local), _date("day_of_week", local)
    if rule.week < 5:
        target = (
            f"({day} - {weekday} + {rule.weekday + 6 + 7 * rule.week}) % 7 + {7 * rule.week - 6}"
        )
    else:
        last = _date("days_in_month", local)
        # weekday of the last day = (weekday + last - day) % 7; D = last - (that - wd) % 7
        target = f"{last} - ({weekday} + {last} - {day} + {7 - rule.weekday}) % 7"
    instant = f"({local} - {local} % {DAY} + ({target} - {day}) * {DAY} + {rule.time})"
    month = _date("month", local)
    return (
        f"(({month} > bool {rule.month}) + ({month} == bool {rule.month}) "
        f"* ({local} >= bool {instant}))"
    )


def offset_expr(zone: ZoneRule, instant: str) -> str:
    """PromQL (a scalar) of the UTC offset in seconds at `instant`, a scalar Unix time."""
    if zone.start is None or zone.end is None:
        return str(zone.std)
    local = f"({instant} + {zone.std})"
    start = _after(zone.start, local)
    end_in_std = Transition(
        zone.end.month, zone.end.week, zone.end.weekday, zone.end.time - (zone.dst - zone.std)
    )
    end = _after(end_in_std, local)
    if zone.start.month < zone.end.month:
        in_dst = f"({start} * (1 - {end}))"
    else:  # DST across new year (southern hemisphere, Europe/Dublin's winter time)
        in_dst = f"(1 - {end} * (1 - {start}))"
    return f"({in_dst} * {zone.dst - zone.std} + {zone.std})"


def local_midnight_expr(slo: SLO, local: str) -> str:
    """Local wall time (a scalar, seconds read as if UTC) of the period's first midnight,
    from the local wall time `local` (a scalar)."""
    midnight = f"{local} - {local} % {DAY}"
    if slo.window.unit is not None and slo.window.unit.value == "week":
        first = (slo.window.week_start + 1) % 7  # day_of_week() counts from Sunday
        weekday = _date("day_of_week", local)
        return f"({midnight} - ({weekday} + {7 - first}) % 7 * {DAY})"
    return f"({midnight} - ({_date('day_of_month', local)} - 1) * {DAY})"


def start_of_expr(zone: ZoneRule, wall: str) -> str:
    """The UTC instant (a scalar) of the local wall time `wall`: read in the zone's earliest
    offset, then corrected with the offset in force then, so a midnight skipped by DST
    starts the period at the change and a repeated one at its first time (`zoneinfo`'s
    fold=0)."""
    if not zone.has_dst:
        return f"{wall} - {zone.std}" if zone.std else wall
    earliest = max(zone.std, zone.dst)
    return f"{wall} - {offset_expr(zone, f'({wall} - {earliest})')}"


def now_local_expr(zone: ZoneRule, offset: str | None) -> str:
    """Local wall time now (a scalar): `time()` plus `offset` (a scalar), or the zone's
    fixed offset."""
    if offset is not None:
        return f"(time() + {offset})"
    return f"(time() + {zone.std})" if zone.std else "time()"


def start_rules(slo: SLO, labels: dict[str, str]) -> list[RecordingRule]:
    """The offset and the local start (zones with DST), then the period start."""
    zone = zone_rule(slo.window.time_zone)
    if not zone.has_dst:
        wall = local_midnight_expr(slo, now_local_expr(zone, None))
        return [record(c.RULE_PERIOD_START, f"vector({start_of_expr(zone, wall)})", labels)]
    offset = f"scalar({ref(c.RULE_UTC_OFFSET, slo)})"
    wall = f"scalar({ref(c.RULE_PERIOD_START_LOCAL, slo)})"
    local = local_midnight_expr(slo, now_local_expr(zone, offset))
    return [
        record(c.RULE_UTC_OFFSET, f"vector({offset_expr(zone, 'time()')})", labels),
        record(c.RULE_PERIOD_START_LOCAL, f"vector({local})", labels),
        record(c.RULE_PERIOD_START, f"vector({start_of_expr(zone, wall)})", labels),
    ]


def _accumulated(slo: SLO, name: Callable[[str], str], labels: dict[str, str]) -> RecordingRule:
    """`previous + newest 5m` while the value 5 minutes ago is of this period, else the
    newest 5m pro-rated to the time since the start (see the module docstring)."""
    own = ref(name(c.PERIOD_SUFFIX), slo)
    start_ref = ref(c.RULE_PERIOD_START, slo)
    five = f"sum({ref(name(dur(BASE)), slo)})"
    start = f"sum({start_ref})"
    back = f"[{RESTART_LOOKBACK}] offset {dur(BASE)}"
    previous = f"sum(last_over_time({own}{back}))"
    same_period = f"sum(last_over_time({start_ref}{back})) == {start}"
    seconds = int(BASE.total_seconds())
    expr = (
        f"{previous} + {five} and on() ({same_period})"
        f" or {five} * clamp_max((time() - {start}) / {seconds}, 1)"
    )
    return record(name(c.PERIOD_SUFFIX), expr, labels)


def calendar_rules(slo: SLO, labels: dict[str, str]) -> list[RecordingRule]:
    """Start, offset and both accumulations of a calendar SLO with counts."""
    return [
        *start_rules(slo, labels),
        _accumulated(slo, c.rule_requests_increase, labels),
        _accumulated(slo, c.rule_errors_increase, labels),
    ]
