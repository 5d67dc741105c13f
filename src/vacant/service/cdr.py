"""Call records written in batches, off the call path.

The call handler appends a record to a bounded buffer (no I/O); a task of the server writes
a batch as soon as one is full, and whatever is buffered when ``interval`` seconds pass without
one, in a worker thread. A busy server thus writes full batches only: the records that come in
while one is written wait for the next, rather than going in a small write of their own (each
write is a transaction and a commit, about 0.5 ms of CPU whatever its size, on the core the
calls need). If the store is down the records wait (bounded: past ``max_buffer`` the oldest are
dropped and counted) and the next round tries again. At stop everything left is written.

The worker thread is the writer's own, at a lower CPU priority than the calls (``WRITER_NICE``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from vacant.store.calls import CallRecord, add_calls
from vacant.store.engine import session_scope

log = logging.getLogger(__name__)

#: The writer thread's nice value (on Linux a thread's own attribute, setpriority(2)). Calls and
#: records share the server's core: when both are ready to run, the kernel now runs the event
#: loop first (weights 1024 and 110: a busy core still gives the writer a tenth, more than its
#: 5 us per record takes at full rate), instead of leaving it waiting behind a batch of 1,000
#: for milliseconds. One-step runs at 12,000 calls/s: p99 7.1-20 ms before; after, 4.9-5.2 ms
#: in four of six, 8.4-9.5 in two (nice 19, a seventh of that share, did no better: 4.3-6.0).
WRITER_NICE = 10


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
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="vacant-cdr", initializer=_lower_priority
        )

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
            self._executor.shutdown(wait=False)  # idle, or finishing a write if cancelled

    async def flush(self, *, full_batches: bool = False) -> None:
        """Write the buffer in batches; ``full_batches``: only while a whole one is there."""
        buffer, loop = self._buffer, asyncio.get_running_loop()
        while len(buffer) >= (self.batch if full_batches else 1):
            records = [buffer.popleft() for _ in range(min(self.batch, len(buffer)))]
            try:
                await loop.run_in_executor(self._executor, self._write, records)
            except SQLAlchemyError as exc:
                self.failures += 1
                log.warning("writing %d call records failed, will retry: %s", len(records), exc)
                buffer.extendleft(reversed(records))
                return
            self.written += len(records)

    def _write(self, records: list[CallRecord]) -> None:
        with session_scope(self.engine) as s:
            add_calls(s, records)


def _lower_priority() -> None:
    """Run the calling thread at ``WRITER_NICE``, or lower if the process already is. Where the
    system refuses (a sandbox's syscall filter), the records are written at the usual priority:
    an initializer that raised would leave the executor unable to run anything."""
    if sys.platform == "linux":  # elsewhere a thread id is no process id to setpriority
        thread = threading.get_native_id()
        try:
            nice = max(os.getpriority(os.PRIO_PROCESS, thread), WRITER_NICE)
            os.setpriority(os.PRIO_PROCESS, thread, nice)
        except OSError as exc:
            log.warning("call records written at the usual CPU priority: %s", exc)
