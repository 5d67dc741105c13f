"""Call records: batched writes off the call path, bounded when the store is down, and
``vacant calls list`` (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from vacant.cli.commands.calls import parse_since
from vacant.cli.main import main
from vacant.errors import ValidationError
from vacant.service.cdr import CdrWriter
from vacant.service.workers import FALLBACK_NICE
from vacant.store import calls
from vacant.store.calls import (
    ROWS_PER_INSERT,
    CallRecord,
    add_calls,
    list_calls,
)
from vacant.store.engine import make_engine, session_scope
from vacant.store.models import NAME_LEN, OUTCOME_LEN, URI_LEN

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _record(n: int, dialled: str = "sip:+4930123@vacant", minutes_ago: int = 0) -> CallRecord:
    return CallRecord(
        started=NOW - timedelta(minutes=minutes_ago), call_id=f"c{n}", caller="sip:a@b",
        dialled=dialled, normalised="+4930123", decision="not-found", range_name=None,
        status=404, duration=0.001, pool="default",
    )  # fmt: skip


@contextlib.asynccontextmanager
async def _running(writer: CdrWriter) -> AsyncIterator[None]:
    """``writer`` runs inside; it is stopped (and writes what is left) on the way out."""
    stop = asyncio.Event()
    task = asyncio.create_task(writer.run(stop))
    try:
        yield
    finally:
        stop.set()
        await task


def test_writer_batches_records_and_drains_at_stop(engine: Engine) -> None:
    writer = CdrWriter(engine, batch=10, interval=0.05)

    async def scenario() -> None:
        async with _running(writer):
            for n in range(25):
                writer.record(_record(n))
            await asyncio.sleep(0.2)
            writer.record(_record(99))

    asyncio.run(scenario())
    assert writer.written == 26
    assert writer.pending == 0
    with session_scope(engine) as s:
        assert len(list_calls(s, limit=1000)) == 26


def test_busy_writer_writes_full_batches_and_leaves_the_rest_for_the_next(engine: Engine) -> None:
    """Records that arrive while a batch is written wait for the next one (or the interval),
    rather than each remainder taking a transaction and a commit of its own."""
    writer = CdrWriter(engine, batch=10, interval=2.0)

    async def scenario() -> None:
        async with _running(writer):
            for n in range(25):
                writer.record(_record(n))
            for _ in range(100):
                if writer.written == 20:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)  # the remainder is not written in the meantime
            assert (writer.written, writer.pending) == (20, 5)

    asyncio.run(scenario())
    assert (writer.written, writer.pending) == (25, 0)


def _writing_threads(writer: CdrWriter, records: int) -> list[int]:
    """Record ``records`` records and flush them; the native id of the thread of each write."""
    threads: list[int] = []
    write = writer._write

    def noting(batch: list[CallRecord]) -> None:
        threads.append(threading.get_native_id())
        write(batch)

    writer._write = noting  # type: ignore[method-assign]
    for n in range(records):
        writer.record(_record(n))
    asyncio.run(writer.flush())
    assert writer.written == records
    return threads


def test_writer_thread_runs_only_when_the_calls_leave_the_core(engine: Engine) -> None:
    """Batches are written by a thread in the idle scheduling class (sched(7), per thread on
    Linux, where vacant runs); the rest of the process keeps its class and priority."""
    main_thread = threading.get_native_id()
    policy, nice = os.sched_getscheduler(main_thread), os.getpriority(os.PRIO_PROCESS, main_thread)
    writer = CdrWriter(engine, batch=10, interval=60)  # no batch waits that long here
    threads = _writing_threads(writer, 25)
    assert len(threads) == 3
    assert len(set(threads)) == 1
    assert main_thread not in threads
    assert os.sched_getscheduler(threads[0]) == os.SCHED_IDLE
    assert (writer.caught_up, writer.pending) == (0, 0)
    assert os.sched_getscheduler(main_thread) == policy
    assert os.getpriority(os.PRIO_PROCESS, main_thread) == nice


def test_writer_behind_catches_up_on_a_thread_at_the_fallback_nice(engine: Engine) -> None:
    """Past ``catch_up`` records pending (a core too busy to leave the idle thread any time),
    batches go at once to a thread at FALLBACK_NICE, which a busy core still gives a share."""
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    writer = CdrWriter(engine, batch=10, catch_up=20, interval=60)
    threads = _writing_threads(writer, 45)  # 45, 35 and 25 pending: behind; then 15 and 5
    assert writer.caught_up == 3
    catch_up, idle = threads[0], threads[-1]
    assert threads == [catch_up] * 3 + [idle] * 2
    assert catch_up != idle
    assert os.sched_getscheduler(catch_up) == os.SCHED_OTHER
    assert os.getpriority(os.PRIO_PROCESS, catch_up) == max(before, FALLBACK_NICE)
    assert os.sched_getscheduler(idle) == os.SCHED_IDLE


def test_a_batch_the_idle_thread_cannot_start_within_interval_is_written_anyway(
    engine: Engine,
) -> None:
    """A quiet server's records on a core that something else keeps busy: a batch waits
    ``interval`` seconds for the idle thread, then the fallback thread writes it."""
    writer = CdrWriter(engine, batch=10, interval=0.2)
    release, held = threading.Event(), threading.Event()

    def hold() -> None:
        held.set()
        release.wait()

    async def scenario() -> None:
        holder = asyncio.create_task(writer._workers.run(hold))  # the idle thread is taken
        assert await asyncio.to_thread(held.wait, 10)
        started = time.monotonic()
        for n in range(3):
            writer.record(_record(n))
        await writer.flush()
        assert time.monotonic() - started >= 0.2
        release.set()
        await holder

    try:
        asyncio.run(scenario())
    finally:
        release.set()
    assert (writer.written, writer.caught_up) == (3, 1)


def test_writer_keeps_records_while_the_store_fails_and_bounds_memory(tmp_path: Path) -> None:
    broken = make_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no calls table
    try:
        writer = CdrWriter(broken, batch=5, max_buffer=8)
        for n in range(10):
            writer.record(_record(n))
        assert writer.dropped == 2
        asyncio.run(writer.flush())
        assert writer.failures == 1
        assert writer.pending == 8  # nothing lost beyond the bound
    finally:
        broken.dispose()


def test_calls_list_filters_by_number_and_since(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as s:
            add_calls(s, [_record(1, minutes_ago=90), _record(2, "sip:+111@v"), _record(3)])
    finally:
        engine.dispose()
    capsys.readouterr()
    assert main(["--db", db_url, "calls", "list", "--json", "--number", "+4930123"]) == 0
    assert [r["call_id"] for r in json.loads(capsys.readouterr().out)] == ["c3", "c2", "c1"]
    assert main(["--db", db_url, "calls", "list", "--json", "--number", "sip:+111@v"]) == 0
    assert [r["call_id"] for r in json.loads(capsys.readouterr().out)] == ["c2"]
    assert main(["--db", db_url, "calls", "list", "--since", "2026-11-26T11:00:00"]) == 0
    out = capsys.readouterr().out
    assert "c1" not in out.splitlines()[0]
    assert out.count("not-found") == 2
    assert main(["--db", db_url, "calls", "list", "--since", "yesterday"]) == 2
    assert "since" in capsys.readouterr().err


def test_records_round_trip_with_over_long_peer_text_cut(engine: Engine) -> None:
    """Every field is written as recorded; a peer's over-long text is cut to the column."""
    long = _record(1)
    long = dataclasses.replace(
        long, caller="sip:" + "a" * 500, call_id="c" * 400, prompt_seconds=1.5,
        transfer_target="sip:+4930999@pbx", outcome="o" * 40,
    )  # fmt: skip
    with session_scope(engine) as s:
        add_calls(s, [long, _record(2)])
    with session_scope(engine, write=False) as s:
        by_id = {r.call_id: r for r in list_calls(s)}
    assert by_id["c" * NAME_LEN] == dataclasses.replace(
        long, caller=long.caller[:URI_LEN], call_id="c" * NAME_LEN, outcome="o" * OUTCOME_LEN
    )
    assert by_id["c2"] == _record(2)


def test_a_batch_spanning_several_statements_is_written_whole(engine: Engine) -> None:
    """``add_calls`` sends multi-row statements of ``ROWS_PER_INSERT`` rows: a batch of two and
    a bit statements arrives whole, every record as it was (times to the microsecond)."""
    records = [
        dataclasses.replace(
            _record(n, minutes_ago=n), started=NOW - timedelta(minutes=n, microseconds=n),
            range_name=f"r{n}" if n % 2 else None, status=404 + n % 3, duration=n / 1000,
        )
        for n in range(2 * ROWS_PER_INSERT + 7)
    ]  # fmt: skip
    with session_scope(engine) as s:
        add_calls(s, records)
    with session_scope(engine, write=False) as s:
        assert list_calls(s, limit=1000) == records  # newest first: as made


def test_columns_a_record_leaves_null_are_written_as_null_not_sent(engine: Engine) -> None:
    """Every combination of the nullable columns in one batch round-trips, and no ``None`` is
    sent as a parameter: the statements say ``NULL`` (a ``None`` costs sqlite3 an exception)."""
    nullable = ("normalised", "range_name", "prompt_seconds", "transfer_target", "outcome")
    given: dict[str, Any] = {"normalised": "+4930123", "range_name": "r", "prompt_seconds": 1.5,
             "transfer_target": "sip:+4930999@pbx", "outcome": "transferred"}  # fmt: skip
    records = []
    for n in range(2 ** len(nullable)):
        changes: dict[str, Any] = {
            name: given[name] if n >> bit & 1 else None for bit, name in enumerate(nullable)
        }
        records.append(
            dataclasses.replace(_record(n), started=NOW - timedelta(microseconds=n), **changes)
        )
    sent: list[object] = []

    def capture(_conn: object, _cursor: object, _sql: str, parameters: object, *_: object) -> None:
        assert isinstance(parameters, tuple)
        sent.extend(parameters)

    event.listen(engine, "before_cursor_execute", capture)
    with session_scope(engine) as s:
        add_calls(s, records)
    event.remove(engine, "before_cursor_execute", capture)
    assert sent
    assert None not in sent
    with session_scope(engine, write=False) as s:
        assert list_calls(s, limit=100) == records


def test_rows_are_made_statement_by_statement(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each statement's rows are made just before it is sent, so the writer thread holds the
    GIL for one statement's worth of Python at a time (the event loop waits for it meanwhile),
    not for a whole batch's."""
    made: list[int] = []
    records = [_record(n) for n in range(3 * ROWS_PER_INSERT)]
    # Rows are counted where each is made (its values picked, ``_Insert.sent``), in the prepared
    # statement ``add_calls`` finds for these records: compiled, a method replaced on the class
    # is not what the module calls.
    dialect = engine.dialect
    nulls = tuple(getattr(records[0], calls._COLUMNS[at]) is None for at in calls._NULLABLE)
    insert = calls._insert(dialect, nulls)
    sent = insert.sent

    def counted(values: tuple[object, ...]) -> tuple[object, ...]:
        made.append(1)
        return sent(values)

    key = (type(dialect), dialect.paramstyle, nulls)
    monkeypatch.setitem(calls._INSERTS, key, dataclasses.replace(insert, sent=counted))
    made_at_insert: list[int] = []

    def capture(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        if sql.startswith("INSERT"):
            made_at_insert.append(len(made))

    event.listen(engine, "before_cursor_execute", capture)
    with session_scope(engine) as s:
        add_calls(s, records)
    event.remove(engine, "before_cursor_execute", capture)
    assert made_at_insert == [ROWS_PER_INSERT, 2 * ROWS_PER_INSERT, 3 * ROWS_PER_INSERT]


def test_since_accepts_relative_and_iso_times() -> None:
    assert parse_since("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_since("2h", NOW) == NOW - timedelta(hours=2)
    assert parse_since("7d", NOW) == NOW - timedelta(days=7)
    assert parse_since("2026-11-26T10:00:00+01:00", NOW) == datetime(2026, 11, 26, 9, tzinfo=UTC)
    with pytest.raises(ValidationError, match="since"):
        parse_since("soon", NOW)


def test_calls_are_filtered_by_announcement_outcome(engine: Engine) -> None:
    transferred = dataclasses.replace(_record(1), decision="announcement", outcome="transferred")
    completed = dataclasses.replace(_record(2), decision="announcement", outcome="completed")
    with session_scope(engine) as s:
        add_calls(s, [transferred, completed, _record(3)])
    with session_scope(engine, write=False) as s:
        assert [r.call_id for r in list_calls(s, outcome="transferred")] == [transferred.call_id]
        assert len(list_calls(s)) == 3
