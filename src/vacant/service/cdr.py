"""Call records written in batches, off the call path.

The call handler appends a record to a bounded buffer (no I/O); a task of the server writes
the buffer to the store every ``interval`` seconds, or sooner when a batch fills, in a worker
thread. If the store is down the records wait (bounded: past ``max_buffer`` the oldest are
dropped and counted) and the next round tries again. ``drain`` writes what is left at stop.
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
        """Write batches until ``stop`` is set, then write what is left."""
        while not stop.is_set():
            try:
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        while self._buffer:
            records = [self._buffer.popleft() for _ in range(min(self.batch, len(self._buffer)))]
            try:
                await asyncio.to_thread(self._write, records)
            except SQLAlchemyError as exc:
                self.failures += 1
                log.warning("writing %d call records failed, will retry: %s", len(records), exc)
                self._buffer.extendleft(reversed(records))
                return
            self.written += len(records)

    def _write(self, records: list[CallRecord]) -> None:
        with session_scope(self.engine) as s:
            add_calls(s, records)
