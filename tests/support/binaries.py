"""Find the real binaries integration tests need: skip locally when missing, fail under CI."""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, *candidates: str) -> str:
    """Path of `name` (or the first existing candidate path).

    A missing binary skips the test on a developer machine but fails it when `CI` is set:
    `.ci/run` installs every binary, so a skip there would hide a missing install step.
    """
    for candidate in (*candidates, shutil.which(name)):
        if candidate and os.path.exists(candidate):
            return candidate
    message = f"{name} not found; .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
