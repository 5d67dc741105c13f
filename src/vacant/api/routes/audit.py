"""``/api/v1/audit``: every configuration change, newest first (``vacant audit list``). Changes
of tokens and users are shown to admins only, as the tokens and users themselves."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Query

from vacant.api.deps import DB, Who, guard
from vacant.api.schemas import AuditOut
from vacant.service.access import Permission
from vacant.service.imports import parse_since
from vacant.store.audit import MAX_LIMIT, list_audit

router = APIRouter(tags=["audit"], dependencies=[guard()])
#: Kinds of entries only admins see.
ACCOUNT_KINDS = ("token", "user")


@router.get("/audit")
def audit(
    s: DB,
    who: Who,
    since: str | None = Query(None, description="30m, 2h, 7d ago, or an ISO 8601 time."),
    until: str | None = Query(None, description="Before this time (same forms)."),
    actor: str | None = Query(None, description="user:NAME, token:NAME, cli:NAME, or user: etc."),
    action: str | None = Query(None, description="range.update, or a kind: range."),
    object: str | None = Query(None, description="The object's name (pool/name for files)."),
    limit: int = Query(100, ge=1, le=MAX_LIMIT),
    offset: int = Query(0, ge=0),
) -> list[AuditOut]:
    now = datetime.now(UTC)
    entries = list_audit(
        s,
        since=None if since is None else parse_since(since, now),
        until=None if until is None else parse_since(until, now, "until"),
        actor=actor,
        action=action,
        object=object,
        hide=() if who.may(Permission.ADMINISTER) else ACCOUNT_KINDS,
        limit=limit,
        offset=offset,
    )
    return [AuditOut.of(e) for e in entries]
