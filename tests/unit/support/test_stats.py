"""The binomial ranges of tests.support.stats against sums of exact probabilities."""

from __future__ import annotations

import math

import pytest

from tests.support.stats import assert_share, binomial_range, requests_to_tell_apart


def _pmf(n: int, p: float, k: int) -> float:
    return math.comb(n, k) * p**k * (1 - p) ** (n - k)


@pytest.mark.parametrize(
    ("n", "p", "false_failure"),
    [
        pytest.param(500, 0.8, 1e-6, id="json-rds-80-percent"),
        pytest.param(1000, 0.1, 1e-6, id="ten-percent-of-1000"),
        pytest.param(300, 0.05, 1e-3, id="skewed-small-share"),
        pytest.param(40, 0.5, 0.05, id="small-n"),
    ],
)
def test_each_tail_outside_the_range_is_at_most_half_the_false_failure_and_minimal(
    n: int, p: float, false_failure: float
) -> None:
    lo, hi = binomial_range(n, p, false_failure)
    below = sum(_pmf(n, p, k) for k in range(lo))
    above = sum(_pmf(n, p, k) for k in range(hi + 1, n + 1))
    assert below <= false_failure / 2 and above <= false_failure / 2
    # one count further in would take the tail over: the range is no wider than it must be
    assert below + _pmf(n, p, lo) > false_failure / 2
    assert above + _pmf(n, p, hi) > false_failure / 2


def test_certain_shares_have_one_count() -> None:
    assert binomial_range(300, 0.0) == (0, 0)
    assert binomial_range(300, 1.0) == (300, 300)


def test_the_ci_flake_is_inside_and_the_message_has_the_figures() -> None:
    assert_share(427, 500, 0.8, "v2")  # the 3-sigma draw that failed `abs(... - 0.8) <= 0.05`
    with pytest.raises(AssertionError, match=r"v2: 250 of 500 \(0\.500\), expected share 0\.8"):
        assert_share(250, 500, 0.8, "v2")


def test_requests_to_tell_apart_separates_the_ranges() -> None:
    n = requests_to_tell_apart([0.1, 0.2])
    assert binomial_range(n, 0.1)[1] < binomial_range(n, 0.2)[0]
    assert binomial_range(n // 2, 0.1)[1] >= binomial_range(n // 2, 0.2)[0]
