from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from meshwatch.model import SLOStatus, State
from meshwatch.notify.bodies import encode, generic_body, sign, slack_body, verify
from meshwatch.notify.events import Tracked, resume, track

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def status(state: State, at: datetime, reason: str = "r") -> SLOStatus:
    return SLOStatus(
        slo_id="shop-checkout",
        service="shop",
        slo="checkout",
        at=at,
        state=state,
        reason=reason,
        objective=0.999,
    )


def run(states: list[State], step: timedelta = timedelta(minutes=1)) -> list[str]:
    tracked: Tracked | None = None
    events: list[str] = []
    for i, state in enumerate(states):
        tracked, new = track(tracked, status(state, T0 + i * step))
        events.extend(f"{e.previous_state or '-'}>{e.state}" for e in new)
    return events


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        pytest.param([State.OK, State.OK], [], id="steady-ok-is-silent"),
        pytest.param([State.OK, State.BREACHED, State.BREACHED], ["ok>breached"], id="breach-once"),
        pytest.param(
            [State.OK, State.WARNING, State.OK],
            ["ok>warning", "warning>ok"],
            id="burn-then-recover",
        ),
        pytest.param([State.BREACHED], ["->breached"], id="first-seen-breached"),
        pytest.param([State.OK] + [State.UNKNOWN] * 5, [], id="short-unknown-is-silent"),
        pytest.param(
            [State.OK] + [State.UNKNOWN] * 12, ["ok>unknown"], id="long-unknown-notifies-once"
        ),
        pytest.param([State.UNKNOWN, State.OK], [], id="unknown-to-ok-is-not-a-recovery"),
        pytest.param(
            [State.BREACHED, State.UNKNOWN, State.BREACHED],
            ["->breached"],
            id="unknown-blip-between-equal-states-is-no-change",
        ),
        pytest.param(
            [State.OK, State.BREACHED, State.UNKNOWN, State.OK],
            ["ok>breached", "breached>ok"],
            id="recovery-after-an-unknown-blip",
        ),
        pytest.param(
            [State.BREACHED] + [State.UNKNOWN] * 12 + [State.BREACHED],
            ["->breached", "breached>unknown", "unknown>breached"],
            id="announced-unknown-then-breached-again-notifies",
        ),
    ],
)
def test_state_changes(states: list[State], expected: list[str]) -> None:
    assert run(states) == expected


def test_dedup_key_is_stable_per_state_change() -> None:
    tracked, _ = track(None, status(State.OK, T0))
    tracked, breach = track(tracked, status(State.BREACHED, T0 + timedelta(minutes=1)))
    assert [e.key for e in breach] == ["slo:shop-checkout:breached:2026-11-25T10:01:00+00:00"]
    # a restarted loop that re-derives the same transition produces the same key
    _, again = track(
        Tracked(State.OK, T0, notified=False), status(State.BREACHED, T0 + timedelta(minutes=1))
    )
    assert [e.key for e in again] == [breach[0].key]


def test_resumed_loop_does_not_announce_the_same_state_again() -> None:
    _, events = track(None, status(State.BREACHED, T0))
    assert len(events) == 1
    tracked = resume(status(State.BREACHED, T0 + timedelta(minutes=1)))
    # the scrape engine starts empty: unknown first, then breached again
    tracked, first = track(tracked, status(State.UNKNOWN, T0 + timedelta(minutes=2)))
    tracked, second = track(tracked, status(State.BREACHED, T0 + timedelta(minutes=3)))
    assert first == second == []
    _, recovered = track(tracked, status(State.OK, T0 + timedelta(minutes=4)))
    assert [(e.previous_state, e.state) for e in recovered] == [("breached", "ok")]


def test_resumed_unknown_can_still_be_announced() -> None:
    tracked = resume(status(State.UNKNOWN, T0))
    _, events = track(tracked, status(State.UNKNOWN, T0 + timedelta(minutes=11)))
    assert [e.state for e in events] == ["unknown"]


def test_bodies_and_signature() -> None:
    _, events = track(None, status(State.BREACHED, T0, reason="budget exhausted"))
    body = generic_body(events[0])
    assert body["state"] == "breached"
    assert body["slo"] == {"id": "shop-checkout", "service": "shop"}
    assert slack_body(events[0])["text"] == events[0].summary
    raw = encode(body)
    signature = sign(b"s3cret", "1700000000", raw)
    assert signature.startswith("sha256=")
    assert verify(b"s3cret", "1700000000", raw, signature)
    assert not verify(b"s3cret", "1700000001", raw, signature)
    assert not verify(b"other", "1700000000", raw, signature)
