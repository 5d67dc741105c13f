"""``vacant pool``: automatic-failover options, ``status``, ``failover``/``failback`` output and
errors (exit codes and messages of DESIGN.md §2), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.test_cli import Run, run
from vacant.store import instances
from vacant.store.engine import make_engine, session_scope
from vacant.store.instances import Instance

__all__ = ["run"]

A, B = "a.example.com", "b.example.com"


def test_auto_failover_options_are_kept_listed_and_cleared(run: Run) -> None:
    run("pool", "add", B)
    created: Any = run.json("pool", "add", A, "--backup", B, "--auto-failover", "--down-after", "4")
    assert (created["auto_failover"], created["down_after"], created["failback_after"]) == (
        True,
        4.0,
        30.0,
    )
    assert "AUTO-FAILOVER" in run("pool", "list")
    updated: Any = run.json("pool", "set", A, "--no-auto-failover", "--failback-after", "5")
    assert (updated["auto_failover"], updated["down_after"], updated["failback_after"]) == (
        False,
        4.0,
        5.0,
    )


def test_auto_failover_errors_name_the_option(run: Run) -> None:
    run("pool", "add", A, "--auto-failover", code=2)
    assert "error: auto-failover: needs a backup pool" in run.err
    run("pool", "add", B)
    run("pool", "add", A, "--backup", B, "--down-after", "0", code=2)
    assert "error: down-after: must be a number of seconds from 1 to 3600" in run.err


def test_status_shows_instances_health_and_who_answers_the_ranges(run: Run) -> None:
    run("pool", "add", B)
    run("pool", "add", A, "--backup", B, "--auto-failover")
    run("announcement", "add", "Closed", "--pool", A)
    run("range", "add", "R", "--start", "+1425", "--end", "+1425", "--announcement", "Closed",
        "--pool", A)  # fmt: skip
    now = datetime.now(UTC)
    engine = make_engine(run.db_url)
    try:
        with session_scope(engine) as s:
            old = now - timedelta(seconds=30)
            instances.register(s, Instance("dead-beef", A, "h1", "udp:10.0.0.1:5060",
                                           "10.0.0.1:8080", "1", old, old, old))  # fmt: skip
            instances.register(s, Instance("b-1", B, "h2", "udp:10.0.0.2:5060", "10.0.0.2:8080",
                                           "1", now, now, now))  # fmt: skip
    finally:
        engine.dispose()
    text = run("pool", "status", A)
    assert f"pool {A}" in text
    assert f"pool {B}" not in text
    assert "auto-failover: on (down after 10 s, failback after 30 s)" in text
    assert "silent" in text
    assert "ranges: 1 answered by b.example.com (R)" in text  # no healthy instance of A
    listed: Any = run.json("pool", "status", A)
    [status] = listed
    assert (status["healthy"], status["served_by"], status["range_count"]) == (False, B, 1)
    assert status["instances"][0]["health"] == "silent"
    run("pool", "status", "nope.example.com", code=2)
    assert "pool 'nope.example.com' does not exist" in run.err


def test_failover_prints_its_plan_and_failback_undoes_it(run: Run) -> None:
    run("pool", "add", B)
    run("pool", "add", A, "--backup", B)
    run("announcement", "add", "Closed", "--pool", A)
    run("range", "add", "R", "--start", "+1425", "--end", "+1425", "--announcement", "Closed",
        "--pool", A)  # fmt: skip
    dry = run("pool", "failover", A, "--dry-run")
    assert dry.splitlines() == [
        f"create announcement: {B}/Closed (copy of {A}/Closed)",
        f"re-point range: R: {A}/Closed -> {B}/Closed",
        f"failover of {A}: would make 2 change(s) (dry run)",
    ]
    plan: Any = run.json("pool", "failover", A)
    assert (plan["changes"], plan["dry_run"], plan["backup"]) == (2, False, B)
    assert run("pool", "failover", A).splitlines()[-1] == f"failover of {A}: nothing to do"
    assert "failed over: 1 range(s) re-pointed to b.example.com" in run("pool", "status", A)
    back = run("pool", "failback", A, "--cleanup")
    assert back.splitlines()[-1] == f"failback of {A}: made 2 change(s)"
    run("pool", "failover", B, code=2)
    assert f"error: backup: pool '{B}' has no backup pool" in run.err


def test_failover_refusal_exits_2_and_names_both_announcements(run: Run) -> None:
    run("pool", "add", B)
    run("pool", "add", A, "--backup", B)
    run("announcement", "add", "Closed", "--pool", A)
    run("announcement", "add", "Closed", "--pool", B, "--target", "sip:op@example.com")
    run("pool", "failover", A, code=2)
    assert f"announcement 'Closed' of pool '{B}' differs from announcement 'Closed' of pool" in (
        run.err
    )
