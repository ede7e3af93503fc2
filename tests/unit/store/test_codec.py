"""SLOStatus <-> row values: exact for every float but NaN, which means unknown."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meshwatch.model import SLOStatus, State
from meshwatch.store.codec import STATUS_COLUMNS, status_from_values, status_row, status_values
from meshwatch.store.engine import compact_json
from meshwatch.store.tables import StatusRow
from meshwatch.store.types import from_micros, to_micros

floats = st.floats(allow_nan=False) | st.none()
maps = st.dictionaries(st.sampled_from(["5m", "30m", "1h", "6h", "3d", "30d", "p99"]), floats)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
statuses = st.builds(
    SLOStatus,
    slo_id=st.text(min_size=1, max_size=40),
    service=st.text(max_size=20),
    slo=st.text(max_size=20),
    at=moments,
    state=st.sampled_from(State),
    reason=st.text(max_size=50),
    objective=st.floats(allow_nan=False),
    period_sli=floats,
    budget_remaining=floats,
    budget_remaining_seconds=floats,
    budget_remaining_requests=floats,
    throughput=floats,
    sli=maps,
    burn_rate=maps,
    latency=maps,
    requests=maps,
)


@given(statuses)
def test_round_trip_through_json_text_is_exact(status: SLOStatus) -> None:
    values = status_values(status)
    # what a JSON column does on SQLite: strict JSON text (no NaN/Infinity literals)
    values["windows"] = json.loads(json.dumps(values["windows"], allow_nan=False))
    assert status_from_values(values) == status


def test_nan_is_stored_as_unknown() -> None:
    status = SLOStatus(
        slo_id="a-b",
        service="a",
        slo="b",
        at=datetime(2026, 1, 1, tzinfo=UTC),
        state=State.UNKNOWN,
        reason="no traffic",
        objective=0.999,
        budget_remaining=math.nan,
        sli={"5m": math.nan, "1h": math.inf},
        burn_rate={"5m": -math.inf},
    )
    back = status_from_values(status_values(status))
    assert back.budget_remaining is None
    assert back.sli == {"5m": None, "1h": math.inf}
    assert back.burn_rate == {"5m": -math.inf}


@given(moments)
def test_microsecond_timestamps_are_exact(moment: datetime) -> None:
    assert from_micros(to_micros(moment)) == moment


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_micros(datetime(2026, 1, 1))


def test_other_time_zones_are_converted_to_utc() -> None:
    moment = datetime(2026, 1, 1, 17, tzinfo=timezone(timedelta(hours=5)))
    assert from_micros(to_micros(moment)) == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert from_micros(to_micros(moment)).tzinfo is UTC


def test_the_row_has_every_column_of_the_table_but_its_id() -> None:
    columns = [column.name for column in StatusRow.__table__.columns if column.name != "id"]
    assert sorted(STATUS_COLUMNS) == sorted(columns)


@given(statuses)
def test_a_driver_row_reads_back_exactly(status: SLOStatus) -> None:
    """The tuple `write_statuses` hands the driver, its maps as the store's JSON text."""
    row = status_row(status, compact_json)
    assert len(row) == len(STATUS_COLUMNS) and isinstance(row[-1], str)
    values = dict(zip(STATUS_COLUMNS, row, strict=True))
    values["windows"] = json.loads(values["windows"])
    assert status_from_values(values) == status
    assert values == {**status_values(status), "windows": values["windows"]}
