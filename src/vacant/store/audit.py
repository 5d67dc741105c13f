"""The audit log: every configuration change, who made it, when, and the object before and
after (JSON). Written in the transaction of the change it records (see
:mod:`vacant.service.admin`), so there is no change without its entry and no entry without its
change. Read newest first, with filters and paging."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from vacant.store.models import ACTION_LEN, ACTOR_LEN, OBJECT_LEN, AuditRow, utc_now

#: Most entries one read returns.
MAX_LIMIT = 10_000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """``actor`` is ``token:NAME``, ``user:NAME`` or ``cli:OSUSER``; ``action`` is
    ``KIND.VERB`` (``range.update``); ``before`` is None for a creation, ``after`` for a
    removal."""

    id: int
    time: datetime
    actor: str
    action: str
    object: str
    before: Any
    after: Any


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def record(
    s: Session,
    *,
    actor: str,
    action: str,
    object: str,
    before: Any = None,
    after: Any = None,
    time: datetime | None = None,
) -> None:
    """Add an entry; ``before`` and ``after`` are JSON-able values (None: there was none)."""
    s.execute(
        insert(AuditRow).values(
            time=time or utc_now(),
            actor=actor[:ACTOR_LEN],
            action=action[:ACTION_LEN],
            object=object[:OBJECT_LEN],
            before=_dump(before),
            after=_dump(after),
        )
    )


def list_audit(
    s: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    object: str | None = None,
    hide: tuple[str, ...] = (),
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    """Entries newest first. ``actor`` matches exactly, or every actor of a kind when it ends
    with ``:`` (``token:``); ``action`` matches exactly, or every verb of a kind when it has no
    dot (``range``); ``object`` matches exactly; the kinds in ``hide`` are left out."""
    t = AuditRow
    query = select(t).order_by(t.time.desc(), t.id.desc())
    if since is not None:
        query = query.where(t.time >= since)
    if until is not None:
        query = query.where(t.time < until)
    if actor is not None:
        query = query.where(
            t.actor.startswith(actor, autoescape=True) if actor.endswith(":") else t.actor == actor
        )
    if action is not None:
        kind = t.action.startswith(f"{action}.", autoescape=True)
        query = query.where(t.action == action if "." in action else kind)
    if object is not None:
        query = query.where(t.object == object)
    for hidden in hide:
        query = query.where(~t.action.startswith(f"{hidden}.", autoescape=True))
    limit = max(0, min(limit, MAX_LIMIT))
    rows = s.scalars(query.limit(limit).offset(max(0, offset)))
    return [
        AuditEntry(r.id, r.time, r.actor, r.action, r.object, _load(r.before), _load(r.after))
        for r in rows
    ]
