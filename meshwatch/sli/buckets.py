"""Histogram bucket bounds as `le` label values, in every spelling exporters use.

A classic histogram's `le` label is a string, so `le="0.3"` does not match a bucket exposed
as `le="0.30"`. Exporters disagree: Go and Python clients write Go's shortest `%g` form
(`0.3`, `250`, `3.6e+06`), some write fixed decimals (`0.30`, `3600000`), and Prometheus 3
normalises integers to `250.0`. Instead of guessing, latency SLIs match the bound with a
regex of all these spellings; at most one of them exists per histogram, so nothing is
counted twice.
"""

from __future__ import annotations

import re
from decimal import Decimal

from meshwatch.model import Matcher


def _plain(value: float) -> str:
    """Shortest decimal without exponent: 0.3 -> `0.3`, 3.6e6 -> `3600000`, 250.0 -> `250`."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _go_g(value: float) -> str:
    """Go's `strconv.FormatFloat(v, 'g', -1, 64)`, which client_golang uses for `le`.

    Shortest digits; exponent form when the decimal exponent is < -4 or >= 6 (`1e+06`).
    """
    number = Decimal(repr(value)).normalize()
    exponent = number.adjusted()
    if -4 <= exponent < 6:
        return _plain(value)
    sign, digit_tuple, _ = number.as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def le_spellings(threshold: float) -> tuple[str, ...]:
    """Every spelling of a bucket bound seen in the wild, sorted, without duplicates."""
    plain, go = _plain(threshold), _go_g(threshold)
    spellings = {plain, go}
    if "." in plain:
        spellings.update({plain + "0", plain + "00"})
    else:
        spellings.add(plain + ".0")
    return tuple(sorted(spellings))


def le_matcher(threshold: float) -> Matcher:
    """`le=~"0\\.3|0\\.30|0\\.300"`: matches the bucket however the exporter spelt it."""
    return Matcher("le", "=~", "|".join(re.escape(s) for s in le_spellings(threshold)))
