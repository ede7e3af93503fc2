"""LeaderGate: acting jobs run only while the lock answers "leader"; no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from meshwatch.jobs.leader import LeaderGate
from meshwatch.jobs.scheduler import IntervalJob
from meshwatch.settings import Settings
from meshwatch.store import migrate
from meshwatch.store.lock import DEFAULT_LOCK_KEY, AlwaysLeader

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@dataclass
class ScriptedLock:
    answers: list[bool]
    asked: int = 0
    released: bool = False

    def try_acquire(self) -> bool:
        self.asked += 1
        return self.answers.pop(0)

    def release(self) -> None:
        self.released = True


@dataclass
class Recorder:
    runs: list[datetime] = field(default_factory=list)

    def __call__(self, now: datetime) -> str:
        self.runs.append(now)
        return "ran"


def test_a_guarded_job_runs_only_while_leading() -> None:
    lock = ScriptedLock([False, True, False])
    changes: list[bool] = []
    gate = LeaderGate(lock, timedelta(seconds=2), on_change=changes.append)
    job = Recorder()
    guarded = gate.guard(IntervalJob("evaluate", job, timedelta(seconds=1)))

    assert guarded.run(T0) is None  # follower
    assert guarded.run(T0 + timedelta(seconds=1)) is None  # answer still fresh: not asked
    assert guarded.run(T0 + timedelta(seconds=2)) == "ran"  # asked again: leader now
    assert guarded.run(T0 + timedelta(seconds=4)) is None  # lost it
    assert job.runs == [T0 + timedelta(seconds=2)]
    assert lock.asked == 3
    assert changes == [False, True, False]  # the first answer is reported even when False
    assert (guarded.name, guarded.every) == ("evaluate", timedelta(seconds=1))


def test_the_leader_job_asks_at_its_own_interval() -> None:
    gate = LeaderGate(ScriptedLock([True]), timedelta(seconds=3))
    job = gate.job()
    assert (job.name, job.every) == ("leader", timedelta(seconds=3))
    assert job.run(T0) is True


def test_release_gives_leadership_up() -> None:
    lock = ScriptedLock([True])
    changes: list[bool] = []
    gate = LeaderGate(lock, on_change=changes.append)
    assert gate.leading(T0)
    gate.release()
    assert lock.released and not gate.is_leader and changes == [True, False]


def test_without_election_the_process_always_leads() -> None:
    gate = LeaderGate(AlwaysLeader())
    assert gate.leading(T0) and gate.leading(T0 + timedelta(hours=1))


def test_the_default_lock_key_is_shared_and_not_the_migration_lock() -> None:
    assert Settings().leader_lock_key == DEFAULT_LOCK_KEY
    assert DEFAULT_LOCK_KEY != migrate._ADVISORY_LOCK  # the migration's xact lock would block
