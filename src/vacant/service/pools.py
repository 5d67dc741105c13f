"""Pools at run time: instance registration and heartbeat, pool health, automatic failover,
which pools an instance serves, and the audited manual failover and failback.

Every ``vacant serve --pool NAME`` is an *instance* of pool NAME (:mod:`vacant.store.instances`):
it registers at start, heartbeats every ``heartbeat_interval`` (2 s), and marks itself stopped on a
graceful stop. Every ``check_interval`` (0.5 s) it reads the pools, the instances and the
failover states, and applies the rule of automatic failover to every pool with
``auto_failover``:

- ``up -> down`` when no instance of the pool has heartbeated for ``down_after`` seconds;
- ``down -> up`` when one of its instances has been healthy (an unbroken run of heartbeats) for
  ``failback_after`` seconds, or when automatic failover was switched off.

Every instance evaluates the rule and the change is a compare-and-set, so exactly one records
each transition; every instance logs (INFO) and counts the transitions it sees. Then
:func:`coverage` says which pools this instance serves: its own, plus every pool it is the backup
of while that pool is down. The call handler asks :meth:`Coverage.serves` before answering an
announcement call: the routing snapshot holds every pool's announcements (one shared database),
so taking over a pool's ranges needs no configuration change and no snapshot rebuild.

An instance whose pool is not in the configuration (``vacant serve`` with the default pool
``default`` and no pool of that name) serves every pool: a single server with no pool topology.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from vacant import __version__
from vacant.routing.model import DEFAULT_DOWN_AFTER, Pool
from vacant.service.workers import Offload
from vacant.store import audit, failover, instances
from vacant.store import repository as repo
from vacant.store.engine import session_scope
from vacant.store.failover import Pause, Plan
from vacant.store.instances import Instance, PoolState, State
from vacant.store.models import AnnouncementRow, RangeRow, utc_now

log = logging.getLogger(__name__)

#: Range names listed per pool in ``vacant pool status`` (the count is always given).
RANGES_LISTED = 20


# --- which pools an instance serves --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Coverage:
    """The pools whose announcement calls an instance answers (``pools`` None: every pool)."""

    own: str
    pools: frozenset[str] | None = None

    def serves(self, pool: str) -> bool:
        """True when this instance answers the announcement calls of ``pool``."""
        return self.pools is None or pool in self.pools

    @property
    def covering(self) -> frozenset[str]:
        """The pools served besides its own (automatic failover)."""
        return frozenset() if self.pools is None else self.pools - {self.own}


def coverage(own: str, pools: Sequence[Pool], states: dict[str, PoolState]) -> Coverage:
    """Pool ``own`` serves itself and every auto-failover pool it backs while that is down."""
    if not any(p.name == own for p in pools):
        return Coverage(own, None)
    covered = {
        p.name
        for p in pools
        if p.backup == own and p.auto_failover and _state(states, p.name) == "down"
    }
    return Coverage(own, frozenset({own, *covered}))


def _state(states: dict[str, PoolState], pool: str) -> State:
    found = states.get(pool)
    return "up" if found is None else found.state


# --- the rule of automatic failover --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Transition:
    """A pool changing state: ``covered_by`` serves its ranges while it is down."""

    pool: str
    old: State
    new: State
    covered_by: str | None
    reason: str


def transitions(
    pools: Iterable[Pool],
    registered: Sequence[Instance],
    states: dict[str, PoolState],
    now: datetime,
) -> list[Transition]:
    """The transitions the heartbeats call for (see the module docstring)."""
    changes = []
    for p in pools:
        state = _state(states, p.name)
        mine = [i for i in registered if i.pool == p.name and i.healthy(now, p.down_after)]
        if state == "up" and p.auto_failover and not mine:
            last = max((i.heartbeat for i in registered if i.pool == p.name), default=None)
            silent = (
                "no instance ever registered"
                if last is None
                else f"no heartbeat for {(now - last).total_seconds():.1f} s"
            )
            changes.append(Transition(p.name, "up", "down", p.backup, silent))
        elif state == "down" and not p.auto_failover:
            changes.append(
                Transition(p.name, "down", "up", None, "automatic failover switched off")
            )
        elif state == "down":
            ready = [i for i in mine if (now - i.healthy_since).total_seconds() >= p.failback_after]
            if ready:
                healthy = (now - ready[0].healthy_since).total_seconds()
                reason = f"instance {ready[0].id} healthy for {healthy:.1f} s"
                changes.append(Transition(p.name, "down", "up", None, reason))
    return changes


# --- the instance ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstanceSettings:
    """How an instance registers and heartbeats (``vacant serve`` options)."""

    pool: str
    sip: str = ""
    http: str = ""
    host: str = field(default_factory=socket.gethostname)
    heartbeat_interval: float = 2.0
    check_interval: float = 0.5


class PoolMonitor:
    """Registers this instance, heartbeats, applies automatic failover and keeps
    :attr:`coverage` current. The blocking methods run in a worker thread (see :meth:`run`)."""

    def __init__(
        self,
        engine: Engine,
        settings: InstanceSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.id = str(uuid.uuid4())
        self.coverage = Coverage(settings.pool, frozenset({settings.pool}))
        #: (pool, new state) -> transitions seen by this instance.
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.heartbeat_failures = 0
        self.check_failures = 0
        self._states: dict[str, PoolState] | None = None
        self._down_after = DEFAULT_DOWN_AFTER
        self._last_beat: datetime | None = None

    def register(self) -> None:
        now = self.clock()
        s = self.settings
        with session_scope(self.engine) as session:
            instances.register(
                session,
                Instance(self.id, s.pool, s.host, s.sip, s.http, __version__, now, now, now),
            )
        self._last_beat = now
        log.info("instance %s of pool %s registered", self.id, s.pool)
        self.check()

    def beat(self) -> None:
        now = self.clock()
        with session_scope(self.engine) as session:
            if not instances.heartbeat(session, self.id, now, self._down_after):
                log.warning("instance %s was forgotten: registering again", self.id)
                s = self.settings
                instances.register(
                    session,
                    Instance(self.id, s.pool, s.host, s.sip, s.http, __version__, now, now, now),
                )
        self._last_beat = now

    def stopped(self) -> None:
        with session_scope(self.engine) as session:
            instances.mark_stopped(session, self.id, self.clock())
        log.info("instance %s of pool %s stopped", self.id, self.settings.pool)

    def check(self) -> Coverage:
        """Apply automatic failover, then recompute :attr:`coverage` (logged when it changes)."""
        now = self.clock()
        with session_scope(self.engine) as session:
            pools = repo.list_pools(session)
            registered = instances.list_instances(session)
            states = instances.pool_states(session)
            for change in transitions(pools, registered, states, now):
                if instances.change_pool_state(
                    session,
                    change.pool,
                    expected=change.old,
                    new=change.new,
                    now=now,
                    covered_by=change.covered_by,
                ):
                    log.info(
                        "pool %s: %s -> %s (%s; recorded by instance %s)",
                        change.pool,
                        change.old,
                        change.new,
                        change.reason,
                        self.id,
                    )
            states = instances.pool_states(session)
        self._seen(states)
        own = next((p for p in pools if p.name == self.settings.pool), None)
        self._down_after = DEFAULT_DOWN_AFTER if own is None else own.down_after
        new = coverage(self.settings.pool, pools, states)
        if new != self.coverage:
            self._report(self.coverage, new)
            self.coverage = new
        return new

    def _seen(self, states: dict[str, PoolState]) -> None:
        previous, self._states = self._states, states
        if previous is None:
            return
        for pool, state in states.items():
            before = previous.get(pool)
            if before is None or before.transitions != state.transitions:
                self.transitions[(pool, state.state)] += 1
                backup = f": {state.covered_by} answers its ranges" if state.covered_by else ""
                log.info("pool %s is %s%s", pool, state.state, backup)

    def _report(self, old: Coverage, new: Coverage) -> None:
        if new.pools is None:
            log.info("pool %s is not configured: answering every pool", new.own)
            return
        for pool in sorted(new.covering - old.covering):
            log.info("now answering the ranges of pool %s (it is down)", pool)
        for pool in sorted(old.covering - new.covering):
            log.info("no longer answering the ranges of pool %s (it is up)", pool)

    async def run(self, stop: asyncio.Event, offload: Offload = asyncio.to_thread) -> None:
        """Heartbeat and check until ``stop``; then mark this instance stopped. The blocking
        work runs through ``offload`` (a server's: its idle-class workers)."""
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.settings.heartbeat_interval
        try:
            while not stop.is_set():
                try:
                    async with asyncio.timeout(self.settings.check_interval):
                        await stop.wait()
                    break
                except TimeoutError:
                    pass
                if loop.time() >= next_beat:
                    next_beat = loop.time() + self.settings.heartbeat_interval
                    try:
                        await offload(self.beat)
                    except Exception:  # a task's root: the next beat may succeed
                        self.heartbeat_failures += 1
                        log.exception("heartbeat of instance %s failed", self.id)
                try:
                    await offload(self.check)
                except Exception:  # a task's root: keep the last coverage
                    self.check_failures += 1
                    log.exception(
                        "pool check failed; keeping %s", sorted(self.coverage.pools or [])
                    )
        finally:
            try:
                await offload(self.stopped)
            except Exception:
                log.exception("could not mark instance %s stopped", self.id)


# --- status ------------------------------------------------------------------------------------

Health = Literal["healthy", "silent", "stopped"]


@dataclass(frozen=True, slots=True)
class InstanceStatus:
    instance: Instance
    health: Health
    #: Seconds since its last heartbeat.
    silent_for: float


@dataclass(frozen=True, slots=True)
class PoolStatus:
    """A pool as ``vacant pool status`` shows it."""

    name: str
    pool: Pool | None
    state: State
    since: datetime | None
    #: The pool whose instances answer this pool's ranges now.
    served_by: str | None
    instances: tuple[InstanceStatus, ...]
    #: Ranges whose announcement is in this pool (names: the first few).
    range_count: int
    ranges: tuple[str, ...]
    #: Pools whose ranges this pool answers now (automatic failover).
    covering: tuple[str, ...]
    #: Ranges a manual failover moved to the backup pool and no failback brought back.
    failed_over_ranges: int
    transitions: int

    @property
    def healthy(self) -> bool:
        return any(i.health == "healthy" for i in self.instances)


def pool_status(
    s: Session, name: str | None = None, now: datetime | None = None
) -> list[PoolStatus]:
    """Every pool (or one), with its instances and who serves its ranges now."""
    now = now or utc_now()
    pools = repo.list_pools(s) if name is None else [repo.get_pool(s, name)]
    everything = repo.list_pools(s) if name is not None else pools
    registered = instances.list_instances(s)
    states = instances.pool_states(s)
    moved = failover.failed_over(s)
    counts = _range_counts(s)
    result = []
    for p in pools:
        mine = tuple(_instance_status(i, now, p.down_after) for i in registered if i.pool == p.name)
        state = _state(states, p.name)
        alive = any(i.health == "healthy" for i in mine)
        if state == "down":
            served_by = p.backup
        else:
            served_by = p.name if alive or not p.auto_failover else p.backup
        covering = tuple(
            q.name
            for q in everything
            if q.backup == p.name and q.auto_failover and _state(states, q.name) == "down"
        )
        found = states.get(p.name)
        result.append(
            PoolStatus(
                name=p.name,
                pool=p,
                state=state,
                since=None if found is None else found.since,
                served_by=served_by,
                instances=mine,
                range_count=counts.get(p.name, 0),
                ranges=tuple(_range_names(s, p.name)),
                covering=covering,
                failed_over_ranges=moved.get(p.name, 0),
                transitions=0 if found is None else found.transitions,
            )
        )
    if name is None:
        known = {p.name for p in pools}
        for pool_name in sorted({i.pool for i in registered} - known):
            mine = tuple(
                _instance_status(i, now, DEFAULT_DOWN_AFTER)
                for i in registered
                if i.pool == pool_name
            )
            result.append(PoolStatus(pool_name, None, "up", None, None, mine, 0, (), ("*",), 0, 0))
    return result


def _instance_status(i: Instance, now: datetime, down_after: float) -> InstanceStatus:
    health: Health = (
        "stopped"
        if i.stopped is not None
        else "healthy"
        if i.healthy(now, down_after)
        else "silent"
    )
    return InstanceStatus(i, health, max(0.0, (now - i.heartbeat).total_seconds()))


def _range_counts(s: Session) -> dict[str, int]:
    a, r = AnnouncementRow, RangeRow
    rows = s.execute(
        select(a.pool, func.count(r.id)).join(a, a.id == r.announcement_id).group_by(a.pool)
    ).all()
    return dict(rows)


def _range_names(s: Session, pool: str) -> list[str]:
    a, r = AnnouncementRow, RangeRow
    return list(
        s.scalars(
            select(r.name)
            .join(a, a.id == r.announcement_id)
            .where(a.pool == pool)
            .order_by(r.priority, r.position)
            .limit(RANGES_LISTED)
        )
    )


# --- manual failover and failback, audited -------------------------------------------------


def _audit(s: Session, actor: str, action: str, plan: Plan) -> None:
    after: dict[str, Any] = {
        "backup": plan.backup,
        "steps": [str(step) for step in plan.steps if step.changes],
    }
    audit.record(s, actor=actor, action=action, object=plan.primary, after=after)


def run_failover(
    s: Session, actor: str, primary: str, *, dry_run: bool = False, pause: Pause | None = None
) -> Plan:
    """``vacant pool failover``: see :func:`vacant.store.failover.failover`."""
    plan = failover.failover(s, primary, dry_run=dry_run, pause=pause or failover.no_pause)
    if not dry_run and plan.changes:
        _audit(s, actor, "pool.failover", plan)
    return plan


def run_failback(
    s: Session,
    actor: str,
    primary: str,
    *,
    cleanup: bool = False,
    dry_run: bool = False,
    pause: Pause | None = None,
) -> Plan:
    """``vacant pool failback``: see :func:`vacant.store.failover.failback`."""
    plan = failover.failback(
        s, primary, cleanup=cleanup, dry_run=dry_run, pause=pause or failover.no_pause
    )
    if not dry_run and plan.changes:
        _audit(s, actor, "pool.failback", plan)
    return plan
