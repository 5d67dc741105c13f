"""Call records written in batches, off the call path.

The call handler appends a record to a bounded buffer (no I/O); a task of the server writes
a batch as soon as one is full, and whatever is buffered when ``interval`` seconds pass without
one, in a worker thread. A busy server thus writes full batches only: the records that come in
while one is written wait for the next, rather than going in a small write of their own (each
write is a transaction and a commit, about 0.5 ms of CPU whatever its size, on the core the
calls need). If the store is down the records wait (bounded: past ``max_buffer`` the oldest are
dropped and counted) and the next round tries again. At stop everything left is written.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

log = logging.getLogger(__name__)


class CdrWriter:
    def __init__(
        self,
        engine: Engine,
        *,
        batch: int = 1000,
        interval: float = 0.5,
        max_buffer: int = 200_000,
    ) -> None:
        self.engine = engine
        self.batch = batch
        self.interval = interval
        self._buffer: deque[CallRecord] = deque(maxlen=max_buffer)
        self._wake = asyncio.Event()
        self.written = 0
        self.dropped = 0
        self.failures = 0

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

    async def run(self, stop: asyncio.Event) -> None:
        """Write full batches, and everything every ``interval``, until ``stop`` is set; then
        write what is left."""
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

    async def flush(self, *, full_batches: bool = False) -> None:
        """Write the buffer in batches; ``full_batches``: only while a whole one is there."""
        buffer = self._buffer
        while len(buffer) >= (self.batch if full_batches else 1):
            records = [buffer.popleft() for _ in range(min(self.batch, len(buffer)))]
            try:
                await asyncio.to_thread(self._write, records)
            except SQLAlchemyError as exc:
                self.failures += 1
                log.warning("writing %d call records failed, will retry: %s", len(records), exc)
                buffer.extendleft(reversed(records))
                return
            self.written += len(records)

    def _write(self, records: list[CallRecord]) -> None:
        with session_scope(self.engine) as s:
            add_calls(s, records)
