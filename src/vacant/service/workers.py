"""Worker threads below the event loop: the idle scheduling class, with a guarantee of progress.

The blocking work a server does off the call path (call records, configuration reloads, the
pool heartbeat and check: SQL through a driver) runs in worker threads. At the usual priority
such a thread competes with the event loop's for the core and for the GIL: when a datagram
wakes the loop, the kernel lets the worker run out its time slice, and the loop reads nothing
meanwhile while a burst of requests queues (docs/benchmarks.md, seventh round: 4-9 ms with
170-270 KB queued, the episodes that make the 99th percentile at 17,500 calls/s).

So :class:`IdleWorkers` run their jobs on threads in the idle scheduling class (``SCHED_IDLE``,
sched(7), a Linux thread's own attribute): they get a core only when nothing else wants it, a
wake-up of theirs never preempts the loop, and they give the core back the moment the loop
wakes. An idle-class thread may wait for ever on a saturated core, so the event loop times each
job (a timer of its own: no thread wakes for it) and hands one that has not started within
``max_wait`` seconds to a fallback thread at ``FALLBACK_NICE``, which a busy core still gives a
share; :meth:`IdleWorkers.hurry` hands a job to that thread at once (call records, once behind).
The fallback thread wakes for nothing else: a thread of the usual class that wakes preempts the
loop's (measured: the media clock's 200 wake-ups a second were the 99th percentile, see
:mod:`vacant.media.engine`). Jobs start in the order they came, except those the fallback takes.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from typing import Any, ParamSpec, Protocol, TypeVar, cast

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: The fallback thread's nice value (setpriority(2) of the thread): when it and the event loop
#: are both ready to run, the kernel runs the loop first, yet a saturated core still gives this
#: thread about a tenth (weights 1024 and 110). It is also the workers' own priority where the
#: system refuses ``SCHED_IDLE``.
FALLBACK_NICE = 10


@dataclass(slots=True, eq=False)
class _Job:
    future: Future[Any]
    call: Callable[[], Any]

    def run(self) -> None:
        if not self.future.set_running_or_notify_cancel():
            return  # cancelled while it waited
        try:
            result = self.call()
        except BaseException as exc:  # the caller's to see, as concurrent.futures does
            self.future.set_exception(exc)
        else:
            self.future.set_result(result)


class Offload(Protocol):
    """Runs a blocking function off the event loop: :meth:`IdleWorkers.run`,
    ``asyncio.to_thread``."""

    def __call__(self, fn: Callable[[], T], /) -> Awaitable[T]: ...


class IdleWorkers:
    """``workers`` threads in the idle class and one fallback thread, started at the first job.
    :meth:`shutdown` lets them finish the jobs already given, then end; so does the
    interpreter's exit, for workers their owner left running (the threads are daemons, which
    forgotten workers would not keep alive for ever)."""

    def __init__(self, workers: int, *, name: str, max_wait: float) -> None:
        self.workers = workers
        self.name = name
        self.max_wait = max_wait
        #: Jobs the fallback thread ran (they waited too long for an idle core, or hurried).
        self.fallbacks = 0
        self._jobs: deque[_Job] = deque()  # for an idle core, in the order they came
        self._hurried: deque[_Job] = deque()  # for the fallback thread
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the idle workers wait here
        self._due = threading.Condition(self._lock)  # the fallback thread waits here
        self._closed = False
        self._threads: list[threading.Thread] = []

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` when a core is idle, or on the fallback thread once it has
        waited ``max_wait`` seconds (called in the event loop, which times it)."""
        job = self._add(partial(fn, *args, **kwargs), self._jobs, self._work)
        late = asyncio.get_running_loop().call_later(self.max_wait, self._overdue, job)
        try:
            return cast(T, await asyncio.wrap_future(job.future))
        finally:
            late.cancel()

    async def hurry(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on the fallback thread, before the jobs that wait."""
        job = self._add(partial(fn, *args, **kwargs), self._hurried, self._due)
        return cast(T, await asyncio.wrap_future(job.future))

    def _add(self, call: Callable[[], Any], queue: deque[_Job], ready: threading.Condition) -> _Job:
        job = _Job(Future(), call)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name}: cannot take jobs after shutdown")
            if not self._threads:
                self._start()
            queue.append(job)
            ready.notify()
        return job

    def _overdue(self, job: _Job) -> None:
        with self._lock:
            if job in self._jobs:  # not started: no idle core for max_wait seconds
                self._jobs.remove(job)
                self._hurried.append(job)
                self._due.notify()

    def _start(self) -> None:
        self._threads = [
            threading.Thread(target=self._serve_idle, name=f"{self.name}_{n}", daemon=True)
            for n in range(self.workers)
        ]
        self._threads.append(
            threading.Thread(target=self._serve_due, name=f"{self.name}-fallback", daemon=True)
        )
        for thread in self._threads:
            thread.start()
        _running.add(self)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more jobs; the fallback thread runs the waiting ones (or they are
        cancelled); ``wait``: until every thread has ended."""
        with self._lock:
            self._closed = True
            if cancel_futures:
                for job in (*self._hurried, *self._jobs):
                    job.future.cancel()
                self._hurried.clear()
                self._jobs.clear()
            self._work.notify_all()
            self._due.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()

    def _serve_idle(self) -> None:
        _run_when_idle()
        while True:
            with self._lock:
                while not self._jobs:
                    if self._closed:
                        return
                    self._work.wait()
                job = self._jobs.popleft()
            job.run()

    def _serve_due(self) -> None:
        _lower_priority()
        while job := self._next_due():
            job.run()

    def _next_due(self) -> _Job | None:
        """The next hurried or overdue job; once closed, any waiting one (they are all due);
        None when closed with nothing left."""
        with self._lock:
            while True:
                if self._hurried:
                    job = self._hurried.popleft()
                    break
                if self._closed:
                    if not self._jobs:
                        return None
                    job = self._jobs.popleft()
                    break
                self._due.wait()
            self.fallbacks += 1
            return job


_running: weakref.WeakSet[IdleWorkers] = weakref.WeakSet()


@atexit.register
def _finish_at_exit() -> None:
    """Let the jobs given finish before the interpreter ends (atexit runs while daemon
    threads still do), as :mod:`concurrent.futures` does for its own threads."""
    for workers in list(_running):
        workers.shutdown()


def _run_when_idle() -> None:
    """Put the calling thread in the idle scheduling class (sched(7): it runs only on a core
    nothing else wants), or at ``FALLBACK_NICE`` where the system refuses that."""
    if sys.platform == "linux":  # elsewhere a thread id is no process id to sched_setscheduler
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_IDLE, os.sched_param(0))
        except OSError as exc:
            log.warning(
                "%s runs at nice %d, not when idle: %s",
                threading.current_thread().name,
                FALLBACK_NICE,
                exc,
            )
            _lower_priority()


def _lower_priority() -> None:
    """Run the calling thread at ``FALLBACK_NICE``, or lower if the process already is. Where
    the system refuses (a sandbox's syscall filter), it runs at the usual priority: a worker
    that stopped there would leave its jobs waiting for ever."""
    if sys.platform == "linux":  # elsewhere a thread id is no process id to setpriority
        thread = threading.get_native_id()
        try:
            nice = max(os.getpriority(os.PRIO_PROCESS, thread), FALLBACK_NICE)
            os.setpriority(os.PRIO_PROCESS, thread, nice)
        except OSError as exc:
            log.warning(
                "%s runs at the usual CPU priority: %s", threading.current_thread().name, exc
            )
