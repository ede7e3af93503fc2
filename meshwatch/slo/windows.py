"""Multiwindow multi-burn-rate tables for any SLO period (SRE Workbook, ch. 5).

The Workbook's 30-day table spends 2 % of the budget in 1 h (page, 14.4x), 5 % in 6 h
(page, 6x), 10 % in 1 d (ticket, 3x) and 10 % in 3 d (ticket, 1x). For any other period we
keep the budget shares and the windows and derive the factor:

    factor = budget_share x period / long_window

which gives 14.4/6/3/1 for 30 d and 13.44/5.6/2.8/0.9333 for 28 d (as Sloth does).
Each long window is paired with a short window of 1/12 its length, so an alert stops
soon after the errors stop.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from meshwatch.model import BurnRateWindow, Severity, format_duration

# (severity, long window, short window, share of the period's budget)
WORKBOOK_SHARES: tuple[tuple[Severity, timedelta, timedelta, float], ...] = (
    (Severity.PAGE, timedelta(hours=1), timedelta(minutes=5), 0.02),
    (Severity.PAGE, timedelta(hours=6), timedelta(minutes=30), 0.05),
    (Severity.TICKET, timedelta(days=1), timedelta(hours=2), 0.10),
    (Severity.TICKET, timedelta(days=3), timedelta(hours=6), 0.10),
)


def burn_factor(budget_share: float, period: timedelta, long_window: timedelta) -> float:
    """Burn rate that spends `budget_share` of a `period` budget within `long_window`."""
    return budget_share * (period / long_window)


window_name = format_duration
"""A window's name (`5m`, `1h`): `format_duration`, which is cached."""


@functools.lru_cache(maxsize=256)
def default_burn_windows(period: timedelta) -> tuple[BurnRateWindow, ...]:
    """The Workbook's four conditions scaled to `period` (rolling length or nominal calendar)."""
    return tuple(
        BurnRateWindow(
            severity=severity,
            long=long,
            short=short,
            budget_share=share,
            factor=round(burn_factor(share, period, long), 4),
        )
        for severity, long, short, share in WORKBOOK_SHARES
        if long < period
    )
