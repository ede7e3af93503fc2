"""Which recordings tile a window: exact, fresh, bounded; raw counters otherwise."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from meshwatch.render.rules_chain import MAX_TERMS, Term, chained_windows, plan

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)


def _tiles(window: timedelta, terms: tuple[Term, ...]) -> bool:
    """The terms cover (t - window, t] exactly once."""
    edges = sorted((t.offset, t.offset + t.window) for t in terms)
    return (
        edges[0][0] == timedelta(0)
        and edges[-1][1] == window
        and all(a[1] == b[0] for a, b in pairwise(edges))
    )


def test_the_workbook_windows_chain_from_5m() -> None:
    windows = (5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D, 30 * D)
    plans = chained_windows(windows)
    assert plans[5 * M] is None  # the only raw read
    sizes = {w: {t.window for t in p} for w, p in plans.items() if p is not None}
    assert sizes == {
        30 * M: {5 * M},
        H: {30 * M},
        2 * H: {H},
        6 * H: {2 * H},
        D: {6 * H},
        3 * D: {D},
        30 * D: {3 * D},
    }
    for window, terms in plans.items():
        assert terms is None or (_tiles(window, terms) and len(terms) <= MAX_TERMS)


def test_28d_and_7d_periods_use_a_remainder() -> None:
    recorded = (5 * M, 30 * M, H, 2 * H, 6 * H, D, 3 * D)
    terms = plan(28 * D, recorded)
    assert terms is not None and len(terms) == 10 and _tiles(28 * D, terms)
    assert [t.window for t in terms][-1] == D
    week = plan(7 * D, recorded)
    assert week is not None and [t.window for t in week] == [3 * D, 3 * D, D]


def test_windows_that_cannot_be_tiled_cheaply_read_raw_counters() -> None:
    assert plan(7 * M, (5 * M,)) is None  # not a multiple of 5m
    assert plan(2 * M, ()) is None
    assert plan(2 * H, (5 * M,)) is None  # 24 terms would be too many
    assert plan(45 * M, (5 * M, 30 * M)) == (
        Term(30 * M, timedelta(0)),
        Term(5 * M, 30 * M),
        Term(5 * M, 35 * M),
        Term(5 * M, 40 * M),
    )
