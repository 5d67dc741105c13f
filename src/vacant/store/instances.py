"""Running servers and the automatic-failover state of pools.

Every ``vacant serve`` registers itself as an *instance* of its pool and heartbeats (see
:mod:`vacant.service.pools`). None of this is configuration: these writes never bump the
configuration version, so they never make the servers rebuild their routing snapshot.

An instance is *healthy* while its last heartbeat is younger than its pool's ``down_after``
and it has not stopped; ``healthy_since`` is the start of its current unbroken run of
heartbeats (a gap longer than ``down_after`` starts a new one), which failback waits on.

The state of a pool (``up``/``down``) is changed by compare-and-set
(:func:`change_pool_state`), so when several servers see the same heartbeats go silent exactly
one of them records the transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vacant.errors import ValidationError
from vacant.store.models import HOST_LEN, LISTEN_LEN, InstanceRow, PoolStateRow

#: Instances stopped or silent for longer than this are forgotten when another one registers.
FORGET_AFTER = timedelta(days=1)

State = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class Instance:
    """One ``vacant serve`` process as registered in the database."""

    id: str
    pool: str
    host: str
    sip: str
    http: str
    version: str
    started: datetime
    heartbeat: datetime
    healthy_since: datetime
    stopped: datetime | None = None

    def healthy(self, now: datetime, down_after: float) -> bool:
        """Running and heartbeated less than ``down_after`` seconds ago."""
        return self.stopped is None and (now - self.heartbeat).total_seconds() < down_after


@dataclass(frozen=True, slots=True)
class PoolState:
    """The automatic-failover state of a pool (a pool with no row is ``up``)."""

    pool: str
    state: State
    since: datetime
    covered_by: str | None
    transitions: int


def _bounded(value: str, field_name: str, limit: int) -> str:
    if len(value) > limit:
        raise ValidationError(field_name, f"must be at most {limit} characters")
    return value


def register(s: Session, instance: Instance) -> None:
    """Add (or replace) an instance; forgets instances silent for over :data:`FORGET_AFTER`."""
    _bounded(instance.host, "host", HOST_LEN)
    _bounded(instance.sip, "sip", LISTEN_LEN)
    _bounded(instance.http, "http", LISTEN_LEN)
    t = InstanceRow
    s.execute(
        delete(t)
        .where((t.heartbeat < instance.started - FORGET_AFTER) | (t.id == instance.id))
        .execution_options(synchronize_session=False)
    )
    s.execute(
        insert(t).values(
            id=instance.id,
            pool=instance.pool,
            host=instance.host,
            sip=instance.sip,
            http=instance.http,
            version=instance.version,
            started=instance.started,
            heartbeat=instance.heartbeat,
            healthy_since=instance.healthy_since,
            stopped=instance.stopped,
        )
    )


def heartbeat(s: Session, instance_id: str, now: datetime, down_after: float) -> bool:
    """Record a heartbeat at ``now``. A gap longer than ``down_after`` since the previous one
    starts a new healthy run. False when the instance is not registered (forgotten)."""
    t = InstanceRow
    result = s.execute(
        update(t)
        .where(t.id == instance_id)
        .values(
            heartbeat=now,
            healthy_since=case(
                (t.heartbeat < now - timedelta(seconds=down_after), now),
                (t.stopped.is_not(None), now),
                else_=t.healthy_since,
            ),
            stopped=None,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_stopped(s: Session, instance_id: str, now: datetime) -> None:
    """A graceful stop: the instance stays listed as stopped (and is never healthy)."""
    t = InstanceRow
    s.execute(
        update(t)
        .where(t.id == instance_id)
        .values(stopped=now)
        .execution_options(synchronize_session=False)
    )


def list_instances(s: Session, pool: str | None = None) -> list[Instance]:
    """Instances by pool, then start time."""
    t = InstanceRow
    query = select(
        t.id,
        t.pool,
        t.host,
        t.sip,
        t.http,
        t.version,
        t.started,
        t.heartbeat,
        t.healthy_since,
        t.stopped,
    ).order_by(t.pool, t.started, t.id)
    if pool is not None:
        query = query.where(t.pool == pool.strip().lower())
    return [Instance(*row) for row in s.execute(query)]  # type: ignore[call-arg]


def pool_states(s: Session) -> dict[str, PoolState]:
    t = PoolStateRow
    rows = s.execute(select(t.pool, t.state, t.since, t.covered_by, t.transitions))
    return {
        pool: PoolState(pool, "down" if state == "down" else "up", since, covered, count)
        for pool, state, since, covered, count in rows
    }


def change_pool_state(
    s: Session,
    pool: str,
    *,
    expected: State,
    new: State,
    now: datetime,
    covered_by: str | None,
) -> bool:
    """Move ``pool`` from ``expected`` to ``new`` if it is still in ``expected`` (a missing row
    is ``up``); True when this call made the change."""
    t = PoolStateRow
    result = s.execute(
        update(t)
        .where(t.pool == pool, t.state == expected)
        .values(state=new, since=now, covered_by=covered_by, transitions=t.transitions + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    if expected != "up" or s.get(PoolStateRow, pool) is not None:
        return False
    # First transition of this pool: insert, unless a concurrent server just did.
    with s.begin_nested() as nested:
        s.add(PoolStateRow(pool=pool, state=new, since=now, covered_by=covered_by, transitions=1))
        try:
            s.flush()
        except IntegrityError:  # another server inserted it first (or the pool is gone)
            nested.rollback()
            return False
    return True
