"""`bulk.without_cyclic_gc`: the collector paused, restored, and what was built promoted."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from meshwatch.bulk import without_cyclic_gc


class Node:
    """A container the collector tracks."""


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The collector on, with nothing frozen, whatever the test leaves behind."""
    was = gc.isenabled()
    gc.enable()
    gc.unfreeze()
    yield
    gc.unfreeze()
    if not was:
        gc.disable()


def _generation(obj: object) -> int | None:
    return next((g for g in range(3) if any(o is obj for o in gc.get_objects(g))), None)


@pytest.mark.usefixtures("collector_on")
def test_paused_inside_restored_after_and_a_kept_build_is_in_the_oldest_generation() -> None:
    with without_cyclic_gc(kept=True):
        assert not gc.isenabled()
        built = Node()
    assert gc.isenabled()
    assert _generation(built) == 2  # no young collection will walk it to promote it
    assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("collector_on")
def test_a_build_that_is_not_kept_stays_young() -> None:
    """Every evaluation cycle pauses the collector: its leftovers must stay young, so that
    cyclic garbage among them is collected soon, not at the next full collection."""
    gc.collect()  # counters at 0: no collection can run before the check
    with without_cyclic_gc():
        built = Node()
    assert _generation(built) == 0


@pytest.mark.usefixtures("collector_on")
def test_restored_after_an_exception() -> None:
    with pytest.raises(RuntimeError), without_cyclic_gc():
        raise RuntimeError("the build failed")
    assert gc.isenabled()


@pytest.mark.usefixtures("collector_on")
def test_objects_the_process_froze_stay_frozen() -> None:
    kept = Node()
    gc.freeze()
    frozen = gc.get_freeze_count()
    with without_cyclic_gc(kept=True):
        Node()
    assert gc.isenabled()
    assert _generation(kept) is None  # still in the permanent generation
    # not unfrozen and frozen again (which would take in every object there is): frozen
    # objects freed meanwhile, by another thread of the test run, may only make it smaller
    assert gc.get_freeze_count() <= frozen


def test_a_paused_collector_stays_paused() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with without_cyclic_gc():
            pass
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()
