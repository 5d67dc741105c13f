"""The media clock's housekeeping (RTCP reports, no-media checks) is spread over its ticks.

All streams at once took 1.5 ms for 2,000 streams, more than a tick's slack at that load: the
next tick's streams then sent late every 200 ms (bench/announce_calls.py). Each tick now visits
its share of the round's streams (RFC 3550 §6.2's reports are still due every interval).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from vacant.media.engine import HOUSEKEEPING_TICKS, MediaEngine, Stream

STREAMS = 120
SHARE = -(-STREAMS // HOUSEKEEPING_TICKS)


def _visits(monkeypatch: pytest.MonkeyPatch, steps: list[int]) -> tuple[list[int], Counter[int]]:
    """Open ``STREAMS`` streams, then advance the clock by each of ``steps`` ticks (by hand: the
    test never yields to the loop, so the engine's own timer cannot run). Returns the streams
    visited per advance and how often each stream (by port) was visited."""
    visited: list[Stream] = []
    monkeypatch.setattr(Stream, "_housekeeping", lambda self, now, wall: visited.append(self))
    per_advance: list[int] = []

    async def scenario() -> None:
        base = random.Random().randrange(20000, 28000, 2)
        engine = MediaEngine(
            "127.0.0.1", (base, base + 2 * STREAMS + 199), rng=random.Random(7), clock="loop"
        )
        await engine.start()
        try:
            for _ in range(STREAMS):
                engine.open(lambda: None)
            for step in steps:
                before = len(visited)
                engine._advance(engine._tick_count + step)
                per_advance.append(len(visited) - before)
        finally:
            await engine.close()

    asyncio.run(scenario())
    return per_advance, Counter(stream.port for stream in visited)


def test_each_tick_visits_a_share_and_each_round_every_stream_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    per_tick, visits = _visits(monkeypatch, [1] * (2 * HOUSEKEEPING_TICKS))
    # Two rounds of 40 ticks: at most ceil(120 / 40) streams per tick, each stream once a round.
    assert max(per_tick) == SHARE
    assert sum(per_tick[:HOUSEKEEPING_TICKS]) == sum(per_tick[HOUSEKEEPING_TICKS:]) == STREAMS
    assert len(visits) == STREAMS
    assert set(visits.values()) == {2}


def test_late_ticks_visit_the_share_of_every_tick_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    # A round begins at tick 1; the clock comes back 10 ticks later, 29 later (the round's end:
    # what is left), then 50 later (a new round, all of it at once).
    per_advance, visits = _visits(monkeypatch, [1, 10, 29, 50])
    assert per_advance == [SHARE, 10 * SHARE, STREAMS - 11 * SHARE, STREAMS]
    assert set(visits.values()) == {2}
