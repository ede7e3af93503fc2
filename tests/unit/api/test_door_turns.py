"""`Turns` runs queued steps a few per event-loop pass, in order, whatever a step does."""

from __future__ import annotations

import asyncio

import pytest

from meshwatch.api.door_webhook import Turns


def test_steps_run_per_pass_in_order() -> None:
    loop = asyncio.new_event_loop()
    try:
        turns = Turns(loop, per_pass=4)
        ran: list[str] = []
        for n in range(10):
            turns.add(lambda n=n: ran.append(f"s{n}"))

        async def passes() -> None:  # one marker per loop pass, between the turns
            for n in range(4):
                ran.append(f"pass{n}")
                await asyncio.sleep(0)

        loop.run_until_complete(passes())
        steps = [r for r in ran if r.startswith("s")]
        assert steps == [f"s{n}" for n in range(10)]
        runs, run = [], 0  # steps between one pass marker and the next
        for entry in ran:
            if entry.startswith("pass"):
                runs.append(run)
                run = 0
            else:
                run += 1
        assert max(runs) == 4 and sum(runs) + run == 10
    finally:
        loop.close()


def test_a_step_that_raises_does_not_stop_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    loop = asyncio.new_event_loop()
    try:
        turns = Turns(loop, per_pass=2)
        ran: list[int] = []

        def boom() -> None:
            raise RuntimeError("a step failed")

        turns.add(lambda: ran.append(1))
        turns.add(boom)
        turns.add(lambda: ran.append(3))
        turns.add(lambda: turns.add(lambda: ran.append(5)))  # added from inside a step
        loop.run_until_complete(asyncio.sleep(0.01))
        assert ran == [1, 3, 5]
        assert "a step failed" in caplog.text
    finally:
        loop.close()
