"""The backfill profile that integration tests compare Prometheus's answers with."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from tests.support.backfill import DURATION, REQUESTS, History, Incident, Traffic

END = datetime(2026, 11, 1, 0, 0, tzinfo=UTC)


def _history() -> History:
    incident = Incident(END - timedelta(minutes=4), timedelta(minutes=2), 0.5)
    return History(
        end=END,
        traffic=(Traffic("a", rps=1.0, error_ratio=0.0, incidents=(incident,)),),
        length=timedelta(minutes=10),
        step=60,
        histogram_services=("a",),
    )


def test_counts_follow_the_profile_and_its_incident() -> None:
    history = _history()

    assert history.counts("a", END - timedelta(minutes=10), END) == (60, 600)
    assert history.counts("a", END - timedelta(minutes=4), END - timedelta(minutes=2)) == (60, 120)
    assert history.counts("a", END - timedelta(minutes=2), END) == (0, 120)


def test_openmetrics_text_is_cumulative_time_ordered_and_terminated() -> None:
    out = io.StringIO()
    _history().write_openmetrics(out)
    lines = out.getvalue().splitlines()

    errors = [ln for ln in lines if ln.startswith(REQUESTS) and 'response_code="503"' in ln]
    values = [int(ln.split()[1]) for ln in errors]
    stamps = [int(ln.split()[2]) for ln in errors]
    assert values == sorted(values) and values[-1] == 60
    assert stamps == sorted(stamps) and stamps[-1] == int(END.timestamp())
    inf = [ln for ln in lines if ln.startswith(f"{DURATION}_bucket") and 'le="+Inf"' in ln]
    assert int(inf[-1].split()[1]) == 600
    assert lines[-1] == "# EOF"
