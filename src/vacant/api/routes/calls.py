"""``/api/v1/calls``: the call records (CDRs), newest first, with filters and paging."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from vacant.api.deps import DB, guard
from vacant.api.schemas import CallOut
from vacant.service.imports import parse_since
from vacant.store.calls import list_calls

router = APIRouter(tags=["calls"], dependencies=[guard()])
MAX_PAGE = 10_000


@router.get("/calls")
def calls(
    s: DB,
    since: str | None = Query(None, description="30m, 2h, 7d ago, or an ISO 8601 time."),
    until: str | None = Query(None, description="Before this time (same forms)."),
    number: str | None = Query(None, description="Dialled or normalised number, exactly."),
    decision: str | None = Query(None, description="assigned, announcement, not-found, ..."),
    limit: int = Query(100, ge=1, le=MAX_PAGE),
    offset: int = Query(0, ge=0),
) -> list[CallOut]:
    now = datetime.now(UTC)
    records = list_calls(
        s,
        since=None if since is None else parse_since(since, now),
        until=None if until is None else parse_since(until, now, "until"),
        number=number,
        decision=decision,
        limit=limit,
        offset=offset,
    )
    return [CallOut.of(r) for r in records]
