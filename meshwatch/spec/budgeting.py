"""Timeslices budgeting from any spec format: the checks the native and OpenSLO specs share.

A slice must tile the SLO period and every burn-rate window (each a whole number of slices),
so that the share of good slices over a window and over the period counts whole slices: the
generated rules and both engines then agree exactly on which slices are in a window.
"""

from __future__ import annotations

from datetime import timedelta

from meshwatch.model import BurnRateWindow, Timeslices, Window, format_duration, parse_duration
from meshwatch.spec.problems import Problems
from meshwatch.spec.source import Document, FieldPath

MIN_SLICE = timedelta(seconds=1)
_DAY = timedelta(days=1)


def _dur(delta: timedelta) -> str:
    return format_duration(delta)


def parse_slice(text: str, doc: Document, path: FieldPath, problems: Problems) -> timedelta | None:
    """`1m` -> 1 minute; errors for bad durations and slices under 1 s."""
    try:
        length = parse_duration(text)
    except ValueError as exc:
        problems.error(doc, path, f"slice: {exc}")
        return None
    if length < MIN_SLICE:
        problems.error(doc, path, f"slice {text!r} is shorter than 1s")
        return None
    return length


MISSING_TARGET = "Timeslices budgeting needs a slice_target, e.g. 95 (percent)"


def check_slice_target(
    target: float | None,
    doc: Document,
    path: FieldPath,
    problems: Problems,
    missing: str = MISSING_TARGET,
) -> bool:
    """A slice target is a percentage in (0, 100]."""
    if target is None:
        problems.error(doc, path, missing)
        return False
    if not 0 < target <= 100:
        problems.error(
            doc, path, f"slice target {target:g} is outside (0, 100]; it is a percentage, e.g. 95"
        )
        return False
    return True


def check_tiling(
    slice_length: timedelta,
    window: Window,
    burn_windows: tuple[BurnRateWindow, ...],
    doc: Document,
    path: FieldPath,
    problems: Problems,
) -> bool:
    """The period (a day, for calendar windows) and every burn window are whole slices."""
    ok = True
    period = window.length if window.unit is None else _DAY
    if period % slice_length:
        what = "a day" if window.unit is not None else f"the {window.name} window"
        problems.error(
            doc, path, f"slice {_dur(slice_length)} does not divide {what} into whole slices"
        )
        ok = False
    bad = sorted(
        {w for b in burn_windows for w in (b.long, b.short) if w % slice_length or w < slice_length}
    )
    if bad:
        names = ", ".join(_dur(w) for w in bad)
        problems.error(
            doc,
            path,
            f"burn-rate window{'s' if len(bad) > 1 else ''} {names} "
            f"{'are' if len(bad) > 1 else 'is'} not a whole number of {_dur(slice_length)} "
            "slices; choose a slice that divides every alerting window (e.g. 1m)",
        )
        ok = False
    return ok


def timeslices(
    *,
    ratio: bool,
    slice_length: timedelta | None,
    target: float | None,
    window: Window | None,
    burn_windows: tuple[BurnRateWindow, ...] | None,
    doc: Document,
    slice_path: FieldPath,
    target_path: FieldPath,
    problems: Problems,
    missing_target: str = MISSING_TARGET,
) -> Timeslices | None:
    """The budgeting of a Timeslices (`ratio=False`) or RatioTimeslices SLO, or None after
    reporting every problem."""
    ok = slice_length is not None
    if not ratio:
        ok = check_slice_target(target, doc, target_path, problems, missing_target) and ok
    elif target is not None:
        problems.error(
            doc,
            target_path,
            "a slice target only applies to Timeslices budgeting; RatioTimeslices averages "
            "the slices' SLIs",
        )
        ok = False
    if slice_length is None or window is None or burn_windows is None:
        return None
    ok = check_tiling(slice_length, window, burn_windows, doc, slice_path, problems) and ok
    if not ok:
        return None
    return Timeslices(slice=slice_length, target=0.0 if ratio else float(target or 0), ratio=ratio)
