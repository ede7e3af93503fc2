"""Shared pytest options and the hypothesis profiles.

Profiles (`MESHWATCH_HYPOTHESIS_PROFILE`, else `ci` when `CI` is set, else `dev`):

- `dev`: fewer examples for a quick local loop.
- `ci`: the full example counts each test asks for, derandomized so a red run replays.

Both give every example a deadline of 5 s: the slowest example measured takes ~10 ms alone
and ~50 ms on a 2-core machine shared with eight CPU-bound jobs, so 5 s fails only on a hang
or a pathological input, never on the load. `too_slow` is not checked: it measures how long
data generation takes in wall-clock time, which on a shared machine is the load, not the
strategy.

`--update-golden` rewrites every golden file (tests/support/golden.py) instead of comparing.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings

from tests.support.golden import UPDATE_VARIABLE

PROFILE_ENV = "MESHWATCH_HYPOTHESIS_PROFILE"
DEADLINE = timedelta(seconds=5)

settings.register_profile(
    "dev",
    deadline=DEADLINE,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=DEADLINE,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def hypothesis_profile(environ: dict[str, str] | os._Environ[str]) -> str:
    """The profile named by the environment: explicit, else `ci` under CI, else `dev`."""
    return environ.get(PROFILE_ENV) or ("ci" if environ.get("CI") else "dev")


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--update-golden"):  # one switch for every golden (tests/support/golden)
        os.environ[UPDATE_VARIABLE] = "1"
    settings.load_profile(hypothesis_profile(os.environ))


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {settings.get_current_profile_name()}"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite golden files under tests/golden/ from the current output instead of "
        "comparing with them.",
    )
