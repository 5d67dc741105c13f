"""The instance side of pools (vacant.service.pools.PoolMonitor) on a real database, with a clock
the test moves: registration, heartbeats, automatic failover recorded once, coverage, logs and
counters, and a graceful stop."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from vacant.routing.model import Pool
from vacant.service.pools import InstanceSettings, PoolMonitor
from vacant.store import instances
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.store.models import InstanceRow

A, B = "a.example.com", "b.example.com"
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def pools(engine: Engine) -> None:
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create(B))
        repo.add_pool(s, Pool.create(A, B, auto_failover=True, down_after=10, failback_after=30))


def _monitor(engine: Engine, pool: str, clock: Clock) -> PoolMonitor:
    return PoolMonitor(engine, InstanceSettings(pool, "udp:127.0.0.1:5060", "h:1"), clock=clock)


@pytest.mark.usefixtures("pools")
def test_backup_takes_over_once_and_gives_back_after_failback_after(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "vacant.service.pools")
    clock = Clock()
    a, b1, b2 = _monitor(engine, A, clock), _monitor(engine, B, clock), _monitor(engine, B, clock)
    for m in (a, b1, b2):
        m.register()
    assert not b1.coverage.serves(A)
    assert a.coverage.serves(A)
    clock.advance(9.9)
    b1.beat()
    b2.beat()
    assert not b1.check().serves(A)  # A's last heartbeat is 9.9 s old: still up
    clock.advance(0.1)
    assert b1.check().serves(A)  # 10 s: down, b1 records it
    assert b2.check().serves(A)  # b2 sees it; the transition is recorded once
    with session_scope(engine) as s:
        state = instances.pool_states(s)[A]
    assert (state.state, state.covered_by, state.transitions) == ("down", B, 1)
    assert [r.message for r in caplog.records].count(
        f"now answering the ranges of pool {A} (it is down)"
    ) == 2
    assert sum("up -> down" in r.message for r in caplog.records) == 1
    assert b2.transitions == {(A, "down"): 1}
    assert b2.coverage.covering == {A}
    # A comes back: its run of heartbeats starts anew (the gap was longer than down-after).
    clock.advance(5)
    a.beat()
    for _ in range(29):  # heartbeats every second: one unbroken healthy run
        clock.advance(1)
        a.beat()
    b1.beat()
    assert b1.check().serves(A)  # healthy for 29 s: not yet
    clock.advance(1)
    a.beat()
    assert not b1.check().serves(A)  # 30 s: back up
    assert not b2.check().serves(A)
    with session_scope(engine) as s:
        assert instances.pool_states(s)[A].transitions == 2
    assert b2.transitions == {(A, "down"): 1, (A, "up"): 1}
    assert f"no longer answering the ranges of pool {A} (it is up)" in caplog.messages


@pytest.mark.usefixtures("pools")
def test_forgotten_instance_registers_again_on_its_next_heartbeat(engine: Engine) -> None:
    clock = Clock()
    a = _monitor(engine, A, clock)
    a.register()
    with session_scope(engine) as s:
        s.query(InstanceRow).delete()
    a.beat()
    with session_scope(engine) as s:
        assert [i.id for i in instances.list_instances(s)] == [a.id]


def test_instance_of_an_unconfigured_pool_serves_every_pool(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "vacant.service.pools")
    monitor = _monitor(engine, "default", Clock())
    monitor.register()
    assert monitor.coverage.serves("anything.example.com")
    assert "pool default is not configured: answering every pool" in caplog.messages


@pytest.mark.usefixtures("pools")
def test_run_heartbeats_until_stopped_then_marks_the_instance_stopped(engine: Engine) -> None:
    monitor = PoolMonitor(engine, InstanceSettings(A, heartbeat_interval=0.05, check_interval=0.02))
    monitor.register()

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        async with asyncio.timeout(5):
            await task

    with session_scope(engine) as s:
        [before] = instances.list_instances(s)
    asyncio.run(scenario())
    with session_scope(engine) as s:
        [after] = instances.list_instances(s)
    assert after.heartbeat > before.heartbeat
    assert after.stopped is not None
    assert monitor.heartbeat_failures == monitor.check_failures == 0


@pytest.mark.usefixtures("pools")
def test_run_counts_heartbeat_and_check_failures_and_carries_on(engine: Engine) -> None:
    monitor = PoolMonitor(engine, InstanceSettings(A, heartbeat_interval=0.02, check_interval=0.02))

    def broken() -> None:
        raise RuntimeError("database unreachable")

    monitor.beat = broken  # type: ignore[method-assign]
    monitor.check = broken  # type: ignore[method-assign,assignment]
    monitor.stopped = broken  # type: ignore[method-assign]

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(monitor.run(stop))
        await asyncio.sleep(0.2)
        stop.set()
        async with asyncio.timeout(5):
            await task

    asyncio.run(scenario())
    assert monitor.heartbeat_failures >= 2
    assert monitor.check_failures >= 2
