"""``/api/v1/ranges``: the unassigned number table, in evaluation order (lowest priority value
first; ties to the older range), with Lync's Move up / Move down. A range's name may hold any
printable character, ``/`` included: the item routes take the rest of the path as the name."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from vacant.api.deps import DB, AdminDep, guard
from vacant.api.schemas import AnnouncementRef, RangeIn, RangeMove, RangeOut, RangePatch
from vacant.store import repository as repo

router = APIRouter(prefix="/ranges", tags=["ranges"], dependencies=[guard()])


def _ref(ref: AnnouncementRef | None) -> tuple[str, str] | None:
    return None if ref is None else (ref.pool, ref.name)


@router.get("")
def list_ranges(
    s: DB,
    filter: str | None = Query(None, description="Only ranges whose name contains this text."),
    limit: int | None = Query(None, ge=0),
    offset: int = Query(0, ge=0),
) -> list[RangeOut]:
    """Ranges in evaluation order (first match wins)."""
    found = repo.list_ranges(s, limit=limit if filter is None else None, offset=offset)
    if filter:
        found = [r for r in found if filter.lower() in r.name.lower()][:limit]
    return [RangeOut.of(r) for r in found]


@router.post("", status_code=201)
def create_range(body: RangeIn, admin: AdminDep) -> RangeOut:
    return RangeOut.of(
        admin.add_range(
            body.name,
            start=body.start,
            end=body.end,
            pattern=body.pattern,
            announcement=_ref(body.announcement),
            auto_attendant=body.auto_attendant,
            priority=body.priority,
            description=body.description,
        )
    )


@router.post("/{name:path}/move")
def move_range(name: str, body: RangeMove, admin: AdminDep) -> list[str]:
    """Move a range one place up or down, or just before another; returns the new order."""
    order = admin.move_range(name, up=body.up, down=body.down, before=body.before)
    return [r.name for r in order]


@router.get("/{name:path}")
def get_range(name: str, s: DB) -> RangeOut:
    return RangeOut.of(repo.get_range(s, name))


@router.patch("/{name:path}")
def update_range(name: str, body: RangePatch, admin: AdminDep) -> RangeOut:
    """Setting numbers clears a pattern and the other way round; an announcement clears an
    auto-attendant and the other way round (as ``vacant range set``)."""
    given = body.model_fields_set

    def pick(key: str, value: str | None) -> str | repo.Unset | None:
        return value if key in given else repo.UNSET

    return RangeOut.of(
        admin.update_range(
            name,
            start=pick("start", body.start),
            end=pick("end", body.end),
            pattern=pick("pattern", body.pattern),
            announcement=_ref(body.announcement) if "announcement" in given else repo.UNSET,
            auto_attendant=pick("auto_attendant", body.auto_attendant),
            priority=body.priority if "priority" in given else repo.UNSET,
            description=body.description if "description" in given else repo.UNSET,
        )
    )


@router.delete("/{name:path}", status_code=204)
def remove_range(name: str, admin: AdminDep) -> Response:
    admin.remove_range(name)
    return Response(status_code=204)
