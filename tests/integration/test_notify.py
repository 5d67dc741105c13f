"""The LISTEN side of configuration propagation (vacant.service.notify) against the suite's
PostgreSQL: a committed write wakes the listener; a dropped connection is re-established, with a
catch-up call, and notifications flow again."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine, text

from vacant.routing.model import Pool
from vacant.service import notify
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.store.rows import CONFIG_CHANNEL

pytestmark = pytest.mark.postgres


class Calls:
    """Counts the listener's calls; ``reach(n)`` waits (5 s at most) for the n-th."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = asyncio.Event()

    def __call__(self) -> None:
        self.count += 1
        self.changed.set()

    async def reach(self, count: int) -> None:
        async with asyncio.timeout(5):
            while self.count < count:
                self.changed.clear()
                await self.changed.wait()


def _write(engine: Engine, name: str) -> None:
    with session_scope(engine) as s:
        repo.add_pool(s, Pool.create(name))


def test_listener_is_called_on_commit_and_again_after_its_connection_drops(
    pg_engine: Engine,
) -> None:
    async def scenario() -> int:
        calls = Calls()
        stop = asyncio.Event()
        task = asyncio.create_task(
            notify.listen(pg_engine.url, CONFIG_CHANNEL, calls, stop, retry=0.1)
        )
        try:
            await calls.reach(1)  # connected: the catch-up call
            await asyncio.to_thread(_write, pg_engine, "a.example.com")
            await calls.reach(2)  # the notification
            # The database drops the listening connection (a restart, a network cut).
            with pg_engine.connect() as conn:
                dropped = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE query LIKE 'LISTEN %' AND pid <> pg_backend_pid()"
                    )
                ).scalar()
            assert dropped == 1
            await calls.reach(3)  # reconnected: catch-up call
            await asyncio.to_thread(_write, pg_engine, "b.example.com")
            await calls.reach(4)
        finally:
            stop.set()
            async with asyncio.timeout(5):
                await task
        return calls.count

    assert asyncio.run(scenario()) == 4


def test_listener_refuses_a_channel_that_is_not_an_identifier(pg_engine: Engine) -> None:
    with pytest.raises(ValueError, match="not an identifier"):
        asyncio.run(notify.listen(pg_engine.url, "x; DROP", lambda: None, asyncio.Event()))
