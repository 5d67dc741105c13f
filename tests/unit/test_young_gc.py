"""``vacant serve`` collects the young objects by time, with automatic collection off."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator

import pytest

from vacant.service import app
from vacant.service.app import collect_young


class _Node:
    """A reference cycle's member: only the cyclic collector frees it."""

    def __init__(self) -> None:
        self.other: _Node = self


async def _freed(node: weakref.ref[_Node]) -> None:
    """Wait up to a second for ``node`` to be collected."""
    for _ in range(100):
        if node() is None:
            return
        await asyncio.sleep(0.01)


@pytest.fixture
def collector() -> Iterator[None]:
    """The test process's collector as it was: enabled, thresholds kept, nothing frozen."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.enable()
    gc.set_threshold(*thresholds)


def test_young_cycles_are_collected_each_interval_and_the_collector_restored(
    collector: None,
) -> None:
    async def main() -> tuple[bool, bool, bool]:
        stop = asyncio.Event()
        task = asyncio.create_task(collect_young(0.01, stop))
        await asyncio.sleep(0)  # the task freezes the start-up objects, then disables
        frozen, enabled = gc.get_freeze_count() > 0, gc.isenabled()
        node = weakref.ref(_Node())
        await _freed(node)  # the cycle dies at the next interval, not at a threshold
        stop.set()
        await task
        return frozen, enabled, node() is None

    gc.set_threshold(1_000_000_000)  # no automatic collection could free the cycle either
    frozen, enabled_while_serving, collected = asyncio.run(main())
    assert frozen
    assert not enabled_while_serving
    assert collected
    assert gc.isenabled()


def test_survivors_move_to_the_oldest_generation(collector: None) -> None:
    """One traversal per object: what outlives a collection is not walked by the next one."""
    kept: list[list[int]] = []

    async def main() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(collect_young(0.01, stop))
        await asyncio.sleep(0)
        kept.append([1])
        await asyncio.sleep(0.05)
        young = any(o is kept[0] for g in (0, 1) for o in gc.get_objects(g))
        stop.set()
        await task
        return young

    assert asyncio.run(main()) is False
    assert any(o is kept[0] for o in gc.get_objects(2))


def test_a_collection_waits_while_datagrams_wait_unread(
    collector: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its pause is not spent in the middle of a burst of calls: ``busy`` (the runner's
    ``datagrams_waiting``) holds it back, up to ``HOUSEKEEPING_SLACK``."""
    monkeypatch.setattr(app, "HOUSEKEEPING_SLACK", 60.0)
    asked: list[bool] = []
    waiting = [True]

    def busy() -> bool:
        asked.append(waiting[0])
        return waiting[0]

    async def main() -> tuple[bool, bool]:
        stop = asyncio.Event()
        task = asyncio.create_task(collect_young(0.01, stop, busy))
        await asyncio.sleep(0)
        node = weakref.ref(_Node())
        await asyncio.sleep(0.2)  # twenty intervals, every one of them busy
        held = node() is not None
        waiting[0] = False
        await _freed(node)
        stop.set()
        await task
        return held, node() is None

    gc.set_threshold(1_000_000_000)
    held, collected = asyncio.run(main())
    assert held
    assert asked.count(True) >= 10  # looked again, about every HOUSEKEEPING_RECHECK
    assert collected


def test_a_collection_waits_no_longer_than_the_slack(collector: None) -> None:
    async def main() -> bool:
        stop = asyncio.Event()
        task = asyncio.create_task(collect_young(0.01, stop, lambda: True))
        await asyncio.sleep(0)
        node = weakref.ref(_Node())
        await _freed(node)
        stop.set()
        await task
        return node() is None

    gc.set_threshold(1_000_000_000)
    assert asyncio.run(main())
