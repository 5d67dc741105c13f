"""``/api/v1/pools``: pools (groups of vacant servers) and their backup pools, their instances and
health, and disaster recovery (docs/pools.md). Admins only write: pools are topology, as in
Lync's Topology Builder."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import (
    InstanceOut,
    PlanOut,
    PlanStepOut,
    PoolIn,
    PoolOut,
    PoolPatch,
    PoolStatusOut,
)
from vacant.routing.model import Pool
from vacant.service.access import Permission
from vacant.service.pools import PoolStatus, pool_status, run_failback, run_failover
from vacant.store import repository as repo
from vacant.store.failover import Plan

router = APIRouter(
    prefix="/pools", tags=["pools"], dependencies=[guard(write=Permission.ADMINISTER)]
)
#: ``/api/v1/pool-status``: every pool's status (``/pools/status`` would be a pool's name).
status_router = APIRouter(tags=["pools"], dependencies=[guard(write=Permission.ADMINISTER)])


@router.get("")
def list_pools(s: DB) -> list[PoolOut]:
    return [PoolOut.of(p) for p in repo.list_pools(s)]


@router.post("", status_code=201)
def create_pool(body: PoolIn, admin: AdminDep) -> PoolOut:
    pool = Pool.create(
        body.name,
        body.backup,
        body.description,
        auto_failover=body.auto_failover,
        down_after=body.down_after,
        failback_after=body.failback_after,
    )
    return PoolOut.of(admin.add_pool(pool))


@router.get("/{name}")
def get_pool(name: str, s: DB) -> PoolOut:
    return PoolOut.of(repo.get_pool(s, name))


@router.patch("/{name}")
def update_pool(name: str, body: PoolPatch, admin: AdminDep) -> PoolOut:
    given = body.model_fields_set

    def field(key: str) -> Any:
        return getattr(body, key) if key in given else repo.UNSET

    return PoolOut.of(
        admin.update_pool(
            name,
            backup=field("backup"),
            description=field("description"),
            auto_failover=field("auto_failover"),
            down_after=field("down_after"),
            failback_after=field("failback_after"),
        )
    )


@router.delete("/{name}", status_code=204)
def remove_pool(name: str, admin: AdminDep) -> Response:
    admin.remove_pool(name)
    return Response(status_code=204)


def _status(p: PoolStatus) -> PoolStatusOut:
    return PoolStatusOut(
        name=p.name,
        configured=p.pool is not None,
        backup=None if p.pool is None else p.pool.backup,
        auto_failover=None if p.pool is None else p.pool.auto_failover,
        state=p.state,
        since=p.since,
        transitions=p.transitions,
        healthy=p.healthy,
        served_by=p.served_by,
        range_count=p.range_count,
        ranges=list(p.ranges),
        covering=list(p.covering),
        failed_over_ranges=p.failed_over_ranges,
        instances=[
            InstanceOut(
                id=i.instance.id,
                pool=i.instance.pool,
                host=i.instance.host,
                sip=i.instance.sip,
                http=i.instance.http,
                version=i.instance.version,
                started=i.instance.started,
                heartbeat=i.instance.heartbeat,
                healthy_since=i.instance.healthy_since,
                stopped=i.instance.stopped,
                health=i.health,
                silent_for=round(i.silent_for, 3),
            )
            for i in p.instances
        ],
    )


@status_router.get("/pool-status")
def all_status(s: DB) -> list[PoolStatusOut]:
    """Every pool: instances and health, and which pool answers its ranges now."""
    return [_status(p) for p in pool_status(s)]


@router.get("/{name}/status")
def status(name: str, s: DB) -> PoolStatusOut:
    [found] = pool_status(s, name)
    return _status(found)


def _plan(plan: Plan, dry_run: bool) -> PlanOut:
    return PlanOut(
        operation=plan.operation,
        primary=plan.primary,
        backup=plan.backup,
        dry_run=dry_run,
        changes=plan.changes,
        steps=[PlanStepOut(action=step.action, detail=step.detail) for step in plan.steps],
    )


@router.post("/{name}/failover")
def failover(name: str, admin: AdminDep, dry_run: bool = False) -> PlanOut:
    """``vacant pool failover``: one transaction; ``dry_run`` returns the plan only."""
    return _plan(run_failover(admin.s, admin.actor, name, dry_run=dry_run), dry_run)


@router.post("/{name}/failback")
def failback(name: str, admin: AdminDep, cleanup: bool = False, dry_run: bool = False) -> PlanOut:
    """``vacant pool failback``: one transaction; ``dry_run`` returns the plan only."""
    plan = run_failback(admin.s, admin.actor, name, cleanup=cleanup, dry_run=dry_run)
    return _plan(plan, dry_run)
