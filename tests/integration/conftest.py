"""Session-wide fixtures of the integration tier."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.backfilled import Backfilled, backfilled_prometheus


@pytest.fixture(scope="session")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backfilled]:
    """A Prometheus with 30 days of backfilled history and a live exporter, one per worker
    (blocks made once per run): tests.support.backfilled."""
    with backfilled_prometheus(tmp_path_factory) as stack:
        yield stack
