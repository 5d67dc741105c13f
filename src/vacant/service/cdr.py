"""Call records written in batches, off the call path.

The call handler appends a record to a bounded buffer (no I/O); a task of the server writes
a batch as soon as one is full, and whatever is buffered when ``interval`` seconds pass without
one, in a worker thread. A busy server thus writes full batches only: the records that come in
while one is written wait for the next, rather than going in a small write of their own (each
write is a transaction and a commit, about 0.5 ms of CPU whatever its size, on the core the
calls need). If the store is down the records wait (bounded: past ``max_buffer`` the oldest are
dropped and counted) and the next round tries again. At stop everything left is written.

The writer runs below the calls (:mod:`vacant.service.workers`): batches are written by a thread
in the idle scheduling class, which gets the core only when the event loop leaves it, and gives
it back the moment a datagram wakes the loop. A batch that waits ``interval`` seconds for that
goes to a fallback thread at a nice value that a busy core still gives a share; and when the
loop leaves too little (an overload), the backlog grows past ``catch_up`` records and batches go
to that thread at once: records fall behind, boundedly, and catch up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from vacant.service.workers import IdleWorkers
from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

log = logging.getLogger(__name__)

#: Batches pending beyond which they go to the fallback thread at once. Why the usual writer is
#: in the idle class rather than at a nice value: a nice thread still runs out its time slice
#: when the loop's thread wakes, and holds the GIL meanwhile. Measured (one-step runs at 12,000
#: calls/s): at nice 10, 14 of 180 batches began with the event loop reading nothing for 5 ms
#: while 60-230 KB of datagrams queued; in the idle class none did, p99 4.8-4.9 ms against
#: 6.6-7.2. At 17,500 calls/s the idle writer held the rate twice (p99 7.9 and 20.5 ms) where
#: the nice one failed twice (docs/benchmarks.md, seventh round).
CATCH_UP_BATCHES = 10


class CdrWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        batch: int = 1000,
        interval: float = 0.5,
        max_buffer: int = 200_000,
        catch_up: int | None = None,
    ) -> None:
        self.engine = engine
        self.batch = batch
        self.interval = interval
        #: Records pending beyond which batches go to the fallback thread at once.
        self.catch_up = CATCH_UP_BATCHES * batch if catch_up is None else catch_up
        self._buffer: deque[CallRecord] = deque(maxlen=max_buffer)
        self._wake = asyncio.Event()
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._workers = IdleWorkers(1, name="vacant-cdr", max_wait=interval)

    def record(self, record: CallRecord) -> None:
        """Called on the call path: O(1), never blocks."""
        buffer = self._buffer
        if len(buffer) == buffer.maxlen:
            self.dropped += 1  # the deque drops the oldest
        buffer.append(record)
        if len(buffer) >= self.batch:
            self._wake.set()

    @property
    def pending(self) -> int:
        return len(self._buffer)

    @property
    def caught_up(self) -> int:
        """Batches written by the fallback thread (the core was too busy to leave the idle one
        any time)."""
        return self._workers.fallbacks

    async def run(self, stop: asyncio.Event) -> None:
        """Write full batches, and everything every ``interval``, until ``stop`` is set; then
        write what is left."""
        try:
            while not stop.is_set():
                try:
                    async with asyncio.timeout(self.interval):
                        await self._wake.wait()
                except TimeoutError:
                    await self.flush()
                else:
                    self._wake.clear()
                    await self.flush(full_batches=True)
            await self.flush()
        finally:
            self._workers.shutdown(wait=False)  # idle, or finishing a write if cancelled

    async def flush(self, *, full_batches: bool = False) -> None:
        """Write the buffer in batches; ``full_batches``: only while a whole one is there."""
        buffer = self._buffer
        while len(buffer) >= (self.batch if full_batches else 1):
            write = self._workers.hurry if len(buffer) > self.catch_up else self._workers.run
            records = [buffer.popleft() for _ in range(min(self.batch, len(buffer)))]
            try:
                await write(self._write, records)
            except SQLAlchemyError as exc:
                self.failures += 1
                log.warning("writing %d call records failed, will retry: %s", len(records), exc)
                buffer.extendleft(reversed(records))
                return
            self.written += len(records)

    def _write(self, records: list[CallRecord]) -> None:
        with session_scope(self.engine) as s:
            add_calls(s, records)
