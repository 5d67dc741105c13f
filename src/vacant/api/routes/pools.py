"""``/api/v1/pools``: pools (groups of vacant servers) and their backup pools. Admins only write:
pools are topology, as in Lync's Topology Builder."""

from __future__ import annotations

from fastapi import APIRouter, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import PoolIn, PoolOut, PoolPatch
from vacant.routing.model import Pool
from vacant.service.access import Permission
from vacant.store import repository as repo

router = APIRouter(
    prefix="/pools", tags=["pools"], dependencies=[guard(write=Permission.ADMINISTER)]
)


@router.get("")
def list_pools(s: DB) -> list[PoolOut]:
    return [PoolOut.of(p) for p in repo.list_pools(s)]


@router.post("", status_code=201)
def create_pool(body: PoolIn, admin: AdminDep) -> PoolOut:
    return PoolOut.of(admin.add_pool(Pool.create(body.name, body.backup, body.description)))


@router.get("/{name}")
def get_pool(name: str, s: DB) -> PoolOut:
    return PoolOut.of(repo.get_pool(s, name))


@router.patch("/{name}")
def update_pool(name: str, body: PoolPatch, admin: AdminDep) -> PoolOut:
    given = body.model_fields_set
    return PoolOut.of(
        admin.update_pool(
            name,
            backup=body.backup if "backup" in given else repo.UNSET,
            description=body.description if "description" in given else repo.UNSET,
        )
    )


@router.delete("/{name}", status_code=204)
def remove_pool(name: str, admin: AdminDep) -> Response:
    admin.remove_pool(name)
    return Response(status_code=204)
