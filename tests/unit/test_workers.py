"""Worker threads below the event loop (vacant.service.workers): the idle scheduling class, and
a fallback thread at a nice value so that a job never waits for ever on a busy core. Real
threads, their real scheduling attributes (sched(7), per thread on Linux, where vacant runs)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vacant.service.workers import FALLBACK_NICE, IdleWorkers

LONG = 60.0  # a max_wait no test reaches: the fallback takes only what it is meant to


@pytest.fixture
def blocked() -> Iterator[threading.Event]:
    """Set to let go the jobs that hold the workers' threads (a core never idle)."""
    release = threading.Event()
    yield release
    release.set()


def _where() -> tuple[str, int]:
    return threading.current_thread().name, threading.get_native_id()


def _switches(thread: int) -> int:
    """How often a thread has left the CPU (proc(5): its context switches)."""
    status = Path(f"/proc/self/task/{thread}/status").read_text()
    return sum(int(n) for n in re.findall(r"^\w+_ctxt_switches:\s+(\d+)$", status, re.M))


def _holding(started: threading.Event, release: threading.Event) -> None:
    started.set()
    release.wait()


async def _occupy(
    workers: IdleWorkers, release: threading.Event, *, hurried: bool = False
) -> asyncio.Task[None]:
    """A job that holds the idle worker (or the fallback thread) until ``release`` is set."""
    started = threading.Event()
    give = workers.hurry if hurried else workers.run
    task = asyncio.create_task(give(_holding, started, release))
    assert await asyncio.to_thread(started.wait, 10)
    return task


def test_jobs_run_on_idle_class_threads_in_order_and_the_caller_keeps_its_class() -> None:
    main = threading.get_native_id()
    policy, nice = os.sched_getscheduler(main), os.getpriority(os.PRIO_PROCESS, main)
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        done: list[int] = []
        results = await asyncio.gather(*(workers.run(done.append, n) for n in range(5)))
        name, thread = await workers.run(_where)
        assert (done, results) == ([0, 1, 2, 3, 4], [None] * 5)
        assert name == "t_0"
        assert os.sched_getscheduler(thread) == os.SCHED_IDLE
        assert workers.fallbacks == 0

    asyncio.run(scenario())
    workers.shutdown()
    assert (os.sched_getscheduler(main), os.getpriority(os.PRIO_PROCESS, main)) == (policy, nice)


def test_a_job_waiting_max_wait_for_an_idle_core_runs_on_the_fallback_thread(
    blocked: threading.Event,
) -> None:
    """The progress guarantee: a core that never goes idle delays a job by ``max_wait``."""
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    workers = IdleWorkers(1, name="t", max_wait=0.2)

    async def scenario() -> None:
        holder = await _occupy(workers, blocked)
        submitted = time.monotonic()
        name, thread = await workers.run(_where)
        assert time.monotonic() - submitted >= 0.2
        assert name == "t-fallback"
        assert os.sched_getscheduler(thread) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, thread) == max(before, FALLBACK_NICE)
        assert workers.fallbacks == 1
        blocked.set()
        await holder

    asyncio.run(scenario())
    workers.shutdown()


def test_the_fallback_thread_sleeps_while_the_jobs_start_on_an_idle_core() -> None:
    """Timing a job wakes no thread (the event loop's timer does it): a woken thread of the
    usual class would preempt the event loop's."""
    workers = IdleWorkers(1, name="t", max_wait=0.3)

    async def scenario() -> None:
        await workers.hurry(_where)  # the threads are started
        await asyncio.sleep(0.05)  # the fallback thread back asleep
        (fallback,) = (t.native_id for t in workers._threads if t.name == "t-fallback")
        assert fallback is not None
        switches = _switches(fallback)
        for _ in range(20):
            await workers.run(_where)
        await asyncio.sleep(0.4)  # every job's max_wait has passed
        assert _switches(fallback) == switches
        assert workers.fallbacks == 1

    asyncio.run(scenario())
    workers.shutdown()


def test_a_hurried_job_goes_to_the_fallback_thread_at_once(blocked: threading.Event) -> None:
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        holder = await _occupy(workers, blocked)
        waiting = asyncio.create_task(workers.run(_where))
        assert (await workers.hurry(_where))[0] == "t-fallback"  # not after ``waiting``
        assert not waiting.done()
        blocked.set()
        assert (await waiting)[0] == "t_0"
        await holder
        assert workers.fallbacks == 1

    asyncio.run(scenario())
    workers.shutdown()


def test_a_job_whose_caller_gave_up_never_runs(blocked: threading.Event) -> None:
    workers = IdleWorkers(1, name="t", max_wait=LONG)
    ran: list[str] = []

    async def scenario() -> None:
        holder = await _occupy(workers, blocked)
        waiting = asyncio.create_task(workers.run(ran.append, "cancelled"))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        blocked.set()
        await workers.run(ran.append, "next")
        await holder

    asyncio.run(scenario())
    assert ran == ["next"]
    workers.shutdown()


def test_a_job_that_raises_gives_its_caller_the_exception() -> None:
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        with pytest.raises(ValueError, match="'x'"):
            await workers.run(int, "x")
        with pytest.raises(ValueError, match="'y'"):
            await workers.hurry(int, "y")
        assert await workers.run(int, "7") == 7  # the threads go on

    asyncio.run(scenario())
    workers.shutdown()


def test_shutdown_finishes_the_jobs_given_even_with_no_idle_core(
    blocked: threading.Event,
) -> None:
    """Closing makes every waiting job due: the fallback thread takes them, the idle worker
    being held; then both end, and no job is taken any more."""
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        holder = await _occupy(workers, blocked)
        waiting = asyncio.create_task(workers.run(_where))
        await asyncio.sleep(0.01)
        workers.shutdown(wait=False)
        assert (await waiting)[0] == "t-fallback"
        blocked.set()
        await holder
        workers.shutdown()
        assert not any(thread.is_alive() for thread in workers._threads)
        with pytest.raises(RuntimeError, match="t: cannot take jobs after shutdown"):
            await workers.run(_where)

    asyncio.run(scenario())


def test_shutdown_can_cancel_the_jobs_that_wait(blocked: threading.Event) -> None:
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        holders = [await _occupy(workers, blocked), await _occupy(workers, blocked, hurried=True)]
        waiting = asyncio.create_task(workers.run(_where))
        later = asyncio.create_task(workers.hurry(_where))
        await asyncio.sleep(0.01)  # both given: nothing can start them
        workers.shutdown(wait=False, cancel_futures=True)
        for task in (waiting, later):
            with pytest.raises(asyncio.CancelledError):
                await task
        blocked.set()
        await asyncio.gather(*holders)
        workers.shutdown()

    asyncio.run(scenario())


def test_no_thread_before_the_first_job_and_one_set_after() -> None:
    idle = IdleWorkers(2, name="t", max_wait=LONG)
    assert idle._threads == []
    idle.shutdown()  # never started: nothing to wait for
    workers = IdleWorkers(2, name="t", max_wait=LONG)

    async def scenario() -> None:
        await workers.run(_where)
        await workers.hurry(_where)

    asyncio.run(scenario())
    workers.shutdown()
    assert sorted(thread.name for thread in workers._threads) == ["t-fallback", "t_0", "t_1"]


def test_forgotten_workers_finish_their_jobs_before_the_interpreter_exits(
    tmp_path: Path,
) -> None:
    """The threads are daemons (forgotten workers must not keep a process alive), so the
    interpreter's exit shuts them down and waits, as concurrent.futures does for its own."""
    done = tmp_path / "done"
    program = (
        "import asyncio, time, pathlib\n"
        "from vacant.service.workers import IdleWorkers\n"
        "def job():\n"
        "    time.sleep(0.3)\n"
        f"    pathlib.Path({str(done)!r}).write_text('written')\n"
        "async def main():\n"
        "    asyncio.ensure_future(IdleWorkers(1, name='t', max_wait=0.01).run(job))\n"
        "    await asyncio.sleep(0.1)  # started; the task is then cancelled, the job is not\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=30)
    assert done.read_text() == "written"


def _refuse(*_: object) -> None:
    """What a sandbox's syscall filter does to setpriority(2) and sched_setscheduler(2)."""
    raise PermissionError(1, "Operation not permitted")


def test_workers_run_at_the_fallback_nice_when_the_system_refuses_the_idle_class(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "sched_setscheduler", _refuse)
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        _, thread = await workers.run(_where)
        assert os.sched_getscheduler(thread) == os.SCHED_OTHER
        assert os.getpriority(os.PRIO_PROCESS, thread) == max(before, FALLBACK_NICE)

    asyncio.run(scenario())
    workers.shutdown()
    assert "t_0 runs at nice 10, not when idle" in caplog.text


def test_jobs_still_run_when_the_system_refuses_a_lower_priority(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(os, "sched_setscheduler", _refuse)
    monkeypatch.setattr(os, "setpriority", _refuse)
    workers = IdleWorkers(1, name="t", max_wait=LONG)

    async def scenario() -> None:
        assert (await workers.run(_where))[0] == "t_0"
        assert (await workers.hurry(_where))[0] == "t-fallback"

    asyncio.run(scenario())
    workers.shutdown()
    assert "t_0 runs at the usual CPU priority" in caplog.text
    assert "t-fallback runs at the usual CPU priority" in caplog.text
