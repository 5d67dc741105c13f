"""Instances, heartbeats and pool states (vacant.store.instances), and the notification every
configuration write sends on PostgreSQL."""

from __future__ import annotations

import select as select_module
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from vacant.routing.model import Pool
from vacant.service.notify import conninfo
from vacant.store import instances
from vacant.store import repository as repo
from vacant.store.instances import Instance
from vacant.store.rows import CONFIG_CHANNEL

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
B = "b.example.com"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _register(s: Session, id: str = "i1", pool: str = "a.example.com", at: float = 0) -> None:
    now = _at(at)
    instances.register(
        s, Instance(id, pool, "host", "udp:127.0.0.1:5060", "127.0.0.1:8080", "1", now, now, now)
    )


def test_register_lists_the_instance_with_its_addresses(session: Session) -> None:
    _register(session)
    [listed] = instances.list_instances(session, "A.example.com")
    assert (listed.id, listed.pool, listed.sip, listed.http, listed.stopped) == (
        "i1",
        "a.example.com",
        "udp:127.0.0.1:5060",
        "127.0.0.1:8080",
        None,
    )
    assert listed.started == T0
    assert instances.list_instances(session, "b.example.com") == []


def test_heartbeats_are_not_configuration_writes(session: Session) -> None:
    version = repo.config_version(session)
    _register(session)
    assert instances.heartbeat(session, "i1", _at(2), down_after=10)
    assert repo.config_version(session) == version


def test_heartbeat_keeps_healthy_since_while_unbroken_and_restarts_it_after_a_gap(
    session: Session,
) -> None:
    _register(session)
    instances.heartbeat(session, "i1", _at(2), down_after=10)
    instances.heartbeat(session, "i1", _at(11.9), down_after=10)
    [i] = instances.list_instances(session)
    assert (i.heartbeat, i.healthy_since) == (_at(11.9), T0)
    instances.heartbeat(session, "i1", _at(30), down_after=10)  # 18.1 s of silence
    [i] = instances.list_instances(session)
    assert i.healthy_since == _at(30)


def test_instance_is_healthy_until_down_after_and_never_once_stopped(session: Session) -> None:
    _register(session)
    [i] = instances.list_instances(session)
    assert i.healthy(_at(9.9), 10)
    assert not i.healthy(_at(10), 10)
    instances.mark_stopped(session, "i1", _at(1))
    [i] = instances.list_instances(session)
    assert i.stopped == _at(1)
    assert not i.healthy(_at(1), 10)


def test_heartbeat_of_a_forgotten_instance_says_so(session: Session) -> None:
    assert not instances.heartbeat(session, "nobody", T0, down_after=10)


def test_register_forgets_instances_silent_for_a_day(session: Session) -> None:
    _register(session, "old", at=0)
    _register(session, "new", at=instances.FORGET_AFTER.total_seconds() + 1)
    assert [i.id for i in instances.list_instances(session)] == ["new"]


def test_pool_state_changes_by_compare_and_set_once(session: Session) -> None:
    repo.add_pool(session, Pool.create("b.example.com"))
    repo.add_pool(session, Pool.create("a.example.com", "b.example.com", auto_failover=True))
    assert instances.pool_states(session) == {}

    def down(expected: instances.State) -> bool:
        return instances.change_pool_state(
            session, "a.example.com", expected=expected, new="down", now=T0, covered_by=B
        )

    assert down("up")
    assert not down("up")
    state = instances.pool_states(session)["a.example.com"]
    assert (state.state, state.covered_by, state.transitions) == ("down", "b.example.com", 1)
    assert instances.change_pool_state(
        session, "a.example.com", expected="down", new="up", now=_at(5), covered_by=None
    )
    state = instances.pool_states(session)["a.example.com"]
    assert (state.state, state.since, state.transitions) == ("up", _at(5), 2)


def test_pool_state_of_an_unknown_pool_is_not_recorded(session: Session) -> None:
    assert not instances.change_pool_state(
        session, "nope.example.com", expected="up", new="down", now=T0, covered_by=None
    )


def _listen(engine: Engine) -> psycopg.Connection[tuple[object, ...]]:
    conn = psycopg.connect(conninfo(engine.url), autocommit=True)
    conn.execute(f"LISTEN {CONFIG_CHANNEL}")
    return conn


def _notifications(conn: psycopg.Connection[tuple[object, ...]], wait: float) -> int:
    select_module.select([conn.fileno()], [], [], wait)
    return sum(1 for _ in conn.notifies(timeout=0.05))


@pytest.mark.postgres
def test_a_committed_configuration_write_notifies_listeners_once(pg_engine: Engine) -> None:
    with _listen(pg_engine) as conn:
        with Session(pg_engine) as s, s.begin():
            repo.add_pool(s, Pool.create("a.example.com"))
            repo.add_pool(s, Pool.create("b.example.com"))
        assert _notifications(conn, 2.0) == 1  # one transaction, one notification


@pytest.mark.postgres
def test_a_rolled_back_configuration_write_notifies_nobody(pg_engine: Engine) -> None:
    with _listen(pg_engine) as conn:
        with Session(pg_engine) as s:
            s.begin()
            repo.add_pool(s, Pool.create("a.example.com"))
            s.rollback()
        assert _notifications(conn, 0.5) == 0
