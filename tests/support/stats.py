"""Bounds for shares the suite samples: requests Envoy splits by weight, failures among them.

A weighted cluster picks at random, so the share of `n` requests a backend gets is binomial:
an assertion with a fixed margin (say `± 0.05` on 500 requests at `p = 0.8`, about 2.8
standard deviations) fails on its own about one run in 200. Here the accepted range is the
exact binomial one: the counts outside it have a probability of at most `FALSE_FAILURE` in
all (half below, half above), so a healthy Envoy fails one assertion in a million. Where a
test must tell two shares apart, `requests_to_tell_apart` gives the `n` at which their
ranges do not overlap, so a larger sample, not a looser bound, buys the separation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from functools import cache

FALSE_FAILURE = 1e-6
"""The probability that one sampled-share assertion fails while the system is right."""


@cache
def binomial_range(n: int, p: float, false_failure: float = FALSE_FAILURE) -> tuple[int, int]:
    """The counts `(lo, hi)` out of `n` a share `p` gives, but for a `false_failure` chance:
    P(X < lo) <= false_failure / 2 and P(X > hi) <= false_failure / 2, X ~ Binomial(n, p)."""
    if not 0.0 <= p <= 1.0 or n < 0:
        raise ValueError(f"not a binomial: n={n}, p={p}")
    if p in (0.0, 1.0):
        return (0, 0) if p == 0.0 else (n, n)
    tail = false_failure / 2
    log_p, log_q = math.log(p), math.log1p(-p)
    pmf = [
        math.exp(
            math.lgamma(n + 1)
            - math.lgamma(k + 1)
            - math.lgamma(n - k + 1)
            + k * log_p
            + (n - k) * log_q
        )
        for k in range(n + 1)
    ]
    lo, below = 0, 0.0
    while below + pmf[lo] <= tail:
        below += pmf[lo]
        lo += 1
    hi, above = n, 0.0
    while above + pmf[hi] <= tail:
        above += pmf[hi]
        hi -= 1
    return lo, hi


def assert_share(
    hits: int, n: int, p: float, what: str = "", *, false_failure: float = FALSE_FAILURE
) -> None:
    """`hits` of `n` samples is what a share `p` gives, but for a `false_failure` chance."""
    assert n > 0, f"{what}: no samples"
    lo, hi = binomial_range(n, p, false_failure)
    assert lo <= hits <= hi, (
        f"{what}: {hits} of {n} ({hits / n:.3f}), expected share {p:g}: "
        f"binomial range {lo}..{hi} ({lo / n:.3f}..{hi / n:.3f}) "
        f"at a false-failure probability of {false_failure:g}"
    )


def assert_counts_share(
    counts: dict[tuple[str, int], int] | dict[tuple[str, str], int],
    backend: str,
    p: float,
    what: str = "",
) -> None:
    """The share of `backend` among counts keyed `(backend, status)` is binomial at `p`."""
    hits = sum(n for (b, _), n in counts.items() if b == backend)
    assert_share(hits, sum(counts.values()), p, f"{what} {backend} {dict(counts)}".strip())


def requests_to_tell_apart(
    shares: Iterable[float], false_failure: float = FALSE_FAILURE, start: int = 50
) -> int:
    """The smallest `n` (doubling from `start`) at which the binomial ranges of every pair of
    `shares` are disjoint: a sample of either one is then outside the other's range."""
    ordered = sorted(set(shares))
    n = start
    while True:
        ranges = [binomial_range(n, p, false_failure) for p in ordered]
        if all(low[1] < high[0] for low, high in itertools.pairwise(ranges)):
            return n
        n *= 2
