"""The rule of automatic failover and which pools an instance serves (vacant.service.pools),
on values: no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vacant.routing.model import Pool
from vacant.service.pools import Coverage, coverage, transitions
from vacant.store.instances import Instance, PoolState

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
A = Pool.create(
    "a.example.com", "b.example.com", auto_failover=True, down_after=10, failback_after=30
)
B = Pool.create("b.example.com")
MANUAL = Pool.create("m.example.com", "b.example.com")


def _instance(pool: str, heartbeat: float, healthy_since: float = -100.0, **kw: object) -> Instance:
    return Instance(
        id=f"{pool}-{heartbeat}",
        pool=pool,
        host="h",
        sip="udp:127.0.0.1:5060",
        http="127.0.0.1:8080",
        version="0",
        started=T0 + timedelta(seconds=healthy_since),
        heartbeat=T0 + timedelta(seconds=heartbeat),
        healthy_since=T0 + timedelta(seconds=healthy_since),
        stopped=kw.get("stopped"),  # type: ignore[arg-type]
    )


def _down(pool: str = A.name) -> dict[str, PoolState]:
    return {pool: PoolState(pool, "down", T0, "b.example.com", 1)}


def test_pool_goes_down_when_no_instance_heartbeated_within_down_after() -> None:
    fresh = [_instance(A.name, heartbeat=-9.9)]
    assert transitions([A], fresh, {}, T0) == []
    silent = [_instance(A.name, heartbeat=-10.0)]
    [change] = transitions([A], silent, {}, T0)
    assert (change.pool, change.old, change.new, change.covered_by) == (
        A.name,
        "up",
        "down",
        B.name,
    )
    assert "no heartbeat for 10.0 s" in change.reason


def test_pool_with_no_instance_at_all_is_down() -> None:
    [change] = transitions([A], [], {}, T0)
    assert change.new == "down"
    assert change.reason == "no instance ever registered"


def test_a_stopped_instance_is_not_healthy_even_with_a_fresh_heartbeat() -> None:
    stopped = [_instance(A.name, heartbeat=-1, stopped=T0)]
    assert [c.new for c in transitions([A], stopped, {}, T0)] == ["down"]


def test_pool_without_automatic_failover_never_goes_down() -> None:
    assert transitions([MANUAL, B], [], {}, T0) == []


def test_down_pool_comes_back_only_after_an_instance_is_healthy_for_failback_after() -> None:
    young = [_instance(A.name, heartbeat=-1, healthy_since=-29.9)]
    assert transitions([A], young, _down(), T0) == []
    old_enough = [_instance(A.name, heartbeat=-1, healthy_since=-30)]
    [change] = transitions([A], old_enough, _down(), T0)
    assert (change.old, change.new, change.covered_by) == ("down", "up", None)
    assert "healthy for 30.0 s" in change.reason


def test_down_pool_with_only_silent_instances_stays_down() -> None:
    silent = [_instance(A.name, heartbeat=-11, healthy_since=-500)]
    assert transitions([A], silent, _down(), T0) == []


def test_switching_automatic_failover_off_brings_a_down_pool_back_up() -> None:
    off = Pool.create(A.name, B.name, auto_failover=False)
    [change] = transitions([off], [], _down(), T0)
    assert (change.new, change.reason) == ("up", "automatic failover switched off")


def test_instance_serves_its_own_pool_only_while_the_pool_it_backs_is_up() -> None:
    served = coverage(B.name, [A, B], {})
    assert served == Coverage(B.name, frozenset({B.name}))
    assert served.serves(B.name)
    assert not served.serves(A.name)
    assert served.covering == frozenset()


def test_backup_instance_serves_a_down_auto_failover_pool_it_backs() -> None:
    served = coverage(B.name, [A, B], _down())
    assert served.serves(A.name)
    assert served.covering == {A.name}


def test_backup_does_not_serve_a_down_pool_without_automatic_failover() -> None:
    served = coverage(B.name, [MANUAL, B], _down(MANUAL.name))
    assert not served.serves(MANUAL.name)


def test_instance_of_a_pool_not_in_the_configuration_serves_every_pool() -> None:
    served = coverage("default", [A, B], {})
    assert served.pools is None
    assert served.serves(A.name)
    assert served.serves("anything")
    assert served.covering == frozenset()
